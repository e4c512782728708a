"""Deterministic lead datasets for the marketplace query/search tests, plus independent checks.

Every dataset lives in its own made-up city (unique per call), so queries filtered on that city
never see rows written by other tests sharing the session database and index.
"""

from __future__ import annotations

import base64
import math
import random
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from aiqleads.domain.core.geo import point
from aiqleads.domain.core.lead import Lead

EARTH_RADIUS_MILES = 6371008.7714 / 1609.344
SOURCES = ["ZILLOW", "CRAIGSLIST", "FSBO", "FACEBOOK"]
TYPES = ["SINGLE_FAMILY", "CONDO", "TOWNHOUSE", "MULTI_FAMILY", "LAND", "MANUFACTURED", "OTHER"]


def haversine_miles(lat1: float, lng1: float, lat2: float, lng2: float) -> float:
    """Great-circle distance in miles, written out independently of the app's helpers."""
    phi1, phi2 = math.radians(lat1), math.radians(lat2)
    dphi = phi2 - phi1
    dlmb = math.radians(lng2 - lng1)
    h = math.sin(dphi / 2) ** 2 + math.cos(phi1) * math.cos(phi2) * math.sin(dlmb / 2) ** 2
    return 2 * EARTH_RADIUS_MILES * math.asin(math.sqrt(h))


def point_in_polygon(lng: float, lat: float, ring: list[list[float]]) -> bool:
    """Even-odd ray casting in planar lng/lat (GeoJSON semantics), independent of shapely/PostGIS."""
    inside = False
    n = len(ring) - 1
    for i in range(n):
        x1, y1 = ring[i]
        x2, y2 = ring[i + 1]
        if (y1 > lat) != (y2 > lat):
            x_cross = x1 + (lat - y1) * (x2 - x1) / (y2 - y1)
            if lng < x_cross:
                inside = not inside
    return inside


def global_id(type_name: str, raw: uuid.UUID) -> str:
    """The API's opaque id of a row."""
    return base64.urlsafe_b64encode(f"{type_name}:{raw}".encode()).decode().rstrip("=")


def raw_id(gid: str) -> uuid.UUID:
    """The UUID inside an opaque id."""
    padded = gid + "=" * (-len(gid) % 4)
    return uuid.UUID(base64.urlsafe_b64decode(padded).decode().split(":", 1)[1])


@dataclass
class Item:
    """A seeded lead with its coordinates (for the independent Python checks)."""

    row: Lead
    lat: float
    lng: float

    @property
    def public_lat(self) -> float:
        """The latitude every viewer may know (and every geo filter runs on): 2 decimals."""
        return round(self.lat, 2)

    @property
    def public_lng(self) -> float:
        """The longitude every viewer may know: 2 decimals."""
        return round(self.lng, 2)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.row, name)


def unique_city(prefix: str) -> str:
    """A city name nobody else uses."""
    return f"{prefix}{uuid.uuid4().hex[:8]}"


