"""Releasing holds whose deadline passed: per user (timers) and across users (reconciliation).

PostgreSQL is the record: a hold is active while ``held_until > now`` and its cart has not
expired. Expiry deletes the hold rows and gives the seats back under the lead row locks; the
events describing it are returned for publication after the commit.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from aiqleads.domain.cart import repository as repo
from aiqleads.domain.cart.events import CartEvent
from aiqleads.domain.cart.models import Cart
from aiqleads.domain.core.seats import Hold


@dataclass
class ExpiryOutcome:
    """Events caused by an expiry pass and the user's next hold deadline (None: cart empty)."""

    events: list[CartEvent] = field(default_factory=list)
    next_deadline: datetime | None = None
    expired_lead_ids: set[uuid.UUID] = field(default_factory=set)
    remaining: list[Hold] = field(default_factory=list)  # the cart's holds after the pass
    locked: dict[uuid.UUID, repo.LockedLead] = field(default_factory=dict)  # leads locked by the pass


def reset_timer(cart: Cart) -> None:
    """An empty cart has no timer; the next hold starts a new one."""
    cart.started_at = None
    cart.expires_at = None


async def expire_locked(
    session: AsyncSession, cart: Cart, now: datetime, also_lock: Iterable[uuid.UUID] = ()
) -> ExpiryOutcome:
    """Release the due holds of a cart whose row the caller has locked.

    When the cart-wide timer has fired every hold goes (CART_EXPIRED); otherwise each hold past
    its own deadline goes (HOLD_EXPIRED). ``also_lock`` names further leads the caller is about to
    touch, so that all lead locks are taken in one sorted batch.
    """
    holds = await repo.holds_of(session, cart.user_id)
    if not holds:
        if cart.expires_at is not None:
            reset_timer(cart)
            await session.flush()
        return ExpiryOutcome(locked=await repo.lock_leads(session, also_lock))
    cart_expired = cart.expires_at is not None and cart.expires_at <= now
    due = holds if cart_expired else [h for h in holds if h.held_until <= now]
    remaining = [h for h in holds if h not in due]
    next_deadline = min((h.held_until for h in remaining), default=None)
    if not due:
        locked = await repo.lock_leads(session, also_lock)
        return ExpiryOutcome(next_deadline=next_deadline, remaining=remaining, locked=locked)
    locked = await repo.lock_leads(session, [h.lead_id for h in due] + list(also_lock))
    deleted = await repo.delete_holds(session, cart.user_id, [h.id for h in due])
    await repo.release_seats(session, [lead_id for lead_id, _ in deleted])
    old_expiry = cart.expires_at
    if not remaining:
        reset_timer(cart)
    await session.flush()
    outcome = ExpiryOutcome(
        next_deadline=next_deadline,
        expired_lead_ids={lead_id for lead_id, _ in deleted},
        remaining=remaining,
        locked=locked,
    )
    if not deleted:
        return outcome
    # A hold whose own deadline came first expired on its own (even if we got to it late);
    # the ones still alive when the cart timer fired went with the cart.
    went_with_cart = False
    for lead_id, held_until in deleted:
        if cart_expired and old_expiry is not None and held_until >= old_expiry:
            went_with_cart = True
            continue
        outcome.events.append(
            CartEvent(cart.user_id, "HOLD_EXPIRED", lead_id, held_until, cart.expires_at, now)
        )
    if went_with_cart:
        outcome.events.append(CartEvent(cart.user_id, "CART_EXPIRED", None, None, old_expiry, now))
    return outcome


async def expire_due(session: AsyncSession, user_id: uuid.UUID, now: datetime) -> ExpiryOutcome:
    """Release whatever is due in one user's cart (what a timer firing does)."""
    cart = await repo.lock_existing_cart(session, user_id)
    if cart is None:
        return ExpiryOutcome()
    return await expire_locked(session, cart, now)


async def release_expired_on_lead(
    session: AsyncSession, lead_id: uuid.UUID, now: datetime
) -> list[CartEvent]:
    """Free the seats of expired holds on one lead (caller holds the lead lock), for any user."""
    released = await repo.release_expired_on_lead(session, lead_id, now)
    if not released:
        return []
    timers = await repo.cart_timers(session, [user_id for user_id, _ in released])
    events = []
    for user_id, held_until in released:
        cart_expires_at, remaining = timers.get(user_id, (None, 0))
        events.append(
            CartEvent(
                user_id, "HOLD_EXPIRED", lead_id, held_until, cart_expires_at if remaining else None, now
            )
        )
    return events


async def due_users(session: AsyncSession, now: datetime, limit: int = 500) -> list[uuid.UUID]:
    """Users with holds past their deadline (reconciliation releases them)."""
    return await repo.due_users(session, now, limit)


async def upcoming_deadlines(
    session: AsyncSession, now: datetime, until: datetime, limit: int = 5000
) -> list[tuple[uuid.UUID, datetime]]:
    """Each user's earliest deadline in (now, until] (reconciliation re-arms their timers)."""
    return await repo.upcoming_deadlines(session, now, until, limit)
