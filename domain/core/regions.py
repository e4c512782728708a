"""The metros the marketplace scrapes, with each site's name for them (the scrapers build their URLs
from it; the schedule and the admin's runScrape check region names against it)."""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True)
class Region:
    """A metro: display city/state plus the slug each source uses in its URLs."""

    slug: str
    city: str
    state: str
    zillow: str
    craigslist: str
    facebook: str
    fsbo: str


REGIONS: dict[str, Region] = {
    r.slug: r
    for r in (
        Region("dallas", "Dallas", "TX", "dallas-tx", "dallas", "dallas", "TX/Dallas"),
        Region("austin", "Austin", "TX", "austin-tx", "austin", "austin", "TX/Austin"),
        Region("houston", "Houston", "TX", "houston-tx", "houston", "houston", "TX/Houston"),
        Region("phoenix", "Phoenix", "AZ", "phoenix-az", "phoenix", "phoenix", "AZ/Phoenix"),
        Region("atlanta", "Atlanta", "GA", "atlanta-ga", "atlanta", "atlanta", "GA/Atlanta"),
        Region("denver", "Denver", "CO", "denver-co", "denver", "denver", "CO/Denver"),
        Region("miami", "Miami", "FL", "miami-fl", "miami", "miami", "FL/Miami"),
        Region("chicago", "Chicago", "IL", "chicago-il", "chicago", "chicago", "IL/Chicago"),
        Region("seattle", "Seattle", "WA", "seattle-wa", "seattle", "seattle", "WA/Seattle"),
        Region("charlotte", "Charlotte", "NC", "charlotte-nc", "charlotte", "charlotte", "NC/Charlotte"),
    )
}


def resolve_region(name: str) -> Region:
    """The region for "dallas", "Dallas", "dallas-tx" or "Dallas, TX"; ValueError if unknown."""
    key = re.sub(r"[^a-z]+", "-", name.strip().lower()).strip("-")
    for region in REGIONS.values():
        if key in (region.slug, region.zillow, f"{region.slug}-{region.state.lower()}"):
            return region
    raise ValueError(f"unknown region {name!r}; known: {', '.join(sorted(REGIONS))}")
