"""Offline geocoding: coordinates from the page, else the centroid of the ZIP code.

The ZIP-centroid table (data/zip_centroids.csv) covers every standard ZIP code of the metros the
marketplace serves (Dallas, Austin, Houston, Phoenix, Atlanta, Denver, Miami, Chicago, Seattle,
Charlotte). It was extracted from the MIT-licensed ``zipcodes`` package's data set. No network
geocoder is used.
"""

from __future__ import annotations

import csv
import math
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from aiqleads.domain.core.geo import haversine_miles

DATA_FILE = Path(__file__).resolve().parent / "data" / "zip_centroids.csv"
# continental US plus Alaska and Hawaii, loosely: coordinates outside are page errors (or 0,0)
_US_LAT = (18.0, 72.0)
_US_LNG = (-180.0, -64.0)
NEAREST_ZIP_MAX_MILES = 8.0

# first three ZIP digits → state (USPS ranges); used as a consistency check only
_ZIP3_RANGES: tuple[tuple[int, int, str], ...] = (
    (5, 5, "NY"), (10, 27, "MA"), (28, 29, "RI"), (30, 38, "NH"), (39, 49, "ME"), (50, 54, "VT"),
    (55, 55, "MA"), (56, 59, "VT"), (60, 69, "CT"), (70, 89, "NJ"), (100, 149, "NY"),
    (150, 196, "PA"), (197, 199, "DE"), (200, 200, "DC"), (201, 201, "VA"), (202, 205, "DC"),
    (206, 219, "MD"), (220, 246, "VA"), (247, 268, "WV"), (270, 289, "NC"), (290, 299, "SC"),
    (300, 319, "GA"), (320, 349, "FL"), (350, 369, "AL"), (370, 385, "TN"), (386, 397, "MS"),
    (398, 399, "GA"), (400, 427, "KY"), (430, 459, "OH"), (460, 479, "IN"), (480, 499, "MI"),
    (500, 528, "IA"), (530, 549, "WI"), (550, 567, "MN"), (569, 569, "DC"), (570, 577, "SD"),
    (580, 588, "ND"), (590, 599, "MT"), (600, 629, "IL"), (630, 658, "MO"), (660, 679, "KS"),
    (680, 693, "NE"), (700, 714, "LA"), (716, 729, "AR"), (733, 733, "TX"), (730, 749, "OK"),
    (750, 799, "TX"), (800, 816, "CO"), (820, 831, "WY"), (832, 838, "ID"), (840, 847, "UT"),
    (850, 865, "AZ"), (870, 884, "NM"), (885, 885, "TX"), (889, 898, "NV"), (900, 961, "CA"),
    (967, 968, "HI"), (970, 979, "OR"), (980, 994, "WA"), (995, 999, "AK"),
)  # fmt: skip


@dataclass(frozen=True)
class ZipCentroid:
    """One row of the shipped table."""

    zip: str
    city: str
    state: str
    lat: float
    lng: float


@dataclass(frozen=True)
class GeoResult:
    """Where a listing is, and how we know: "page" coordinates or a "zip" centroid."""

    lat: float
    lng: float
    precision: str
    zip: str | None
    city: str | None
    state: str | None


@lru_cache(maxsize=1)
def zip_table() -> dict[str, ZipCentroid]:
    """The shipped ZIP-centroid table, loaded once on first use."""
    with DATA_FILE.open(newline="") as handle:
        return {
            row["zip"]: ZipCentroid(
                row["zip"], row["city"], row["state"], float(row["lat"]), float(row["lng"])
            )
            for row in csv.DictReader(handle)
        }


def zip_centroid(zip_code: str | None) -> ZipCentroid | None:
    """The centroid of a five-digit ZIP code, if the table has it."""
    return zip_table().get(zip_code) if zip_code else None


@lru_cache(maxsize=256)
def city_centroid(city: str, state: str) -> tuple[float, float] | None:
    """Mean of the ZIP centroids of a city (None if the table does not cover it)."""
    rows = [z for z in zip_table().values() if z.city.lower() == city.lower() and z.state == state]
    if not rows:
        return None
    return sum(z.lat for z in rows) / len(rows), sum(z.lng for z in rows) / len(rows)


def state_of_zip(zip_code: str) -> str | None:
    """The state a ZIP code belongs to by its first three digits."""
    if len(zip_code) != 5 or not zip_code.isdigit():
        return None
    prefix = int(zip_code[:3])
    for low, high, state in _ZIP3_RANGES:
        if low <= prefix <= high:
            return state
    return None


def valid_coordinates(lat: float | None, lng: float | None) -> bool:
    """Whether a latitude/longitude pair is a plausible US location (not 0,0, not swapped)."""
    if lat is None or lng is None:
        return False
    if not (math.isfinite(lat) and math.isfinite(lng)):
        return False
    return _US_LAT[0] <= lat <= _US_LAT[1] and _US_LNG[0] <= lng <= _US_LNG[1]


def nearest_zip(lat: float, lng: float, max_miles: float = NEAREST_ZIP_MAX_MILES) -> ZipCentroid | None:
    """The ZIP whose centroid is nearest to a point, if one lies within max_miles."""
    best: tuple[float, ZipCentroid] | None = None
    for row in zip_table().values():
        if abs(row.lat - lat) > 0.5 or abs(row.lng - lng) > 0.6:
            continue
        d = haversine_miles(lat, lng, row.lat, row.lng)
        if best is None or d < best[0]:
            best = (d, row)
    return best[1] if best is not None and best[0] <= max_miles else None


def geocode(
    lat: float | None, lng: float | None, zip_code: str | None, city: str | None, state: str | None
) -> GeoResult | None:
    """Locate a listing: page coordinates when plausible, else its ZIP centroid, else None.

    Missing ZIP/city/state are filled from the table (nearest ZIP centroid to the page coordinates,
    or the ZIP's own row).
    """
    if (
        lat is not None
        and lng is not None
        and not valid_coordinates(lat, lng)
        and valid_coordinates(lng, lat)
    ):
        lat, lng = lng, lat  # swapped on the page
    if valid_coordinates(lat, lng):
        assert lat is not None and lng is not None
        row = zip_centroid(zip_code)
        if zip_code is None or row is None:
            row = nearest_zip(lat, lng) if zip_code is None else None
        return GeoResult(
            lat=lat,
            lng=lng,
            precision="page",
            zip=zip_code or (row.zip if row else None),
            city=city or (row.city if row else None),
            state=state or (row.state if row else None),
        )
    row = zip_centroid(zip_code)
    if row is not None:
        return GeoResult(row.lat, row.lng, "zip", row.zip, city or row.city, state or row.state)
    return None
