"""The lead filter specification compiled to Elasticsearch filter clauses (the same meaning as the
SQL conditions of aiqleads.domain.leads.sql_filter; the index holds only the public point)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from aiqleads.domain.core.filters.spec import FieldRule, LeadFilterSpec, active_rules

DATE_NANOS_MIN = datetime(1970, 1, 1, tzinfo=UTC)
DATE_NANOS_MAX = datetime(2262, 4, 11, tzinfo=UTC)


def _compare(rule: FieldRule, value: Any) -> dict[str, Any]:
    """One FieldRule comparison as a filter clause (a document without the field never matches)."""
    name = rule.es_field
    if rule.comparison == "in":
        return {"terms": {name: list(value)}}
    if rule.comparison == "eq_ci":
        return {"term": {name: str(value).lower()}}  # the index field holds the lower-cased value
    if rule.comparison == "eq":
        return {"term": {name: value}}
    if isinstance(value, datetime):
        # posted_at is a date_nanos field: it holds 1970..2262 only, and a bound outside that range
        # is an Elasticsearch error; before it every lead matches, after it none does
        if value >= DATE_NANOS_MAX:
            return {"match_none": {}}
        if value < DATE_NANOS_MIN:
            return {"match_all": {}}
        value = value.isoformat()
    return {"range": {name: {rule.comparison: value}}}


def es_filters(spec: LeadFilterSpec) -> list[dict[str, Any]]:
    """The filter clauses equivalent to the PostgreSQL conditions of the same spec."""
    out: list[dict[str, Any]] = [_compare(rule, value) for rule, value in active_rules(spec)]
    if spec.near is not None:
        out.append(
            {
                "geo_distance": {
                    "distance": f"{spec.near.radius_meters}m",
                    "distance_type": "arc",
                    "location": {"lat": spec.near.lat, "lon": spec.near.lng},
                }
            }
        )
    if spec.within is not None:
        box = spec.within
        out.append(
            {
                "geo_bounding_box": {
                    "location": {
                        "top_left": {"lat": box.north, "lon": box.west},
                        "bottom_right": {"lat": box.south, "lon": box.east},
                    }
                }
            }
        )
    if spec.polygon is not None:
        out.append(
            {
                "geo_shape": {
                    "location": {
                        "shape": {
                            "type": "polygon",
                            "coordinates": [[list(p) for p in ring] for ring in spec.polygon.rings],
                        },
                        "relation": "intersects",
                    }
                }
            }
        )
    if spec.available_only:
        out.append({"term": {"available": True}})
    return out
