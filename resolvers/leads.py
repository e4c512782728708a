"""Resolvers for lead fields that depend on the viewer, batched with per-request DataLoaders."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from functools import partial
from typing import Any

from strawberry.dataloader import DataLoader

from aiqleads.domain.errors import DomainError
from aiqleads.domain.geo.points import lat_lng as _lat_lng
from aiqleads.domain.leads import repository as leads_repo
from aiqleads.domain.leads import viewer_queries
from aiqleads.domain.leads.models import Lead, PriceHistory
from aiqleads.domain.users.plans import discounted
from aiqleads.resolvers.context import Context
from aiqleads.resolvers.errors import from_domain
from aiqleads.resolvers.ids import uuid_of


def lat_lng(row: Lead) -> tuple[float, float]:
    """Latitude and longitude of a lead."""
    return _lat_lng(row.location)


def price_for_viewer(ctx: Context, row: Lead) -> int:
    """The lead's credit price with the viewer's tier discount."""
    tier = ctx.viewer.tier if ctx.viewer is not None else "FREE"
    return discounted(row.price_credits, tier)


async def _load_purchased(ctx: Context, lead_ids: Sequence[uuid.UUID]) -> list[bool]:
    assert ctx.viewer is not None
    async with ctx.read_session() as session:
        bought = await viewer_queries.purchased_lead_ids(session, ctx.viewer.id, lead_ids)
    return [lead_id in bought for lead_id in lead_ids]


async def viewer_purchased(ctx: Context, lead_id: uuid.UUID) -> bool:
    """Whether the signed-in viewer bought the lead (always False for anonymous/partner)."""
    if ctx.viewer is None:
        return False
    loader = ctx.loader("purchased", lambda: DataLoader(load_fn=partial(_load_purchased, ctx)))
    return bool(await loader.load(lead_id))


async def street_for_viewer(ctx: Context, row: Lead) -> str | None:
    """The street line, only for buyers of the lead."""
    return row.street if await viewer_purchased(ctx, row.id) else None


async def _load_others_holds(ctx: Context, lead_ids: Sequence[uuid.UUID]) -> list[int]:
    viewer_id = ctx.viewer.id if ctx.viewer is not None else None
    async with ctx.read_session() as session:
        counts = await viewer_queries.active_holds_of_others(
            session, viewer_id, lead_ids, datetime.now(UTC)
        )
    return [counts.get(lead_id, 0) for lead_id in lead_ids]


async def available_seats_for_viewer(ctx: Context, row: Lead) -> int:
    """max buyers − purchases − active holds of others (never negative)."""
    loader = ctx.loader("others_holds", lambda: DataLoader(load_fn=partial(_load_others_holds, ctx)))
    held_by_others = await loader.load(row.id)
    return max(0, row.max_buyers - row.buyers_count - held_by_others)


async def _load_history(ctx: Context, first: int, lead_ids: Sequence[uuid.UUID]) -> list[list[PriceHistory]]:
    async with ctx.read_session() as session:
        grouped = await viewer_queries.price_history_for(session, lead_ids, first)
    return [grouped.get(lead_id, []) for lead_id in lead_ids]


async def price_history(ctx: Context, lead_id: uuid.UUID, first: int) -> list[Any]:
    """The newest price points of a lead (first clamped to 1..100)."""
    first = max(1, min(first, 100))
    loader = ctx.loader(
        f"price_history:{first}", lambda: DataLoader(load_fn=partial(_load_history, ctx, first))
    )
    return list(await loader.load(lead_id))


async def lead_by_id(ctx: Context, global_id: str) -> Lead | None:
    """Load one lead by its opaque id (INVALID_INPUT for malformed ids)."""
    try:
        lead_id = uuid_of(global_id, "Lead")
    except DomainError as error:
        raise from_domain(error) from error
    async with ctx.read_session() as session:
        return await leads_repo.get_lead(session, lead_id)
