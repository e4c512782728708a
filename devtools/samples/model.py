"""One property as the sample pages show it, and the helpers every source's renderer shares."""

from __future__ import annotations

import hashlib
import html
import json
import random
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from aiqleads.domain.cleaning.geocode import zip_centroid

ANCHOR = datetime(2025, 1, 15, 15, 0, tzinfo=UTC)  # sample pages are frozen in time

E = html.escape
# property type → (Facebook label, Craigslist housing type, FSBO property type, schema.org type)
TYPE_LABELS = {
    "SINGLE_FAMILY": ("House", "house", "Single Family", "SingleFamilyResidence"),
    "CONDO": ("Condo", "condo", "Condo", "Apartment"),
    "TOWNHOUSE": ("Townhouse", "townhouse", "Townhome", "House"),
    "MULTI_FAMILY": ("Multi-family", "duplex", "Multi-Family", "House"),
    "LAND": ("Land", "land", "Lots/Land", "Place"),
    "MANUFACTURED": ("Mobile home", "manufactured", "Mobile/Manufactured", "House"),
}


@dataclass
class Sample:
    """One property as the sample pages show it (each source writes it its own way)."""

    key: str
    street: str
    city: str
    state: str
    zip: str
    property_type: str
    price: int
    beds: int | None
    baths: float | None
    sqft: int | None
    year: int | None
    title: str
    description: str
    owner: str
    phone: str
    email: str | None
    sources: tuple[str, ...]
    days_ago: int = 3
    unit: str | None = None
    photos: int = 3
    region: str = ""
    lat: float = 0.0
    lng: float = 0.0
    extra: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.lat:
            centroid = zip_centroid(self.zip)
            rng = random.Random(self.key)
            base_lat, base_lng = (centroid.lat, centroid.lng) if centroid else (32.78, -96.80)
            self.lat = round(base_lat + rng.uniform(-0.006, 0.006), 6)
            self.lng = round(base_lng + rng.uniform(-0.006, 0.006), 6)
        if not self.region:
            self.region = self.city.lower()

    def ident(self, source: str) -> str:
        """The listing's id on a source (zpid, posting id, FSBO id, Marketplace id)."""
        n = int(hashlib.sha256(self.key.encode()).hexdigest()[:12], 16) % 900_000 + 100_000
        return {
            "zillow": str(20_000_000 + n),
            "craigslist": str(7_700_000_000 + n),
            "fsbo": str(n),
            "facebook": str(1_093_847_560_000_000 + n),
        }[source]

    @property
    def line(self) -> str:
        """Street with unit."""
        return f"{self.street} {self.unit}" if self.unit else self.street

    def photo_urls(self, source: str) -> list[str]:
        """Photo URLs in the CDN style of each source."""
        hosts = {
            "zillow": "https://photos.zillowstatic.com/fp/{k}{i}-cc_ft_960.jpg",
            "craigslist": "https://images.craigslist.org/00{i}0{i}_{k}_600x450.jpg",
            "fsbo": "https://fsbo.com/photos/{k}/{i}.jpg",
            "facebook": "https://scontent-dfw5-1.xx.fbcdn.net/v/t45.5328-4/{k}_{i}_n.jpg",
        }
        return [hosts[source].format(k=self.key, i=i) for i in range(1, self.photos + 1)]

    def posted(self) -> datetime:
        """When it was posted (relative to the frozen anchor)."""
        return ANCHOR - timedelta(days=self.days_ago, hours=len(self.key))


def with_changes(sample: Sample, **changes: Any) -> Sample:
    """A copy of a sample with some fields changed (tests build variants this way)."""
    return replace(sample, **changes)


def money(value: int) -> str:
    """A price as the sites print it ($489,000)."""
    return f"${value:,}"


def script_json(data: Any) -> str:
    """JSON safe inside a <script> element (no "</" sequences)."""
    return json.dumps(data, ensure_ascii=False).replace("</", "<\\/").replace("<!--", "<\\!--")
