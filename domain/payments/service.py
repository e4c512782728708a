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
(user, kind, ref) index makes it exactly-once even without the row lock); of a tier it applies
one 30-day period by the rules of ``_apply_tier_period`` (one tier's time never becomes another's).
A full refund or a dispute reported by the provider reverses it once (``reverse``).

Paid time is a run of back-to-back 30-day periods ending at ``tier_paid_until``; the monthly
allowance is granted once per such period (``allowance_ref`` names the period in effect), so
every change of ``tier_paid_until`` here moves it by whole periods or starts a new run.
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
from aiqleads.domain.users.plans import PLANS, effective_tier, plan_for

log = logging.getLogger("aiqleads.payments")

UnitOfWork = Callable[[], AbstractAsyncContextManager[AsyncSession]]
Purpose = Literal["CREDIT_PACK", "TIER"]
TIER_PERIOD = timedelta(days=30)
FINAL_STATUSES = ("SUCCEEDED", "FAILED")
TIER_ORDER = tuple(PLANS)  # FREE < PRO < ENTERPRISE
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
Reversal = Literal["refund", "dispute"]


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


EventResult = Literal["fulfilled", "duplicate", "failed", "reversed", "ignored", "mismatch"]


@dataclass(frozen=True)
class EventOutcome:
    """What a provider event did to our payments (the payment is None when it was not ours)."""

    result: EventResult
    payment: Payment | None = None


def payment_ref(payment_id: uuid.UUID) -> str:
    """The ledger reference that makes a pack's grant exactly-once per payment."""
    return f"payment:{payment_id}"


def reversal_ref(payment_id: uuid.UUID) -> str:
    """The ledger reference that makes the clawback of a reversed payment exactly-once."""
    return f"reversal:{payment_id}"


def tier_rank(tier: str) -> int:
    """FREE 0, PRO 1, ENTERPRISE 2 (unknown tiers rank as FREE)."""
    return TIER_ORDER.index(plan_for(tier).tier)


