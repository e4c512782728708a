"""Is a cleaned listing the same property as an existing lead? Address first, then text and facts."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TypeVar

from rapidfuzz import fuzz

from aiqleads.domain.core.geo import SAME_STREET_METERS
from aiqleads.domain.core.listings import CleanListing

FUZZY_STREET_METERS = 300.0  # near-identical street spelling, same house number
NO_ADDRESS_METERS = 150.0  # no street on one side: must be this close and look alike
TEXT_SIMILARITY = 80.0
STREET_SIMILARITY = 90.0


@dataclass(frozen=True)
class Candidate:
    """What dedup needs to know about an existing lead."""

    dedup_key: str | None
    title: str
    description: str | None
    asking_price: int | None
    bedrooms: int | None
    property_type: str
    distance_m: float


def street_prefix(dedup_key: str | None) -> str | None:
    """ "STREET|UNIT|" of a dedup key (the part compared regardless of ZIP)."""
    if not dedup_key:
        return None
    street, unit, _zip = [*dedup_key.split("|"), "", ""][:3]
    return f"{street}|{unit}|"


def _parts(key: str | None) -> tuple[str, str, str] | None:
    if not key:
        return None
    street, unit, zip_code = [*key.split("|"), "", ""][:3]
    return street, unit, zip_code


def _house_number(street: str) -> str | None:
    match = re.match(r"^(\d+[A-Z]?)\b", street)
    return match.group(1) if match else None


def match_score(listing: CleanListing, candidate: Candidate) -> float:
    """0 when the lead is a different property; otherwise a confidence in (0, 1]."""
    mine, theirs = _parts(listing.dedup_key), _parts(candidate.dedup_key)
    if mine and theirs:
        street_a, unit_a, _ = mine
        street_b, unit_b, _ = theirs
        if unit_a and unit_b and unit_a != unit_b:
            return 0.0  # two units of the same building are different properties
        if street_a == street_b:
            return 1.0 if candidate.distance_m <= SAME_STREET_METERS else 0.0
        if (
            candidate.distance_m <= FUZZY_STREET_METERS
            and _house_number(street_a) is not None
            and _house_number(street_a) == _house_number(street_b)
            and fuzz.ratio(street_a, street_b) >= STREET_SIMILARITY
        ):
            return 0.9
        return 0.0
    # at least one side has no street line: rely on proximity, facts and text
    if candidate.distance_m > NO_ADDRESS_METERS or listing.property_type != candidate.property_type:
        return 0.0
    if (
        listing.bedrooms is not None
        and candidate.bedrooms is not None
        and listing.bedrooms != candidate.bedrooms
    ):
        return 0.0
    if listing.asking_price and candidate.asking_price:
        spread = abs(listing.asking_price - candidate.asking_price) / max(
            listing.asking_price, candidate.asking_price
        )
        if spread > 0.05:
            return 0.0
    mine_text = f"{listing.title} {listing.description or ''}".lower()
    their_text = f"{candidate.title} {candidate.description or ''}".lower()
    similarity = fuzz.token_set_ratio(mine_text, their_text)
    return similarity / 100.0 * 0.85 if similarity >= TEXT_SIMILARITY else 0.0


T = TypeVar("T")


def best_match(listing: CleanListing, candidates: Sequence[tuple[T, Candidate]]) -> T | None:
    """The candidate lead (first element of each pair) that this listing duplicates, if any."""
    best: tuple[float, T] | None = None
    for lead, candidate in candidates:
        score = match_score(listing, candidate)
        if score > 0 and (best is None or score > best[0]):
            best = (score, lead)
    return best[1] if best is not None else None
