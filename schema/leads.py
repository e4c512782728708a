"""GraphQL types of the marketplace read side: leads, filters, connections, facets (queries: lead_queries)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from enum import Enum
from operator import attrgetter
from typing import Annotated, Any

import strawberry
from strawberry.types import Info

from aiqleads.resolvers import leads as resolve
from aiqleads.resolvers.context import Context
from aiqleads.resolvers.ids import to_global_id
from aiqleads.schema.common import JSON, BoundingBoxInput, GeoPoint, GeoRadiusInput, Node, PageInfo
from aiqleads.schema.connections import Connection, Edge, describe_fields
from aiqleads.schema.lean_fields import context_only


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
    EXPIRED = strawberry.enum_value(
        "EXPIRED", description="Left the market: its listing disappeared from its source, or it grew too old."
    )


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


def _view_field(info: Info[Context, None], row: Any, pick: Callable[[Any], Any]) -> Any:
    """A viewer-dependent field: at once when the page primed the row's view (resolvers.leads.
    prime_views), else an awaitable that computes it (graphql-core awaits what a resolver returns)."""
    view = resolve.cached_view(info.context, row)
    if view is not None:
        return pick(view)

    async def later() -> Any:
        return pick(await resolve.visible_for_viewer(info.context, row))

    return later()


def _address(row: Any) -> Callable[[Any], Address]:
    return lambda view: Address(city=row.city, state=row.state, zip=row.zip, street=view.street)


def _contact(view: Any) -> LeadContact | None:
    contact = view.contact
    if contact is None:
        return None
    return LeadContact(name=contact.name, phone=contact.phone, email=contact.email)


@context_only
def _source_url(root: Any, info: Info[Context, None]) -> str | None:
    return _view_field(info, root.row, attrgetter("source_url"))


@context_only
def _title(root: Any, info: Info[Context, None]) -> str:
    return _view_field(info, root.row, attrgetter("title"))


@context_only
def _description(root: Any, info: Info[Context, None]) -> str | None:
    return _view_field(info, root.row, attrgetter("description"))


@context_only
def _address_field(root: Any, info: Info[Context, None]) -> Address:
    return _view_field(info, root.row, _address(root.row))


@context_only
def _location(root: Any, info: Info[Context, None]) -> GeoPoint:
    return _view_field(info, root.row, lambda view: GeoPoint(lat=view.lat, lng=view.lng))


@context_only
def _photos(root: Any, info: Info[Context, None]) -> list[str]:
    return _view_field(info, root.row, attrgetter("photos"))


@context_only
def _fraud_signals(root: Any, info: Info[Context, None]) -> list[str]:
    return _view_field(info, root.row, attrgetter("fraud_signals"))


@context_only
def _price(root: Any, info: Info[Context, None]) -> int:
    return resolve.price_for_viewer(info.context, root.row)


@context_only
def _available_seats(root: Any, info: Info[Context, None]) -> int:
    # others' holds are looked up (batched) only for a lead that has any
    return resolve.available_seats_for_viewer(info.context, root.row)  # type: ignore[return-value]


@context_only
def _distance_miles(root: Any, info: Info[Context, None]) -> float | None:
    if root.distance is None:
        return None
    distance, public = root.distance, root.public_distance
    return _view_field(info, root.row, lambda view: view.distance(distance, public))


@context_only
def _contact_field(root: Any, info: Info[Context, None]) -> LeadContact | None:
    return _view_field(info, root.row, _contact)


@context_only
def _purchased(root: Any, info: Info[Context, None]) -> bool:
    return resolve.viewer_purchased(info.context, root.row.id)  # type: ignore[return-value]


@strawberry.type(description="A property lead for sale.")
class Lead(Node):
    """Fields read straight from the row are plain attributes (set by from_row), so they resolve
    without a resolver call; the fields the visibility policy shapes resolve without awaiting when
    the page primed its views (resolvers.leads.prime_views), and await them otherwise."""

    id: strawberry.ID = strawberry.field(description="Opaque global id.")
    row: strawberry.Private[Any]
    distance: strawberry.Private[float | None] = None
    public_distance: strawberry.Private[float | None] = None
    recommendation_reason: str | None = strawberry.field(
        default=None,
        description=(
            "Why this lead was suggested (similarLeads, recommendedLeads), e.g. "
            '"similar to 3 condos you bought in Austin"; null elsewhere.'
        ),
    )
    source: LeadSource = strawberry.field(
        default=LeadSource.ZILLOW, description="Primary source of the listing."
    )
    source_url: str | None = strawberry.field(
        resolver=_source_url,
        description="URL of the original listing; null unless the viewer bought this lead.",
    )
    property_type: PropertyType = strawberry.field(
        default=PropertyType.OTHER, description="Kind of property."
    )
    title: str = strawberry.field(
        resolver=_title,
        description="Listing title; for non-buyers, phones, e-mails, URLs and street addresses are redacted.",
    )
    description: str | None = strawberry.field(
        resolver=_description,
        description=(
            "Listing description (cleaned); for non-buyers, phones, e-mails, URLs and street addresses "
            "are replaced by [contact hidden]."
        ),
    )
    address: Address = strawberry.field(
        resolver=_address_field, description="Address; street only for buyers of the lead."
    )
    location: GeoPoint = strawberry.field(
        resolver=_location,
        description=(
            "Location of the property: exact for buyers, snapped to a 0.01° grid (about 1 km) for others."
        ),
    )
    asking_price: int | None = strawberry.field(default=None, description="Asking price in USD.")
    bedrooms: int | None = strawberry.field(default=None, description="Bedrooms.")
    bathrooms: float | None = strawberry.field(default=None, description="Bathrooms (halves allowed).")
    sqft: int | None = strawberry.field(default=None, description="Living area in square feet.")
    year_built: int | None = strawberry.field(default=None, description="Year built.")
    photos: list[str] = strawberry.field(
        resolver=_photos,
        description="Photo URLs; empty unless the viewer bought this lead (they lead back to the listing).",
    )
    photo_count: int = strawberry.field(
        default=0, description="How many photos the listing has (shown to everyone)."
    )
    posted_at: datetime = strawberry.field(default=None, description="When the listing was posted.")
    quality_score: float = strawberry.field(
        default=0.0, description="Quality score 0..1 (completeness and consistency)."
    )
    fraud_score: float = strawberry.field(
        default=0.0, description="Fraud score 0..1; higher is more suspicious."
    )
    fraud_signals: list[str] = strawberry.field(
        resolver=_fraud_signals,
        description=(
            "Human-readable reasons behind the fraud score (contact details redacted for non-buyers)."
        ),
    )
    price: int = strawberry.field(
        resolver=_price, description="Credit price for the viewer, tier discount applied."
    )
    max_buyers: int = strawberry.field(
        default=1, description="Most buyers this lead is sold to (1 = exclusive)."
    )
    buyers_count: int = strawberry.field(default=0, description="How many buyers have bought it.")
    available_seats: int = strawberry.field(
        resolver=_available_seats,
        description="Seats still free for the viewer (max buyers − purchases − others' holds).",
    )
    status: LeadStatus = strawberry.field(
        default=LeadStatus.AVAILABLE, description="AVAILABLE, SOLD_OUT, WITHDRAWN or EXPIRED."
    )
    distance_miles: float | None = strawberry.field(
        resolver=_distance_miles,
        description=(
            "Distance in miles from the query's geo centre, when it has one: exact for buyers; for others "
            "the distance of the public (grid) point, rounded to 0.1 mi. Geo filters and the DISTANCE "
            "sort use the public point."
        ),
    )
    contact: LeadContact | None = strawberry.field(
        resolver=_contact_field, description="Owner contact; null unless the viewer bought this lead."
    )
    purchased: bool = strawberry.field(
        resolver=_purchased, description="Whether the viewer bought this lead."
    )

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
            recommendation_reason=reason,
            source=LeadSource(row.source),
            property_type=PropertyType(row.property_type),
            asking_price=row.asking_price,
            bedrooms=row.bedrooms,
            bathrooms=row.bathrooms,
            sqft=row.sqft,
            year_built=row.year_built,
            photo_count=len(row.photos or []),
            posted_at=row.posted_at,
            quality_score=row.quality_score,
            fraud_score=row.fraud_score,
            max_buyers=row.max_buyers,
            buyers_count=row.buyers_count,
            status=LeadStatus(row.status),
        )

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


@context_only
async def _total_count(root: Any, info: Info[Context, None]) -> int:
    count, _ = await root.page.total()
    return count or 0


@context_only
async def _total_count_is_exact(root: Any, info: Info[Context, None]) -> bool:
    _, exact = await root.page.total()
    return bool(exact)


@strawberry.type(description="A page of leads.")
class LeadConnection:
    """The total resolves from the page's count, which may still be running while the edges
    complete (resolvers.leads.leads_page)."""

    edges: list[LeadEdge] = strawberry.field(description="The leads of this page.")
    page_info: PageInfo = strawberry.field(description="Pagination state.")
    page: strawberry.Private[Any]
    total_count: int = strawberry.field(
        resolver=_total_count, description="Number of leads matching the filter."
    )
    total_count_is_exact: bool = strawberry.field(
        resolver=_total_count_is_exact,
        description=(
            "Whether totalCount is exact. Counting stops past AIQ_EXACT_COUNT_LIMIT matches (1000 by "
            "default): then totalCount is that limit and this is false (at least that many)."
        ),
    )


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
