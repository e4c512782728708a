"""Resolvers of credits: packs, tier changes, their payments and the ledger history."""

from __future__ import annotations

from aiqleads.domain.credits import ledger
from aiqleads.domain.credits import service as credits
from aiqleads.domain.credits.ledger import TransactionPage
from aiqleads.domain.credits.service import CreditResult, TierResult
from aiqleads.domain.errors import DomainError
from aiqleads.domain.payments import service as payments
from aiqleads.domain.payments.models import Payment
from aiqleads.domain.payments.provider import PaymentProvider
from aiqleads.resolvers.auth import require_viewer
from aiqleads.resolvers.context import Context
from aiqleads.resolvers.errors import from_domain
from aiqleads.resolvers.ids import uuid_of


def payment_provider(ctx: Context) -> PaymentProvider:
    """This process's payment provider (built from settings in the app lifespan)."""
    provider: PaymentProvider | None = ctx.resources.extras.get("payments")
    if provider is None:
        raise DomainError("PAYMENT_UNAVAILABLE", "No payment provider is configured on this server.")
    return provider


async def buy_credits(ctx: Context, pack: str, idempotency_key: str) -> CreditResult | DomainError:
    """Buy a credit pack for the viewer: one payment per idempotency key, credits when it succeeds."""
    user = require_viewer(ctx)
    try:
        result = await credits.buy_credits(
            ctx.unit_of_work, payment_provider(ctx), user.id, pack, idempotency_key
        )
    except DomainError as error:
        return error
    metrics = ctx.resources.extras.get("metrics")
    if metrics is not None and result.granted:
        metrics.domain_events.labels("credits_bought").inc()
    return result


async def change_tier(
    ctx: Context, tier: str, idempotency_key: str | None = None
) -> TierResult | DomainError:
    """Move the viewer to another tier (upgrades through a payment, downgrades at once)."""
    user = require_viewer(ctx)
    try:
        result = await credits.change_tier(
            ctx.unit_of_work, payment_provider(ctx), user.id, tier, idempotency_key
        )
    except DomainError as error:
        return error
    metrics = ctx.resources.extras.get("metrics")
    if metrics is not None and result.granted:
        metrics.domain_events.labels("tier_paid").inc()
    return result


async def payment(ctx: Context, global_id: str) -> Payment | None:
    """One of the viewer's payments by its global id (null when missing or someone else's)."""
    user = require_viewer(ctx)
    try:
        payment_id = uuid_of(global_id, "Payment")
        async with ctx.read_session() as session:
            return await payments.get_payment(session, user.id, payment_id)
    except DomainError as error:
        raise from_domain(error) from error


async def credit_transactions(ctx: Context, first: int, after: str | None) -> TransactionPage:
    """The viewer's ledger, newest first."""
    user = require_viewer(ctx)
    try:
        async with ctx.read_session() as session:
            return await ledger.list_transactions(session, user.id, first, after)
    except DomainError as error:
        raise from_domain(error) from error


def cursor_of(entry: object) -> str:
    """The opaque cursor of a ledger entry."""
    return ledger.encode_cursor(int(getattr(entry, "id")))  # noqa: B009
