"""Geo helpers: PostGIS values ↔ latitude/longitude, and the one great-circle distance."""

from __future__ import annotations

import math
import struct
from typing import Any

from geoalchemy2.elements import WKTElement
from geoalchemy2.shape import to_shape

METERS_PER_MILE = 1609.344
# the mean-radius sphere: PostGIS (use_spheroid => false) and Elasticsearch's arc distance use it,
# so a distance computed here agrees with both engines
EARTH_RADIUS_METERS = 6371008.7714
# two listings with the same normalized street line within this distance are the same property
# (one source may be geocoded on a ZIP centroid): dedup merges them, returns call them duplicates
SAME_STREET_METERS = 3000.0


def haversine_miles(lat1: float, lng1: float, lat2: float, lng2: float) -> float:
    """Great-circle distance on the mean-radius sphere, in miles."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lng2 - lng1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_METERS * math.asin(min(1.0, math.sqrt(a))) / METERS_PER_MILE


def point(lat: float, lng: float) -> WKTElement:
    """A geography point for a latitude/longitude (PostGIS order is lng, lat)."""
    return WKTElement(f"POINT({lng!r} {lat!r})", srid=4326)


_WKB_POINT = b"\x01\x01\x00\x00\x00"  # little-endian WKB, geometry type 1 (a 2-D point)
_XY = struct.Struct("<dd")


def lat_lng(location: Any) -> tuple[float, float]:
    """Latitude and longitude of a geography value loaded from the database."""
    data = getattr(location, "data", None)
    if isinstance(data, memoryview):
        data = data.tobytes()
    # what PostGIS sends for every lead's point: read in place (shapely's parser is most of the
    # cost of a page's locations); any other encoding goes through shapely
    if isinstance(data, bytes) and len(data) == 21 and data.startswith(_WKB_POINT):
        x, y = _XY.unpack_from(data, 5)
        return y, x
    shape = to_shape(location)
    return float(shape.y), float(shape.x)
