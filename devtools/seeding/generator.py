"""The synthetic lead generator: N realistic leads over real US metros, deterministic for a seed.

All randomness comes from one stdlib ``random.Random(seed)``; every lead is priced by the pricing
engine exactly as ingestion prices a new lead (``initial_price`` as of the generation time).
"""

from __future__ import annotations

import math
import random
import re
import uuid
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, NamedTuple

from aiqleads.domain.pricing.engine import LeadFacts, initial_price
from aiqleads_dev.seeding.reference import (
    ADJECTIVES,
    AMENITIES,
    CLOSERS,
    EMAIL_DOMAINS,
    FIRST_NAMES,
    FRAUD_SIGNALS,
    GENERIC_STREETS,
    LAST_NAMES,
    MAX_BUYERS_SHARES,
    METROS,
    OPENERS,
    PROPERTY_TYPE_SHARES,
    SCAM_LINES,
    SOURCE_QUALITY,
    SOURCE_SHARES,
    TYPE_LABELS,
    TYPE_PPSF_FACTOR,
    Metro,
)

MILES_PER_DEGREE_LAT = 69.0
POSTED_WINDOW_DAYS = 60
_NON_SLUG = re.compile(r"[^a-z0-9]+")


def _cumulative(shares: Sequence[tuple[Any, float]]) -> tuple[list[Any], list[float]]:
    values, weights, total = [], [], 0.0
    for value, share in shares:
        total += share
        values.append(value)
        weights.append(total)
    return values, weights


class LeadRecord(NamedTuple):
    """One synthetic lead as generated (location as lat/lng; `_lead_row` maps it to bulk.LEAD_COLUMNS).

    ``price_credits``, ``reprice_due_at`` and ``price_reason`` are the pricing engine's initial quote
    at ``priced_at`` (the generation time).
    """

    id: uuid.UUID
    source: str
    source_url: str
    property_type: str
    title: str
    description: str
    street: str
    city: str
    state: str
    zip: str
    lat: float
    lng: float
    asking_price: int
    bedrooms: int | None
    bathrooms: float | None
    sqft: int | None
    year_built: int | None
    photos: list[str]
    posted_at: datetime
    quality_score: float
    fraud_score: float
    fraud_signals: list[str]
    contact_name: str
    contact_phone: str
    contact_email: str
    price_credits: int
    max_buyers: int
    created_at: datetime
    priced_at: datetime
    reprice_due_at: datetime | None
    price_reason: str


