"""US street addresses: parse with scourgify (USPS Pub. 28 normalization) or usaddress, build dedup keys."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import usaddress

try:  # scourgify is optional: usaddress alone still parses, with lighter normalization
    from scourgify import normalize_address_record as _scourgify
    from scourgify.exceptions import AddressNormalizationError as _ScourgifyError
except ImportError:  # pragma: no cover - exercised only where scourgify is not installed
    _scourgify = None
    _ScourgifyError = Exception

STATES = {
    "ALABAMA": "AL", "ALASKA": "AK", "ARIZONA": "AZ", "ARKANSAS": "AR", "CALIFORNIA": "CA",
    "COLORADO": "CO", "CONNECTICUT": "CT", "DELAWARE": "DE", "DISTRICT OF COLUMBIA": "DC",
    "FLORIDA": "FL", "GEORGIA": "GA", "HAWAII": "HI", "IDAHO": "ID", "ILLINOIS": "IL",
    "INDIANA": "IN", "IOWA": "IA", "KANSAS": "KS", "KENTUCKY": "KY", "LOUISIANA": "LA",
    "MAINE": "ME", "MARYLAND": "MD", "MASSACHUSETTS": "MA", "MICHIGAN": "MI", "MINNESOTA": "MN",
    "MISSISSIPPI": "MS", "MISSOURI": "MO", "MONTANA": "MT", "NEBRASKA": "NE", "NEVADA": "NV",
    "NEW HAMPSHIRE": "NH", "NEW JERSEY": "NJ", "NEW MEXICO": "NM", "NEW YORK": "NY",
    "NORTH CAROLINA": "NC", "NORTH DAKOTA": "ND", "OHIO": "OH", "OKLAHOMA": "OK", "OREGON": "OR",
    "PENNSYLVANIA": "PA", "RHODE ISLAND": "RI", "SOUTH CAROLINA": "SC", "SOUTH DAKOTA": "SD",
    "TENNESSEE": "TN", "TEXAS": "TX", "UTAH": "UT", "VERMONT": "VT", "VIRGINIA": "VA",
    "WASHINGTON": "WA", "WEST VIRGINIA": "WV", "WISCONSIN": "WI", "WYOMING": "WY",
}  # fmt: skip
STATE_CODES = frozenset(STATES.values())
_DIRECTIONALS = frozenset({"N", "S", "E", "W", "NE", "NW", "SE", "SW"})
_ORDINAL = re.compile(r"^(\d+)(ST|ND|RD|TH)$")
_ZIP = re.compile(r"\b(\d{5})(?:-\d{4})?\b")


@dataclass(frozen=True)
class NormalizedAddress:
    """A parsed address; street is display-cased ("4512 N Central Expy"), key is for dedup."""

    street: str | None
    unit: str | None
    city: str | None
    state: str | None
    zip: str | None

    @property
    def key(self) -> str | None:
        """Dedup key: USPS-normalized street line, unit and ZIP ("4512 N CENTRAL EXPY|#210|75205")."""
        if not self.street or not self.zip:
            return None
        unit = re.sub(r"^(APT|UNIT|STE|SUITE|#)\s*", "#", self.unit.upper()) if self.unit else ""
        return f"{self.street.upper()}|{unit.replace(' ', '')}|{self.zip}"


def normalize_state(value: Any) -> str | None:
    """Two-letter state code from "TX", "tx", "Texas"."""
    if not isinstance(value, str):
        return None
    text = re.sub(r"[^A-Za-z ]", "", value).strip().upper()
    if text in STATE_CODES:
        return text
    return STATES.get(text)


def normalize_zip(value: Any) -> str | None:
    """Five-digit ZIP from "75201", "75201-1234", 75201."""
    if value is None:
        return None
    if isinstance(value, int):
        value = f"{value:05d}"
    match = _ZIP.search(str(value))
    return match.group(1) if match else None


def normalize_city(value: Any) -> str | None:
    """City in title case ("DALLAS" → "Dallas", "st. louis" → "St. Louis")."""
    if not isinstance(value, str):
        return None
    text = re.sub(r"\s+", " ", value).strip(" ,.")
    if not text or len(text) > 80 or not re.search(r"[A-Za-z]", text):
        return None
    return " ".join(w[:1].upper() + w[1:].lower() for w in text.split(" "))


def display_case(street: str) -> str:
    """USPS upper case to display case, keeping directionals and unit letters ("N", "4B", "21st")."""
    words = []
    for word in street.split():
        if word in _DIRECTIONALS or (any(c.isdigit() for c in word) and not _ORDINAL.match(word)):
            words.append(word)
        elif match := _ORDINAL.match(word):
            words.append(match.group(1) + match.group(2).lower())
        else:
            words.append(word[:1] + word[1:].lower())
    return " ".join(words)


def normalize_address(
    address: str | None = None,
    *,
    street: str | None = None,
    city: str | None = None,
    state: str | None = None,
    zip: str | None = None,
) -> NormalizedAddress:
    """Parse a one-line address and/or separate parts; separate parts win where both are given."""
    parsed = _parse_line(_clean_line(address)) if address else None
    if street:
        street_parsed = _parse_line(_clean_line(street))
        if street_parsed is not None and street_parsed.street:
            parsed = NormalizedAddress(
                street_parsed.street,
                street_parsed.unit,
                parsed.city if parsed else None,
                parsed.state if parsed else None,
                parsed.zip if parsed else None,
            )
    base = parsed or NormalizedAddress(None, None, None, None, None)
    return NormalizedAddress(
        street=base.street,
        unit=base.unit,
        city=normalize_city(city) or base.city,
        state=normalize_state(state) or base.state,
        zip=normalize_zip(zip) or base.zip,
    )


def _clean_line(text: str) -> str:
    text = re.sub(r"\s+", " ", text).strip(" ,")
    return text[:300]


@lru_cache(maxsize=8192)
def _parse_line(line: str) -> NormalizedAddress | None:
    if not line:
        return None
    if _scourgify is not None:
        try:
            record = _scourgify(line)
        except (_ScourgifyError, Exception):  # scourgify raises several unrelated error types
            record = None
        if record and record.get("address_line_1") and re.match(r"^\d", record["address_line_1"]):
            return NormalizedAddress(
                street=display_case(record["address_line_1"]),
                unit=_unit(record.get("address_line_2")),
                city=normalize_city(record.get("city")),
                state=normalize_state(record.get("state")),
                zip=normalize_zip(record.get("postal_code")),
            )
    return _parse_with_usaddress(line)


def _unit(value: Any) -> str | None:
    if not isinstance(value, str) or not value.strip():
        return None
    return re.sub(r"#\s+", "#", value.strip().upper())


def _parse_with_usaddress(line: str) -> NormalizedAddress | None:
    try:
        tagged, _kind = usaddress.tag(line)
    except usaddress.RepeatedLabelError:
        return None
    number = tagged.get("AddressNumber")
    street_parts = [
        tagged.get(k)
        for k in (
            "AddressNumber",
            "StreetNamePreDirectional",
            "StreetNamePreType",
            "StreetName",
            "StreetNamePostType",
            "StreetNamePostDirectional",
        )
    ]
    street = " ".join(p for p in street_parts if p) if number and tagged.get("StreetName") else None
    unit_parts = [tagged.get("OccupancyType"), tagged.get("OccupancyIdentifier")]
    unit = " ".join(p for p in unit_parts if p) or None
    result = NormalizedAddress(
        street=display_case(street.upper().replace(".", "")) if street else None,
        unit=_unit(unit),
        city=normalize_city(tagged.get("PlaceName")),
        state=normalize_state(tagged.get("StateName")),
        zip=normalize_zip(tagged.get("ZipCode")),
    )
    if not any((result.street, result.city, result.state, result.zip)):
        return None
    return result
