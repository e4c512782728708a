"""Purchase use cases: buy a credit pack, change tier (each payment in its own short transactions)."""

from __future__ import annotations

import uuid

from aiqleads.domain.payments import purchases
from aiqleads.domain.payments.provider import PaymentProvider
from aiqleads.domain.payments.purchases import CreditResult, TierResult
from aiqleads.domain.unit_of_work import Backends, transactions


async def buy_credits(
    deps: Backends, provider: PaymentProvider, user_id: uuid.UUID, pack: str, key: str
) -> CreditResult:
    """Buy a credit pack: one payment per idempotency key, credits when it succeeds."""
    return await purchases.buy_credits(transactions(deps), provider, user_id, pack, key)


async def change_tier(
    deps: Backends, provider: PaymentProvider, user_id: uuid.UUID, tier: str, key: str | None
) -> TierResult:
    """Move a user to another tier (upgrades through a payment, downgrades at once)."""
    return await purchases.change_tier(transactions(deps), provider, user_id, tier, key)
