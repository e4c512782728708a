"""Resolvers of the cart, checkout, purchases and returns: parse arguments, call the domain, publish."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime
from functools import partial

from sqlalchemy.ext.asyncio import AsyncSession
from strawberry.dataloader import DataLoader

from aiqleads.domain.cart import checkout as checkout_service
from aiqleads.domain.cart import holds, returns
from aiqleads.domain.cart.checkout import CheckoutResult, HoldExpiredError, PurchaseView
from aiqleads.domain.cart.events import Effects
from aiqleads.domain.cart.holds import CartOutcome, CartView
from aiqleads.domain.cart.models import LeadReturn
from aiqleads.domain.cart.publishing import run_effects
from aiqleads.domain.cart.returns import ReturnResult
from aiqleads.domain.errors import DomainError
from aiqleads.resolvers.auth import require_viewer
from aiqleads.resolvers.context import Context
from aiqleads.resolvers.errors import from_domain
from aiqleads.resolvers.ids import to_global_id, uuid_of
from aiqleads.resolvers.leads import viewer_tier


def _now() -> datetime:
    return datetime.now(UTC)


async def _after_commit(ctx: Context, effects: Effects, *extra_kinds: str) -> None:
    await run_effects(ctx.resources.redis, ctx.settings, effects)
    metrics = ctx.resources.extras.get("metrics")
    if metrics is not None:
        for kind in [event.kind for event in effects.events] + list(extra_kinds):
            metrics.domain_events.labels(kind).inc()


def public_error(error: DomainError) -> DomainError:
    """Name an expired lead by its public id (the domain only knows database ids)."""
    if isinstance(error, HoldExpiredError):
        return DomainError(error.code, error.message, to_global_id("Lead", error.lead_id))
    return error


async def cart(ctx: Context) -> CartView:
    """The viewer's cart with server time."""
    user = require_viewer(ctx)
    async with ctx.read_session() as session:  # the viewer row loaded by auth already has the tier
        return await holds.view_cart(session, user.id, _now(), viewer_tier(ctx))


async def _hold_change(
    ctx: Context, lead_id: str, change: Callable[..., Awaitable[CartOutcome]]
) -> CartView | DomainError:
    """Run one hold change on a lead in its own transaction, then its after-commit effects."""
    user = require_viewer(ctx)
    try:
        lead_uuid = uuid_of(lead_id, "Lead", "leadId")
        async with ctx.unit_of_work() as session:
            outcome = await change(session, user_id=user.id, lead_id=lead_uuid, now=_now())
    except DomainError as error:
        return error
    await _after_commit(ctx, outcome.effects)
    return outcome.cart


async def add_to_cart(ctx: Context, lead_id: str) -> CartView | DomainError:
    """Hold a seat of a lead for the viewer."""
    return await _hold_change(ctx, lead_id, partial(holds.add_to_cart, settings=ctx.settings))


async def remove_from_cart(ctx: Context, lead_id: str) -> CartView | DomainError:
    """Release the viewer's hold on a lead."""
    return await _hold_change(ctx, lead_id, holds.remove_from_cart)


async def extend_hold(ctx: Context, lead_id: str) -> CartView | DomainError:
    """Extend the viewer's hold on a lead (tier permitting)."""
    return await _hold_change(ctx, lead_id, partial(holds.extend_hold, settings=ctx.settings))


async def checkout(ctx: Context, idempotency_key: str) -> CheckoutResult | DomainError:
    """Buy every held lead of the viewer's cart, once per idempotency key."""
    user = require_viewer(ctx)
    try:
        async with ctx.unit_of_work() as session:
            result = await checkout_service.checkout(session, user.id, idempotency_key, _now())
    except DomainError as error:
        return public_error(error)
    if not result.replayed:
        await _after_commit(ctx, result.effects, "checkout")
    return result


def current_balance(ctx: Context) -> int:
    """The viewer's balance as loaded for this request (shown with failed checkouts)."""
    return ctx.viewer.credit_balance if ctx.viewer is not None else 0


