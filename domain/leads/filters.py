"""Lead filters, sorts and cursors as domain values, with input validation.

Resolvers turn GraphQL inputs into plain dicts and call `parse_filter`, `parse_sort`,
`parse_first` and `decode_cursor`; every problem becomes a DomainError INVALID_INPUT naming the
field at fault (`filter.near.radiusMiles`, `first`, `after`, ...). The same LeadFilterSpec drives
the PostgreSQL query (aiqleads.domain.leads.query), the Elasticsearch query
(aiqleads.domain.search.query) and `lead_matches` for matching single leads in Python
(e.g. new-lead alerts).
"""

from __future__ import annotations

import base64
import binascii
import json
import math
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from shapely.geometry import Point
from shapely.geometry import Polygon as ShapelyPolygon
from shapely.validation import explain_validity

from aiqleads.domain.errors import invalid_input
from aiqleads.domain.leads.models import LEAD_SOURCES, PROPERTY_TYPES
from aiqleads.domain.text_input import reject_control_characters

MAX_FIRST = 100
MAX_RADIUS_MILES = 500.0
MAX_POLYGON_VERTICES = 5000
MAX_LIST_VALUES = 100
METERS_PER_MILE = 1609.344
EARTH_RADIUS_METERS = 6371008.7714  # mean radius: the sphere PostGIS (use_spheroid=false) and ES use

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


# ---------------------------------------------------------------------------------------- parsing


def _enum_value(value: Any) -> Any:
    return getattr(value, "value", value)


