"""Resolvers of the cart, checkout, purchases and returns: parse arguments → one use case → result."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime
from functools import partial

from strawberry.dataloader import DataLoader

from aiqleads.domain.bootstrap import Deps
from aiqleads.domain.cart import holds, returns, use_cases
from aiqleads.domain.cart.checkout import CheckoutResult, HoldExpiredError, PurchaseView
from aiqleads.domain.cart.holds import CartOutcome, CartView
from aiqleads.domain.cart.models import LeadReturn
from aiqleads.domain.cart.returns import ReturnResult
from aiqleads.domain.errors import DomainError
from aiqleads.resolvers.auth import require_viewer
from aiqleads.resolvers.context import Context
from aiqleads.resolvers.errors import Outcomes, mutation_errors, query_errors
from aiqleads.resolvers.ids import to_global_id, uuid_of
from aiqleads.resolvers.leads import viewer_tier


def _now() -> datetime:
    return datetime.now(UTC)


HOLD_OUTCOMES = Outcomes("holds", "placed", "refused")
CHECKOUT_OUTCOMES = Outcomes("checkouts", "completed", "failed", repeat=lambda result: result.replayed)


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


HoldChange = Callable[[Deps, uuid.UUID, uuid.UUID, datetime], Awaitable[CartOutcome]]


async def _hold_change(ctx: Context, lead_id: str, change: HoldChange) -> CartView:
    """Run one hold change (its own unit of work) and count its events."""
    user = require_viewer(ctx)
    outcome = await change(ctx.deps, user.id, uuid_of(lead_id, "Lead", "leadId"), _now())
    ctx.count_events(*(event.kind for event in outcome.effects.events))
    return outcome.cart


@mutation_errors(outcomes=HOLD_OUTCOMES)
async def add_to_cart(ctx: Context, lead_id: str) -> CartView:
    """Hold a seat of a lead for the viewer."""
    return await _hold_change(ctx, lead_id, use_cases.add_to_cart)


@mutation_errors()
async def remove_from_cart(ctx: Context, lead_id: str) -> CartView:
    """Release the viewer's hold on a lead."""
    return await _hold_change(ctx, lead_id, use_cases.remove_from_cart)


@mutation_errors()
async def extend_hold(ctx: Context, lead_id: str) -> CartView:
    """Extend the viewer's hold on a lead (tier permitting)."""
    return await _hold_change(ctx, lead_id, use_cases.extend_hold)


@mutation_errors(public_error, outcomes=CHECKOUT_OUTCOMES)
async def checkout(ctx: Context, idempotency_key: str) -> CheckoutResult:
    """Buy every held lead of the viewer's cart, once per idempotency key."""
    user = require_viewer(ctx)
    result = await use_cases.checkout(ctx.deps, user.id, idempotency_key, _now())
    if not result.replayed:
        ctx.count_events(*(event.kind for event in result.effects.events), "checkout")
    return result


def current_balance(ctx: Context) -> int:
    """The viewer's balance as loaded for this request (shown with failed checkouts)."""
    return ctx.viewer.credit_balance if ctx.viewer is not None else 0


@query_errors
async def purchases(ctx: Context, first: int, after: str | None) -> list[PurchaseView]:
    """The viewer's purchases, newest first, after the purchase with id ``after``."""
    user = require_viewer(ctx)
    after_uuid = uuid_of(after, "Purchase", "after") if after else None
    async with ctx.read_session() as session:
        return await returns.list_purchases(session, user.id, first, after_uuid)


@mutation_errors()
async def return_lead(ctx: Context, purchase_id: str, reason: str, note: str | None) -> ReturnResult:
    """Return a purchased lead within the window for a refund."""
    user = require_viewer(ctx)
    purchase_uuid = uuid_of(purchase_id, "Purchase", "purchaseId")
    result = await use_cases.return_lead(ctx.deps, user.id, purchase_uuid, reason, note, _now())
    ctx.count_events("return")
    return result


@mutation_errors()
async def review_return(ctx: Context, return_id: str, approve: bool, note: str | None) -> ReturnResult:
    """An admin approves (refund, seat freed) or rejects a pending return, once."""
    user = require_viewer(ctx)
    return_uuid = uuid_of(return_id, "LeadReturn", "returnId")
    result = await use_cases.review_return(ctx.deps, user.id, user.role, return_uuid, approve, note, _now())
    ctx.count_events("return_review")
    return result


@query_errors
async def returns_to_review(ctx: Context, first: int, after: str | None) -> list[LeadReturn]:
    """Pending returns, oldest first, after the return with id ``after`` (admins; FORBIDDEN otherwise)."""
    user = require_viewer(ctx)
    after_uuid = uuid_of(after, "LeadReturn", "after") if after else None
    async with ctx.read_session() as session:
        return await returns.returns_to_review(session, user.role, first, after_uuid)


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
