"""Reading a lead's point: the in-place WKB read agrees with shapely on every point, and every
other encoding (big-endian, EWKB with an SRID, hex) still goes through shapely."""

from __future__ import annotations

import struct

from geoalchemy2.elements import WKBElement
from geoalchemy2.shape import from_shape, to_shape
from hypothesis import given
from hypothesis import strategies as st
from shapely.geometry import Point

from aiqleads.domain.core.geo import lat_lng

LAT = st.floats(-90, 90, allow_nan=False)
LNG = st.floats(-180, 180, allow_nan=False)


@given(lat=LAT, lng=LNG)
def test_the_in_place_read_agrees_with_shapely(lat: float, lng: float) -> None:
    shaped = from_shape(Point(lng, lat), srid=4326)  # little-endian 2-D WKB, as PostGIS sends it
    element = WKBElement(bytes(shaped.data), srid=4326)  # asyncpg hands over bytes
    assert len(element.data) == 21
    shape = to_shape(element)
    assert lat_lng(element) == lat_lng(shaped) == (shape.y, shape.x) == (lat, lng)


@given(lat=LAT, lng=LNG)
def test_other_encodings_go_through_shapely(lat: float, lng: float) -> None:
    big_endian = WKBElement(b"\x00\x00\x00\x00\x01" + struct.pack(">dd", lng, lat), srid=4326)
    ewkb = WKBElement(
        b"\x01\x01\x00\x00\x20" + struct.pack("<I", 4326) + struct.pack("<dd", lng, lat), extended=True
    )
    hex_text = WKBElement(from_shape(Point(lng, lat), srid=4326).data.hex(), srid=4326)
    for element in (big_endian, ewkb, hex_text):
        assert lat_lng(element) == (lat, lng)
