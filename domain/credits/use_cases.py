"""Credit use cases over a unit of work: allowances, packs and tier changes."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from aiqleads.domain.credits import idempotency, service
from aiqleads.domain.credits.service import CreditResult, TierResult
from aiqleads.domain.payments.provider import PaymentProvider
from aiqleads.domain.unit_of_work import Backends, UnitOfWork, transactions


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


async def buy_credits(
    deps: Backends, provider: PaymentProvider, user_id: uuid.UUID, pack: str, key: str
) -> CreditResult:
    """Buy a credit pack: one payment per idempotency key, credits when it succeeds."""
    return await service.buy_credits(transactions(deps), provider, user_id, pack, key)


async def change_tier(
    deps: Backends, provider: PaymentProvider, user_id: uuid.UUID, tier: str, key: str | None
) -> TierResult:
    """Move a user to another tier (upgrades through a payment, downgrades at once)."""
    return await service.change_tier(transactions(deps), provider, user_id, tier, key)


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
