"""GraphQL types of the marketplace read side: leads, filters, connections, facets (queries: lead_queries)."""

from __future__ import annotations

from datetime import datetime
from enum import Enum
from typing import Annotated, Any

import strawberry
from strawberry.types import Info

from aiqleads.resolvers import leads as resolve
from aiqleads.resolvers.context import Context
from aiqleads.resolvers.ids import to_global_id
from aiqleads.schema.common import JSON, BoundingBoxInput, GeoPoint, GeoRadiusInput, Node
from aiqleads.schema.connections import Connection, Edge, describe_fields


@strawberry.enum(description="Where a lead was found.")
class LeadSource(Enum):
    ZILLOW = "ZILLOW"
    CRAIGSLIST = "CRAIGSLIST"
    FSBO = "FSBO"
    FACEBOOK = "FACEBOOK"


@strawberry.enum(description="Kind of property.")
class PropertyType(Enum):
    SINGLE_FAMILY = "SINGLE_FAMILY"
    CONDO = "CONDO"
    TOWNHOUSE = "TOWNHOUSE"
    MULTI_FAMILY = "MULTI_FAMILY"
    LAND = "LAND"
    MANUFACTURED = "MANUFACTURED"
    OTHER = "OTHER"


@strawberry.enum(description="Whether a lead can still be bought.")
class LeadStatus(Enum):
    AVAILABLE = "AVAILABLE"
    SOLD_OUT = "SOLD_OUT"
    WITHDRAWN = "WITHDRAWN"


@strawberry.enum(description="Order of lead lists.")
class LeadSort(Enum):
    NEWEST = "NEWEST"
    PRICE_ASC = "PRICE_ASC"
    PRICE_DESC = "PRICE_DESC"
    DISTANCE = "DISTANCE"
    QUALITY = "QUALITY"
    RELEVANCE = "RELEVANCE"


@strawberry.input(description="Filters combined with AND; omitted fields do not filter.")
class LeadFilter:
    sources: list[LeadSource] | None = strawberry.field(default=None, description="Any of these sources.")
    property_types: list[PropertyType] | None = strawberry.field(
        default=None, description="Any of these property types."
    )
    min_price: int | None = strawberry.field(default=None, description="Minimum asking price, USD.")
    max_price: int | None = strawberry.field(default=None, description="Maximum asking price, USD.")
    min_bedrooms: int | None = strawberry.field(default=None, description="At least this many bedrooms.")
    min_bathrooms: float | None = strawberry.field(default=None, description="At least this many bathrooms.")
    min_sqft: int | None = strawberry.field(default=None, description="At least this living area, sqft.")
    max_sqft: int | None = strawberry.field(default=None, description="At most this living area, sqft.")
    city: str | None = strawberry.field(default=None, description="City name (case-insensitive).")
    state: str | None = strawberry.field(default=None, description="Two-letter state code.")
    zip_codes: list[str] | None = strawberry.field(default=None, description="Any of these ZIP codes.")
    min_quality: float | None = strawberry.field(default=None, description="Quality score at least, 0..1.")
    max_fraud: float | None = strawberry.field(default=None, description="Fraud score at most, 0..1.")
    posted_after: datetime | None = strawberry.field(default=None, description="Posted after this time.")
    near: GeoRadiusInput | None = strawberry.field(default=None, description="Within a radius of a point.")
    within: BoundingBoxInput | None = strawberry.field(default=None, description="Inside a bounding box.")
    polygon: JSON | None = strawberry.field(default=None, description="Inside a GeoJSON Polygon.")
    available_only: bool | None = strawberry.field(
        default=True, description="Only leads with a free seat (default true)."
    )


@strawberry.type(description="Postal address; street stays null until the viewer buys the lead.")
class Address:
    city: str = strawberry.field(description="City.")
    state: str = strawberry.field(description="Two-letter state code.")
    zip: str = strawberry.field(description="ZIP code.")
    street: str | None = strawberry.field(default=None, description="Street line; null until purchased.")


@strawberry.type(description="The owner's contact details, visible after purchase.")
class LeadContact:
    name: str | None = strawberry.field(default=None, description="Owner or poster name.")
    phone: str | None = strawberry.field(default=None, description="Phone in E.164.")
    email: str | None = strawberry.field(default=None, description="Email address.")


