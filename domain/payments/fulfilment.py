"""Granting what a payment bought, exactly once, and taking it back once on a refund or dispute.

Fulfilment of a pack posts PACK_PURCHASE with ref ``payment:<id>`` (the ledger's unique
(user, kind, ref) index makes it exactly-once even without the row lock); of a tier it applies
one 30-day period by the rules of ``_apply_tier_period`` (one tier's time never becomes another's).
A full refund or a dispute reported by the provider reverses it once (``reverse``). Every function
here works on a payment row its caller holds FOR UPDATE.
"""

from __future__ import annotations

import logging
import uuid
from datetime import datetime
from typing import Literal

from sqlalchemy.ext.asyncio import AsyncSession

from aiqleads.domain.core.periods import TIER_PERIOD, allowance_ref, tier_rank
from aiqleads.domain.core.plans import effective_tier, plan_for
from aiqleads.domain.credits import ledger
from aiqleads.domain.payments.models import Payment

log = logging.getLogger("aiqleads.payments")

Reversal = Literal["refund", "dispute"]


def payment_ref(payment_id: uuid.UUID) -> str:
    """The ledger reference that makes a pack's grant exactly-once per payment."""
    return f"payment:{payment_id}"


def reversal_ref(payment_id: uuid.UUID) -> str:
    """The ledger reference that makes the clawback of a reversed payment exactly-once."""
    return f"reversal:{payment_id}"


def mark_failed(payment: Payment, reason: str | None, now: datetime) -> bool:
    """Mark a payment FAILED unless it already succeeded; whether it changed."""
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
