"""Marketplace listing queries on PostgreSQL/PostGIS: filters, sorts, keyset pagination.

Geo filters and the DISTANCE sort run on the GiST index of `public_location`, the point snapped
to the 0.01° grid that every viewer may know (see leads.visibility): on the exact point, a series
of shrinking boxes, radii or distance orders would home in on a house non-buyers must not find.
The exact distance is computed only to be shown to the lead's buyers.
- near: ST_DWithin(public_location, centre, metres, use_spheroid => false) — the mean-radius sphere, the
  same model Elasticsearch's arc distance uses, so both engines agree;
- within / polygon: an index prefilter (`&&` against the padded, densified envelope as geography)
  plus the exact planar test in lng/lat (BETWEEN for boxes, ST_Intersects with
  ST_GeomFromGeoJSON for polygons) — GeoJSON edges are straight lines in lng/lat (RFC 7946), which
  is also what Elasticsearch's geo_shape query does.
Pages use keyset cursors over (sort key, id), so rows inserted between two page requests never
shift the next page (no duplicates, no gaps).
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from geoalchemy2 import Geography, Geometry
from sqlalchemy import ColumnElement, SQLColumnExpression, and_, cast, func, or_, select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from aiqleads.domain.leads.filters import (
    METERS_PER_MILE,
    BoundingBox,
    GeoRadius,
    LeadFilterSpec,
    decode_cursor,
    encode_cursor,
)
from aiqleads.domain.leads.models import Lead
from aiqleads.domain.leads.repository import LIST_OPTIONS

CURSOR_KIND = "sql"
_PAD_DEGREES = 0.01  # covers the geodesic/planar edge difference of the densified envelope
_SEGMENT_DEGREES = 0.25
_MAX_CHUNK_DEGREES = 90.0


@dataclass(frozen=True)
class LeadHit:
    """One row of a page: the lead, its distance from the query centre, and its cursor."""

    lead: Lead
    distance_miles: float | None  # from the exact point (shown to the lead's buyers)
    cursor: str
    public_distance_miles: float | None = None  # from the public point (shown to everyone else)


@dataclass(frozen=True)
class LeadPage:
    """A page of leads with pagination state; total_count is None when it was not asked for."""

    hits: list[LeadHit]
    has_next_page: bool
    has_previous_page: bool
    end_cursor: str | None
    total_count: int | None


def centre_geography(near: GeoRadius) -> ColumnElement[Any]:
    """The centre point as a geography expression."""
    return cast(func.ST_SetSRID(func.ST_MakePoint(near.lng, near.lat), 4326), Geography)


def distance_meters(near: GeoRadius) -> ColumnElement[float]:
    """Sphere distance from the centre to each lead's public point, in metres (filters and sorts)."""
    return func.ST_Distance(Lead.public_location, centre_geography(near), False)


def exact_distance_meters(near: GeoRadius) -> ColumnElement[float]:
    """Sphere distance from the centre to each lead's exact point, in metres (shown to its buyers)."""
    return func.ST_Distance(Lead.location, centre_geography(near), False)


def distance_columns(near: GeoRadius) -> list[Any]:
    """The exact and the public distance in miles, labelled for a select."""
    return [
        (exact_distance_meters(near) / METERS_PER_MILE).label("distance_miles"),
        (distance_meters(near) / METERS_PER_MILE).label("public_distance_miles"),
    ]


def _lng_chunks(west: float, east: float) -> list[tuple[float, float]]:
    chunks: list[tuple[float, float]] = []
    start = west
    while start < east:
        end = min(east, start + _MAX_CHUNK_DEGREES)
        chunks.append((start, end))
        start = end
    return chunks or [(west, east)]


def _box_prefilter(box: BoundingBox) -> ColumnElement[bool]:
    """Index-backed superset of the box: `location && envelope::geography` per lng chunk."""
    south = max(-90.0, box.south - _PAD_DEGREES)
    north = min(90.0, box.north + _PAD_DEGREES)
    parts: list[ColumnElement[bool]] = []
    for west, east in box.lng_ranges():
        for w, e in _lng_chunks(max(-180.0, west - _PAD_DEGREES), min(180.0, east + _PAD_DEGREES)):
            envelope = func.ST_Segmentize(func.ST_MakeEnvelope(w, south, e, north, 4326), _SEGMENT_DEGREES)
            parts.append(Lead.public_location.op("&&")(cast(envelope, Geography)))
    return or_(*parts)


def _lat() -> ColumnElement[float]:
    return func.ST_Y(cast(Lead.public_location, Geometry))


def _lng() -> ColumnElement[float]:
    return func.ST_X(cast(Lead.public_location, Geometry))


def _box_exact(box: BoundingBox) -> ColumnElement[bool]:
    lng_ok = or_(*(_lng().between(w, e) for w, e in box.lng_ranges()))
    return and_(_lat().between(box.south, box.north), lng_ok)


