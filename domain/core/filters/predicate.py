"""The filter specification as a Python predicate over one lead (new-lead alerts match events
without a database round trip)."""

from __future__ import annotations

import operator
from collections.abc import Callable
from typing import Any

from shapely.geometry import Point

from aiqleads.domain.core.filters.spec import LeadFilterSpec, active_rules
from aiqleads.domain.core.geo import haversine_miles
from aiqleads.domain.core.seats import is_available

# How each FieldRule comparison reads in Python; a missing value never matches (as NULL in SQL)
_COMPARISONS: dict[str, Callable[[Any, Any], bool]] = {
    "in": lambda actual, expected: actual in expected,
    "gte": operator.ge,
    "lte": operator.le,
    "gt": operator.gt,
    "eq": operator.eq,
    "eq_ci": lambda actual, expected: str(actual).lower() == str(expected).lower(),
}


def _compare(comparison: str, actual: Any, expected: Any) -> bool:
    """One FieldRule comparison of a lead's value with the spec's."""
    return actual is not None and bool(_COMPARISONS[comparison](actual, expected))


def lead_matches(spec: LeadFilterSpec, lead: Any, lat: float, lng: float) -> bool:
    """Whether one lead (row attributes) at its public point (lat, lng) satisfies the filter."""
    for rule, value in active_rules(spec):
        if not _compare(rule.comparison, getattr(lead, rule.attribute), value):
            return False
    if (
        spec.near is not None
        and haversine_miles(spec.near.lat, spec.near.lng, lat, lng) > spec.near.radius_miles
    ):
        return False
    if spec.within is not None:
        box = spec.within
        if not (box.south <= lat <= box.north and any(w <= lng <= e for w, e in box.lng_ranges())):
            return False
    if spec.polygon is not None and not spec.polygon.shape().intersects(Point(lng, lat)):
        return False
    return not spec.available_only or is_available(
        lead.status, lead.buyers_count, lead.holds_count, lead.max_buyers
    )
