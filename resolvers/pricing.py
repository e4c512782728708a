"""Resolvers of live price changes."""

from __future__ import annotations

import uuid

from aiqleads.domain.core.lead import Lead
from aiqleads.domain.errors import not_found
from aiqleads.domain.events import PRICE_CHANNEL
from aiqleads.domain.leads import repository as leads_repo
from aiqleads.domain.pricing.watch import PriceChangeEvent, PriceWatch
from aiqleads.resolvers.context import Context
from aiqleads.resolvers.errors import query_errors
from aiqleads.resolvers.ids import uuid_of
from aiqleads.resolvers.leads import viewer_tier, visible_point
from aiqleads.resolvers.subscriptions import HubFeed


@query_errors
def _watch(
    lead_ids: list[str] | None, center: tuple[float, float] | None, radius_miles: float | None
) -> PriceWatch:
    ids = [uuid_of(global_id, "Lead", "leadIds") for global_id in lead_ids or []]
    return PriceWatch.create(ids, center, radius_miles)


def price_changes(
    ctx: Context,
    lead_ids: list[str] | None,
    center: tuple[float, float] | None,
    radius_miles: float | None,
) -> HubFeed[PriceChangeEvent, PriceChangeEvent]:
    """Price changes of the listed leads or of leads within the circle, at the viewer's prices."""
    watch = _watch(lead_ids, center, radius_miles)
    return HubFeed(ctx, PRICE_CHANNEL, PriceChangeEvent.from_payload, watch.selector(viewer_tier(ctx)))


async def visible_location(ctx: Context, lead_id: uuid.UUID, lat: float, lng: float) -> tuple[float, float]:
    """The changed lead's point at the precision the viewer may see."""
    return await visible_point(ctx, lead_id, lat, lng)


@query_errors
async def lead_for_change(ctx: Context, lead_id: uuid.UUID) -> Lead:
    """The lead a price change is about, as it is now."""
    async with ctx.read_session() as session:
        row = await leads_repo.get_lead(session, lead_id)
    if row is None:
        raise not_found("The lead no longer exists.", "lead")
    return row
