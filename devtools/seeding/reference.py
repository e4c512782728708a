"""Reference data of the synthetic marketplace: metros (``data/metros.json``), listing text
(``data/listing_text.json``) and the shares and factors that shape the generated distribution."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

DATA_DIR = Path(__file__).resolve().parent / "data"


@dataclass(frozen=True)
class Metro:
    """A US metro: centre, spread, local area codes, neighbourhoods with a real ZIP, landmarks."""

    city: str
    state: str
    lat: float
    lng: float
    weight: float  # share of listings (roughly by market size)
    radius_miles: float  # hard cap on the distance from the centre
    price_per_sqft: int  # typical single-family asking price per sqft, USD
    area_codes: tuple[str, ...]
    neighbourhoods: tuple[tuple[str, str], ...]  # (name, ZIP code in that neighbourhood)
    landmarks: tuple[str, ...]
    streets: tuple[str, ...]
    craigslist: str  # craigslist subdomain
    lng_side: int = 0  # -1: spread only west of the centre (water to the east), +1: only east


def _read(name: str) -> Any:
    return json.loads((DATA_DIR / name).read_text(encoding="utf-8"))


def _metro(entry: dict[str, Any]) -> Metro:
    return Metro(
        **{
            **entry,
            "area_codes": tuple(entry["area_codes"]),
            "neighbourhoods": tuple((name, zip_code) for name, zip_code in entry["neighbourhoods"]),
            "landmarks": tuple(entry["landmarks"]),
            "streets": tuple(entry["streets"]),
        }
    )


def _words(value: list[str]) -> tuple[str, ...]:
    return tuple(value)


def _by_key(value: dict[str, list[str]]) -> dict[str, tuple[str, ...]]:
    return {key: tuple(items) for key, items in value.items()}


METROS: tuple[Metro, ...] = tuple(_metro(entry) for entry in _read("metros.json"))

_TEXT = _read("listing_text.json")
TYPE_LABELS = _by_key(_TEXT["type_labels"])  # property type → words a listing uses for it
AMENITIES = _by_key(_TEXT["amenities"])  # property type → features a description may list
ADJECTIVES = _words(_TEXT["adjectives"])
OPENERS = _words(_TEXT["openers"])  # str.format templates: adj, adj_l, label, hood, landmark
CLOSERS = _by_key(_TEXT["closers"])  # lead source → the sign-off that source's sellers write
SCAM_LINES = _words(_TEXT["scam_lines"])
FRAUD_SIGNALS = _words(_TEXT["fraud_signals"])  # order matters: the generator picks by position
FIRST_NAMES = _words(_TEXT["first_names"])
LAST_NAMES = _words(_TEXT["last_names"])
GENERIC_STREETS = _words(_TEXT["generic_streets"])
EMAIL_DOMAINS = _words(_TEXT["email_domains"])

# Property types with their share of listings.
PROPERTY_TYPE_SHARES: tuple[tuple[str, float], ...] = (
    ("SINGLE_FAMILY", 0.52),
    ("CONDO", 0.16),
    ("TOWNHOUSE", 0.10),
    ("MULTI_FAMILY", 0.07),
    ("LAND", 0.07),
    ("MANUFACTURED", 0.05),
    ("OTHER", 0.03),
)
SOURCE_SHARES: tuple[tuple[str, float], ...] = (
    ("ZILLOW", 0.45),
    ("CRAIGSLIST", 0.20),
    ("FSBO", 0.20),
    ("FACEBOOK", 0.15),
)
MAX_BUYERS_SHARES: tuple[tuple[int, float], ...] = ((1, 0.70), (2, 0.14), (3, 0.08), (4, 0.05), (5, 0.03))

# Asking price per sqft relative to the metro's single-family figure (LAND is priced per acre).
TYPE_PPSF_FACTOR = {
    "SINGLE_FAMILY": 1.0,
    "CONDO": 1.12,
    "TOWNHOUSE": 0.98,
    "MULTI_FAMILY": 0.82,
    "MANUFACTURED": 0.45,
    "OTHER": 0.9,
}
SOURCE_QUALITY = {"ZILLOW": 0.74, "FSBO": 0.64, "CRAIGSLIST": 0.55, "FACEBOOK": 0.5}