@strawberry.type(description="One point of a lead's credit price history.")
class PricePoint:
    price: int = strawberry.field(description="Credit price (before tier discount).")
    at: datetime = strawberry.field(description="When the price took effect.")
    reason: str = strawberry.field(description="Why: the pricing factors.")


@strawberry.type(description="A property lead for sale.")
class Lead(Node):
    id: strawberry.ID = strawberry.field(description="Opaque global id.")
    row: strawberry.Private[Any]
    distance: strawberry.Private[float | None] = None
    public_distance: strawberry.Private[float | None] = None
    reason: strawberry.Private[str | None] = None

    @classmethod
    def from_row(
        cls,
        row: Any,
        distance: float | None = None,
        public_distance: float | None = None,
        reason: str | None = None,
    ) -> Lead:
        """Wrap a domain lead row (optional exact and public distances in miles, and why it is suggested)."""
        return cls(
            id=strawberry.ID(to_global_id("Lead", row.id)),
            row=row,
            distance=distance,
            public_distance=public_distance,
            reason=reason,
        )

    @strawberry.field(
        description=(
            "Why this lead was suggested (similarLeads, recommendedLeads), e.g. "
            '"similar to 3 condos you bought in Austin"; null elsewhere.'
        )
    )
    def recommendation_reason(self) -> str | None:
        return self.reason

    @strawberry.field(description="Primary source of the listing.")
    def source(self) -> LeadSource:
        return LeadSource(self.row.source)

    @strawberry.field(description="URL of the original listing; null unless the viewer bought this lead.")
    async def source_url(self, info: Info[Context, None]) -> str | None:
        return (await resolve.visible_for_viewer(info.context, self.row)).source_url

    @strawberry.field(description="Kind of property.")
    def property_type(self) -> PropertyType:
        return PropertyType(self.row.property_type)

    @strawberry.field(
        description="Listing title; for non-buyers, phones, e-mails, URLs and street addresses are redacted."
    )
    async def title(self, info: Info[Context, None]) -> str:
        return (await resolve.visible_for_viewer(info.context, self.row)).title

    @strawberry.field(
        description=(
            "Listing description (cleaned); for non-buyers, phones, e-mails, URLs and street addresses "
            "are replaced by [contact hidden]."
        )
    )
    async def description(self, info: Info[Context, None]) -> str | None:
        return (await resolve.visible_for_viewer(info.context, self.row)).description

    @strawberry.field(description="Address; street only for buyers of the lead.")
    async def address(self, info: Info[Context, None]) -> Address:
        street = (await resolve.visible_for_viewer(info.context, self.row)).street
        return Address(city=self.row.city, state=self.row.state, zip=self.row.zip, street=street)

    @strawberry.field(
        description=(
            "Location of the property: exact for buyers, snapped to a 0.01° grid (about 1 km) for others."
        )
    )
    async def location(self, info: Info[Context, None]) -> GeoPoint:
        view = await resolve.visible_for_viewer(info.context, self.row)
        return GeoPoint(lat=view.lat, lng=view.lng)

    @strawberry.field(description="Asking price in USD.")
    def asking_price(self) -> int | None:
        return self.row.asking_price

    @strawberry.field(description="Bedrooms.")
    def bedrooms(self) -> int | None:
        return self.row.bedrooms

    @strawberry.field(description="Bathrooms (halves allowed).")
    def bathrooms(self) -> float | None:
        return self.row.bathrooms

    @strawberry.field(description="Living area in square feet.")
    def sqft(self) -> int | None:
        return self.row.sqft

    @strawberry.field(description="Year built.")
    def year_built(self) -> int | None:
        return self.row.year_built

    @strawberry.field(
        description="Photo URLs; empty unless the viewer bought this lead (they lead back to the listing)."
    )
    async def photos(self, info: Info[Context, None]) -> list[str]:
        return (await resolve.visible_for_viewer(info.context, self.row)).photos

    @strawberry.field(description="How many photos the listing has (shown to everyone).")
    def photo_count(self) -> int:
        return len(self.row.photos or [])

    @strawberry.field(description="When the listing was posted.")
    def posted_at(self) -> datetime:
        return self.row.posted_at

    @strawberry.field(description="Quality score 0..1 (completeness and consistency).")
    def quality_score(self) -> float:
        return self.row.quality_score

    @strawberry.field(description="Fraud score 0..1; higher is more suspicious.")
    def fraud_score(self) -> float:
        return self.row.fraud_score

    @strawberry.field(
        description="Human-readable reasons behind the fraud score (contact details redacted for non-buyers)."
    )
    async def fraud_signals(self, info: Info[Context, None]) -> list[str]:
        return (await resolve.visible_for_viewer(info.context, self.row)).fraud_signals

    @strawberry.field(description="Credit price for the viewer, tier discount applied.")
    def price(self, info: Info[Context, None]) -> int:
        return resolve.price_for_viewer(info.context, self.row)

    @strawberry.field(description="Most buyers this lead is sold to (1 = exclusive).")
    def max_buyers(self) -> int:
        return self.row.max_buyers

    @strawberry.field(description="How many buyers have bought it.")
    def buyers_count(self) -> int:
        return self.row.buyers_count

    @strawberry.field(description="Seats still free for the viewer (max buyers − purchases − others' holds).")
    async def available_seats(self, info: Info[Context, None]) -> int:
        return await resolve.available_seats_for_viewer(info.context, self.row)

    @strawberry.field(description="AVAILABLE, SOLD_OUT or WITHDRAWN.")
    def status(self) -> LeadStatus:
        return LeadStatus(self.row.status)

    @strawberry.field(
        description=(
            "Distance in miles from the query's geo centre, when it has one: exact for buyers; for others "
            "the distance of the public (grid) point, rounded to 0.1 mi. Geo filters and the DISTANCE "
            "sort use the public point."
        )
    )
    async def distance_miles(self, info: Info[Context, None]) -> float | None:
        if self.distance is None:
            return None
        view = await resolve.visible_for_viewer(info.context, self.row)
        return view.distance(self.distance, self.public_distance)

    @strawberry.field(description="Owner contact; null unless the viewer bought this lead.")
    async def contact(self, info: Info[Context, None]) -> LeadContact | None:
        contact = (await resolve.visible_for_viewer(info.context, self.row)).contact
        if contact is None:
            return None
        return LeadContact(name=contact.name, phone=contact.phone, email=contact.email)

    @strawberry.field(description="Whether the viewer bought this lead.")
    async def purchased(self, info: Info[Context, None]) -> bool:
        return await resolve.viewer_purchased(info.context, self.row.id)

    @strawberry.field(description="Recent price changes, newest first.")
    async def price_history(
        self,
        info: Info[Context, None],
        first: Annotated[int | None, strawberry.argument(description="How many points, 1..100.")] = 20,
    ) -> list[PricePoint]:
        points = await resolve.price_history(info.context, self.row.id, first)
        view = await resolve.visible_for_viewer(info.context, self.row)
        return [PricePoint(price=p.price, at=p.at, reason=view.text(p.reason)) for p in points]


