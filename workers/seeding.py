"""Synthetic and demo data: realistic leads over real US metros, written with PostgreSQL COPY.

`seed_synthetic` generates N leads deterministically from a seed (stdlib `random.Random`) and
writes them, with one initial price_history row each, through asyncpg's binary COPY
(`aiqleads.domain.leads.bulk`, which owns the table layout and the EWKB geography codec).
Every lead is priced by the pricing engine exactly as ingestion prices a new lead
(`aiqleads.domain.pricing.engine.initial_price` as of the generation time `now`): the quote's
price, its next freshness tick in ``reprice_due_at`` (so the repricing cron decays it like any
other lead) and its explanation as the price_history reason.
Elasticsearch is not touched: `aiqleads reindex` rebuilds the index from PostgreSQL.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import random
import re
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, NamedTuple

from aiqleads.domain.leads import bulk
from aiqleads.domain.leads.bulk import raw_dsn as raw_dsn  # re-exported: tests connect with it
from aiqleads.domain.pricing.engine import LeadFacts, initial_price
from aiqleads.domain.settings import Settings

Progress = Callable[[str], None]

DEMO_EMAIL = "demo@aiqleads.dev"
DEMO_PASSWORD = "demo-password-123"
DEMO_NAME = "Demo Buyer"
DEMO_TIER = "PRO"
DEMO_CREDITS = 500
DEMO_MIN_LEADS = 500
DEMO_SYNTHETIC_LEADS = 2_000

MILES_PER_DEGREE_LAT = 69.0
POSTED_WINDOW_DAYS = 60
CHUNK_ROWS = 10_000


# --------------------------------------------------------------------------------------------
# Reference data: metros with real centre coordinates, area codes, ZIP codes and places
# --------------------------------------------------------------------------------------------


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


# fmt: off
METROS: tuple[Metro, ...] = (
    Metro(
        "Dallas", "TX", 32.7767, -96.7970, 7.0, 30, 215, ("214", "469", "972"),
        (("Uptown", "75204"), ("Deep Ellum", "75226"), ("Lakewood", "75214"), ("Bishop Arts", "75208"),
         ("Preston Hollow", "75225"), ("Lake Highlands", "75238"), ("M Streets", "75206")),
        ("Klyde Warren Park", "White Rock Lake", "SMU", "the DART rail", "Love Field"),
        ("Ross Ave", "Greenville Ave", "Swiss Ave", "McKinney Ave", "Mockingbird Ln", "Gaston Ave"),
        "dallas",
    ),
    Metro(
        "Fort Worth", "TX", 32.7555, -97.3308, 3.5, 25, 185, ("817", "682"),
        (("Near Southside", "76104"), ("Arlington Heights", "76107"), ("Tanglewood", "76109"),
         ("Ridglea", "76116"), ("Alliance", "76177"), ("Stockyards", "76164")),
        ("TCU", "the Stockyards", "Sundance Square", "Trinity Park", "the Cultural District"),
        ("Magnolia Ave", "Camp Bowie Blvd", "Hulen St", "Berry St", "Main St", "Seminary Dr"),
        "dallas",
    ),
    Metro(
        "Austin", "TX", 30.2672, -97.7431, 5.5, 25, 275, ("512", "737"),
        (("Downtown", "78701"), ("East Austin", "78702"), ("South Congress", "78704"), ("Hyde Park", "78751"),
         ("Mueller", "78723"), ("Circle C", "78739"), ("Zilker", "78704"), ("Crestview", "78757")),
        ("UT Austin", "Lady Bird Lake", "Zilker Park", "the Domain", "South Congress"),
        ("Congress Ave", "Lamar Blvd", "Guadalupe St", "Burnet Rd", "Manor Rd", "Riverside Dr"),
        "austin",
    ),
    Metro(
        "Houston", "TX", 29.7604, -95.3698, 8.0, 35, 175, ("713", "281", "832"),
        (("Montrose", "77006"), ("The Heights", "77008"), ("EaDo", "77003"), ("Memorial", "77024"),
         ("River Oaks", "77019"), ("Midtown", "77004"), ("Meyerland", "77096")),
        ("Rice University", "the Texas Medical Center", "Buffalo Bayou Park", "the Galleria",
         "Discovery Green"),
        ("Westheimer Rd", "Washington Ave", "Richmond Ave", "Heights Blvd", "Kirby Dr", "Shepherd Dr"),
        "houston",
    ),
    Metro(
        "San Antonio", "TX", 29.4241, -98.4936, 4.5, 28, 160, ("210", "726"),
        (("Alamo Heights", "78209"), ("King William", "78204"), ("Pearl District", "78215"),
         ("Stone Oak", "78258"), ("Monte Vista", "78212"), ("Southtown", "78210")),
        ("the River Walk", "the Pearl", "UTSA", "Brackenridge Park", "Fort Sam Houston"),
        ("Broadway St", "St Mary's St", "McCullough Ave", "Blanco Rd", "Hildebrand Ave", "Nacogdoches Rd"),
        "sanantonio",
    ),
    Metro(
        "Phoenix", "AZ", 33.4484, -112.0740, 6.5, 35, 275, ("602", "480", "623"),
        (("Arcadia", "85018"), ("Roosevelt Row", "85004"), ("Biltmore", "85016"), ("Ahwatukee", "85044"),
         ("Encanto", "85007"), ("Desert Ridge", "85050"), ("Moon Valley", "85023")),
        ("Camelback Mountain", "ASU Downtown", "Sky Harbor", "Papago Park", "the light rail"),
        ("Camelback Rd", "Indian School Rd", "Central Ave", "McDowell Rd", "Thomas Rd", "7th St"),
        "phoenix",
    ),
    Metro(
        "Atlanta", "GA", 33.7490, -84.3880, 6.5, 30, 215, ("404", "470", "678"),
        (("Midtown", "30309"), ("Buckhead", "30305"), ("Virginia-Highland", "30306"), ("Inman Park", "30307"),
         ("Old Fourth Ward", "30312"), ("West End", "30310"), ("Kirkwood", "30317")),
        ("Piedmont Park", "the BeltLine", "Georgia Tech", "Emory", "Ponce City Market"),
        ("Peachtree St", "Ponce de Leon Ave", "North Ave", "Highland Ave", "Moreland Ave", "Piedmont Ave"),
        "atlanta",
    ),
    Metro(
        "Denver", "CO", 39.7392, -104.9903, 4.5, 25, 325, ("303", "720"),
        (("LoDo", "80202"), ("Capitol Hill", "80203"), ("Highlands", "80211"), ("Washington Park", "80209"),
         ("Cherry Creek", "80206"), ("RiNo", "80205"), ("Central Park", "80238")),
        ("Washington Park", "Coors Field", "City Park", "the light rail", "Red Rocks"),
        ("Colfax Ave", "Speer Blvd", "Federal Blvd", "Downing St", "Broadway", "Colorado Blvd"),
        "denver",
    ),
    Metro(
        "Miami", "FL", 25.7617, -80.1918, 6.0, 28, 390, ("305", "786"),
        (("Brickell", "33131"), ("Wynwood", "33127"), ("Coconut Grove", "33133"), ("Little Havana", "33135"),
         ("Edgewater", "33137"), ("Kendall", "33156"), ("Little River", "33138")),
        ("Biscayne Bay", "Brickell City Centre", "the Metrorail", "Bayfront Park", "the Design District"),
        ("Biscayne Blvd", "Brickell Ave", "Coral Way", "SW 8th St", "NE 2nd Ave", "Bird Rd"),
        "miami",
        lng_side=-1,
    ),
    Metro(
        "Tampa", "FL", 27.9506, -82.4572, 4.0, 25, 255, ("813", "656"),
        (("Hyde Park", "33606"), ("Seminole Heights", "33603"), ("Ybor City", "33605"),
         ("Westchase", "33626"), ("Channelside", "33602"), ("New Tampa", "33647"), ("South Tampa", "33629")),
        ("Bayshore Boulevard", "USF", "Raymond James Stadium", "the Riverwalk", "Armature Works"),
        ("Bayshore Blvd", "Florida Ave", "Dale Mabry Hwy", "Kennedy Blvd", "Nebraska Ave", "Swann Ave"),
        "tampa",
    ),
    Metro(
        "Orlando", "FL", 28.5383, -81.3792, 4.0, 25, 235, ("407", "321", "689"),
        (("Thornton Park", "32801"), ("College Park", "32804"), ("Baldwin Park", "32814"),
         ("Lake Nona", "32827"), ("Audubon Park", "32803"), ("Dr. Phillips", "32819")),
        ("Lake Eola", "UCF", "Lake Nona Medical City", "downtown Orlando", "the SunRail"),
        ("Orange Ave", "Colonial Dr", "Mills Ave", "Edgewater Dr", "Corrine Dr", "Sand Lake Rd"),
        "orlando",
    ),
    Metro(
        "Charlotte", "NC", 35.2271, -80.8431, 4.0, 25, 225, ("704", "980"),
        (("Uptown", "28202"), ("South End", "28203"), ("NoDa", "28205"), ("Myers Park", "28207"),
         ("Ballantyne", "28277"), ("University City", "28262"), ("Plaza Midwood", "28205")),
        ("the Lynx light rail", "Freedom Park", "UNC Charlotte", "Bank of America Stadium", "the Rail Trail"),
        ("Tryon St", "Providence Rd", "Central Ave", "Park Rd", "Selwyn Ave", "The Plaza"),
        "charlotte",
    ),
    Metro(
        "Raleigh", "NC", 35.7796, -78.6382, 3.0, 25, 235, ("919", "984"),
        (("Downtown", "27601"), ("Five Points", "27608"), ("North Hills", "27609"),
         ("Cameron Village", "27605"), ("Brier Creek", "27617"), ("Wakefield", "27614")),
        ("NC State", "Dorothea Dix Park", "Research Triangle Park", "Umstead State Park", "Glenwood South"),
        ("Glenwood Ave", "Hillsborough St", "Six Forks Rd", "Oberlin Rd", "Wade Ave", "Fayetteville St"),
        "raleigh",
    ),
    Metro(
        "Nashville", "TN", 36.1627, -86.7816, 4.0, 25, 285, ("615", "629"),
        (("The Gulch", "37203"), ("East Nashville", "37206"), ("12 South", "37204"), ("Germantown", "37208"),
         ("Sylvan Park", "37209"), ("Green Hills", "37215")),
        ("Vanderbilt", "Broadway", "Centennial Park", "the Cumberland River", "Belmont University"),
        ("Broadway", "Charlotte Ave", "Gallatin Ave", "Belmont Blvd", "Hillsboro Pike", "Music Row"),
        "nashville",
    ),
    Metro(
        "Chicago", "IL", 41.8781, -87.6298, 8.0, 30, 235, ("312", "773", "872"),
        (("Lincoln Park", "60614"), ("Wicker Park", "60622"), ("Logan Square", "60647"),
         ("Lakeview", "60657"), ("Hyde Park", "60615"), ("West Loop", "60607"), ("Pilsen", "60608"),
         ("Andersonville", "60640")),
        ("the L", "Lake Michigan", "UChicago", "the 606 trail", "Wrigley Field"),
        ("Milwaukee Ave", "Halsted St", "Clark St", "Armitage Ave", "Damen Ave", "Fullerton Ave"),
        "chicago",
        lng_side=-1,
    ),
    Metro(
        "Seattle", "WA", 47.6062, -122.3321, 4.5, 25, 475, ("206", "425"),
        (("Capitol Hill", "98102"), ("Ballard", "98107"), ("Fremont", "98103"), ("Queen Anne", "98109"),
         ("West Seattle", "98116"), ("Columbia City", "98118"), ("University District", "98105")),
        ("UW", "Green Lake", "Pike Place Market", "the light rail", "South Lake Union"),
        ("Pike St", "Aurora Ave N", "Rainier Ave S", "NW Market St", "Roosevelt Way NE", "California Ave SW"),
        "seattle",
        lng_side=1,
    ),
    Metro(
        "Las Vegas", "NV", 36.1699, -115.1398, 4.0, 25, 250, ("702", "725"),
        (("Summerlin", "89135"), ("Downtown", "89101"), ("The Lakes", "89117"), ("Spring Valley", "89147"),
         ("Centennial Hills", "89149"), ("Southern Highlands", "89141")),
        ("the Strip", "Red Rock Canyon", "UNLV", "the Arts District", "Downtown Summerlin"),
        ("Charleston Blvd", "Sahara Ave", "Rainbow Blvd", "Fort Apache Rd", "Flamingo Rd", "Desert Inn Rd"),
        "lasvegas",
    ),
)
# fmt: on

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

TYPE_LABELS = {
    "SINGLE_FAMILY": ("house", "home", "single-family home", "bungalow", "ranch home"),
    "CONDO": ("condo", "condo", "loft", "apartment-style condo"),
    "TOWNHOUSE": ("townhouse", "townhome", "rowhome"),
    "MULTI_FAMILY": ("duplex", "triplex", "fourplex"),
    "LAND": ("lot", "parcel", "acreage"),
    "MANUFACTURED": ("manufactured home", "mobile home", "modular home"),
    "OTHER": ("live/work loft", "mixed-use building", "barndominium", "tiny home"),
}
TYPE_PPSF_FACTOR = {
    "SINGLE_FAMILY": 1.0,
    "CONDO": 1.12,
    "TOWNHOUSE": 0.98,
    "MULTI_FAMILY": 0.82,
    "MANUFACTURED": 0.45,
    "OTHER": 0.9,
}
SOURCE_QUALITY = {"ZILLOW": 0.74, "FSBO": 0.64, "CRAIGSLIST": 0.55, "FACEBOOK": 0.5}

# fmt: off
AMENITIES = {
    "SINGLE_FAMILY": (
        "updated kitchen with quartz counters", "fenced backyard", "two-car garage", "new roof (2022)",
        "hardwood floors", "covered patio", "open floor plan", "primary suite with walk-in closet",
        "mature shade trees", "energy-efficient windows", "bonus room", "pool",
    ),
    "CONDO": (
        "floor-to-ceiling windows", "in-unit washer and dryer", "rooftop pool", "24/7 concierge",
        "assigned parking", "fitness center", "private balcony", "stainless steel appliances", "low HOA dues",
        "pet-friendly building",
    ),
    "TOWNHOUSE": (
        "attached two-car garage", "private patio", "end unit with extra light", "community pool",
        "updated bathrooms", "rooftop deck", "open-concept living", "low-maintenance yard",
    ),
    "MULTI_FAMILY": (
        "separate meters", "fully leased", "off-street parking", "shared laundry", "recent rehab",
        "strong rent history", "value-add upside", "new HVAC in every unit",
    ),
    "LAND": (
        "utilities at the road", "zoned residential", "survey available", "no HOA", "gently sloping",
        "mature trees", "paved road frontage", "ready to build",
    ),
    "MANUFACTURED": (
        "new carpet", "covered carport", "large deck", "storage shed", "land included", "updated plumbing",
        "quiet community", "central air",
    ),
    "OTHER": (
        "flexible zoning", "high ceilings", "storefront on the ground floor", "large shop space",
        "solar panels", "rainwater collection", "open layout",
    ),
}
ADJECTIVES = (
    "Charming", "Spacious", "Updated", "Bright", "Move-in ready", "Renovated", "Cozy", "Stunning",
)
OPENERS = (
    "Welcome to this {adj_l} {label} in {hood}.", "{adj} {label} on a quiet street in {hood}.",
    "Rare opportunity in {hood}: {adj_l} {label} close to {landmark}.",
    "Don't miss this {adj_l} {label} minutes from {landmark}.",
)
CLOSERS = {
    "ZILLOW": (
        "Schedule a showing today.", "Open house this weekend.", "Contact the listing agent.",
    ),
    "FSBO": (
        "For sale by owner, no agents please.", "Seller financing possible.", "Priced to sell!",
    ),
    "CRAIGSLIST": (
        "Call or text, serious buyers only.", "Cash or conventional.", "Showings by appointment.",
    ),
    "FACEBOOK": (
        "Message me for details.", "DM for a showing.", "Still available, message me.",
    ),
}
SCAM_LINES = (
    "Owner is out of the country; deposit by wire transfer secures the keys.",
    "Must sell this week, send deposit to hold before viewing.",
)
FRAUD_SIGNALS = (
    "Price far below the area median", "Asks for a deposit or wire transfer before a viewing",
    "Phone number reused across many listings", "Photos found on other listings", "Contact by email only",
)
FIRST_NAMES = (
    "James", "Maria", "Robert", "Jennifer", "Michael", "Linda", "David", "Patricia", "Carlos", "Aisha", "Wei",
    "Priya", "Daniel", "Sofia", "Andre", "Emily", "Luis", "Hannah", "Kevin", "Grace", "Tyrone", "Mei",
    "Jorge", "Olivia", "Samuel", "Fatima", "Ethan", "Rosa", "Brandon", "Tomas",
)
LAST_NAMES = (
    "Smith", "Johnson", "Garcia", "Williams", "Brown", "Martinez", "Lee", "Davis", "Rodriguez", "Wilson",
    "Nguyen", "Patel", "Anderson", "Thomas", "Hernandez", "Moore", "Jackson", "Kim", "Lopez", "Clark",
    "Lewis", "Walker", "Young", "Allen", "Chen", "Robinson", "Scott", "Green", "Adams", "Baker",
)
GENERIC_STREETS = (
    "Oak St", "Maple Ave", "Cedar Ln", "Elm St", "Pecan Dr", "Willow Way", "Magnolia Dr", "Park Pl",
    "Sunset Blvd", "Ridge Rd", "Lakeview Dr", "Hillcrest Ave", "Meadow Ln", "Juniper St", "Mesquite Trl",
)
EMAIL_DOMAINS = ("example.com", "example.net", "example.org")
# fmt: on
_NON_SLUG = re.compile(r"[^a-z0-9]+")


def _cumulative(shares: Sequence[tuple[Any, float]]) -> tuple[list[Any], list[float]]:
    values, weights, total = [], [], 0.0
    for value, share in shares:
        total += share
        values.append(value)
        weights.append(total)
    return values, weights


# --------------------------------------------------------------------------------------------
# Generation
# --------------------------------------------------------------------------------------------


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


# --------------------------------------------------------------------------------------------
# Writing
# --------------------------------------------------------------------------------------------


def _lead_row(r: LeadRecord) -> tuple[Any, ...]:
    """The record as a COPY row, in bulk.LEAD_COLUMNS order."""
    return (
        r.id, r.source, r.source_url, r.property_type, r.title, r.description, r.street, r.city, r.state,
        r.zip, bulk.ewkb_point(r.lng, r.lat), r.asking_price, r.bedrooms, r.bathrooms, r.sqft, r.year_built,
        r.photos, r.posted_at, r.quality_score, r.fraud_score, r.fraud_signals, r.contact_name,
        r.contact_phone, r.contact_email, r.price_credits, r.max_buyers, "AVAILABLE", r.priced_at,
        r.reprice_due_at, r.created_at, r.created_at,
    )  # fmt: skip


async def seed_synthetic(
    settings: Settings,
    n: int,
    seed: int = 42,
    progress: Progress | None = None,
    *,
    now: datetime | None = None,
) -> int:
    """Write N synthetic leads (and their initial price_history rows) with COPY; returns N.

    Prices come from the pricing engine as of `now` (default: the current time), which is also
    when the price_history rows are dated; `reprice_due_at` is the quote's next freshness tick.
    """
    if n < 1:
        raise ValueError("the number of synthetic leads must be at least 1")
    say = progress or (lambda _msg: None)
    started = time.perf_counter()
    rows = generate_leads(n, seed, now=now)
    chunk_rows = max(1, min(CHUNK_ROWS, math.ceil(n / 10)))

    def next_chunk(size: int) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
        chunk = [next(rows) for _ in range(size)]
        history = [(r.id, r.price_credits, r.price_reason, r.priced_at) for r in chunk]
        return [_lead_row(r) for r in chunk], history

    async with bulk.copy_connection(settings.database_url) as conn:
        # generate the next chunk in a thread while PostgreSQL ingests the current one
        pending = asyncio.create_task(asyncio.to_thread(next_chunk, min(chunk_rows, n)))
        try:
            async with conn.transaction():
                written = 0
                while written < n:
                    lead_rows, history_rows = await pending
                    after = written + len(lead_rows)
                    if after < n:
                        pending = asyncio.create_task(
                            asyncio.to_thread(next_chunk, min(chunk_rows, n - after))
                        )
                    await bulk.copy_leads(conn, lead_rows, history_rows)
                    before, written = written, after
                    if written == n or written * 10 // n > before * 10 // n:
                        elapsed = time.perf_counter() - started
                        say(f"  {written:>9,}/{n:,} leads written ({written * 100 // n}%, {elapsed:.1f}s)")
        finally:
            if not pending.done():  # a COPY failed while the next chunk was being generated
                with contextlib.suppress(Exception):
                    await pending
    say(
        f"seeded {n:,} synthetic leads in {time.perf_counter() - started:.1f}s; "
        "run `aiqleads reindex` to index them in Elasticsearch"
    )
    return n


async def count_leads(settings: Settings) -> int:
    """How many leads the database holds."""
    return await bulk.count_leads(settings.database_url)


async def ensure_demo_user(settings: Settings) -> bool:
    """Create the demo buyer (PRO, 500 granted credits) unless it exists; True if created."""
    from aiqleads.domain.credits import ledger
    from aiqleads.domain.credits.service import grant_tier
    from aiqleads.domain.db import make_engine, make_sessionmaker
    from aiqleads.domain.errors import DomainError
    from aiqleads.domain.users.repository import get_user_by_email
    from aiqleads.domain.users.service import register

    engine = make_engine(settings.database_url, pool_size=1)
    try:
        async with make_sessionmaker(engine)() as session, session.begin():
            if await get_user_by_email(session, DEMO_EMAIL) is not None:
                return False
            try:
                result = await register(
                    session, settings, email=DEMO_EMAIL, password=DEMO_PASSWORD, name=DEMO_NAME
                )
            except DomainError as exc:  # created concurrently
                if exc.code == "EMAIL_TAKEN":
                    return False
                raise
            await grant_tier(session, result.user.id, DEMO_TIER)
            await ledger.post(
                session,
                result.user.id,
                DEMO_CREDITS,
                "GRANT",
                "demo account starting credits",
                ref="demo-seed",
            )
            return True
    finally:
        await engine.dispose()


async def seed_demo(settings: Settings, progress: Progress | None = None) -> str:
    """Demo data: the demo buyer and, when the marketplace is nearly empty, synthetic leads."""
    say = progress or (lambda _msg: None)
    created = await ensure_demo_user(settings)
    user_line = f"demo user {DEMO_EMAIL} / {DEMO_PASSWORD} ({DEMO_TIER}, {DEMO_CREDITS} credits) " + (
        "created" if created else "already present"
    )
    from aiqleads.workers.demo import seed_demo as scrape_demo_pages

    # realistic leads from all four sources, through the real scrapers and cleaning pipeline
    scraped_line = await scrape_demo_pages(settings, say)
    existing = await count_leads(settings)
    if existing < DEMO_MIN_LEADS:
        say(f"{existing} leads in the database; seeding {DEMO_SYNTHETIC_LEADS:,} synthetic leads")
        await seed_synthetic(settings, DEMO_SYNTHETIC_LEADS, progress=say)
        total = existing + DEMO_SYNTHETIC_LEADS
        leads_line = f"seeded {DEMO_SYNTHETIC_LEADS:,} synthetic leads ({total:,} in total)"
    else:
        leads_line = f"{existing:,} leads already present, none added"
    return f"{user_line}; {scraped_line}; {leads_line}"