def _finite(value: Any) -> float | None:
    """The value as a finite float; None for non-numbers, NaN, infinities and ints beyond float range."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    try:
        number = float(value)  # an int such as 10**400 (valid JSON) overflows
    except OverflowError:
        return None
    return number if math.isfinite(number) else None


def _number(value: Any, field: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise invalid_input("Must be a number.", field)
    number = _finite(value)
    if number is None:
        raise invalid_input("Must be a finite number.", field)
    return number


def _lat(value: Any, field: str) -> float:
    lat = _number(value, field)
    if not -90.0 <= lat <= 90.0:
        raise invalid_input(f"Latitude must be between -90 and 90, got {lat:g}.", field)
    return lat


def _lng(value: Any, field: str) -> float:
    lng = _number(value, field)
    if not -180.0 <= lng <= 180.0:
        raise invalid_input(f"Longitude must be between -180 and 180, got {lng:g}.", field)
    return lng


def _int_at_least(value: Any, minimum: int, field: str) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise invalid_input("Must be an integer.", field)
    if value < minimum:
        raise invalid_input(f"Must be at least {minimum}.", field)
    return value


def _fraction(value: Any, field: str) -> float | None:
    if value is None:
        return None
    number = _number(value, field)
    if not 0.0 <= number <= 1.0:
        raise invalid_input("Must be between 0 and 1.", field)
    return number


def _choices(values: Any, allowed: Sequence[str], field: str) -> tuple[str, ...] | None:
    if values is None:
        return None
    if not isinstance(values, (list, tuple)):
        raise invalid_input("Must be a list.", field)
    if len(values) > MAX_LIST_VALUES:
        raise invalid_input(f"At most {MAX_LIST_VALUES} values.", field)
    out: list[str] = []
    for raw in values:
        value = _enum_value(raw)
        if value not in allowed:
            raise invalid_input(f"Unknown value {value!r}; expected one of {', '.join(allowed)}.", field)
        if value not in out:
            out.append(value)
    return tuple(out)


def _near(raw: Any) -> GeoRadius | None:
    if raw is None:
        return None
    field = "filter.near"
    if not isinstance(raw, Mapping) or not isinstance(raw.get("center"), Mapping):
        raise invalid_input("near needs a center {lat, lng} and radiusMiles.", field)
    center = raw["center"]
    lat = _lat(center.get("lat"), f"{field}.center.lat")
    lng = _lng(center.get("lng"), f"{field}.center.lng")
    radius = _number(raw.get("radius_miles", raw.get("radiusMiles")), f"{field}.radiusMiles")
    if radius <= 0:
        raise invalid_input("radiusMiles must be greater than 0.", f"{field}.radiusMiles")
    if radius > MAX_RADIUS_MILES:
        raise invalid_input(f"radiusMiles must be at most {MAX_RADIUS_MILES:g}.", f"{field}.radiusMiles")
    return GeoRadius(lat=lat, lng=lng, radius_miles=radius)


def _within(raw: Any) -> BoundingBox | None:
    if raw is None:
        return None
    field = "filter.within"
    if not isinstance(raw, Mapping):
        raise invalid_input("within needs south, west, north and east.", field)
    south = _lat(raw.get("south"), f"{field}.south")
    north = _lat(raw.get("north"), f"{field}.north")
    west = _lng(raw.get("west"), f"{field}.west")
    east = _lng(raw.get("east"), f"{field}.east")
    if south > north:
        raise invalid_input("south must not be greater than north.", f"{field}.south")
    return BoundingBox(south=south, west=west, north=north, east=east)


def _position(raw: Any, field: str) -> tuple[float, float]:
    if not isinstance(raw, (list, tuple)) or len(raw) < 2:
        raise invalid_input("Each position must be [longitude, latitude].", field)
    return _lng(raw[0], field), _lat(raw[1], field)


def parse_polygon(raw: Any, field: str = "filter.polygon") -> GeoPolygon | None:
    """Validate a GeoJSON Polygon (or a Feature holding one); self-intersecting ones are rejected."""
    if raw is None:
        return None
    if isinstance(raw, str):
        try:
            raw = json.loads(raw)
        except ValueError as exc:
            raise invalid_input("polygon must be a GeoJSON Polygon object.", field) from exc
    if isinstance(raw, Mapping) and raw.get("type") == "Feature":
        raw = raw.get("geometry")
    if not isinstance(raw, Mapping) or raw.get("type") != "Polygon":
        raise invalid_input('polygon must be a GeoJSON object with "type": "Polygon".', field)
    coordinates = raw.get("coordinates")
    if not isinstance(coordinates, (list, tuple)) or not coordinates:
        raise invalid_input("polygon coordinates must be a list of linear rings.", field)
    rings: list[tuple[tuple[float, float], ...]] = []
    total = 0
    for ring_raw in coordinates:
        if not isinstance(ring_raw, (list, tuple)):
            raise invalid_input("Each ring must be a list of positions.", field)
        ring = tuple(_position(p, field) for p in ring_raw)
        total += len(ring)
        if len(ring) < 4:
            raise invalid_input("Each ring needs at least 4 positions (first and last equal).", field)
        if ring[0] != ring[-1]:
            raise invalid_input("Each ring must be closed: the last position must equal the first.", field)
        rings.append(ring)
    if total > MAX_POLYGON_VERTICES:
        raise invalid_input(f"polygon has more than {MAX_POLYGON_VERTICES} positions.", field)
    polygon = GeoPolygon(rings=tuple(rings))
    shape = polygon.shape()
    if not shape.is_valid:
        raise invalid_input(f"polygon is not valid: {explain_validity(shape)}.", field)
    if shape.area <= 0:
        raise invalid_input("polygon has no area.", field)
    return polygon


def _text(value: Any, field: str, max_len: int) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise invalid_input("Must be a string.", field)
    stripped = value.strip()
    if not stripped:
        raise invalid_input("Must not be empty.", field)
    if len(stripped) > max_len:
        raise invalid_input(f"At most {max_len} characters.", field)
    return reject_control_characters(stripped, field)


def _zip_codes(values: Any) -> tuple[str, ...] | None:
    field = "filter.zipCodes"
    if values is None:
        return None
    if not isinstance(values, (list, tuple)):
        raise invalid_input("Must be a list.", field)
    if len(values) > MAX_LIST_VALUES:
        raise invalid_input(f"At most {MAX_LIST_VALUES} ZIP codes.", field)
    out: list[str] = []
    for raw in values:
        value = _text(raw, field, 10)
        assert value is not None
        digits = value.replace("-", "")
        if not digits.isdigit() or len(value.split("-")[0]) != 5:
            raise invalid_input(f"{value!r} is not a ZIP code (12345 or 12345-6789).", field)
        out.append(value)
    return tuple(out)


def _datetime(value: Any, field: str) -> datetime | None:
    if value is None:
        return None
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError as exc:
            raise invalid_input("Must be an ISO 8601 date-time.", field) from exc
    if not isinstance(value, datetime):
        raise invalid_input("Must be a date-time.", field)
    aware = value if value.tzinfo is not None else value.replace(tzinfo=UTC)
    try:  # PostgreSQL and Elasticsearch get it in UTC: 9999-12-31T23:59-14:00 is past year 9999 there
        aware.astimezone(UTC)
    except OverflowError as exc:
        raise invalid_input("Date-time out of range (years 1 to 9999 in UTC).", field) from exc
    return aware


def _get(raw: Mapping[str, Any], snake: str, camel: str) -> Any:
    return raw[snake] if raw.get(snake) is not None else raw.get(camel)


def parse_filter(raw: Mapping[str, Any] | None) -> LeadFilterSpec:
    """Validate a filter given as a dict (snake_case or camelCase keys; enums or their values)."""
    if raw is None:
        return LeadFilterSpec()
    if not isinstance(raw, Mapping):
        raise invalid_input("filter must be an object.", "filter")
    min_price = _int_at_least(_get(raw, "min_price", "minPrice"), 0, "filter.minPrice")
    max_price = _int_at_least(_get(raw, "max_price", "maxPrice"), 0, "filter.maxPrice")
    if min_price is not None and max_price is not None and min_price > max_price:
        raise invalid_input("minPrice must not be greater than maxPrice.", "filter.minPrice")
    min_sqft = _int_at_least(_get(raw, "min_sqft", "minSqft"), 0, "filter.minSqft")
    max_sqft = _int_at_least(_get(raw, "max_sqft", "maxSqft"), 0, "filter.maxSqft")
    if min_sqft is not None and max_sqft is not None and min_sqft > max_sqft:
        raise invalid_input("minSqft must not be greater than maxSqft.", "filter.minSqft")
    min_bathrooms_raw = _get(raw, "min_bathrooms", "minBathrooms")
    min_bathrooms = None
    if min_bathrooms_raw is not None:
        min_bathrooms = _number(min_bathrooms_raw, "filter.minBathrooms")
        if min_bathrooms < 0:
            raise invalid_input("Must be at least 0.", "filter.minBathrooms")
    state = _text(raw.get("state"), "filter.state", 2)
    if state is not None:
        if len(state) != 2 or not state.isalpha():
            raise invalid_input("state must be a two-letter code such as TX.", "filter.state")
        state = state.upper()
    available = _get(raw, "available_only", "availableOnly")
    return LeadFilterSpec(
        sources=_choices(raw.get("sources"), LEAD_SOURCES, "filter.sources"),
        property_types=_choices(
            _get(raw, "property_types", "propertyTypes"), PROPERTY_TYPES, "filter.propertyTypes"
        ),
        min_price=min_price,
        max_price=max_price,
        min_bedrooms=_int_at_least(_get(raw, "min_bedrooms", "minBedrooms"), 0, "filter.minBedrooms"),
        min_bathrooms=min_bathrooms,
        min_sqft=min_sqft,
        max_sqft=max_sqft,
        city=_text(raw.get("city"), "filter.city", 120),
        state=state,
        zip_codes=_zip_codes(_get(raw, "zip_codes", "zipCodes")),
        min_quality=_fraction(_get(raw, "min_quality", "minQuality"), "filter.minQuality"),
        max_fraud=_fraction(_get(raw, "max_fraud", "maxFraud"), "filter.maxFraud"),
        posted_after=_datetime(_get(raw, "posted_after", "postedAfter"), "filter.postedAfter"),
        near=_near(raw.get("near")),
        within=_within(raw.get("within")),
        polygon=parse_polygon(raw.get("polygon")),
        available_only=True if available is None else bool(available),
    )


def parse_sort(sort: Any, spec: LeadFilterSpec, *, search: bool) -> str:
    """Validate the sort: DISTANCE needs `near`; RELEVANCE only exists for full-text search."""
    value = _enum_value(sort) if sort is not None else ("RELEVANCE" if search else "NEWEST")
    if value not in SORTS:
        raise invalid_input(f"Unknown sort {value!r}.", "sort")
    if value == "DISTANCE" and spec.near is None:
        raise invalid_input("Sorting by DISTANCE needs filter.near (the centre to measure from).", "sort")
    if value == "RELEVANCE" and not search:
        raise invalid_input("RELEVANCE sorting is only available in searchLeads.", "sort")
    return str(value)


def parse_first(first: Any) -> int:
    """Validate the page size: 0..100."""
    if first is None:
        return 20
    if isinstance(first, bool) or not isinstance(first, int):
        raise invalid_input("first must be an integer.", "first")
    if first < 0:
        raise invalid_input("first must not be negative.", "first")
    if first > MAX_FIRST:
        raise invalid_input(f"first must be at most {MAX_FIRST}.", "first")
    return first


def parse_query_text(query: Any) -> str:
    """Validate the free-text query of a search (may be empty: filters only)."""
    if not isinstance(query, str):
        raise invalid_input("query must be a string.", "query")
    if len(query) > 500:
        raise invalid_input("query must be at most 500 characters.", "query")
    return query.strip()


# ---------------------------------------------------------------------------------------- cursors

# Cursor kinds: "sql" (leads, keyset over PostgreSQL) and "es" (searchLeads, search_after).
_INT64_MIN, _INT64_MAX = -(2**63), 2**63 - 1
_SQL_KEY_TYPES: dict[str, str] = {
    "NEWEST": "datetime",
    "PRICE_ASC": "int",
    "PRICE_DESC": "int",
    "QUALITY": "float",
    "DISTANCE": "float",
}


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, uuid.UUID):
        return str(value)
    raise TypeError(f"cannot encode {type(value).__name__} in a cursor")


def encode_cursor(kind: str, sort: str, values: Sequence[Any]) -> str:
    """An opaque cursor for the position after a row."""
    payload = json.dumps({"v": 1, "k": kind, "s": sort, "p": list(values)}, default=_json_default)
    return base64.urlsafe_b64encode(payload.encode()).decode().rstrip("=")


def _bad_cursor(message: str = "Malformed cursor: pass an endCursor returned by this query.") -> Exception:
    return invalid_input(message, "after")


def decode_cursor(cursor: Any, kind: str, sort: str) -> tuple[Any, ...] | None:
    """Decode and type-check a cursor for this query kind and sort; None when absent."""
    if cursor is None:
        return None
    if not isinstance(cursor, str) or not cursor or len(cursor) > 1000:
        raise _bad_cursor()
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        payload = json.loads(base64.urlsafe_b64decode(padded.encode()).decode())
    except (binascii.Error, UnicodeDecodeError, ValueError) as exc:
        raise _bad_cursor() from exc
    if not isinstance(payload, dict) or payload.get("v") != 1 or not isinstance(payload.get("p"), list):
        raise _bad_cursor()
    if payload.get("k") != kind:
        raise _bad_cursor("This cursor belongs to another query (leads vs searchLeads).")
    if payload.get("s") != sort:
        raise _bad_cursor(f"This cursor was issued for sort {payload.get('s')}, not {sort}.")
    values: list[Any] = payload["p"]
    if len(values) != 2:
        raise _bad_cursor()
    key, raw_id = values
    try:
        lead_id = uuid.UUID(raw_id) if isinstance(raw_id, str) else None
    except ValueError:
        lead_id = None
    if lead_id is None:
        raise _bad_cursor()
    if kind == "es":
        if _finite(key) is None or (isinstance(key, int) and not _INT64_MIN <= key <= _INT64_MAX):
            raise _bad_cursor()
        return (key, str(lead_id))
    expected = _SQL_KEY_TYPES.get(sort)
    if expected == "datetime":
        parsed = _datetime(key, "after") if isinstance(key, str) else None
        if parsed is None:
            raise _bad_cursor()
        return (parsed, lead_id)
    if expected == "int":
        if isinstance(key, bool) or not isinstance(key, int) or not _INT64_MIN <= key <= _INT64_MAX:
            raise _bad_cursor()  # asking_price is a BIGINT: a bigger key would fail in PostgreSQL
        return (key, lead_id)
    if expected == "float":
        number = _finite(key)
        if number is None:
            raise _bad_cursor()
        return (number, lead_id)
    raise _bad_cursor()


# -------------------------------------------------------------------------------- Python matching


def haversine_miles(lat1: float, lng1: float, lat2: float, lng2: float) -> float:
    """Great-circle distance on the mean-radius sphere, in miles."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lng2 - lng1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_METERS * math.asin(min(1.0, math.sqrt(a))) / METERS_PER_MILE


