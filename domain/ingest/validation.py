"""Validation of cleaned listings: hard requirements for a lead, and implausible values dropped."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime

from aiqleads.domain.cleaning.addresses import STATE_CODES
from aiqleads.domain.cleaning.prices import MAX_PLAUSIBLE_PRICE, MIN_PLAUSIBLE_PRICE
from aiqleads.domain.core.listings import CleanListing
from aiqleads.domain.core.vocabulary import LEAD_SOURCES as SOURCES
from aiqleads.domain.core.vocabulary import PROPERTY_TYPES

_ZIP = re.compile(r"^\d{5}$")


@dataclass
class ValidationResult:
    """ok is False when the listing cannot become a lead; problems explain why (or what was dropped)."""

    ok: bool
    problems: list[str] = field(default_factory=list)


def validate(listing: CleanListing, now: datetime | None = None) -> ValidationResult:
    """Check a cleaned listing in place: implausible values are set to None and noted in issues.

    A lead needs a source and id, a title, a US location (coordinates), a city, a two-letter state
    and a five-digit ZIP code; everything else is optional.
    """
    now = now or datetime.now(UTC)
    problems: list[str] = []
    if listing.source not in SOURCES:
        problems.append(f"unknown source {listing.source!r}")
    if not listing.external_id or len(listing.external_id) > 200:
        problems.append("missing or overlong listing id")
    if not listing.title:
        problems.append("missing title")
    if listing.lat is None or listing.lng is None:
        problems.append("no location")
    if not listing.city:
        problems.append("missing city")
    if not listing.state or listing.state not in STATE_CODES:
        problems.append("missing or invalid state")
    if not listing.zip or not _ZIP.match(listing.zip):
        problems.append("missing or invalid ZIP code")
    if listing.property_type not in PROPERTY_TYPES:
        problems.append(f"unknown property type {listing.property_type!r}")

    def drop(name: str, reason: str) -> None:
        setattr(listing, name, None)
        listing.issues.append(reason)

    if (
        listing.asking_price is not None
        and not MIN_PLAUSIBLE_PRICE <= listing.asking_price <= MAX_PLAUSIBLE_PRICE
    ):
        drop("asking_price", f"implausible asking price {listing.asking_price}")
    if listing.bedrooms is not None and not 0 <= listing.bedrooms <= 50:
        drop("bedrooms", f"implausible bedrooms {listing.bedrooms}")
    if listing.bathrooms is not None and not 0 <= listing.bathrooms <= 50:
        drop("bathrooms", f"implausible bathrooms {listing.bathrooms}")
    if listing.bathrooms is not None and (listing.bathrooms * 2) % 1:
        listing.bathrooms = round(listing.bathrooms * 2) / 2
    if listing.sqft is not None and not 100 <= listing.sqft <= 100_000:
        drop("sqft", f"implausible living area {listing.sqft} sqft")
    if listing.year_built is not None and not 1700 <= listing.year_built <= now.year + 2:
        drop("year_built", f"implausible year built {listing.year_built}")
    if listing.posted_at is not None and listing.posted_at > now:
        listing.posted_at = now
    if listing.property_type == "LAND":
        listing.bedrooms = listing.bedrooms or None
        listing.bathrooms = listing.bathrooms or None
    if listing.contact_phone is not None and not re.match(r"^\+\d{8,15}$", listing.contact_phone):
        drop("contact_phone", "invalid phone")
    return ValidationResult(ok=not problems, problems=problems)
