"""The lead filter specification: what LeadFilter means, as plain domain values.

`LeadFilterSpec` is compiled in three places that must agree exactly: to SQL conditions
(aiqleads.domain.leads.sql_filter), to Elasticsearch clauses (aiqleads.domain.search.es_filter) and to a
Python predicate over one lead (aiqleads.domain.core.filters.predicate, for new-lead alerts);
tests/test_filter_spec_oracle.py checks all three against an independent oracle. The scalar parts are
declared once, in FIELD_RULES, and each compilation only translates the comparisons; the geo parts
(near, within, polygon) and availability (aiqleads.domain.core.seats) are compiled one by one. Every
geo part runs on the lead's public point (see aiqleads.domain.core.visibility).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from shapely.geometry import Polygon as ShapelyPolygon

from aiqleads.domain.core.geo import METERS_PER_MILE

MAX_FIRST = 100
MAX_RADIUS_MILES = 500.0
MAX_POLYGON_VERTICES = 5000
MAX_LIST_VALUES = 100

SORTS = ("NEWEST", "PRICE_ASC", "PRICE_DESC", "DISTANCE", "QUALITY", "RELEVANCE")


@dataclass(frozen=True)
class GeoRadius:
    """A circle: everything within radius_miles of (lat, lng)."""

    lat: float
    lng: float
    radius_miles: float

    @property
    def radius_meters(self) -> float:
        """The radius in metres."""
        return self.radius_miles * METERS_PER_MILE


@dataclass(frozen=True)
class BoundingBox:
    """A latitude/longitude box; west > east means it crosses the antimeridian."""

    south: float
    west: float
    north: float
    east: float

    @property
    def crosses_antimeridian(self) -> bool:
        """Whether the box wraps around longitude 180."""
        return self.west > self.east

    def lng_ranges(self) -> list[tuple[float, float]]:
        """The one or two plain longitude intervals the box covers."""
        if self.crosses_antimeridian:
            return [(self.west, 180.0), (-180.0, self.east)]
        return [(self.west, self.east)]


@dataclass(frozen=True)
class GeoPolygon:
    """A validated GeoJSON Polygon (planar edges in lng/lat, as RFC 7946 specifies)."""

    rings: tuple[tuple[tuple[float, float], ...], ...]  # (lng, lat) positions, closed rings

    @property
    def geojson(self) -> str:
        """The polygon as a GeoJSON string."""
        return json.dumps(
            {"type": "Polygon", "coordinates": [[list(p) for p in ring] for ring in self.rings]}
        )

    def bounds(self) -> BoundingBox:
        """The polygon's bounding box."""
        lngs = [p[0] for p in self.rings[0]]
        lats = [p[1] for p in self.rings[0]]
        return BoundingBox(south=min(lats), west=min(lngs), north=max(lats), east=max(lngs))

    def shape(self) -> ShapelyPolygon:
        """The polygon as a shapely geometry."""
        return ShapelyPolygon(self.rings[0], list(self.rings[1:]))


@dataclass(frozen=True)
class LeadFilterSpec:
    """Validated filters, combined with AND; None means "do not filter on this"."""

    sources: tuple[str, ...] | None = None
    property_types: tuple[str, ...] | None = None
    min_price: int | None = None
    max_price: int | None = None
    min_bedrooms: int | None = None
    min_bathrooms: float | None = None
    min_sqft: int | None = None
    max_sqft: int | None = None
    city: str | None = None
    state: str | None = None
    zip_codes: tuple[str, ...] | None = None
    min_quality: float | None = None
    max_fraud: float | None = None
    posted_after: datetime | None = None
    near: GeoRadius | None = None
    within: BoundingBox | None = None
    polygon: GeoPolygon | None = None
    available_only: bool = True

    @property
    def centre(self) -> GeoRadius | None:
        """The geo centre distances are measured from (the `near` circle), if any."""
        return self.near


Comparison = Literal["in", "gte", "lte", "gt", "eq", "eq_ci"]


@dataclass(frozen=True)
class FieldRule:
    """One scalar part of the filter: the lead's ``attribute`` compared with the spec's ``spec_field``.

    A lead without a value (NULL) never satisfies a comparison, as in SQL. ``index_field`` names the
    search document's field when it differs (the city is indexed lower-cased as ``city_key``).
    """

    spec_field: str
    attribute: str
    comparison: Comparison
    index_field: str | None = None

    @property
    def es_field(self) -> str:
        """The search document field the comparison runs on."""
        return self.index_field or self.attribute


FIELD_RULES: tuple[FieldRule, ...] = (
    FieldRule("sources", "source", "in"),
    FieldRule("property_types", "property_type", "in"),
    FieldRule("min_price", "asking_price", "gte"),
    FieldRule("max_price", "asking_price", "lte"),
    FieldRule("min_bedrooms", "bedrooms", "gte"),
    FieldRule("min_bathrooms", "bathrooms", "gte"),
    FieldRule("min_sqft", "sqft", "gte"),
    FieldRule("max_sqft", "sqft", "lte"),
    FieldRule("city", "city", "eq_ci", index_field="city_key"),
    FieldRule("state", "state", "eq"),  # parse_filter upper-cases it; states are stored upper-case
    FieldRule("zip_codes", "zip", "in"),
    FieldRule("min_quality", "quality_score", "gte"),
    FieldRule("max_fraud", "fraud_score", "lte"),
    FieldRule("posted_after", "posted_at", "gt"),
)


def active_rules(spec: LeadFilterSpec) -> Iterator[tuple[FieldRule, Any]]:
    """The scalar rules this spec sets, each with its value (None means "do not filter on this")."""
    for rule in FIELD_RULES:
        value = getattr(spec, rule.spec_field)
        if value is not None:
            yield rule, value
