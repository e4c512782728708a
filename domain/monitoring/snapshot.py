"""Business gauges read from PostgreSQL in one short read (the worker exports them periodically).

Plain SQL over the tables the other areas own, so this area imports none of them; every label
value is taken from a closed set (the vocabularies, the job names) before it leaves here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from aiqleads.domain.core.vocabulary import LEAD_SOURCES, LEAD_STATUSES
from aiqleads.domain.jobs import JobName

RETURN_STATUSES = ("PENDING", "APPROVED", "REJECTED")
OTHER = "other"

_LEADS = text("SELECT source, status, count(*) FROM leads GROUP BY source, status")
_HOLDS = text("SELECT count(*) FROM holds WHERE held_until > :now")
_RETURNS = text("SELECT status, count(*) FROM lead_returns GROUP BY status")
_DEAD_LETTERS = text(
    "SELECT job_name, count(*) FROM dead_letters WHERE replayed_at IS NULL GROUP BY job_name"
)
# payments a buyer started 10 minutes to 2 hours ago that no webhook has settled: Stripe delivers
# within seconds, so some of these mean its deliveries are not getting through (a rotated signing
# secret); older ones are abandoned checkouts and say nothing
AWAITING_AFTER = timedelta(minutes=10)
AWAITING_WITHIN = timedelta(hours=2)
_AWAITING_WEBHOOK = text(
    "SELECT count(*) FROM payments "
    "WHERE status = 'PENDING' AND created_at < :settled_by AND created_at > :since"
)
# users whose cached balance is not the sum of their ledger (the ledger is the record)
_LEDGER_VIOLATIONS = text(
    "SELECT count(*) FROM users u LEFT JOIN "
    "(SELECT user_id, sum(amount) AS total FROM credit_ledger GROUP BY user_id) l ON l.user_id = u.id "
    "WHERE u.credit_balance <> coalesce(l.total, 0)"
)


@dataclass
class BusinessSnapshot:
    """Counts at one moment; every label combination of the closed sets is present (zero if none)."""

    active_holds: int = 0
    leads: dict[tuple[str, str], int] = field(default_factory=dict)
    returns: dict[str, int] = field(default_factory=dict)
    dead_letters: dict[str, int] = field(default_factory=dict)
    payments_awaiting_webhook: int = 0


def dead_letter_jobs() -> tuple[str, ...]:
    """The label values of dead letters: every job name, and ``other`` for anything else."""
    return (*(str(name) for name in JobName), OTHER)


async def business_snapshot(session: AsyncSession, now: datetime) -> BusinessSnapshot:
    """Leads by source and status, active holds, returns by status, unreplayed dead letters by job,
    and payments awaiting their webhook."""
    snapshot = BusinessSnapshot(
        leads={(source, status): 0 for source in LEAD_SOURCES for status in LEAD_STATUSES},
        returns=dict.fromkeys(RETURN_STATUSES, 0),
        dead_letters=dict.fromkeys(dead_letter_jobs(), 0),
    )
    for source, status, count in await session.execute(_LEADS):
        if (source, status) in snapshot.leads:
            snapshot.leads[(source, status)] = int(count)
    snapshot.active_holds = int((await session.execute(_HOLDS, {"now": now})).scalar_one())
    for status, count in await session.execute(_RETURNS):
        if status in snapshot.returns:
            snapshot.returns[status] = int(count)
    for job, count in await session.execute(_DEAD_LETTERS):
        key = job if job in snapshot.dead_letters else OTHER
        snapshot.dead_letters[key] += int(count)
    window = {"settled_by": now - AWAITING_AFTER, "since": now - AWAITING_WITHIN}
    snapshot.payments_awaiting_webhook = int((await session.execute(_AWAITING_WEBHOOK, window)).scalar_one())
    return snapshot


async def ledger_violations(session: AsyncSession) -> int:
    """How many users' balances differ from the sum of their credit ledger (0 when it holds)."""
    return int((await session.execute(_LEDGER_VIOLATIONS)).scalar_one())