class _Generator:
    """Deterministic lead generator; all randomness comes from one `random.Random(seed)`."""

    def __init__(self, seed: int, now: datetime) -> None:
        self.rng = random.Random(seed)
        self.now = now
        self.metros, self.metro_cum = _cumulative([(m, m.weight) for m in METROS])
        self.types, self.type_cum = _cumulative(PROPERTY_TYPE_SHARES)
        self.sources, self.source_cum = _cumulative(SOURCE_SHARES)
        self.buyers, self.buyers_cum = _cumulative(MAX_BUYERS_SHARES)

    def _pick(self, values: list[Any], cum: list[float]) -> Any:
        return self.rng.choices(values, cum_weights=cum)[0]

    def _location(self, metro: Metro) -> tuple[float, float]:
        rng = self.rng
        sigma = metro.radius_miles / 2.5
        while True:
            north, east = rng.gauss(0.0, sigma), rng.gauss(0.0, sigma)
            if metro.lng_side:
                east = abs(east) * metro.lng_side
            if north * north + east * east <= metro.radius_miles**2:
                break
        lat = metro.lat + north / MILES_PER_DEGREE_LAT
        lng = metro.lng + east / (MILES_PER_DEGREE_LAT * math.cos(math.radians(metro.lat)))
        return round(lat, 6), round(lng, 6)

    def _size(self, ptype: str) -> tuple[int | None, float | None, int | None, int | None, float]:
        """bedrooms, bathrooms, sqft, year built, and lot acres (LAND only, else 0)."""
        rng = self.rng
        year = self.now.year
        if ptype == "LAND":
            acres = round(min(40.0, rng.lognormvariate(math.log(0.6), 1.1)), 2)
            return None, None, None, None, max(0.1, acres)
        if ptype == "CONDO":
            beds = rng.choices((0, 1, 2, 3), (8, 38, 42, 12))[0]
            sqft = 480 + beds * 380 + rng.gauss(0, 120)
            built = int(rng.triangular(1965, year, 2008))
        elif ptype == "TOWNHOUSE":
            beds = rng.choices((2, 3, 4), (35, 50, 15))[0]
            sqft = 700 + beds * 420 + rng.gauss(0, 160)
            built = int(rng.triangular(1975, year, 2012))
        elif ptype == "MULTI_FAMILY":
            units = rng.choices((2, 3, 4), (60, 15, 25))[0]
            beds = units * rng.choice((1, 2, 2, 3))
            sqft = units * (650 + rng.gauss(250, 120))
            built = int(rng.triangular(1920, year, 1970))
        elif ptype == "MANUFACTURED":
            beds = rng.choices((2, 3, 4), (35, 55, 10))[0]
            sqft = 600 + beds * 320 + rng.gauss(0, 120)
            built = int(rng.triangular(1975, year, 2002))
        elif ptype == "OTHER":
            beds = rng.choices((1, 2, 3), (40, 40, 20))[0]
            sqft = 700 + beds * 400 + rng.gauss(0, 250)
            built = int(rng.triangular(1925, year, 1995))
        else:  # SINGLE_FAMILY
            beds = rng.choices((2, 3, 4, 5, 6), (10, 42, 33, 12, 3))[0]
            sqft = 520 + beds * 430 + rng.gauss(0, 250)
            built = int(rng.triangular(1925, year, 1998))
        baths = max(1.0, round((beds * 0.65 + rng.choice((0.0, 0.5, 0.5, 1.0))) * 2) / 2)
        if ptype == "MULTI_FAMILY":
            baths = float(max(2, beds // 2 + units // 2))
        return beds, baths, max(320, int(round(sqft, -1))), min(built, year), 0.0

    def _price(self, metro: Metro, ptype: str, sqft: int | None, built: int | None, acres: float) -> int:
        rng = self.rng
        if ptype == "LAND" or sqft is None or built is None:
            per_acre = metro.price_per_sqft * 900 * rng.lognormvariate(0, 0.45)
            raw = max(15_000.0, math.pow(acres, 0.7) * per_acre)
        else:
            age = self.now.year - built
            age_factor = 1.1 if age < 3 else (0.92 if age > 60 else 1.0)
            raw = sqft * metro.price_per_sqft * TYPE_PPSF_FACTOR[ptype] * age_factor
            raw *= rng.lognormvariate(0, 0.18)
        step = 1_000 if raw < 1_000_000 else 5_000
        return max(step, round(raw / step) * step)

    def _contact(self, metro: Metro) -> tuple[str, str, str]:
        rng = self.rng
        first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
        phone = f"+1{rng.choice(metro.area_codes)}55501{rng.randrange(100):02d}"
        email = f"{first.lower()}.{last.lower()}{rng.randrange(1, 100)}@{rng.choice(EMAIL_DOMAINS)}"
        return f"{first} {last}", phone, email

    def lead(self, index: int, lead_id: uuid.UUID) -> LeadRecord:
        rng = self.rng
        metro: Metro = self._pick(self.metros, self.metro_cum)
        ptype: str = self._pick(self.types, self.type_cum)
        source: str = self._pick(self.sources, self.source_cum)
        lat, lng = self._location(metro)
        hood, zip_code = rng.choice(metro.neighbourhoods)
        landmark, other_landmark = rng.sample(metro.landmarks, 2)
        beds, baths, sqft, built, acres = self._size(ptype)
        price = self._price(metro, ptype, sqft, built, acres)

        # fraud: most listings are clean, a few percent look like scams (cheap, pushy, reused phone)
        suspicious = rng.random() < 0.04
        scam_line = ""
        if suspicious:
            fraud = round(rng.uniform(0.55, 0.97), 3)
            price = max(1_000, int(price * rng.uniform(0.35, 0.6)) // 1_000 * 1_000)
            signals = {FRAUD_SIGNALS[0], rng.choice(FRAUD_SIGNALS[2:])}
            if rng.random() < 0.6:
                scam_line = rng.choice(SCAM_LINES)
                signals.add(FRAUD_SIGNALS[1])
            fraud_signals = sorted(signals, key=FRAUD_SIGNALS.index)
        else:
            fraud = round(min(0.45, rng.betavariate(1.3, 14)), 3)
            fraud_signals = [FRAUD_SIGNALS[2]] if fraud > 0.3 else []

        label = rng.choice(TYPE_LABELS[ptype])
        amenities = rng.sample(AMENITIES[ptype], rng.randint(2, 4))
        adj = rng.choice(ADJECTIVES)
        title = self._title(ptype, source, label, adj, beds, baths, acres, hood, landmark, metro)
        opener = rng.choice(OPENERS).format(
            adj=adj, adj_l=adj.lower(), label=label, hood=hood, landmark=landmark
        )
        facts = self._facts(ptype, beds, baths, sqft, built, acres)
        parts = [opener, facts, f"Features {', '.join(amenities[:-1])} and {amenities[-1]}."]
        parts.append(f"{hood}, {metro.city}, {metro.state} {zip_code}, a short drive from {other_landmark}.")
        parts.append(scam_line)
        parts.append(rng.choice(CLOSERS[source]))
        description = " ".join(p for p in parts if p)

        number = rng.randint(100, 9899)
        street_name = rng.choice(metro.streets) if rng.random() < 0.55 else rng.choice(GENERIC_STREETS)
        street = f"{number} {street_name}"
        if ptype == "CONDO":
            street += f" Unit {rng.randint(1, 24)}{rng.choice('ABCDEF')}"
        name, phone, email = self._contact(metro)

        photo_count = rng.choice((0, 3, 6, 10, 15, 24)) if source == "ZILLOW" else rng.randint(0, 8)
        photos = [f"https://img.aiqleads.example/synthetic/{lead_id.hex}/{i}.jpg" for i in range(photo_count)]
        quality = SOURCE_QUALITY[source] + rng.gauss(0, 0.1) + min(photo_count, 10) * 0.008 - fraud * 0.3
        quality = round(min(0.99, max(0.05, quality)), 3)

        age = timedelta(days=POSTED_WINDOW_DAYS * rng.random() ** 1.3)
        posted_at = self.now - age
        created_at = min(self.now, posted_at + timedelta(minutes=rng.randint(5, 240)))
        max_buyers: int = self._pick(self.buyers, self.buyers_cum)
        # the engine's first price of a new lead, as ingestion computes it (no demand, no seat taken)
        quote = initial_price(
            LeadFacts(
                property_type=ptype,
                asking_price=price,
                quality_score=quality,
                posted_at=posted_at,
                max_buyers=max_buyers,
            ),
            self.now,
        )
        return LeadRecord(
            id=lead_id,
            source=source,
            source_url=self._url(source, metro, title, index, rng.randrange(10**9, 10**10)),
            property_type=ptype,
            title=title,
            description=description,
            street=street,
            city=metro.city,
            state=metro.state,
            zip=zip_code,
            lat=lat,
            lng=lng,
            asking_price=price,
            bedrooms=beds,
            bathrooms=baths,
            sqft=sqft,
            year_built=built,
            photos=photos,
            posted_at=posted_at,
            quality_score=quality,
            fraud_score=fraud,
            fraud_signals=fraud_signals,
            contact_name=name,
            contact_phone=phone,
            contact_email=email,
            price_credits=quote.price,
            max_buyers=max_buyers,
            created_at=created_at,
            priced_at=self.now,
            reprice_due_at=quote.next_reprice_at,
            price_reason=quote.reason,
        )

    def _title(
        self,
        ptype: str,
        source: str,
        label: str,
        adj: str,
        beds: int | None,
        baths: float | None,
        acres: float,
        hood: str,
        landmark: str,
        metro: Metro,
    ) -> str:
        rng = self.rng
        if ptype == "LAND":
            return rng.choice(
                (
                    f"{acres:g} acre {label} in {hood}",
                    f"Buildable {acres:g}-acre {label} near {landmark}",
                    f"{acres:g} acres, {metro.city} {metro.state}",
                )
            )
        beds_text = "Studio" if beds == 0 else f"{beds} bed"
        baths_text = f"{baths:g} bath"
        options = [
            f"{beds_text} {baths_text} {label} near {landmark}",
            f"{adj} {beds_text} {label} in {hood}",
            f"{beds_text}/{baths_text} {label} – {hood}, {metro.city}",
        ]
        if ptype == "MULTI_FAMILY":
            options.append(f"{label.capitalize()} in {hood}, great rental income")
        if source == "FSBO":
            options.append(f"For sale by owner: {beds_text} {label} in {hood}")
        return rng.choice(options)

    @staticmethod
    def _facts(
        ptype: str, beds: int | None, baths: float | None, sqft: int | None, built: int | None, acres: float
    ) -> str:
        if ptype == "LAND":
            return f"{acres:g} acres ({int(acres * 43_560):,} sqft lot)."
        rooms = "Studio" if beds == 0 else f"{beds} bedroom{'s' if beds != 1 else ''}"
        return f"{rooms}, {baths:g} bath{'s' if baths != 1 else ''}, {sqft:,} sqft, built in {built}."

    @staticmethod
    def _url(source: str, metro: Metro, title: str, index: int, number: int) -> str:
        slug = _NON_SLUG.sub("-", title.lower()).strip("-")[:60]
        if source == "ZILLOW":
            return f"https://www.zillow.com/homedetails/{slug}/{number}_zpid/"
        if source == "CRAIGSLIST":
            return f"https://{metro.craigslist}.craigslist.org/reo/d/{slug}/{number}.html"
        if source == "FSBO":
            return f"https://fsbo.com/listings/listings/show/id/{number}/"
        return f"https://www.facebook.com/marketplace/item/{number}{index % 10}/"


def generate_leads(
    n: int, seed: int = 42, *, now: datetime | None = None, new_id: Callable[[], uuid.UUID] = uuid.uuid4
) -> Iterator[LeadRecord]:
    """Yield N synthetic leads; everything except the ids is a function of (seed, now)."""
    generator = _Generator(seed, now or datetime.now(UTC))
    for index in range(n):
        yield generator.lead(index, new_id())