def filter_conditions(spec: LeadFilterSpec) -> list[ColumnElement[bool]]:
    """SQL conditions of a filter (all must hold); reusable by other lead queries."""
    conds: list[ColumnElement[bool]] = []
    if spec.sources is not None:
        conds.append(Lead.source.in_(spec.sources))
    if spec.property_types is not None:
        conds.append(Lead.property_type.in_(spec.property_types))
    if spec.min_price is not None:
        conds.append(Lead.asking_price >= spec.min_price)
    if spec.max_price is not None:
        conds.append(Lead.asking_price <= spec.max_price)
    if spec.min_bedrooms is not None:
        conds.append(Lead.bedrooms >= spec.min_bedrooms)
    if spec.min_bathrooms is not None:
        conds.append(Lead.bathrooms >= spec.min_bathrooms)
    if spec.min_sqft is not None:
        conds.append(Lead.sqft >= spec.min_sqft)
    if spec.max_sqft is not None:
        conds.append(Lead.sqft <= spec.max_sqft)
    if spec.city is not None:
        conds.append(func.lower(Lead.city) == spec.city.lower())
    if spec.state is not None:
        conds.append(Lead.state == spec.state)
    if spec.zip_codes is not None:
        conds.append(Lead.zip.in_(spec.zip_codes))
    if spec.min_quality is not None:
        conds.append(Lead.quality_score >= spec.min_quality)
    if spec.max_fraud is not None:
        conds.append(Lead.fraud_score <= spec.max_fraud)
    if spec.posted_after is not None:
        conds.append(Lead.posted_at > spec.posted_after)
    if spec.near is not None:
        conds.append(
            func.ST_DWithin(Lead.public_location, centre_geography(spec.near), spec.near.radius_meters, False)
        )
    if spec.within is not None:
        conds.append(_box_prefilter(spec.within))
        conds.append(_box_exact(spec.within))
    if spec.polygon is not None:
        conds.append(_box_prefilter(spec.polygon.bounds()))
        conds.append(
            func.ST_Intersects(
                func.ST_GeomFromGeoJSON(spec.polygon.geojson), cast(Lead.public_location, Geometry)
            )
        )
    if spec.available_only:
        conds.append(Lead.status == "AVAILABLE")
        conds.append(Lead.buyers_count + Lead.holds_count < Lead.max_buyers)
    return conds


def _sort_key(spec: LeadFilterSpec, sort: str) -> tuple[SQLColumnExpression[Any], bool]:
    """(key expression, descending) of a sort; ties are broken by id in the same direction."""
    if sort == "NEWEST":
        return Lead.posted_at, True
    if sort == "PRICE_ASC":
        return Lead.price_credits, False
    if sort == "PRICE_DESC":
        return Lead.price_credits, True
    if sort == "QUALITY":
        return Lead.quality_score, True
    if sort == "DISTANCE" and spec.near is not None:
        return distance_meters(spec.near), False
    raise ValueError(f"unsupported sort {sort}")


async def count_leads(session: AsyncSession, spec: LeadFilterSpec) -> int:
    """How many leads match the filter."""
    query = select(func.count()).select_from(Lead).where(*filter_conditions(spec))
    return int((await session.execute(query)).scalar_one())


async def list_leads(
    session: AsyncSession,
    spec: LeadFilterSpec,
    sort: str,
    first: int,
    after: str | None,
    *,
    with_total: bool = True,
    count_session: AsyncSession | None = None,
) -> LeadPage:
    """One page of leads matching the filter, in sort order, after the cursor (validated here).

    With a second session in `count_session`, the page and the total run concurrently.
    """
    position = decode_cursor(after, CURSOR_KIND, sort)
    key, descending = _sort_key(spec, sort)
    conds = filter_conditions(spec)
    page_conds = list(conds)
    if position is not None:
        row_key = tuple_(key, Lead.id)
        page_conds.append(row_key < tuple_(*position) if descending else row_key > tuple_(*position))
    order = (key.desc(), Lead.id.desc()) if descending else (key.asc(), Lead.id.asc())
    columns: list[Any] = [Lead, key.label("sort_key")]
    if spec.near is not None:
        columns.extend(distance_columns(spec.near))
    query = select(*columns).options(*LIST_OPTIONS).where(*page_conds).order_by(*order).limit(first + 1)
    total: int | None = None
    if with_total and count_session is not None:
        result, total = await asyncio.gather(session.execute(query), count_leads(count_session, spec))
    else:
        result = await session.execute(query)
        if with_total:
            total = await count_leads(session, spec)
    rows = result.all()
    hits = [
        LeadHit(
            lead=row[0],
            distance_miles=float(row.distance_miles) if spec.near is not None else None,
            cursor=encode_cursor(CURSOR_KIND, sort, (row.sort_key, row[0].id)),
            public_distance_miles=float(row.public_distance_miles) if spec.near is not None else None,
        )
        for row in rows
    ]
    has_next = len(hits) > first
    hits = hits[:first]
    return LeadPage(
        hits=hits,
        has_next_page=has_next,
        has_previous_page=position is not None,
        end_cursor=hits[-1].cursor if hits else after,
        total_count=total,
    )


@dataclass(frozen=True)
class LeadWithDistance:
    """A lead and its exact and public distances in miles from the centre (None without one)."""

    lead: Lead
    distance_miles: float | None
    public_distance_miles: float | None


async def leads_with_distance(
    session: AsyncSession, lead_ids: Sequence[uuid.UUID], near: GeoRadius | None
) -> dict[uuid.UUID, LeadWithDistance]:
    """Load these leads in one statement, with their distances in miles from the centre if any."""
    if not lead_ids:
        return {}
    columns: list[Any] = [Lead]
    if near is not None:
        columns.extend(distance_columns(near))
    query = select(*columns).options(*LIST_OPTIONS).where(Lead.id.in_(list(lead_ids)))
    out: dict[uuid.UUID, LeadWithDistance] = {}
    for row in (await session.execute(query)).all():
        if near is None:
            out[row[0].id] = LeadWithDistance(row[0], None, None)
        else:
            out[row[0].id] = LeadWithDistance(
                row[0], float(row.distance_miles), float(row.public_distance_miles)
            )
    return out
