"""What a user buys: credit packs and paid tiers, each through one payment (``service``).

Buying opens a payment and charges it through the provider; the credits or the tier period are
granted when the payment succeeds (``fulfilment``), so the payments area depends on the credit
ledger and never the reverse.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

from aiqleads.domain.core.periods import tier_rank
from aiqleads.domain.core.plans import PLANS, effective_tier
from aiqleads.domain.core.user import User
from aiqleads.domain.credits import idempotency, ledger
from aiqleads.domain.credits.models import CreditLedgerEntry
from aiqleads.domain.errors import DomainError, ErrorCode, invalid_input
from aiqleads.domain.payments import service as payments
from aiqleads.domain.payments.models import Payment
from aiqleads.domain.payments.provider import PaymentProvider


@dataclass(frozen=True)
class CreditPack:
    """A pack of credits for sale."""

    name: str
    credits: int
    price_cents: int


PACKS: dict[str, CreditPack] = {
    "STARTER": CreditPack("STARTER", 50, 5_000),
    "GROWTH": CreditPack("GROWTH", 250, 22_500),
    "BULK": CreditPack("BULK", 1000, 80_000),
}


@dataclass(frozen=True)
class CreditResult:
    """A pack purchase: the payment, the balance now, and the ledger entry once it is granted."""

    balance: int
    entry: CreditLedgerEntry | None
    replayed: bool = False
    payment: Payment | None = None
    granted: bool = False  # this request granted the credits (the development provider)


@dataclass(frozen=True)
class TierResult:
    """A tier change: the user afterwards and, for an upgrade, the payment that will make it."""

    user: User
    payment: Payment | None = None
    granted: bool = False  # this request moved the user to the paid tier


async def buy_credits(
    unit_of_work: payments.UnitOfWork,
    provider: PaymentProvider,
    user_id: uuid.UUID,
    pack_name: str,
    key: str,
    now: datetime | None = None,
) -> CreditResult:
    """Open a payment for the pack, charge it through the provider, report where it stands.

    Credits are granted when the payment succeeds (at once with the development provider, on
    Stripe's signed webhook otherwise), exactly once per payment. The same key returns the same
    payment; the same key for another pack is IDEMPOTENCY_CONFLICT.
    """
    key = idempotency.check_key(key)
    pack = PACKS.get(pack_name)
    if pack is None:
        raise invalid_input(f"Unknown credit pack {pack_name!r}.", "pack")
    spec = payments.PaymentSpec(
        user_id=user_id,
        purpose="CREDIT_PACK",
        product=pack.name,
        credits=pack.credits,
        amount_cents=pack.price_cents,
    )
    async with unit_of_work() as session:
        opened = await payments.open_payment(session, spec, key, provider.name)
    outcome = await payments.charge(unit_of_work, provider, opened, now)
    async with unit_of_work() as session:
        entry = await ledger.find_by_ref(
            session, user_id, "PACK_PURCHASE", payments.payment_ref(outcome.payment.id)
        )
        balance = await ledger.balance_of(session, user_id)
    return CreditResult(balance, entry, outcome.replayed, outcome.payment, outcome.fulfilled)


async def change_tier(
    unit_of_work: payments.UnitOfWork,
    provider: PaymentProvider,
    user_id: uuid.UUID,
    tier: str,
    idempotency_key: str | None = None,
    now: datetime | None = None,
) -> TierResult:
    """Move a user to another tier: downgrades at once, upgrades once their payment succeeds.

    A downgrade costs nothing and refunds nothing (FREE clears the paid period, a lower paid tier
    keeps it). An upgrade, or a lapsed paid tier taken again, opens a TIER payment for the tier's
    monthly price; without a key the user's unfinished payment for that tier is reused. When it
    succeeds, an upgrade's 30 days start then and the rest of the lower tier is forfeited
    (``payments._apply_tier_period``). Asking for the tier one already has (and has paid for) is
    ALREADY_ON_TIER.
    """
    if tier not in PLANS:
        raise invalid_input(f"Unknown tier {tier!r}.", "tier")
    key = idempotency.check_key(idempotency_key) if idempotency_key is not None else None
    moment = now or datetime.now(UTC)
    async with unit_of_work() as session:
        user = await ledger.lock_user(session, user_id)
        current = effective_tier(user.tier, user.tier_paid_until, moment)
        if tier == current and tier == user.tier:
            raise DomainError(ErrorCode.ALREADY_ON_TIER, f"You are already on the {tier} tier.", "tier")
        if tier == "FREE" or tier_rank(tier) < tier_rank(current):
            user.tier = tier
            if tier == "FREE":
                user.tier_paid_until = None
            await session.flush()
            return TierResult(user)
        plan = PLANS[tier]
        if key is None:
            key = await payments.open_tier_payment_key(session, user_id, tier) or f"tier:{uuid.uuid4()}"
        spec = payments.PaymentSpec(
            user_id=user_id,
            purpose="TIER",
            product=tier,
            credits=0,
            amount_cents=plan.monthly_price_cents,
        )
        opened = await payments.open_payment(session, spec, key, provider.name)
    outcome = await payments.charge(unit_of_work, provider, opened, moment)
    async with unit_of_work() as session:
        after = await session.get(User, user_id, populate_existing=True)
    assert after is not None  # users are never deleted while they have payments (RESTRICT)
    return TierResult(after, outcome.payment, outcome.fulfilled)
