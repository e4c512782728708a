"""Payments for credit packs and tier periods: open, charge through the provider, fulfil once.

The flow spans two short transactions with the provider call between them, outside any database
transaction (a slow card processor never holds a row lock or a pooled connection):

1. ``open_payment`` (caller's transaction): under the user's row lock, find or create the payment
   row of (user, purpose, idempotency key) in status CREATING;
2. ``charge``: ask the provider for the payment with an idempotency key derived from the user and
   the key (concurrent retries converge on one provider payment), then in a second transaction
   store its id, client secret and status, and fulfil at once when the provider already reports
   success (the development provider);
3. ``apply_event`` (the signed webhook's transaction): lock the row FOR UPDATE and fulfil it on
   success, exactly once whatever the number of deliveries.

Fulfilment of a pack posts PACK_PURCHASE with ref ``payment:<id>`` (the ledger's unique
(user, kind, ref) index makes it exactly-once even without the row lock); of a tier it sets the
tier and extends ``tier_paid_until`` by one period.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Literal

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from aiqleads.domain.credits import ledger
from aiqleads.domain.errors import DomainError, invalid_input
from aiqleads.domain.payments.models import Payment
from aiqleads.domain.payments.provider import PaymentEvent, PaymentProvider, PaymentRequest, ProviderPayment

log = logging.getLogger("aiqleads.payments")

UnitOfWork = Callable[[], AbstractAsyncContextManager[AsyncSession]]
Purpose = Literal["CREDIT_PACK", "TIER"]
TIER_PERIOD = timedelta(days=30)
FINAL_STATUSES = ("SUCCEEDED", "FAILED")


@dataclass(frozen=True)
class PaymentSpec:
    """What a payment is for and what it costs."""

    user_id: uuid.UUID
    purpose: Purpose
    product: str  # the pack name or the tier
    credits: int
    amount_cents: int
    currency: str = "USD"


@dataclass(frozen=True)
class OpenedPayment:
    """The payment row of an idempotency key, and whether this request created it."""

    payment: Payment
    created: bool


@dataclass(frozen=True)
class PaymentOutcome:
    """Where a payment stands after charging: fulfilled by this call or not."""

    payment: Payment
    fulfilled: bool
    replayed: bool


EventResult = Literal["fulfilled", "duplicate", "failed", "ignored", "mismatch"]


@dataclass(frozen=True)
class EventOutcome:
    """What a provider event did to our payments (the payment is None when it was not ours)."""

    result: EventResult
    payment: Payment | None = None


def payment_ref(payment_id: uuid.UUID) -> str:
    """The ledger reference that makes a pack's grant exactly-once per payment."""
    return f"payment:{payment_id}"


def provider_idempotency_key(user_id: uuid.UUID, purpose: str, key: str) -> str:
    """The provider's idempotency key: one per (user, purpose, our key), at most 255 characters."""
    return f"aiqleads:{user_id}:{purpose.lower()}:{key}"


def _now(now: datetime | None) -> datetime:
    return now if now is not None else datetime.now(UTC)


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


async def open_payment(
    session: AsyncSession, spec: PaymentSpec, key: str, provider_name: str
) -> OpenedPayment:
    """Find or create the payment of (user, purpose, key) under the user's row lock.

    The same key for another product is IDEMPOTENCY_CONFLICT; the same key again returns the
    first payment (whatever its status), so a retry never asks the provider for a second one.
    """
    if spec.amount_cents <= 0:
        raise invalid_input("A payment must be for a positive amount.", "amount")
    await ledger.lock_user(session, spec.user_id)  # one purchase per user at a time: retries queue here
    existing = await find_payment(session, spec.user_id, spec.purpose, key)
    if existing is None:
        stmt = (
            insert(Payment)
            .values(
                id=uuid.uuid4(),
                user_id=spec.user_id,
                purpose=spec.purpose,
                product=spec.product,
                credits=spec.credits,
                amount_cents=spec.amount_cents,
                currency=spec.currency,
                provider=provider_name,
                idempotency_key=key,
                status="CREATING",
            )
            .on_conflict_do_nothing(index_elements=["user_id", "purpose", "idempotency_key"])
            .returning(Payment)
            .execution_options(populate_existing=True)
        )
        created = (await session.scalars(stmt)).first()
        if created is not None:
            return OpenedPayment(created, created=True)
        existing = await find_payment(session, spec.user_id, spec.purpose, key)
        assert existing is not None  # the conflicting row is committed: the insert saw it
    if existing.product != spec.product:
        what = "pack" if spec.purpose == "CREDIT_PACK" else "tier"
        raise DomainError(
            "IDEMPOTENCY_CONFLICT",
            f"This idempotency key was already used to pay for a different {what}.",
            "idempotencyKey",
        )
    return OpenedPayment(existing, created=False)