def lead_matches(spec: LeadFilterSpec, lead: Any, lat: float, lng: float) -> bool:
    """Whether one lead (row attributes) at (lat, lng) satisfies the filter, evaluated in Python."""
    checks: list[bool] = []
    if spec.sources is not None:
        checks.append(lead.source in spec.sources)
    if spec.property_types is not None:
        checks.append(lead.property_type in spec.property_types)
    if spec.min_price is not None:
        checks.append(lead.asking_price is not None and lead.asking_price >= spec.min_price)
    if spec.max_price is not None:
        checks.append(lead.asking_price is not None and lead.asking_price <= spec.max_price)
    if spec.min_bedrooms is not None:
        checks.append(lead.bedrooms is not None and lead.bedrooms >= spec.min_bedrooms)
    if spec.min_bathrooms is not None:
        checks.append(lead.bathrooms is not None and lead.bathrooms >= spec.min_bathrooms)
    if spec.min_sqft is not None:
        checks.append(lead.sqft is not None and lead.sqft >= spec.min_sqft)
    if spec.max_sqft is not None:
        checks.append(lead.sqft is not None and lead.sqft <= spec.max_sqft)
    if spec.city is not None:
        checks.append((lead.city or "").lower() == spec.city.lower())
    if spec.state is not None:
        checks.append((lead.state or "").upper() == spec.state)
    if spec.zip_codes is not None:
        checks.append(lead.zip in spec.zip_codes)
    if spec.min_quality is not None:
        checks.append(lead.quality_score >= spec.min_quality)
    if spec.max_fraud is not None:
        checks.append(lead.fraud_score <= spec.max_fraud)
    if spec.posted_after is not None:
        checks.append(lead.posted_at > spec.posted_after)
    if spec.near is not None:
        checks.append(haversine_miles(spec.near.lat, spec.near.lng, lat, lng) <= spec.near.radius_miles)
    if spec.within is not None:
        box = spec.within
        checks.append(box.south <= lat <= box.north and any(w <= lng <= e for w, e in box.lng_ranges()))
    if spec.polygon is not None:
        checks.append(spec.polygon.shape().intersects(Point(lng, lat)))
    if spec.available_only:
        checks.append(
            lead.status == "AVAILABLE"
            and (lead.buyers_count or 0) + (lead.holds_count or 0) < lead.max_buyers
        )
    return all(checks)
