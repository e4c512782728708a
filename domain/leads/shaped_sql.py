"""The lead filter as SQL with named bound parameters, built once per filter *shape*.

Which conditions a listing query has depends on which filters are set, not on their values; but
building the SQLAlchemy expressions and their cache key on every request cost more than PostgreSQL
takes to run a radius page (profiled: about 4 ms of a 25 ms request). So the conditions are built
once per shape (``conditions_for``), and a request only computes its values (``values_of``). Both
follow ``sql_filter.filter_conditions`` rule for rule: ``tests/test_filter_spec_oracle.py`` checks
the rows they select against the oracle, ``tests/test_shaped_sql.py`` that names and values agree.
"""

from __future__ import annotations

import operator
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from geoalchemy2 import Geography, Geometry
from sqlalchemy import BindParameter, ColumnElement, Float, String, and_, any_, bindparam, cast, func, or_
from sqlalchemy.dialects.postgresql import ARRAY

from aiqleads.domain.core.filters.spec import FIELD_RULES, BoundingBox, LeadFilterSpec, active_rules
from aiqleads.domain.core.geo import METERS_PER_MILE
from aiqleads.domain.core.lead import Lead
from aiqleads.domain.core.seats import available_sql
from aiqleads.domain.leads.sql_filter import PAD_DEGREES, SEGMENT_DEGREES, lng_chunks

_GEOGRAPHY = Geography()
_GEOMETRY = Geometry()


@dataclass(frozen=True)
class BoxShape:
    """A box's prefilter chunks per longitude range (values: ``box_values``)."""

    chunks: tuple[int, ...]


@dataclass(frozen=True)
class FilterShape:
    """Which conditions a filter has: the statement built for it serves every filter alike."""

    fields: tuple[str, ...]  # the FieldRule spec fields that are set, in FIELD_RULES order
    near: bool
    within: BoxShape | None
    polygon: BoxShape | None  # the prefilter of the polygon's bounds
    available_only: bool


def _box_parts(box: BoundingBox) -> tuple[float, float, list[list[tuple[float, float]]]]:
    """The padded south and north of a box's index prefilter and its longitude chunks per range."""
    south = max(-90.0, box.south - PAD_DEGREES)
    north = min(90.0, box.north + PAD_DEGREES)
    ranges = [
        lng_chunks(max(-180.0, west - PAD_DEGREES), min(180.0, east + PAD_DEGREES))
        for west, east in box.lng_ranges()
    ]
    return south, north, ranges


def _box_shape(box: BoundingBox) -> BoxShape:
    return BoxShape(tuple(len(chunks) for chunks in _box_parts(box)[2]))


def shape_of(spec: LeadFilterSpec) -> FilterShape:
    """The shape of a filter (what its statement is cached by)."""
    return FilterShape(
        fields=tuple(rule.spec_field for rule, _value in active_rules(spec)),
        near=spec.near is not None,
        within=_box_shape(spec.within) if spec.within is not None else None,
        polygon=_box_shape(spec.polygon.bounds()) if spec.polygon is not None else None,
        available_only=spec.available_only,
    )


def _rule_value(comparison: str, value: Any) -> Any:
    if comparison == "in":
        return list(value)
    if comparison == "eq_ci":
        return str(value).lower()
    return value


def _box_values(prefix: str, box: BoundingBox, exact: bool) -> dict[str, Any]:
    south, north, ranges = _box_parts(box)
    values: dict[str, Any] = {f"{prefix}_ps": south, f"{prefix}_pn": north}
    for i, chunks in enumerate(ranges):
        for j, (west, east) in enumerate(chunks):
            values[f"{prefix}_pw{i}_{j}"] = west
            values[f"{prefix}_pe{i}_{j}"] = east
    if exact:
        values[f"{prefix}_s"], values[f"{prefix}_n"] = box.south, box.north
        for i, (west, east) in enumerate(box.lng_ranges()):
            values[f"{prefix}_w{i}"], values[f"{prefix}_e{i}"] = west, east
    return values


def values_of(spec: LeadFilterSpec) -> dict[str, Any]:
    """The bound values of a filter, by the names ``conditions_for`` gives its parameters."""
    values = {
        f"f_{rule.spec_field}": _rule_value(rule.comparison, value) for rule, value in active_rules(spec)
    }
    if spec.near is not None:
        values.update(near_lng=spec.near.lng, near_lat=spec.near.lat, near_m=spec.near.radius_meters)
    if spec.within is not None:
        values.update(_box_values("box", spec.within, exact=True))
    if spec.polygon is not None:
        values.update(_box_values("poly", spec.polygon.bounds(), exact=False))
        values["poly_geojson"] = spec.polygon.geojson
    return values


