"""Credit use cases over a unit of work: monthly allowances and idempotency-record pruning."""

from __future__ import annotations

from datetime import datetime, timedelta

from aiqleads.domain.credits import idempotency, service
from aiqleads.domain.unit_of_work import Backends, UnitOfWork


async def grant_due_allowances(deps: Backends, now: datetime, batch_size: int = 200) -> int:
    """Grant each user on a paid period the tier allowance of that period, once per period, one
    transaction per batch.

    The period is the user's paid 30-day period (not the calendar month), named in the ledger ref
    (credits.service.grant_allowances), so running twice an hour, or across a month boundary,
    never grants one paid period twice.
    """
    granted = 0
    while True:
        async with UnitOfWork(deps) as uow:
            user_ids = await service.users_due_allowance(uow.session, batch_size, now)
            made = await service.grant_allowances(uow.session, user_ids, now) if user_ids else 0
        granted += made
        if len(user_ids) < batch_size or made == 0:
            return granted


async def prune_idempotency_records(deps: Backends, now: datetime, batch_size: int) -> int:
    """Delete idempotency records past their retention (at least 24 h), one transaction per batch."""
    retention = timedelta(hours=deps.settings.idempotency_retention_hours)
    pruned = 0
    while True:
        async with UnitOfWork(deps) as uow:
            removed = await idempotency.prune_records(uow.session, now, retention, batch_size)
        pruned += removed
        if removed < batch_size:
            return pruned
