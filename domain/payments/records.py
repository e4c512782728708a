"""Reading and locking payment rows: by idempotency key, by id, and for a provider's event."""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from aiqleads.domain.payments.models import Payment
from aiqleads.domain.payments.provider import PaymentEvent


async def find_payment(session: AsyncSession, user_id: uuid.UUID, purpose: str, key: str) -> Payment | None:
    """The payment of (user, purpose, idempotency key), if one was opened."""
    rows = await session.scalars(
        select(Payment)
        .where(Payment.user_id == user_id, Payment.purpose == purpose, Payment.idempotency_key == key)
        .execution_options(populate_existing=True)
    )
    return rows.first()


async def get_payment(session: AsyncSession, user_id: uuid.UUID, payment_id: uuid.UUID) -> Payment | None:
    """One of the user's payments (None when missing or someone else's)."""
    payment = await session.get(Payment, payment_id)
    return payment if payment is not None and payment.user_id == user_id else None


async def open_tier_payment_key(session: AsyncSession, user_id: uuid.UUID, tier: str) -> str | None:
    """The idempotency key of the user's newest unfinished payment for this tier, if any."""
    rows = await session.scalars(
        select(Payment.idempotency_key)
        .where(
            Payment.user_id == user_id,
            Payment.purpose == "TIER",
            Payment.product == tier,
            Payment.status.in_(("CREATING", "PENDING")),
        )
        .order_by(Payment.created_at.desc())
        .limit(1)
    )
    return rows.first()


async def lock_payment(session: AsyncSession, payment_id: uuid.UUID) -> Payment | None:
    """Load a payment row FOR UPDATE (serialises fulfilment of one payment)."""
    rows = await session.scalars(
        select(Payment)
        .where(Payment.id == payment_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    return rows.first()


async def lock_payment_of_event(
    session: AsyncSession, provider_name: str, event: PaymentEvent
) -> Payment | None:
    """Lock the payment a provider event concerns (None when it is not one of ours)."""
    rows = await session.scalars(
        select(Payment)
        .where(Payment.provider == provider_name, Payment.provider_payment_id == event.provider_payment_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    payment = rows.first()
    if payment is not None:
        return payment
    # the webhook may overtake our second transaction: find the row by the metadata we sent
    try:
        payment_id = uuid.UUID(event.metadata.get("payment_id", ""))
    except ValueError:
        return None
    payment = await lock_payment(session, payment_id)
    if (
        payment is None
        or payment.provider != provider_name
        or payment.provider_payment_id is not None
        or str(payment.user_id) != event.metadata.get("user_id")
    ):
        return None
    return payment
