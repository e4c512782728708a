"""Payments for credit packs and tier periods: open, charge through the provider, fulfil once.

The flow spans two short transactions with the provider call between them, outside any database
transaction (a slow card processor never holds a row lock or a pooled connection):

1. ``open_payment`` (caller's transaction): under the user's row lock, find or create the payment
   row of (user, purpose, idempotency key) in status CREATING;
2. ``charge``: ask the provider for the payment with an idempotency key derived from the user and
   the key (concurrent retries converge on one provider payment), then in a second transaction
   store its id, client secret and status, and fulfil at once when the provider already reports
   success (the development provider);
3. ``apply_event`` (the signed webhook's transaction, ``provider_events``): lock the row FOR UPDATE
   and fulfil it on success, exactly once whatever the number of deliveries.

What fulfilment grants and how a refund or dispute takes it back is ``fulfilment``; the arithmetic
of paid tier periods is ``periods``; the row queries are ``records``. This module is the area's
entry point and re-exports the names its callers use.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal

from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from aiqleads.domain.core.periods import TIER_PERIOD, allowance_ref, current_period_end, tier_rank
from aiqleads.domain.credits import ledger
from aiqleads.domain.errors import DomainError, ErrorCode, invalid_input
from aiqleads.domain.payments.fulfilment import fulfil, mark_failed, payment_ref
from aiqleads.domain.payments.models import Payment
from aiqleads.domain.payments.provider import PaymentProvider, PaymentRequest, ProviderPayment
from aiqleads.domain.payments.provider_events import EventOutcome, apply_event
from aiqleads.domain.payments.records import find_payment, get_payment, lock_payment, open_tier_payment_key

__all__ = [
    "TIER_PERIOD",
    "EventOutcome",
    "OpenedPayment",
    "PaymentOutcome",
    "PaymentSpec",
    "Purpose",
    "UnitOfWork",
    "allowance_ref",
    "apply_event",
    "charge",
    "current_period_end",
    "get_payment",
    "open_payment",
    "open_tier_payment_key",
    "payment_ref",
    "provider_idempotency_key",
    "record_provider_payment",
    "tier_rank",
]

UnitOfWork = Callable[[], AbstractAsyncContextManager[AsyncSession]]
Purpose = Literal["CREDIT_PACK", "TIER"]
FINAL_STATUSES = ("SUCCEEDED", "FAILED")
log = logging.getLogger("aiqleads.payments")


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


def provider_idempotency_key(user_id: uuid.UUID, purpose: str, key: str) -> str:
    """The provider's idempotency key: one per (user, purpose, our key), at most 255 characters."""
    return f"aiqleads:{user_id}:{purpose.lower()}:{key}"


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
            ErrorCode.IDEMPOTENCY_CONFLICT,
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
        if error.code == ErrorCode.PAYMENT_DECLINED:
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
    moment = now if now is not None else datetime.now(UTC)
    payment = await lock_payment(session, payment_id)
    if payment is None:
        raise DomainError(ErrorCode.NOT_FOUND, "No such payment.", "paymentId")
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
        mark_failed(payment, answer.failure_reason, moment)
    elif payment.status == "CREATING":
        payment.status = "PENDING"
        payment.updated_at = moment
    await session.flush()
    return payment, fulfilled
