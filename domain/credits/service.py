"""Tier grants by operators and the monthly allowance of each paid period (packs and paid tiers are
bought through the payments area)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from sqlalchemy import BigInteger, ColumnElement, String, cast, func, literal
from sqlalchemy.ext.asyncio import AsyncSession

from aiqleads.domain.core.periods import TIER_PERIOD, allowance_ref, current_period_end
from aiqleads.domain.core.plans import PLANS, effective_tier, plan_for
from aiqleads.domain.core.user import User
from aiqleads.domain.credits import ledger
from aiqleads.domain.errors import invalid_input


async def grant_tier(
    session: AsyncSession, user_id: uuid.UUID, tier: str, days: int = 30, now: datetime | None = None
) -> User:
    """Operators and seeding: put a user on a tier with a paid period of ``days``, no payment.

    FREE clears the paid period; a paid tier is paid for ``days`` from now (or from the end of the
    current period of that same tier, when it is later).
    """
    if tier not in PLANS:
        raise invalid_input(f"Unknown tier {tier!r}.", "tier")
    if days <= 0:
        raise invalid_input("The paid period must be at least one day.", "days")
    moment = now or datetime.now(UTC)
    user = await ledger.lock_user(session, user_id)
    if tier == "FREE":
        user.tier_paid_until = None
    else:
        paid_until = user.tier_paid_until if user.tier == tier else None
        start = paid_until if paid_until is not None and paid_until > moment else moment
        user.tier_paid_until = start + timedelta(days=days)
    user.tier = tier
    await session.flush()
    return user


PERIOD_MICROSECONDS = TIER_PERIOD // timedelta(microseconds=1)


def allowance_ref_sql(now: datetime) -> ColumnElement[str]:
    """``allowance_ref(users.tier_paid_until, now)`` computed by PostgreSQL, exactly.

    In integer microseconds: the period in effect ends ``ceil(left / P) - 1`` whole periods before
    ``tier_paid_until``; the ref is ``'allowance:' || floor(epoch of that end)``.
    """
    left_us = cast(func.extract("epoch", User.tier_paid_until - now) * 1_000_000, BigInteger)
    whole_after = (left_us + (PERIOD_MICROSECONDS - 1)) // PERIOD_MICROSECONDS - 1  # integer division
    paid_until_us = cast(func.extract("epoch", User.tier_paid_until) * 1_000_000, BigInteger)
    seconds = (paid_until_us - whole_after * PERIOD_MICROSECONDS) // 1_000_000  # after 1970: floor
    return literal("allowance:") + cast(seconds, String)


async def users_due_allowance(
    session: AsyncSession, limit: int, now: datetime | None = None
) -> list[uuid.UUID]:
    """Users on a tier with an allowance, paid beyond now, without the allowance of their period."""
    moment = now or datetime.now(UTC)
    paid = [name for name, plan in PLANS.items() if plan.monthly_credits > 0]
    return await ledger.users_without_entry(
        session, paid, "MONTHLY_ALLOWANCE", allowance_ref_sql(moment), limit, paid_after=moment
    )


async def grant_allowances(
    session: AsyncSession, user_ids: Sequence[uuid.UUID], now: datetime | None = None
) -> int:
    """Grant each user on a paid period the allowance of that period (exactly once per period).

    A paid 30-day period grants once whatever the number of runs: the ledger ref names the period
    (``allowance_ref``) and the unique (user, kind, ref) index has the last word against
    concurrent runs. A downgrade keeps the period (nothing new); a new paid period grants once.
    Returns the grants made; a paid tier whose period is not paid beyond now gets nothing.
    """
    moment = now or datetime.now(UTC)
    granted = 0
    for user_id in sorted(user_ids):
        user = await ledger.lock_user(session, user_id)
        plan = plan_for(effective_tier(user.tier, user.tier_paid_until, moment))
        if plan.monthly_credits <= 0 or user.tier_paid_until is None:
            continue
        end = current_period_end(user.tier_paid_until, moment)
        posting = await ledger.post(
            session,
            user_id,
            plan.monthly_credits,
            "MONTHLY_ALLOWANCE",
            f"{plan.tier} monthly allowance for the period ending {end.isoformat()}",
            ref=allowance_ref(user.tier_paid_until, moment),
        )
        granted += int(posting.created)
    return granted