@describe_fields(node="The lead.")
@strawberry.type(description="A lead in a connection, with its cursor.")
class LeadEdge(Edge[Lead]):
    pass


@describe_fields(edges="The leads of this page.", total_count="Number of leads matching the filter.")
@strawberry.type(description="A page of leads.")
class LeadConnection(Connection[LeadEdge]):
    pass


@strawberry.type(description="How many results have a given value.")
class FacetCount:
    value: str = strawberry.field(description="The value.")
    count: int = strawberry.field(description="Number of matching results.")


@strawberry.type(description="How many results fall in a price range [from, to).")
class RangeFacet:
    from_: int | None = strawberry.field(name="from", default=None, description="Lower bound, inclusive.")
    to: int | None = strawberry.field(default=None, description="Upper bound, exclusive.")
    count: int = strawberry.field(default=0, description="Number of matching results.")


@strawberry.type(description="Facet counts over the filtered result set.")
class SearchFacets:
    property_types: list[FacetCount] = strawberry.field(description="Counts per property type.")
    sources: list[FacetCount] = strawberry.field(description="Counts per source.")
    cities: list[FacetCount] = strawberry.field(description="Counts per city.")
    bedrooms: list[FacetCount] = strawberry.field(description="Counts per bedroom count.")
    price_ranges: list[RangeFacet] = strawberry.field(description="Counts per asking-price range.")


@describe_fields(edges="The leads of this page.", total_count="Number of matching leads.")
@strawberry.type(description="A page of full-text search results with facets.")
class LeadSearchResult(Connection[LeadEdge]):
    facets: SearchFacets = strawberry.field(description="Facet counts on the filtered set.")
