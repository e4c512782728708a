"""The metros the marketplace scrapes (the list is in the domain core: the schedule and runScrape
check names against it too)."""

from __future__ import annotations

from aiqleads.domain.core.regions import REGIONS, Region, resolve_region

__all__ = ["REGIONS", "Region", "resolve_region"]