def _unbounded(type_: Any) -> Any:
    """A string type without its length: a cast to ``varchar(n)[]`` would cut longer values
    down to n characters, so a value longer than the column could match a stored one."""
    return String() if isinstance(type_, String) else type_


def _param(name: str, type_: Any = None) -> BindParameter[Any]:
    return bindparam(name, type_=type_)


_RULES = {rule.spec_field: rule for rule in FIELD_RULES}
_COMPARISONS: dict[str, Callable[[Any, str], ColumnElement[bool]]] = {
    # one array parameter, not an expanding IN: the statement compiles once for the driver
    "in": lambda column, name: column == any_(bindparam(name, type_=ARRAY(_unbounded(column.type)))),
    "gte": lambda column, name: operator.ge(column, _param(name, column.type)),
    "lte": lambda column, name: operator.le(column, _param(name, column.type)),
    "gt": lambda column, name: operator.gt(column, _param(name, column.type)),
    "eq": lambda column, name: operator.eq(column, _param(name, column.type)),
    "eq_ci": lambda column, name: func.lower(column) == _param(name, column.type),
}


def centre_param() -> ColumnElement[Any]:
    """The query centre (``near_lng``, ``near_lat``) as a geography expression."""
    point = func.ST_MakePoint(_param("near_lng", Float), _param("near_lat", Float))
    return cast(func.ST_SetSRID(point, 4326), _GEOGRAPHY)


def knn_distance_param() -> ColumnElement[float]:
    """The KNN operator's distance in metres from the bound centre (the DISTANCE sort's key)."""
    return Lead.public_location.op("<->", return_type=Float)(centre_param())


def distance_columns_param() -> list[Any]:
    """The exact and the public distance in miles from the bound centre, labelled for a select."""
    centre = centre_param()
    exact = func.ST_Distance(Lead.location, centre, False) / METERS_PER_MILE
    public = func.ST_Distance(Lead.public_location, centre, False) / METERS_PER_MILE
    return [exact.label("distance_miles"), public.label("public_distance_miles")]


def _box_prefilter(prefix: str, shape: BoxShape) -> ColumnElement[bool]:
    south, north = _param(f"{prefix}_ps", Float), _param(f"{prefix}_pn", Float)
    parts = []
    for i, count in enumerate(shape.chunks):
        for j in range(count):
            west, east = _param(f"{prefix}_pw{i}_{j}", Float), _param(f"{prefix}_pe{i}_{j}", Float)
            envelope = func.ST_Segmentize(
                func.ST_MakeEnvelope(west, south, east, north, 4326), SEGMENT_DEGREES
            )
            parts.append(Lead.public_location.op("&&")(cast(envelope, _GEOGRAPHY)))
    return or_(*parts)


def _box_exact(prefix: str, ranges: int) -> ColumnElement[bool]:
    lat = func.ST_Y(cast(Lead.public_location, _GEOMETRY))
    lng = func.ST_X(cast(Lead.public_location, _GEOMETRY))
    lng_ok = or_(
        *(
            lng.between(_param(f"{prefix}_w{i}", Float), _param(f"{prefix}_e{i}", Float))
            for i in range(ranges)
        )
    )
    return and_(lat.between(_param(f"{prefix}_s", Float), _param(f"{prefix}_n", Float)), lng_ok)


def conditions_for(shape: FilterShape, *, radius_in_index: bool = True) -> list[ColumnElement[bool]]:
    """The conditions of every filter of this shape, with bound parameters (see ``values_of``)."""
    conds = [
        _COMPARISONS[_RULES[name].comparison](getattr(Lead, _RULES[name].attribute), f"f_{name}")
        for name in shape.fields
    ]
    if shape.near:
        within = func.ST_DWithin if radius_in_index else func._ST_DWithin
        conds.append(within(Lead.public_location, centre_param(), _param("near_m", Float), False))
    if shape.within is not None:
        conds.append(_box_prefilter("box", shape.within))
        conds.append(_box_exact("box", len(shape.within.chunks)))
    if shape.polygon is not None:
        conds.append(_box_prefilter("poly", shape.polygon))
        conds.append(
            func.ST_Intersects(
                func.ST_GeomFromGeoJSON(_param("poly_geojson")), cast(Lead.public_location, _GEOMETRY)
            )
        )
    if shape.available_only:
        conds.append(available_sql())
    return conds
