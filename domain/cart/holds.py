"""Holding leads in a cart: add, remove, extend, and the cart as the buyer sees it."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from aiqleads.domain.cart import expiry
from aiqleads.domain.cart import repository as repo
from aiqleads.domain.cart.events import CartEvent, Effects
from aiqleads.domain.core.lead import Lead
from aiqleads.domain.core.plans import discounted, plan_for
from aiqleads.domain.core.seats import Hold
from aiqleads.domain.errors import DomainError, ErrorCode, not_found
from aiqleads.domain.pricing.signals import user_actor
from aiqleads.domain.settings import Settings

_OFF_MARKET = {"WITHDRAWN": "was withdrawn", "EXPIRED": "has expired (its listing left the market)"}


@dataclass(frozen=True)
class CartItemView:
    """One active hold with its lead."""

    hold: Hold
    lead: Lead
    extensions_left: int


@dataclass(frozen=True)
class CartView:
    """The buyer's active holds, the cart-wide deadline (None when empty) and the server time."""

    items: list[CartItemView]
    expires_at: datetime | None
    server_time: datetime

    @property
    def total(self) -> int:
        """Sum of the frozen prices."""
        return sum(item.hold.price for item in self.items)


@dataclass
class CartOutcome:
    """The cart after a change, and what to publish once the change is committed."""

    cart: CartView
    effects: Effects = field(default_factory=Effects)


async def view_cart(
    session: AsyncSession, user_id: uuid.UUID, now: datetime, tier: str | None = None
) -> CartView:
    """The user's active holds (deadline still ahead) with their leads, oldest first."""
    cart = await repo.get_cart(session, user_id)
    rows = await repo.active_holds_with_leads(session, user_id, now)
    allowed = plan_for(tier or await repo.user_tier(session, user_id, now)).hold_extensions
    items = [CartItemView(hold, lead, max(0, allowed - hold.extensions_used)) for hold, lead in rows]
    expires_at = cart.expires_at if cart is not None and items else None
    if expires_at is not None and expires_at <= now:
        items, expires_at = [], None  # the cart timer fired; the release is on its way
    return CartView(items, expires_at, now)


async def add_to_cart(
    session: AsyncSession, settings: Settings, user_id: uuid.UUID, lead_id: uuid.UUID, now: datetime
) -> CartOutcome:
    """Hold one seat of a lead at the buyer's current price, for the item hold time (capped by the cart)."""
    cart = await repo.lock_cart(session, user_id)
    own = await expiry.expire_locked(session, cart, now, also_lock=[lead_id])
    effects = Effects(events=list(own.events))
    holds = own.remaining
    if any(h.lead_id == lead_id for h in holds):
        raise DomainError(ErrorCode.ALREADY_IN_CART, "This lead is already held in your cart.", "leadId")
    standing = await repo.user_standing(session, user_id, now)
    tier = standing.tier
    plan = plan_for(tier)
    if len(holds) >= plan.max_cart_items:
        raise DomainError(
            ErrorCode.CART_FULL,
            f"Your cart is full: the {plan.tier} tier holds at most {plan.max_cart_items} leads at once.",
            "leadId",
        )
    lead = own.locked.get(lead_id)  # locked by the expiry pass, in one batch with the leads it freed
    if lead is None:
        raise not_found("No lead with this id.", "leadId")
    if await repo.purchase_of(session, user_id, lead_id) is not None:
        raise DomainError(ErrorCode.ALREADY_PURCHASED, "You already bought this lead.", "leadId")
    effects.events.extend(await expiry.release_expired_on_lead(session, lead_id, now))
    base_price = await repo.take_seat(session, lead_id)
    if base_price is None:
        reason = _OFF_MARKET.get(lead.status, "has no free seat (sold or held by others)")
        raise DomainError(ErrorCode.LEAD_UNAVAILABLE, f"This lead {reason}.", "leadId")
    price = discounted(base_price, tier)
    held_total = sum(h.price for h in holds)
    if standing.balance < held_total + price:  # a hold takes a seat from others: only with the funds
        raise DomainError(
            ErrorCode.INSUFFICIENT_CREDITS,
            f"Holding this lead needs {held_total + price} credits for your cart "
            f"({held_total} already held + {price}) but your balance is {standing.balance}.",
            "leadId",
        )
    if not holds or cart.expires_at is None:
        cart.started_at = now
        cart.expires_at = now + timedelta(seconds=settings.cart_hold_seconds)
    held_until = min(now + timedelta(seconds=settings.item_hold_seconds), cart.expires_at)
    session.add(
        Hold(
            id=uuid.uuid4(),
            user_id=user_id,
            lead_id=lead_id,
            price=price,
            base_price=base_price,
            held_until=held_until,
            extensions_used=0,
            created_at=now,
        )
    )
    await session.flush()
    effects.events.append(CartEvent(user_id, "HOLD_CREATED", lead_id, held_until, cart.expires_at, now))
    effects.timers.append((user_id, held_until))
    effects.signals.append((lead_id, "cart_add", user_actor(user_id)))
    return CartOutcome(await view_cart(session, user_id, now, tier), effects)


