"""Resolvers of credits: packs, tier changes and the ledger history."""

from __future__ import annotations

from aiqleads.domain.credits import ledger
from aiqleads.domain.credits import service as credits
from aiqleads.domain.credits.ledger import TransactionPage
from aiqleads.domain.credits.service import CreditResult
from aiqleads.domain.errors import DomainError
from aiqleads.domain.payments.provider import PaymentProvider
from aiqleads.domain.users.models import User
from aiqleads.resolvers.auth import require_viewer
from aiqleads.resolvers.context import Context
from aiqleads.resolvers.errors import from_domain


def payment_provider(ctx: Context) -> PaymentProvider:
    """This process's payment provider (built with the other clients in the app lifespan)."""
    provider: PaymentProvider = ctx.resources.extras["payments"]
    return provider


async def buy_credits(ctx: Context, pack: str, idempotency_key: str) -> CreditResult | DomainError:
    """Buy a credit pack for the viewer, once per idempotency key."""
    user = require_viewer(ctx)
    try:
        async with ctx.unit_of_work() as session:
            result = await credits.buy_credits(session, payment_provider(ctx), user.id, pack, idempotency_key)
    except DomainError as error:
        return error
    metrics = ctx.resources.extras.get("metrics")
    if metrics is not None and not result.replayed:
        metrics.domain_events.labels("credits_bought").inc()
    return result


async def change_tier(ctx: Context, tier: str) -> User | DomainError:
    """Move the viewer to another tier."""
    user = require_viewer(ctx)
    try:
        async with ctx.unit_of_work() as session:
            return await credits.change_tier(session, user.id, tier)
    except DomainError as error:
        return error


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