def current_period_end(paid_until: datetime, now: datetime) -> datetime:
    """The end of the 30-day period in effect at ``now`` (``paid_until`` must be after ``now``).

    Paid time is laid out as back-to-back 30-day periods ending at ``paid_until``: with 40 days
    left the period in effect ends in 10 days, and the next one (30 more) starts then.
    """
    whole_after = -(-(paid_until - now) // TIER_PERIOD) - 1  # whole periods after the current one
    return paid_until - whole_after * TIER_PERIOD


def allowance_ref(paid_until: datetime, now: datetime) -> str:
    """``allowance:<epoch seconds of the end of the period in effect>``: one allowance per period.

    A downgrade keeps ``tier_paid_until`` (same ref: nothing new); a payment that extends the same
    tier adds a period after the current one (granted when it starts); a new run of paid time
    (first payment, upgrade) has a new end (granted once). The SQL twin is in credits.service.
    """
    end = current_period_end(paid_until, now)
    return f"allowance:{(end - EPOCH) // timedelta(seconds=1)}"


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
    """Mark a locked payment SUCCEEDED and grant what it paid for; False when it already was.

    A payment already refunded or disputed (the provider's events overtook each other) is never
    fulfilled. A pack posts its credits once; a tier payment follows ``_apply_tier_period``.
    """
    if payment.status == "SUCCEEDED" or payment.reversed:
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
        await _apply_tier_period(session, payment, now)
    await session.flush()
    return True


async def _apply_tier_period(session: AsyncSession, payment: Payment, now: datetime) -> None:
    """Apply one paid 30-day period of ``payment.product``; time never changes tier.

    - the tier in effect is the one paid for: the period is added after the current paid time;
    - nothing paid is in effect (FREE, lapsed) or the payment is for a higher tier (an upgrade):
      the tier is set and its period starts now; what was left of the lower tier is forfeited
      (its allowance was already granted; converting it would let cheap time buy dear time);
    - the payment is for a lower tier than the one in effect (it arrived late, after an
      upgrade was paid): nothing changes, so the user is never downgraded and the higher tier
      is never extended by a cheaper payment; the payment is recorded SUCCEEDED with a note in
      ``failure_reason`` (refund it from the provider's dashboard; the refund changes nothing).
    """
    user = await ledger.lock_user(session, payment.user_id)
    tier = plan_for(payment.product).tier
    current = effective_tier(user.tier, user.tier_paid_until, now)
    if current == tier and user.tier_paid_until is not None:
        user.tier_paid_until = user.tier_paid_until + TIER_PERIOD
    elif current == "FREE" or tier_rank(tier) > tier_rank(current):
        user.tier = tier
        user.tier_paid_until = now + TIER_PERIOD
    else:
        until = user.tier_paid_until.isoformat() if user.tier_paid_until else "now"
        payment.failure_reason = (
            f"Not applied: {current} is paid until {until}, and a {tier} payment does not extend it."
        )
        log.warning("payment %s for %s arrived while %s is in effect: not applied", payment.id, tier, current)


async def reverse(
    session: AsyncSession, payment: Payment, kind: Reversal, detail: str | None, now: datetime
) -> bool:
    """Record a full refund or a dispute of a locked payment; the first one reverses its grant.

    Each kind is recorded once (``refunded_at`` / ``disputed_at``; False for a repeat). Only the
    first reversal of a payment takes anything back (a refund and then a dispute of one charge
    reverse it once):

    - not fulfilled yet (the event overtook the success): it becomes FAILED and is never fulfilled;
    - a pack: a REVERSAL entry takes back up to the pack's credits, as many as the balance still
      holds (never below zero); what could not be taken back is noted in ``failure_reason``;
    - a tier: ``_end_tier_period``.
    """
    column = "refunded_at" if kind == "refund" else "disputed_at"
    if getattr(payment, column) is not None:
        return False
    first = not payment.reversed
    setattr(payment, column, now)
    payment.updated_at = now
    label = "Refunded" if kind == "refund" else f"Disputed ({detail or 'no reason given'})"
    if not first:
        note = f"{label} as well; it was already reversed."
    elif payment.status != "SUCCEEDED":
        payment.status = "FAILED"
        note = f"{label} before it was fulfilled; nothing was granted."
    elif payment.purpose == "CREDIT_PACK":
        note = f"{label}: " + await _claw_back(session, payment, payment.credits, f"{payment.product} pack")
    else:
        note = f"{label}: " + await _end_tier_period(session, payment, now)
    payment.failure_reason = f"{payment.failure_reason} {note}" if payment.failure_reason else note
    await session.flush()
    return True


async def _claw_back(session: AsyncSession, payment: Payment, credits: int, what: str) -> str:
    """Take back up to ``credits`` (as many as the balance holds) once; describe what happened."""
    user = await ledger.lock_user(session, payment.user_id)
    taken = min(credits, user.credit_balance)
    if taken > 0:
        await ledger.post(
            session,
            payment.user_id,
            -taken,
            "REVERSAL",
            f"{what} reversed: {taken} of {credits} credits taken back (payment {payment.id})",
            ref=reversal_ref(payment.id),
        )
    missing = credits - taken
    if missing == 0:
        return f"{taken} of {credits} credits of the {what} were taken back."
    return (
        f"{taken} of {credits} credits of the {what} were taken back; {missing} could not be (already spent)."
    )


async def _end_tier_period(session: AsyncSession, payment: Payment, now: datetime) -> str:
    """Take one 30-day period off the paid time this payment may be part of.

    When the tier in effect ranks at or below the payment's (the same tier, or a downgrade
    that kept its period), one period is removed from ``tier_paid_until``: with another period
    after it the user keeps the rest; otherwise the user is back on FREE now and the allowance
    of the period in effect is taken back as far as the balance holds. A payment for a lower
    tier than the one in effect (forfeited by an upgrade, or never applied) or one whose paid
    time is over has nothing left to end. Taking whole periods keeps the allowance periods
    aligned (no new allowance).
    """
    user = await ledger.lock_user(session, payment.user_id)
    current = effective_tier(user.tier, user.tier_paid_until, now)
    if current == "FREE" or user.tier_paid_until is None or tier_rank(payment.product) < tier_rank(current):
        return "its paid period was already over or replaced; nothing to end."
    remaining = user.tier_paid_until - TIER_PERIOD
    if remaining > now:
        user.tier_paid_until = remaining
        return f"one 30-day period was removed; {current} stays paid until {remaining.isoformat()}."
    ref = allowance_ref(user.tier_paid_until, now)
    user.tier = "FREE"
    user.tier_paid_until = None
    await session.flush()  # before the ledger reloads the locked row
    allowance = await ledger.find_by_ref(session, user.id, "MONTHLY_ALLOWANCE", ref)
    note = f"the {current} period ended now (back to FREE)"
    if allowance is None:
        return note + "."
    return note + "; " + await _claw_back(session, payment, allowance.amount, "period's allowance")


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
    a failure marks the payment FAILED unless it already succeeded; a full refund or a dispute is
    recorded once per kind and reverses the payment once (``reverse``); amounts or currencies that
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
    if event.type in ("refunded", "disputed"):
        kind: Reversal = "refund" if event.type == "refunded" else "dispute"
        changed = await reverse(session, payment, kind, event.failure_reason, moment)
        log.warning("payment %s: %s event %s (%s)", payment.id, provider_name, event.event_id, event.type)
        return EventOutcome("reversed" if changed else "duplicate", payment)
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
