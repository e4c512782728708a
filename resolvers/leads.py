"""Resolvers for lead fields that depend on the viewer, batched with per-request DataLoaders."""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Awaitable, Sequence
from datetime import UTC, datetime
from enum import Enum
from functools import partial
from typing import Any

from strawberry.dataloader import DataLoader
from strawberry.utils.await_maybe import await_maybe

from aiqleads.domain.core import seats
from aiqleads.domain.core import visibility as policy
from aiqleads.domain.core.filters.parse import parse_filter, parse_first, parse_query_text, parse_sort
from aiqleads.domain.core.filters.spec import LeadFilterSpec
from aiqleads.domain.core.geo import lat_lng as _lat_lng
from aiqleads.domain.core.lead import Lead, PriceHistory
from aiqleads.domain.core.visibility import ViewerKind, VisibleLead
from aiqleads.domain.leads import query as leads_query
from aiqleads.domain.leads import service as leads_service
from aiqleads.domain.leads import viewer_queries
from aiqleads.domain.search import service as search_service
from aiqleads.resolvers.context import Context
from aiqleads.resolvers.errors import query_errors
from aiqleads.resolvers.ids import uuid_of
from aiqleads.resolvers.users import tier_in_effect


def viewer_tier(ctx: Context) -> str:
    """The tier whose prices and limits apply to the viewer now (FREE for anonymous and partners)."""
    return tier_in_effect(ctx.viewer) if ctx.viewer is not None else "FREE"


def price_for_viewer(ctx: Context, row: Lead) -> int:
    """The lead's credit price as the policy shows it to this viewer (tier discount applied)."""
    return policy.viewer_price(row.price_credits, viewer_tier(ctx))


async def _load_purchased(ctx: Context, lead_ids: Sequence[uuid.UUID]) -> list[bool]:
    assert ctx.viewer is not None
    async with ctx.read_session() as session:
        bought = await seats.purchased_lead_ids(session, ctx.viewer.id, lead_ids)
    return [lead_id in bought for lead_id in lead_ids]


def viewer_purchased(ctx: Context, lead_id: uuid.UUID) -> bool | Awaitable[bool]:
    """Whether the signed-in viewer bought the lead: False at once for anonymous/partner callers,
    else an awaitable of the per-request batch (a resolver may return either)."""
    if ctx.viewer is None:
        return False
    loader = ctx.loader("purchased", lambda: DataLoader(load_fn=partial(_load_purchased, ctx)))

    async def later() -> bool:
        return bool(await loader.load(lead_id))

    return later()


def viewer_kind(ctx: Context) -> ViewerKind:
    """Who is asking, in the terms of the visibility policy."""
    role = ctx.viewer.role if ctx.viewer is not None else None
    return policy.viewer_kind(role, signed_in=ctx.viewer is not None, api_key=ctx.api_key is not None)


async def sees_lead_originals(ctx: Context, lead_id: uuid.UUID) -> bool:
    """Whether the viewer may see this lead's paid fields (bought it, or is an operator)."""
    kind = viewer_kind(ctx)
    purchased = kind is ViewerKind.BUYER and bool(await await_maybe(viewer_purchased(ctx, lead_id)))
    return policy.sees_originals(kind, purchased)


def cached_view(ctx: Context, row: Lead) -> VisibleLead | None:
    """The row's visible fields if this request already computed them (see prime_views), else None."""
    cached = ctx.loader("visible_leads", dict).get(row.id)
    return cached[1] if cached is not None and cached[0] is row else None


async def prime_views(ctx: Context, rows: Sequence[Lead]) -> None:
    """Compute the visible fields of a page of leads at once, so the page's fields resolve without
    awaiting: one purchase lookup for the whole page (buyers only), primed for `purchased` too."""
    if not rows:
        return
    kind = viewer_kind(ctx)
    bought: set[uuid.UUID] = set()
    if kind is ViewerKind.BUYER and ctx.viewer is not None:
        loader = ctx.loader("purchased", lambda: DataLoader(load_fn=partial(_load_purchased, ctx)))
        ids = [row.id for row in rows]
        bought = {lead_id for lead_id, flag in zip(ids, await loader.load_many(ids), strict=True) if flag}
    for row in rows:
        _remember_view(ctx, row, full=policy.sees_originals(kind, row.id in bought))


def _remember_view(ctx: Context, row: Lead, *, full: bool) -> VisibleLead:
    """Compute the row's visible fields and keep them for the rest of the request."""
    lat, lng = _lat_lng(row.location)
    view = policy.visible_lead(row, lat, lng, full=full)
    ctx.loader("visible_leads", dict)[row.id] = (row, view)
    return view


async def visible_for_viewer(ctx: Context, row: Lead) -> VisibleLead:
    """The lead's viewer-dependent fields under the visibility policy (computed once per row)."""
    view = cached_view(ctx, row)
    if view is not None:
        return view
    return _remember_view(ctx, row, full=await sees_lead_originals(ctx, row.id))


