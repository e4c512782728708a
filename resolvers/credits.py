"""Resolvers of credits: packs, tier changes, their payments and the ledger history."""

from __future__ import annotations

from aiqleads.domain.credits import ledger
from aiqleads.domain.credits.ledger import TransactionPage
from aiqleads.domain.errors import DomainError, ErrorCode
from aiqleads.domain.payments import service as payments
from aiqleads.domain.payments import use_cases
from aiqleads.domain.payments.models import Payment
from aiqleads.domain.payments.provider import PaymentProvider
from aiqleads.domain.payments.purchases import CreditResult, TierResult
from aiqleads.resolvers.auth import require_viewer
from aiqleads.resolvers.context import Context
from aiqleads.resolvers.errors import mutation_errors, query_errors
from aiqleads.resolvers.ids import uuid_of


def payment_provider(ctx: Context) -> PaymentProvider:
    """This process's payment provider (built from settings in the app lifespan)."""
    provider = ctx.deps.payments
    if provider is None:
        raise DomainError(ErrorCode.PAYMENT_UNAVAILABLE, "No payment provider is configured on this server.")
    return provider


@mutation_errors()
async def buy_credits(ctx: Context, pack: str, idempotency_key: str) -> CreditResult:
    """Buy a credit pack for the viewer: one payment per idempotency key, credits when it succeeds."""
    user = require_viewer(ctx)
    result = await use_cases.buy_credits(ctx.deps, payment_provider(ctx), user.id, pack, idempotency_key)
    if result.granted:
        ctx.count_events("credits_bought")
    return result


@mutation_errors()
async def change_tier(ctx: Context, tier: str, idempotency_key: str | None = None) -> TierResult:
    """Move the viewer to another tier (upgrades through a payment, downgrades at once)."""
    user = require_viewer(ctx)
    result = await use_cases.change_tier(ctx.deps, payment_provider(ctx), user.id, tier, idempotency_key)
    if result.granted:
        ctx.count_events("tier_paid")
    return result


@query_errors
async def payment(ctx: Context, global_id: str) -> Payment | None:
    """One of the viewer's payments by its global id (null when missing or someone else's)."""
    user = require_viewer(ctx)
    payment_id = uuid_of(global_id, "Payment")
    async with ctx.read_session() as session:
        return await payments.get_payment(session, user.id, payment_id)


@query_errors
async def credit_transactions(ctx: Context, first: int, after: str | None) -> TransactionPage:
    """The viewer's ledger, newest first."""
    user = require_viewer(ctx)
    async with ctx.read_session() as session:
        return await ledger.list_transactions(session, user.id, first, after)


def cursor_of(entry: object) -> str:
    """The opaque cursor of a ledger entry."""
    return ledger.encode_cursor(int(getattr(entry, "id")))  # noqa: B009
