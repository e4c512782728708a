"""Rule-based cleaning: one RawRecord (as parsed) → one CleanListing (typed, normalized, geocoded)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

from aiqleads.domain.cleaning.addresses import (
    NormalizedAddress,
    normalize_address,
    normalize_city,
    normalize_state,
    normalize_zip,
)
from aiqleads.domain.cleaning.geocode import geocode, state_of_zip
from aiqleads.domain.cleaning.prices import is_rent, parse_price
from aiqleads.domain.cleaning.property_types import normalize_property_type
from aiqleads.domain.cleaning.text import (
    find_in_text,
    first_number,
    parse_bathrooms,
    parse_bedrooms,
    parse_sqft,
    safe_url,
    single_line,
    to_plain_text,
)
from aiqleads.domain.core.listings import CleanListing, RawRecord
from aiqleads.domain.core.phones import normalize_email, normalize_phone, phones_in_text

MAX_PHOTOS = 30
_RELATIVE = re.compile(r"(\d+)\s*(minute|min|hour|hr|day|week|month)s?\s*ago", re.IGNORECASE)
_UNIT_SECONDS = {
    "minute": 60,
    "min": 60,
    "hour": 3600,
    "hr": 3600,
    "day": 86400,
    "week": 604800,
    "month": 2592000,
}
_TYPE_LABELS = {
    "SINGLE_FAMILY": "Single-family home",
    "CONDO": "Condo",
    "TOWNHOUSE": "Townhouse",
    "MULTI_FAMILY": "Multi-family",
    "LAND": "Land",
    "MANUFACTURED": "Manufactured home",
    "OTHER": "Property",
}


def parse_posted_at(value: Any, now: datetime | None = None) -> datetime | None:
    """A timezone-aware time from ISO text, epoch seconds/milliseconds or "3 days ago"."""
    now = now or datetime.now(UTC)
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, (int, float)) or (
        isinstance(value, str) and re.fullmatch(r"\d{9,13}", value.strip())
    ):
        stamp = float(value)
        if stamp > 1e12:
            stamp /= 1000.0
        try:
            result = datetime.fromtimestamp(stamp, UTC)
        except (OverflowError, OSError, ValueError):
            return None
        return result if result <= now + timedelta(days=1) else None
    text = str(value).strip()
    if match := _RELATIVE.search(text):
        return now - timedelta(seconds=int(match.group(1)) * _UNIT_SECONDS[match.group(2).lower()])
    if text.lower() in {"today", "just now", "just listed"}:
        return now
    if text.lower() == "yesterday":
        return now - timedelta(days=1)
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        for fmt in ("%m/%d/%Y", "%b %d, %Y", "%B %d, %Y", "%Y-%m-%d %H:%M"):
            try:
                parsed = datetime.strptime(text, fmt)
                break
            except ValueError:
                continue
        else:
            return None
    parsed = parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    return parsed if parsed <= now + timedelta(days=1) else None


def _coordinate(value: Any) -> float | None:
    if isinstance(value, bool) or value is None:
        return None
    try:
        return float(str(value).strip())
    except ValueError:
        return None


def clean_record(raw: RawRecord, now: datetime | None = None) -> CleanListing:
    """Normalize every field of a parsed listing; problems found along the way go to .issues."""
    issues: list[str] = []
    title = single_line(raw.title)
    description = to_plain_text(raw.description)
    free_text = " ".join(t for t in (title, description) if t)

    price = parse_price(raw.price)
    if raw.price not in (None, "") and price is None:
        issues.append(
            "rent, not a sale price" if is_rent(raw.price) else f"unreadable price {str(raw.price)[:40]!r}"
        )

    address = normalize_address(raw.address, street=raw.street, city=raw.city, state=raw.state, zip=raw.zip)
    city = address.city or normalize_city(raw.city)
    state = address.state or normalize_state(raw.state)
    zip_code = address.zip or normalize_zip(raw.zip)
    if zip_code and state and state_of_zip(zip_code) not in (None, state):
        issues.append(f"ZIP {zip_code} is not in {state}")

    lat, lng = _coordinate(raw.lat), _coordinate(raw.lng)
    geo = geocode(lat, lng, zip_code, city, state)
    if geo is None:
        issues.append("no location: neither coordinates nor a known ZIP code")
    elif geo.precision == "zip":
        issues.append("located by ZIP centroid")

    found = find_in_text(free_text)
    bedrooms = parse_bedrooms(raw.bedrooms)
    bathrooms = parse_bathrooms(raw.bathrooms)
    sqft = parse_sqft(raw.sqft)
    bedrooms = bedrooms if bedrooms is not None else found.get("bedrooms")
    bathrooms = bathrooms if bathrooms is not None else found.get("bathrooms")
    sqft = sqft if sqft is not None else found.get("sqft")
    year = first_number(raw.year_built)

    property_type = normalize_property_type(raw.property_type, fallback_text=title)
    if property_type == "OTHER" and description:
        property_type = normalize_property_type(None, fallback_text=description)

    phone = normalize_phone(raw.contact_phone)
    if raw.contact_phone and phone is None:
        issues.append(f"invalid phone {str(raw.contact_phone)[:30]!r}")
    if phone is None:
        in_text = phones_in_text(description)
        phone = in_text[0] if in_text else None
    email = normalize_email(raw.contact_email) or normalize_email(description)

    photos: list[str] = []
    for candidate in raw.photos or []:
        url = safe_url(candidate)
        if url and url not in photos:
            photos.append(url)
    photos = photos[:MAX_PHOTOS]

    if not title:
        beds = f"{bedrooms} bd " if bedrooms is not None else ""
        where = f" in {city}, {state}" if city and state else ""
        title = f"{beds}{_TYPE_LABELS[property_type]}{where}".strip()

    return CleanListing(
        source=raw.source,
        external_id=raw.external_id,
        url=safe_url(raw.url),
        title=title,
        description=description,
        property_type=property_type,
        street=address.street,
        unit=address.unit,
        city=geo.city if geo else city,
        state=geo.state if geo else state,
        zip=geo.zip if geo else zip_code,
        lat=geo.lat if geo else None,
        lng=geo.lng if geo else None,
        geo_precision=geo.precision if geo else None,
        asking_price=price,
        bedrooms=bedrooms,
        bathrooms=bathrooms,
        sqft=sqft,
        year_built=int(year) if year is not None else None,
        photos=photos,
        posted_at=parse_posted_at(raw.posted_at, now),
        contact_name=single_line(raw.contact_name, max_chars=120),
        contact_phone=phone,
        contact_email=email,
        dedup_key=NormalizedAddress(
            address.street, address.unit, None, None, geo.zip if geo else zip_code
        ).key,
        issues=issues,
    )
