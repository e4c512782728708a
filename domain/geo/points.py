"""Conversions between PostGIS geography values and latitude/longitude."""

from __future__ import annotations

from typing import Any

from geoalchemy2.elements import WKTElement
from geoalchemy2.shape import to_shape


def point(lat: float, lng: float) -> WKTElement:
    """A geography point for a latitude/longitude (PostGIS order is lng, lat)."""
    return WKTElement(f"POINT({lng!r} {lat!r})", srid=4326)


def lat_lng(location: Any) -> tuple[float, float]:
    """Latitude and longitude of a geography value loaded from the database."""
    shape = to_shape(location)
    return float(shape.y), float(shape.x)
