"""Paid tier time: back-to-back 30-day periods, the order of tiers, and the allowance period in effect.

Paid time is a run of back-to-back 30-day periods ending at ``tier_paid_until``; the monthly
allowance is granted once per such period (``allowance_ref`` names the period in effect), so
every change of ``tier_paid_until`` moves it by whole periods or starts a new run.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from aiqleads.domain.core.plans import PLANS, plan_for

TIER_PERIOD = timedelta(days=30)
TIER_ORDER = tuple(PLANS)  # FREE < PRO < ENTERPRISE
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def tier_rank(tier: str) -> int:
    """FREE 0, PRO 1, ENTERPRISE 2 (unknown tiers rank as FREE)."""
    return TIER_ORDER.index(plan_for(tier).tier)


def current_period_end(paid_until: datetime, now: datetime) -> datetime:
    """The end of the 30-day period in effect at ``now`` (``paid_until`` must be after ``now``).

    Paid time is laid out as back-to-back 30-day periods ending at ``paid_until``: with 40 days
    left the period in effect ends in 10 days, and the next one (30 more) starts then.
    """
    whole_after = -(-(paid_until - now) // TIER_PERIOD) - 1  # whole periods after the current one
    return paid_until - whole_after * TIER_PERIOD


def allowance_ref(paid_until: datetime, now: datetime) -> str:
    """``allowance:<epoch seconds of the end of the period in effect>``: one allowance per period.

    A downgrade keeps ``tier_paid_until`` (same ref: nothing new); a payment that extends the same
    tier adds a period after the current one (granted when it starts); a new run of paid time
    (first payment, upgrade) has a new end (granted once). The SQL twin is credits.service.allowance_ref_sql.
    """
    end = current_period_end(paid_until, now)
    return f"allowance:{(end - EPOCH) // timedelta(seconds=1)}"