async def visible_point(ctx: Context, lead_id: uuid.UUID, lat: float, lng: float) -> tuple[float, float]:
    """A lead's point at the precision the viewer gets (price-change events carry only the point)."""
    return policy.visible_point(lat, lng, full=await sees_lead_originals(ctx, lead_id))


async def _load_others_holds(ctx: Context, lead_ids: Sequence[uuid.UUID]) -> list[int]:
    viewer_id = ctx.viewer.id if ctx.viewer is not None else None
    async with ctx.read_session() as session:
        counts = await seats.active_holds_of_others(session, viewer_id, lead_ids, datetime.now(UTC))
    return [counts.get(lead_id, 0) for lead_id in lead_ids]


def available_seats_for_viewer(ctx: Context, row: Lead) -> int | Awaitable[int]:
    """Seats still free for the viewer: at once for a lead without holds, else an awaitable of the
    others' active holds, looked up in one batch per request."""
    if not row.holds_count:  # no holds at all on this lead: nothing to look up
        return seats.seats_for_viewer(row)
    loader = ctx.loader("others_holds", lambda: DataLoader(load_fn=partial(_load_others_holds, ctx)))

    async def later() -> int:
        return seats.seats_for_viewer(row, await loader.load(row.id))

    return later()


async def _load_history(ctx: Context, first: int, lead_ids: Sequence[uuid.UUID]) -> list[list[PriceHistory]]:
    async with ctx.read_session() as session:
        grouped = await viewer_queries.price_history_for(session, lead_ids, first)
    return [grouped.get(lead_id, []) for lead_id in lead_ids]


async def price_history(ctx: Context, lead_id: uuid.UUID, first: int | None) -> list[Any]:
    """The newest price points of a lead (first defaults to 20 and is clamped to 0..100)."""
    first = 20 if first is None else min(first, 100)
    if first <= 0:
        return []
    loader = ctx.loader(
        f"price_history:{first}", lambda: DataLoader(load_fn=partial(_load_history, ctx, first))
    )
    return list(await loader.load(lead_id))


@query_errors
async def lead_by_id(ctx: Context, global_id: str) -> Lead | None:
    """Load one lead by its opaque id (INVALID_INPUT for malformed ids)."""
    lead_id = uuid_of(global_id, "Lead")
    async with ctx.read_session() as session:
        return await leads_service.view_lead(
            session,
            ctx.deps.redis,
            lead_id,
            queue_name=ctx.settings.arq_queue_name,
            viewer=ctx.principal,
        )


def _as_dict(value: Any) -> Any:
    """A GraphQL input object as plain dicts/lists/enum values (what the domain parsers take)."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _as_dict(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, (list, tuple)):
        return [_as_dict(v) for v in value]
    return value.value if isinstance(value, Enum) else value


def _spec(filter_input: Any) -> LeadFilterSpec:
    return parse_filter(_as_dict(filter_input) if filter_input is not None else None)


def parse_lead_filter(filter_input: Any) -> LeadFilterSpec:
    """A LeadFilter input as a domain filter (DomainError INVALID_INPUT; callers map errors)."""
    return _spec(filter_input)


@query_errors
def filter_spec(filter_input: Any) -> LeadFilterSpec:
    """Validate a LeadFilter input into a domain filter (raises a public INVALID_INPUT error)."""
    return _spec(filter_input)


@query_errors
async def leads_page(
    ctx: Context, filter_input: Any, sort: Any, first: Any, after: str | None, *, with_total: bool
) -> leads_query.LeadPage:
    """One page of the marketplace listing (PostgreSQL/PostGIS); its total may still be counting
    when it comes back (``LeadPage.total()``), so the page completes while PostgreSQL counts."""
    spec = _spec(filter_input)
    sort_value = parse_sort(_as_dict(sort), spec, search=False)
    size = parse_first(first)
    page = None
    try:
        async with ctx.read_connection() as connection:
            page = await leads_query.list_leads(
                connection,
                spec,
                sort_value,
                size,
                after,
                with_total=with_total,
                count_in=ctx.read_connection,
                count_limit=ctx.settings.exact_count_limit,
            )
    except BaseException:
        if page is not None:  # the page session's close failed: its count is not needed
            page.abandon()
        raise
    return page


@query_errors
async def search_page(
    ctx: Context,
    query: Any,
    filter_input: Any,
    sort: Any,
    first: Any,
    after: str | None,
    *,
    with_facets: bool,
) -> search_service.SearchPage:
    """One page of full-text search results with facets (Elasticsearch, rows from PostgreSQL)."""
    text = parse_query_text(query)
    spec = _spec(filter_input)
    sort_value = parse_sort(_as_dict(sort), spec, search=True)
    size = parse_first(first)
    return await search_service.search_leads(
        ctx.read_connection,
        ctx.deps.es,
        ctx.settings,
        spec,
        text,
        sort_value,
        size,
        after,
        with_facets=with_facets,
    )
