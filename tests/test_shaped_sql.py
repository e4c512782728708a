"""Listing statements built once per filter shape: every bound name has its value, and a shape's
statement serves every filter of that shape."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects import postgresql

from aiqleads.domain.core.filters.parse import parse_filter
from aiqleads.domain.core.lead import Lead
from aiqleads.domain.leads import query
from aiqleads.domain.leads.shaped_sql import conditions_for, shape_of, values_of

FILTERS: list[dict[str, Any]] = [
    {},
    {"city": "Austin", "minPrice": 100_000, "propertyTypes": ["CONDO", "TOWNHOUSE"]},
    {"near": {"center": {"lat": 30.27, "lng": -97.74}, "radiusMiles": 10}},
    {"within": {"south": 30.0, "west": -98.0, "north": 30.5, "east": -97.5}},
    {"within": {"south": -10.0, "west": 170.0, "north": 10.0, "east": -170.0}},  # across the antimeridian
    {"within": {"south": -60.0, "west": -179.0, "north": 60.0, "east": 179.0}},  # chunked in 90° pieces
    {
        "polygon": {
            "type": "Polygon",
            "coordinates": [[[-98.0, 30.0], [-97.5, 30.0], [-97.5, 30.5], [-98.0, 30.5], [-98.0, 30.0]]],
        },
        "zipCodes": ["78701"],
        "postedAfter": "2026-01-01T00:00:00Z",
    },
]


def _bound_names(filter_input: dict[str, Any]) -> tuple[set[str], set[str]]:
    spec = parse_filter(filter_input)
    statement = select(Lead.id).where(*conditions_for(shape_of(spec)))
    compiled = statement.compile(dialect=postgresql.dialect())
    # constants (the AVAILABLE status) are bound with their value; the filter's are left to bind
    unbound = {name for name, bind in compiled.binds.items() if bind.value is None and bind.callable is None}
    return unbound, set(values_of(spec))


def test_every_bound_parameter_has_a_value_and_every_value_a_parameter() -> None:
    for filter_input in FILTERS:
        names, values = _bound_names(filter_input)
        assert names == values, filter_input


def test_filters_that_differ_only_in_values_share_a_shape() -> None:
    near = {"near": {"center": {"lat": 30.27, "lng": -97.74}, "radiusMiles": 10}, "minBedrooms": 2}
    other = {"near": {"center": {"lat": 40.71, "lng": -74.0}, "radiusMiles": 3}, "minBedrooms": 4}
    assert shape_of(parse_filter(near)) == shape_of(parse_filter(other))
    assert values_of(parse_filter(near)) != values_of(parse_filter(other))
    plain = {"within": {"south": 30.0, "west": -98.0, "north": 30.5, "east": -97.5}}
    wrapped = {"within": {"south": -10.0, "west": 170.0, "north": 10.0, "east": -170.0}}
    assert shape_of(parse_filter(plain)) != shape_of(parse_filter(wrapped))  # two longitude ranges


def test_a_shapes_page_statement_is_built_once() -> None:
    shape = shape_of(parse_filter(FILTERS[2]))
    first = query._page_statement(shape, "DISTANCE", False)
    assert query._page_statement(shape, "DISTANCE", False) is first
    assert query._page_statement(shape, "DISTANCE", True) is not first  # with the cursor condition
    compiled = first.compile(dialect=postgresql.dialect())
    assert {"page_size", "near_size", "near_lng", "near_lat", "near_m"} <= set(compiled.binds)
