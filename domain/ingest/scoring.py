"""Quality and fraud scores with human-readable fraud signals.

Quality (0..1) rewards completeness and penalises inconsistency. Fraud (0..1) combines independent
signals as 1 − Π(1 − wᵢ): payment-scam language, a price per sqft far below the PostGIS
neighbourhood median, contact details reused across many listings, text or photos copied from
listings at other addresses, an implausibly low price, and LLM hints when configured.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from aiqleads.domain.core.listings import CleanListing

SCAM_PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = tuple(
    (label, re.compile(pattern, re.IGNORECASE))
    for label, pattern in (
        ("wire transfer", r"\bwire[ds]?\s+(?:transfer|the\s+(?:money|funds|deposit))|\bbank\s+wire\b"),
        ("Western Union / MoneyGram", r"\bwestern\s+union\b|\bmoney\s*gram\b"),
        ("out of the country", r"\bout\s+of\s+(?:the\s+)?(?:country|state|town)\b|\boverseas\b"),
        ("mission trip / deployment", r"\bmission(?:ary)?\s+trip\b|\bdeployed\b|\bon\s+deployment\b"),
        ("deposit before viewing", r"\b(?:send|pay|wire)\s+(?:a|the|your)?\s*\$?[\d,]*\s*deposit\b"),
        (
            "keys mailed",
            r"\bmail\s+(?:you\s+)?the\s+keys\b|\bkeys\s+(?:will\s+be\s+)?(?:mailed|shipped|sent)\b",
        ),
        ("gift cards", r"\bgift\s*cards?\b|\bitunes\s+cards?\b"),
        ("cannot show the property", r"\b(?:cannot|can't|can\s*not|unable\s+to)\s+show\b|\bno\s+viewings?\b"),
        ("cashier's check", r"\bcashier'?s?\s+che(?:ck|que)\b"),
        ("crypto payment", r"\bbitcoin\b|\bcrypto(?:currency)?\b|\busdt\b"),
    )
)

LOW_PRICE_BY_TYPE = {
    "SINGLE_FAMILY": 25_000,
    "CONDO": 20_000,
    "TOWNHOUSE": 25_000,
    "MULTI_FAMILY": 40_000,
    "LAND": 1_000,
    "MANUFACTURED": 5_000,
    "OTHER": 5_000,
}
PPSF_FAR_BELOW = 0.5  # under half the neighbourhood median price per sqft
MIN_COMPARABLES = 3
CONTACT_REUSE_THRESHOLD = 3  # the same phone/email on this many other leads


@dataclass
class Neighbourhood:
    """Facts about the listing's surroundings and history, gathered with SQL by the repository."""

    median_ppsf: float | None = None
    comparables: int = 0
    radius_miles: float = 3.0
    contact_reuse: int = 0
    duplicate_text: int = 0
    duplicate_photos: int = 0


@dataclass
class FraudAssessment:
    """The fraud score and the reasons behind it."""

    score: float
    signals: list[str] = field(default_factory=list)


def scam_phrases(text: str | None) -> list[str]:
    """Labels of the payment-scam patterns found in a text."""
    if not text:
        return []
    return [label for label, pattern in SCAM_PATTERNS if pattern.search(text)]


def assess_fraud(listing: CleanListing, hood: Neighbourhood) -> FraudAssessment:
    """Score fraud from the listing itself and its neighbourhood facts."""
    weights: list[float] = []
    signals: list[str] = []
    phrases = scam_phrases(" ".join(t for t in (listing.title, listing.description) if t))
    if phrases:
        weights.append(min(0.75, 0.35 + 0.15 * (len(phrases) - 1)))
        signals.append("Payment-scam language: " + ", ".join(phrases))
    price, sqft = listing.asking_price, listing.sqft
    if price and sqft and hood.median_ppsf and hood.comparables >= MIN_COMPARABLES:
        ppsf = price / sqft
        if ppsf < hood.median_ppsf * PPSF_FAR_BELOW:
            below = 100 * (1 - ppsf / hood.median_ppsf)
            weights.append(0.45)
            signals.append(
                f"Price per sqft ${ppsf:,.0f} is {below:.0f}% below the median ${hood.median_ppsf:,.0f} "
                f"of {hood.comparables} listings within {hood.radius_miles:g} miles"
            )
    if price is not None and price < LOW_PRICE_BY_TYPE.get(listing.property_type, 5_000):
        weights.append(0.3)
        signals.append(f"Asking price ${price:,} is implausibly low for this property type")
    if hood.contact_reuse >= CONTACT_REUSE_THRESHOLD:
        weights.append(min(0.6, 0.3 + 0.05 * (hood.contact_reuse - CONTACT_REUSE_THRESHOLD)))
        signals.append(f"Seller contact appears on {hood.contact_reuse} other listings")
    if hood.duplicate_text:
        weights.append(0.35)
        signals.append(f"Description copied from {hood.duplicate_text} listing(s) at other addresses")
    if hood.duplicate_photos:
        weights.append(0.3)
        signals.append(f"Photos reused from {hood.duplicate_photos} listing(s) at other addresses")
    for hint in listing.hints[:3]:
        weights.append(0.15)
        signals.append(f"AI review: {hint}")
    remaining = 1.0
    for weight in weights:
        remaining *= 1.0 - weight
    return FraudAssessment(score=round(min(1.0, max(0.0, 1.0 - remaining)), 4), signals=signals)


def quality_score(listing: CleanListing) -> float:
    """Completeness (what a buyer needs to act) times consistency (do the facts agree)."""
    land = listing.property_type == "LAND"
    parts: list[tuple[float, bool]] = [
        (0.14, listing.asking_price is not None),
        (0.08, land or listing.bedrooms is not None),
        (0.06, land or listing.bathrooms is not None),
        (0.09, listing.sqft is not None or land),
        (0.04, listing.year_built is not None or land),
        (0.08, len(listing.photos) >= 3),
        (0.03, len(listing.photos) >= 1),
        (0.09, bool(listing.description and len(listing.description) >= 80)),
        (0.13, listing.contact_phone is not None),
        (0.05, listing.contact_email is not None),
        (0.03, listing.contact_name is not None),
        (0.10, listing.street is not None),
        (0.08, listing.geo_precision == "page"),
    ]
    total = sum(weight for weight, _ in parts)
    completeness = sum(weight for weight, present in parts if present) / total
    consistency = 1.0
    if any(issue.startswith("ZIP ") and "is not in" in issue for issue in listing.issues):
        consistency -= 0.2
    if any(issue.startswith("implausible") for issue in listing.issues):
        consistency -= 0.1
    if listing.asking_price and listing.sqft and not land:
        ppsf = listing.asking_price / listing.sqft
        if not 25 <= ppsf <= 3000:
            consistency -= 0.15
    if listing.bedrooms and listing.sqft and listing.sqft / max(listing.bedrooms, 1) < 120:
        consistency -= 0.1
    if (
        listing.bedrooms is not None
        and listing.bathrooms is not None
        and listing.bathrooms > listing.bedrooms + 3
    ):
        consistency -= 0.05
    if land and (listing.bedrooms or listing.bathrooms):
        consistency -= 0.1
    return round(max(0.0, min(1.0, completeness * max(0.0, consistency))), 4)