async def charge(
    unit_of_work: UnitOfWork, provider: PaymentProvider, opened: OpenedPayment, now: datetime | None = None
) -> PaymentOutcome:
    """Ask the provider for the opened payment (outside any transaction), then record its answer.

    Call it after the transaction of ``open_payment`` committed. A payment the provider already
    answered for is returned as it is. PAYMENT_UNAVAILABLE leaves the row CREATING (a retry with
    the same key asks again and converges on the same provider payment); PAYMENT_DECLINED marks
    it FAILED. Both are raised.
    """
    payment = opened.payment
    if payment.provider_payment_id is not None or payment.status in FINAL_STATUSES:
        return PaymentOutcome(payment, fulfilled=False, replayed=not opened.created)
    request = PaymentRequest(
        user_id=payment.user_id,
        amount_cents=payment.amount_cents,
        currency=payment.currency,
        description=_description(payment),
        idempotency_key=provider_idempotency_key(payment.user_id, payment.purpose, payment.idempotency_key),
        metadata={"payment_id": str(payment.id), "user_id": str(payment.user_id), "purpose": payment.purpose},
    )
    try:
        answer = await provider.create_payment(request)
    except DomainError as error:
        if error.code == "PAYMENT_DECLINED":
            async with unit_of_work() as session:
                await record_provider_payment(
                    session, payment.id, ProviderPayment("", "FAILED", failure_reason=error.message), now
                )
        raise
    async with unit_of_work() as session:
        recorded, fulfilled = await record_provider_payment(session, payment.id, answer, now)
    return PaymentOutcome(recorded, fulfilled=fulfilled, replayed=not opened.created)


def _description(payment: Payment) -> str:
    if payment.purpose == "CREDIT_PACK":
        return f"AIQLeads {payment.product} credit pack ({payment.credits} credits)"
    return f"AIQLeads {payment.product} tier, {TIER_PERIOD.days} days"


async def record_provider_payment(
    session: AsyncSession, payment_id: uuid.UUID, answer: ProviderPayment, now: datetime | None = None
) -> tuple[Payment, bool]:
    """Store the provider's answer on the locked row; fulfil when it reports success.

    Returns the row and whether this call fulfilled it. A row that already has a provider id
    keeps it (a concurrent retry got there first with the same provider payment).
    """
    moment = _now(now)
    payment = await lock_payment(session, payment_id)
    if payment is None:
        raise DomainError("NOT_FOUND", "No such payment.", "paymentId")
    if answer.provider_payment_id:
        if payment.provider_payment_id is None:
            payment.provider_payment_id = answer.provider_payment_id
        if payment.provider_payment_id == answer.provider_payment_id:
            payment.client_secret = payment.client_secret or answer.client_secret
        else:
            log.error(
                "payment %s: provider answered %s but the row holds %s; keeping the row's",
                payment.id,
                answer.provider_payment_id,
                payment.provider_payment_id,
            )
    fulfilled = False
    if answer.status == "SUCCEEDED":
        fulfilled = await fulfil(session, payment, moment)
    elif answer.status == "FAILED":
        _mark_failed(payment, answer.failure_reason, moment)
    elif payment.status == "CREATING":
        payment.status = "PENDING"
        payment.updated_at = moment
    await session.flush()
    return payment, fulfilled


def _mark_failed(payment: Payment, reason: str | None, now: datetime) -> bool:
    if payment.status == "SUCCEEDED":
        return False
    payment.status = "FAILED"
    payment.failure_reason = reason or "The payment failed."
    payment.updated_at = now
    return True


async def fulfil(session: AsyncSession, payment: Payment, now: datetime) -> bool:
    """Mark a locked payment SUCCEEDED and grant what it paid for; False when it already was."""
    if payment.status == "SUCCEEDED":
        return False
    payment.status = "SUCCEEDED"
    payment.failure_reason = None
    payment.completed_at = now
    payment.updated_at = now
    if payment.purpose == "CREDIT_PACK":
        await ledger.post(
            session,
            payment.user_id,
            payment.credits,
            "PACK_PURCHASE",
            f"{payment.product} pack: {payment.credits} credits (payment {payment.id})",
            ref=payment_ref(payment.id),
        )
    else:
        user = await ledger.lock_user(session, payment.user_id)
        paid_until = user.tier_paid_until
        start = paid_until if paid_until is not None and paid_until > now else now
        user.tier = payment.product
        user.tier_paid_until = start + TIER_PERIOD
    await session.flush()
    return True


async def _payment_of_event(session: AsyncSession, provider_name: str, event: PaymentEvent) -> Payment | None:
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


async def apply_event(
    session: AsyncSession, provider_name: str, event: PaymentEvent, now: datetime | None = None
) -> EventOutcome:
    """Apply a verified provider event to the payment it concerns, under that row's lock.

    Success fulfils once (any number of deliveries or distinct events for one provider payment);
    a failure marks the payment FAILED unless it already succeeded; amounts or currencies that
    disagree with the row are logged and not fulfilled; payments we never created are ignored.
    """
    moment = _now(now)
    if event.type == "other" or not event.provider_payment_id:
        return EventOutcome("ignored")
    payment = await _payment_of_event(session, provider_name, event)
    if payment is None:
        log.info(
            "ignoring %s event %s for unknown payment %s",
            provider_name,
            event.event_id,
            event.provider_payment_id,
        )
        return EventOutcome("ignored")
    if payment.provider_payment_id is None:
        payment.provider_payment_id = event.provider_payment_id
    if event.type == "failed":
        changed = _mark_failed(payment, event.failure_reason, moment)
        await session.flush()
        return EventOutcome("failed" if changed else "duplicate", payment)
    if (
        event.amount_cents != payment.amount_cents
        or (event.currency or "").upper() != payment.currency.upper()
    ):
        log.error(
            "payment %s: %s event %s says %s %s but the payment is for %s %s; not fulfilled",
            payment.id,
            provider_name,
            event.event_id,
            event.amount_cents,
            event.currency,
            payment.amount_cents,
            payment.currency,
        )
        await session.flush()
        return EventOutcome("mismatch", payment)
    fulfilled = await fulfil(session, payment, moment)
    return EventOutcome("fulfilled" if fulfilled else "duplicate", payment)