def make_dataset(
    n: int,
    *,
    city: str,
    state: str = "MT",
    centre: tuple[float, float] = (45.0, -110.0),
    spread: float = 0.6,
    seed: int = 4,
    now: datetime | None = None,
) -> list[Item]:
    """n varied leads scattered around centre (± spread degrees), deterministic for a seed."""
    rng = random.Random(seed)
    now = now or datetime.now(UTC)
    zips = [f"{59000 + i:05d}" for i in range(6)]
    items: list[Item] = []
    for i in range(n):
        lat = round(centre[0] + rng.uniform(-spread, spread), 6)
        lng = round(centre[1] + rng.uniform(-spread, spread), 6)
        ptype = TYPES[i % len(TYPES)] if i % 3 else rng.choice(TYPES)
        max_buyers = rng.choice([1, 1, 2, 3, 5])
        buyers = rng.randint(0, max_buyers)
        holds = rng.randint(0, max_buyers - buyers)
        status = rng.choices(["AVAILABLE", "SOLD_OUT", "WITHDRAWN"], [8, 1, 1])[0]
        beds = None if ptype == "LAND" else rng.randint(0, 6)
        row = Lead(
            id=uuid.uuid4(),
            source=SOURCES[i % len(SOURCES)],
            source_url=f"https://example.com/listing/{i}",
            property_type=ptype,
            title=f"Listing {i} {ptype.lower().replace('_', ' ')}",
            description="Seeded for marketplace query tests.",
            street=f"{100 + i} Main St",
            city=city,
            state=state,
            zip=zips[i % len(zips)],
            location=point(lat, lng),
            asking_price=None if i % 17 == 0 else rng.randrange(50_000, 1_500_000, 1000),
            bedrooms=beds,
            bathrooms=None if beds is None else rng.choice([1.0, 1.5, 2.0, 2.5, 3.0]),
            sqft=None if i % 13 == 0 else rng.randint(400, 5000),
            year_built=rng.randint(1900, 2024),
            photos=[f"https://example.com/p/{i}.jpg"],
            posted_at=now
            - timedelta(minutes=rng.randint(60, 60 * 24 * 60), microseconds=rng.randint(0, 999_999)),
            quality_score=round(rng.random(), 4),
            fraud_score=round(rng.random() * 0.6, 4),
            fraud_signals=[],
            contact_name=f"Owner {i}",
            contact_phone=f"+1406555{i:04d}",
            contact_email=f"owner{i}@example.com",
            price_credits=rng.randint(5, 80),
            max_buyers=max_buyers,
            buyers_count=buyers,
            holds_count=holds,
            status=status,
        )
        items.append(Item(row, lat, lng))
    return items


async def insert(sessionmaker: Any, items: list[Item]) -> None:
    """Insert the rows in one transaction."""
    async with sessionmaker() as session, session.begin():
        session.add_all([i.row for i in items])


def available(item: Item) -> bool:
    """The availableOnly rule, restated."""
    r = item.row
    return r.status == "AVAILABLE" and r.buyers_count + r.holds_count < r.max_buyers


LEAD_FIELDS = """
  id source sourceUrl propertyType title description
  address { city state zip street }
  location { lat lng }
  askingPrice bedrooms bathrooms sqft yearBuilt photos postedAt qualityScore fraudScore fraudSignals
  price maxBuyers buyersCount availableSeats status distanceMiles
  contact { name phone email }
  purchased
  priceHistory(first: 5) { price at reason }
"""

LEADS_QUERY = f"""
query Leads($filter: LeadFilter, $sort: LeadSort, $first: Int, $after: String) {{
  leads(filter: $filter, sort: $sort, first: $first, after: $after) {{
    totalCount
    pageInfo {{ hasNextPage hasPreviousPage startCursor endCursor }}
    edges {{ cursor node {{ {LEAD_FIELDS} }} }}
  }}
}}
"""

SEARCH_QUERY = """
query Search($query: String!, $filter: LeadFilter, $sort: LeadSort, $first: Int, $after: String) {
  searchLeads(query: $query, filter: $filter, sort: $sort, first: $first, after: $after) {
    totalCount
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
    edges {
      cursor
      node { id title propertyType bedrooms bathrooms address { city zip } distanceMiles price }
    }
    facets {
      propertyTypes { value count }
      sources { value count }
      cities { value count }
      bedrooms { value count }
      priceRanges { from to count }
    }
  }
}
"""


async def all_pages(
    gql: Any,
    variables: dict[str, Any],
    *,
    page_size: int = 100,
    token: str | None = None,
    query: str = LEADS_QUERY,
    field: str = "leads",
) -> tuple[list[dict[str, Any]], int]:
    """Follow endCursor until the end; returns (nodes in order, totalCount)."""
    nodes: list[dict[str, Any]] = []
    after = None
    total = -1
    for _ in range(1000):
        body = await gql(query, {**variables, "first": page_size, "after": after}, token=token)
        conn = body["data"][field]
        total = conn["totalCount"]
        nodes.extend(e["node"] for e in conn["edges"])
        if not conn["pageInfo"]["hasNextPage"]:
            break
        after = conn["pageInfo"]["endCursor"]
    return nodes, total


async def leads_in_a_new_city(make_lead: Any, count: int, name: str = "Countville") -> str:
    """Insert ``count`` default leads (the ``make_lead`` fixture) in a city of their own; its name."""
    city = f"{name} {uuid.uuid4().hex[:8]}"
    for _ in range(count):
        await make_lead(city=city)
    return city
