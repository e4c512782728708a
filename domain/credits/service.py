"""Credit packs, tier changes and monthly allowances (all through the ledger)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncSession

from aiqleads.domain.credits import idempotency, ledger
from aiqleads.domain.credits.models import CreditLedgerEntry
from aiqleads.domain.errors import DomainError, invalid_input
from aiqleads.domain.payments.provider import Charge, PaymentProvider
from aiqleads.domain.users.models import User
from aiqleads.domain.users.plans import PLANS, plan_for


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
BUY_OPERATION = "buy_credits"


@dataclass(frozen=True)
class CreditResult:
    """A balance after a credit movement and the entry that made it."""

    balance: int
    entry: CreditLedgerEntry | None
    replayed: bool = False


async def buy_credits(
    session: AsyncSession, provider: PaymentProvider, user_id: uuid.UUID, pack_name: str, key: str
) -> CreditResult:
    """Charge the pack through the provider and credit it once per idempotency key.

    The same key returns the first result; the same key for another pack is IDEMPOTENCY_CONFLICT.
    """
    key = idempotency.check_key(key)
    pack = PACKS.get(pack_name)
    if pack is None:
        raise invalid_input(f"Unknown credit pack {pack_name!r}.", "pack")
    await ledger.lock_user(session, user_id)  # one purchase per user at a time: retries queue up here
    hashed = idempotency.request_hash({"pack": pack.name})
    record = await idempotency.get_record(session, user_id, BUY_OPERATION, key)
    if record is not None:
        if record.request_hash != hashed:
            raise DomainError(
                "IDEMPOTENCY_CONFLICT",
                "This idempotency key was already used to buy a different pack.",
                "idempotencyKey",
            )
        entry = await ledger.get_entry(session, user_id, int(record.response["entry_id"]))
        return CreditResult(int(record.response["balance"]), entry, replayed=True)
    payment = await provider.charge(
        Charge(
            customer_id=user_id,
            amount_cents=pack.price_cents,
            currency="USD",
            description=f"AIQLeads {pack.name} credit pack ({pack.credits} credits)",
            idempotency_key=f"aiq:{user_id}:{BUY_OPERATION}:{key}",
        )
    )
    if not payment.approved:
        raise DomainError(
            "PAYMENT_DECLINED",
            f"The payment was declined: {payment.decline_reason or 'no reason given'}.",
            "pack",
        )
    posting = await ledger.post(
        session,
        user_id,
        pack.credits,
        "PACK_PURCHASE",
        f"{pack.name} pack: {pack.credits} credits (payment {payment.payment_id})",
        ref=f"pack:{key}",
    )
    await idempotency.save_record(
        session,
        user_id,
        BUY_OPERATION,
        key,
        hashed,
        {"entry_id": posting.entry.id, "balance": posting.balance, "payment_id": payment.payment_id},
    )
    return CreditResult(posting.balance, posting.entry)


async def change_tier(session: AsyncSession, user_id: uuid.UUID, tier: str) -> User:
    """Move a user to another tier (the allowance job grants the new tier's monthly credits)."""
    if tier not in PLANS:
        raise invalid_input(f"Unknown tier {tier!r}.", "tier")
    user = await ledger.lock_user(session, user_id)
    user.tier = tier
    await session.flush()
    return user


def allowance_period(now: datetime) -> str:
    """The allowance period a moment falls in (calendar month, UTC), e.g. '2025-11'."""
    return now.astimezone(UTC).strftime("%Y-%m")


def allowance_ref(period: str) -> str:
    """The ledger reference that makes an allowance exactly-once per period."""
    return f"allowance:{period}"


async def users_due_allowance(session: AsyncSession, period: str, limit: int) -> list[uuid.UUID]:
    """Users on a tier with an allowance who have not received this period's grant yet."""
    paid = [name for name, plan in PLANS.items() if plan.monthly_credits > 0]
    return await ledger.users_without_entry(session, paid, "MONTHLY_ALLOWANCE", allowance_ref(period), limit)


async def grant_allowances(session: AsyncSession, user_ids: Sequence[uuid.UUID], period: str) -> int:
    """Grant this period's allowance to each user (exactly once per user and period); returns grants made."""
    granted = 0
    for user_id in sorted(user_ids):
        user = await ledger.lock_user(session, user_id)
        plan = plan_for(user.tier)
        if plan.monthly_credits <= 0:
            continue
        posting = await ledger.post(
            session,
            user_id,
            plan.monthly_credits,
            "MONTHLY_ALLOWANCE",
            f"{plan.tier} monthly allowance for {period}",
            ref=allowance_ref(period),
        )
        granted += int(posting.created)
    return granted
