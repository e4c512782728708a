"""GraphQL types and operations of dynamic pricing: live price changes."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterable
from datetime import datetime
from typing import Annotated, Any

import strawberry
from strawberry.types import Info

from aiqleads.resolvers import pricing as resolve
from aiqleads.resolvers.context import Context
from aiqleads.resolvers.ids import to_global_id
from aiqleads.schema.common import GeoPoint, GeoRadiusInput
from aiqleads.schema.leads import Lead


@strawberry.type(
    description="A change of a lead's credit price, at the viewer's prices (tier discount applied)."
)
class PriceChange:
    lead_id: strawberry.ID = strawberry.field(description="Id of the lead whose price changed.")
    old_price: int = strawberry.field(description="Price before the change, credits, tier discount applied.")
    new_price: int = strawberry.field(description="Price after the change, credits, tier discount applied.")
    at: datetime = strawberry.field(description="When the new price took effect.")
    raw_lead_id: strawberry.Private[uuid.UUID]
    lat: strawberry.Private[float]
    lng: strawberry.Private[float]

    @classmethod
    def from_event(cls, event: Any) -> PriceChange:
        """Map a domain price-change event."""
        return cls(
            lead_id=strawberry.ID(to_global_id("Lead", event.lead_id)),
            old_price=event.old_price,
            new_price=event.new_price,
            at=event.at,
            raw_lead_id=event.lead_id,
            lat=event.lat,
            lng=event.lng,
        )

    @strawberry.field(
        description=(
            "Where the lead is: exact for its buyers, snapped to a 0.01° grid (about 1 km) for others."
        )
    )
    async def location(self, info: Info[Context, None]) -> GeoPoint:
        lat, lng = await resolve.visible_location(info.context, self.raw_lead_id, self.lat, self.lng)
        return GeoPoint(lat=lat, lng=lng)

    @strawberry.field(description="The lead, as it is now.")
    async def lead(self, info: Info[Context, None]) -> Lead:
        return Lead.from_row(await resolve.lead_for_change(info.context, self.raw_lead_id))


@strawberry.type
class PricingSubscription:
    """Subscription fields of pricing: live price changes."""

    @strawberry.subscription(
        description=(
            "Price changes of the given leads, or of any lead within the radius (give either or both), "
            "from any server process, with the viewer's tier discount applied."
        )
    )
    def price_changed(
        self,
        info: Info[Context, None],
        lead_ids: Annotated[
            list[strawberry.ID] | None, strawberry.argument(description="Leads to watch (at most 1000).")
        ] = None,
        near: Annotated[
            GeoRadiusInput | None, strawberry.argument(description="Watch every lead within this circle.")
        ] = None,
    ) -> AsyncIterable[PriceChange]:
        center = (near.center.lat, near.center.lng) if near is not None else None
        radius = near.radius_miles if near is not None else None
        ids = [str(i) for i in lead_ids] if lead_ids is not None else None
        return resolve.price_changes(info.context, ids, center, radius).presented(PriceChange.from_event)