async def purchases(ctx: Context, first: int, after: str | None) -> list[PurchaseView]:
    """The viewer's purchases, newest first, after the purchase with id ``after``."""
    user = require_viewer(ctx)
    try:
        after_uuid = uuid_of(after, "Purchase", "after") if after else None
        async with ctx.read_session() as session:
            return await returns.list_purchases(session, user.id, first, after_uuid)
    except DomainError as error:
        raise from_domain(error) from error


async def _return_change(
    ctx: Context, change: Callable[[AsyncSession], Awaitable[ReturnResult]], event: str
) -> ReturnResult | DomainError:
    """Run one change of a return in its own transaction, then its after-commit effects."""
    try:
        async with ctx.unit_of_work() as session:
            result = await change(session)
    except DomainError as error:
        return error
    await _after_commit(ctx, result.effects, event)
    return result


async def return_lead(
    ctx: Context, purchase_id: str, reason: str, note: str | None
) -> ReturnResult | DomainError:
    """Return a purchased lead within the window for a refund."""
    user = require_viewer(ctx)
    try:
        purchase_uuid = uuid_of(purchase_id, "Purchase", "purchaseId")
    except DomainError as error:
        return error
    return await _return_change(
        ctx,
        lambda session: returns.return_lead(
            session, ctx.settings, user.id, purchase_uuid, reason, note, _now()
        ),
        "return",
    )


async def review_return(
    ctx: Context, return_id: str, approve: bool, note: str | None
) -> ReturnResult | DomainError:
    """An admin approves (refund, seat freed) or rejects a pending return, once."""
    user = require_viewer(ctx)
    try:
        return_uuid = uuid_of(return_id, "LeadReturn", "returnId")
    except DomainError as error:
        return error
    return await _return_change(
        ctx,
        lambda session: returns.review_return(
            session, user.id, user.role, return_uuid, approve, note, _now()
        ),
        "return_review",
    )


async def returns_to_review(ctx: Context, first: int, after: str | None) -> list[LeadReturn]:
    """Pending returns, oldest first, after the return with id ``after`` (admins; FORBIDDEN otherwise)."""
    user = require_viewer(ctx)
    try:
        after_uuid = uuid_of(after, "LeadReturn", "after") if after else None
        async with ctx.read_session() as session:
            return await returns.returns_to_review(session, user.role, first, after_uuid)
    except DomainError as error:
        raise from_domain(error) from error


async def _load_purchase_returns(ctx: Context, purchase_ids: Sequence[uuid.UUID]) -> list[LeadReturn | None]:
    async with ctx.read_session() as session:
        found = await returns.returns_of_purchases(session, list(purchase_ids))
    return [found.get(purchase_id) for purchase_id in purchase_ids]


async def purchase_return(ctx: Context, purchase_id: uuid.UUID) -> LeadReturn | None:
    """The return request of a purchase the viewer may see (one batch per request)."""
    loader = ctx.loader("purchase_returns", lambda: DataLoader(load_fn=partial(_load_purchase_returns, ctx)))
    found: LeadReturn | None = await loader.load(purchase_id)
    return found


async def _load_purchases(ctx: Context, purchase_ids: Sequence[uuid.UUID]) -> list[PurchaseView | None]:
    async with ctx.read_session() as session:
        found = await returns.purchases_by_id(session, list(purchase_ids))
    return [found.get(purchase_id) for purchase_id in purchase_ids]


async def return_purchase(ctx: Context, lead_return: LeadReturn) -> PurchaseView | None:
    """The purchase of a return request the viewer may see (its buyer or an admin; one batch)."""
    viewer = ctx.viewer
    if viewer is None or (viewer.id != lead_return.user_id and viewer.role != "admin"):
        return None
    loader = ctx.loader("purchases_by_id", lambda: DataLoader(load_fn=partial(_load_purchases, ctx)))
    found: PurchaseView | None = await loader.load(lead_return.purchase_id)
    return found
