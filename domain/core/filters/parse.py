"""Validation of filter, sort and page inputs into a LeadFilterSpec.

Resolvers turn GraphQL inputs into plain dicts and call `parse_filter`, `parse_sort`, `parse_first`
and `parse_query_text`; every problem becomes a DomainError INVALID_INPUT naming the field at fault
(`filter.near.radiusMiles`, `first`, ...).
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from shapely.validation import explain_validity

from aiqleads.domain.core.filters.spec import (
    MAX_FIRST,
    MAX_LIST_VALUES,
    MAX_POLYGON_VERTICES,
    MAX_RADIUS_MILES,
    SORTS,
    BoundingBox,
    GeoPolygon,
    GeoRadius,
    LeadFilterSpec,
)
from aiqleads.domain.core.vocabulary import LEAD_SOURCES, PROPERTY_TYPES
from aiqleads.domain.errors import invalid_input
from aiqleads.domain.text_input import reject_control_characters


def _enum_value(value: Any) -> Any:
    return getattr(value, "value", value)


def finite(value: Any) -> float | None:
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
    number = finite(value)
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


def _list(values: Any, field: str, noun: str) -> Sequence[Any]:
    """A list input of bounded length (each filter list is an OR over at most MAX_LIST_VALUES)."""
    if not isinstance(values, (list, tuple)):
        raise invalid_input("Must be a list.", field)
    if len(values) > MAX_LIST_VALUES:
        raise invalid_input(f"At most {MAX_LIST_VALUES} {noun}.", field)
    return values


def _choices(values: Any, allowed: Sequence[str], field: str) -> tuple[str, ...] | None:
    if values is None:
        return None
    out: list[str] = []
    for raw in _list(values, field, "values"):
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
    out: list[str] = []
    for raw in _list(values, field, "ZIP codes"):
        value = _text(raw, field, 10)
        assert value is not None
        digits = value.replace("-", "")
        if not digits.isdigit() or len(value.split("-")[0]) != 5:
            raise invalid_input(f"{value!r} is not a ZIP code (12345 or 12345-6789).", field)
        out.append(value)
    return tuple(out)


def parse_datetime(value: Any, field: str) -> datetime | None:
    """An ISO 8601 string or datetime as an aware datetime (naive means UTC); INVALID_INPUT otherwise."""
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
        posted_after=parse_datetime(_get(raw, "posted_after", "postedAfter"), "filter.postedAfter"),
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