async def remove_from_cart(
    session: AsyncSession, user_id: uuid.UUID, lead_id: uuid.UUID, now: datetime
) -> CartOutcome:
    """Release the buyer's hold on a lead; the seat is free for others at once."""
    cart = await repo.lock_cart(session, user_id)
    own = await expiry.expire_locked(session, cart, now, also_lock=[lead_id])
    effects = Effects(events=list(own.events))
    if lead_id in own.expired_lead_ids:  # it just expired: the lead is out of the cart either way
        return CartOutcome(await view_cart(session, user_id, now), effects)
    holds = own.remaining
    hold = next((h for h in holds if h.lead_id == lead_id), None)
    if hold is None:
        raise not_found("This lead is not in your cart.", "leadId")
    deleted = await repo.delete_holds(session, user_id, [hold.id])
    await repo.release_seats(session, [lead_id for lead_id, _ in deleted])
    if len(holds) == 1:
        expiry.reset_timer(cart)
    await session.flush()
    effects.events.append(CartEvent(user_id, "HOLD_RELEASED", lead_id, None, cart.expires_at, now))
    return CartOutcome(await view_cart(session, user_id, now), effects)


async def extend_hold(
    session: AsyncSession, settings: Settings, user_id: uuid.UUID, lead_id: uuid.UUID, now: datetime
) -> CartOutcome:
    """Push one hold back by the extension time (PRO once, ENTERPRISE three times).

    The cart timer moves with it when needed, but never past the cap after the cart started.
    """
    cart = await repo.lock_cart(session, user_id)
    own = await expiry.expire_locked(session, cart, now)
    effects = Effects(events=list(own.events))
    if lead_id in own.expired_lead_ids:
        raise DomainError(ErrorCode.HOLD_EXPIRED, "The hold on this lead has already expired.", "leadId")
    hold = next((h for h in own.remaining if h.lead_id == lead_id), None)
    if hold is None:
        raise not_found("This lead is not in your cart.", "leadId")
    plan = plan_for(await repo.user_tier(session, user_id, now))
    if plan.hold_extensions == 0:
        raise DomainError(
            ErrorCode.HOLD_EXTENSION_NOT_ALLOWED,
            f"Holds cannot be extended on the {plan.tier} tier; PRO and ENTERPRISE can extend them.",
            "leadId",
        )
    if hold.extensions_used >= plan.hold_extensions:
        raise DomainError(
            ErrorCode.HOLD_EXTENSION_NOT_ALLOWED,
            f"This hold was already extended {hold.extensions_used} time(s), the {plan.tier} limit.",
            "leadId",
        )
    if cart.expires_at is None or cart.started_at is None:  # repair a cart row that lost its timer
        cart.started_at = now
        cart.expires_at = max(hold.held_until, now + timedelta(seconds=settings.cart_hold_seconds))
    wanted = hold.held_until + timedelta(seconds=settings.hold_extension_seconds)
    cap = cart.started_at + timedelta(seconds=settings.cart_extension_cap_seconds)
    if wanted > cart.expires_at and cart.expires_at < cap:
        cart.expires_at = min(wanted, cap)
    new_until = min(wanted, cart.expires_at)
    if new_until <= hold.held_until:
        raise DomainError(
            ErrorCode.HOLD_EXTENSION_NOT_ALLOWED,
            "The cart has reached its longest allowed time; this hold cannot be extended further.",
            "leadId",
        )
    await repo.extend_hold(session, hold.id, new_until, plan.hold_extensions)
    await session.flush()
    effects.events.append(CartEvent(user_id, "HOLD_EXTENDED", lead_id, new_until, cart.expires_at, now))
    effects.timers.append((user_id, new_until))
    return CartOutcome(await view_cart(session, user_id, now), effects)
