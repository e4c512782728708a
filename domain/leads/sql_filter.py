"""The lead filter specification compiled to SQL conditions on PostgreSQL/PostGIS.

Geo conditions run on the GiST index of `public_location`, the point snapped to the 0.01° grid that
every viewer may know (see aiqleads.domain.core.visibility):
- near: ST_DWithin(public_location, centre, metres, use_spheroid => false) — the mean-radius sphere, the
  same model Elasticsearch's arc distance uses, so both engines agree;
- within / polygon: an index prefilter (`&&` against the padded, densified envelope as geography)
  plus the exact planar test in lng/lat (BETWEEN for boxes, ST_Intersects with
  ST_GeomFromGeoJSON for polygons) — GeoJSON edges are straight lines in lng/lat (RFC 7946), which
  is also what Elasticsearch's geo_shape query does.
"""

from __future__ import annotations

import functools
import operator
from collections.abc import Callable
from typing import Any

from geoalchemy2 import Geography, Geometry
from sqlalchemy import ColumnElement, and_, cast, func, or_

from aiqleads.domain.core.filters.spec import BoundingBox, FieldRule, GeoRadius, LeadFilterSpec, active_rules
from aiqleads.domain.core.geo import METERS_PER_MILE
from aiqleads.domain.core.lead import Lead
from aiqleads.domain.core.seats import available_sql

PAD_DEGREES = 0.01  # covers the geodesic/planar edge difference of the densified envelope
SEGMENT_DEGREES = 0.25
_MAX_CHUNK_DEGREES = 90.0


def centre_geography(near: GeoRadius) -> ColumnElement[Any]:
    """The centre point as a geography expression (one per point: a page's query uses it ~6 times)."""
    return _centre_geography(near.lng, near.lat)


@functools.lru_cache(maxsize=64)
def _centre_geography(lng: float, lat: float) -> ColumnElement[Any]:
    # building the cast costs more than the rest of a condition (a Geography type per call)
    return cast(func.ST_SetSRID(func.ST_MakePoint(lng, lat), 4326), _GEOGRAPHY)


_GEOGRAPHY = Geography()
_GEOMETRY = Geometry()


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


def lng_chunks(west: float, east: float) -> list[tuple[float, float]]:
    """A longitude range cut into pieces of at most 90° (a geography envelope must stay small)."""
    chunks: list[tuple[float, float]] = []
    start = west
    while start < east:
        end = min(east, start + _MAX_CHUNK_DEGREES)
        chunks.append((start, end))
        start = end
    return chunks or [(west, east)]


def _box_prefilter(box: BoundingBox) -> ColumnElement[bool]:
    """Index-backed superset of the box: `location && envelope::geography` per lng chunk."""
    south = max(-90.0, box.south - PAD_DEGREES)
    north = min(90.0, box.north + PAD_DEGREES)
    parts: list[ColumnElement[bool]] = []
    for west, east in box.lng_ranges():
        for w, e in lng_chunks(max(-180.0, west - PAD_DEGREES), min(180.0, east + PAD_DEGREES)):
            envelope = func.ST_Segmentize(func.ST_MakeEnvelope(w, south, e, north, 4326), SEGMENT_DEGREES)
            parts.append(Lead.public_location.op("&&")(cast(envelope, _GEOGRAPHY)))
    return or_(*parts)


def _lat() -> ColumnElement[float]:
    return func.ST_Y(cast(Lead.public_location, _GEOMETRY))


def _lng() -> ColumnElement[float]:
    return func.ST_X(cast(Lead.public_location, _GEOMETRY))


def _box_exact(box: BoundingBox) -> ColumnElement[bool]:
    lng_ok = or_(*(_lng().between(w, e) for w, e in box.lng_ranges()))
    return and_(_lat().between(box.south, box.north), lng_ok)


# How each FieldRule comparison reads in SQL (a NULL column never satisfies one)
_COMPARISONS: dict[str, Callable[[Any, Any], ColumnElement[bool]]] = {
    "in": lambda column, value: column.in_(value),
    "gte": operator.ge,
    "lte": operator.le,
    "gt": operator.gt,
    "eq": operator.eq,
    "eq_ci": lambda column, value: func.lower(column) == str(value).lower(),
}


def _compare(rule: FieldRule, value: Any) -> ColumnElement[bool]:
    """One FieldRule comparison as a SQL condition on the leads table."""
    return _COMPARISONS[rule.comparison](getattr(Lead, rule.attribute), value)


def filter_conditions(spec: LeadFilterSpec, *, radius_in_index: bool = True) -> list[ColumnElement[bool]]:
    """SQL conditions of a filter (all must hold); reusable by other lead queries.

    Without ``radius_in_index`` the radius is checked row by row (``_ST_DWithin``, the same test
    without its index condition), so that a KNN scan, not a range scan, feeds a nearest-first page.
    """
    conds: list[ColumnElement[bool]] = [_compare(rule, value) for rule, value in active_rules(spec)]
    if spec.near is not None:
        within = func.ST_DWithin if radius_in_index else func._ST_DWithin
        conds.append(
            within(Lead.public_location, centre_geography(spec.near), spec.near.radius_meters, False)
        )
    if spec.within is not None:
        conds.append(_box_prefilter(spec.within))
        conds.append(_box_exact(spec.within))
    if spec.polygon is not None:
        conds.append(_box_prefilter(spec.polygon.bounds()))
        conds.append(
            func.ST_Intersects(
                func.ST_GeomFromGeoJSON(spec.polygon.geojson), cast(Lead.public_location, _GEOMETRY)
            )
        )
    if spec.available_only:
        conds.append(available_sql())
    return conds
