"""Applying a verified provider event (a signed webhook) to the payment it concerns, exactly once."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal

from sqlalchemy.ext.asyncio import AsyncSession

from aiqleads.domain.payments.fulfilment import Reversal, fulfil, mark_failed, reverse
from aiqleads.domain.payments.models import Payment
from aiqleads.domain.payments.provider import PaymentEvent
from aiqleads.domain.payments.records import lock_payment_of_event

log = logging.getLogger("aiqleads.payments")

EventResult = Literal["fulfilled", "duplicate", "failed", "reversed", "ignored", "mismatch"]


@dataclass(frozen=True)
class EventOutcome:
    """What a provider event did to our payments (the payment is None when it was not ours)."""

    result: EventResult
    payment: Payment | None = None


async def apply_event(
    session: AsyncSession, provider_name: str, event: PaymentEvent, now: datetime | None = None
) -> EventOutcome:
    """Apply a verified provider event to the payment it concerns, under that row's lock.

    Success fulfils once (any number of deliveries or distinct events for one provider payment);
    a failure marks the payment FAILED unless it already succeeded; a full refund or a dispute is
    recorded once per kind and reverses the payment once (``reverse``); amounts or currencies that
    disagree with the row are logged and not fulfilled; payments we never created are ignored.
    """
    moment = now if now is not None else datetime.now(UTC)
    if event.type == "other" or not event.provider_payment_id:
        return EventOutcome("ignored")
    payment = await lock_payment_of_event(session, provider_name, event)
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
        changed = mark_failed(payment, event.failure_reason, moment)
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
