"""Listings as they flow from scrapers through cleaning into ingestion: what a parser found (raw), what
cleaning made of it, and what one scrape produced. Scrapers, cleaning and ingestion all speak these."""

from __future__ import annotations

import functools
from dataclasses import asdict, dataclass, field, fields
from datetime import datetime
from typing import Any


@dataclass
class RawRecord:
    """One listing as a parser found it on a page: loosely typed text and numbers, nothing trusted.

    Every field except source/external_id/url may be missing. Numbers may still be text ("$350K",
    "3 bd"); cleaning turns this into a :class:`CleanListing`.
    """

    source: str
    external_id: str
    url: str | None = None
    title: str | None = None
    description: str | None = None
    price: Any = None
    address: str | None = None
    street: str | None = None
    city: str | None = None
    state: str | None = None
    zip: str | None = None
    lat: Any = None
    lng: Any = None
    bedrooms: Any = None
    bathrooms: Any = None
    sqft: Any = None
    year_built: Any = None
    property_type: str | None = None
    photos: list[str] = field(default_factory=list)
    posted_at: Any = None
    contact_name: str | None = None
    contact_phone: str | None = None
    contact_email: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        """A JSON-serialisable dict (stored in raw_listings.parsed); it shares the record's lists
        and dicts (asdict's deep copy of them was a tenth of storing a page): serialise it, do
        not change it."""
        data = {name: getattr(self, name) for name in _record_fields()}
        for key, value in data.items():
            if isinstance(value, datetime):
                data[key] = value.isoformat()
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> RawRecord:
        """Rebuild a record stored with :meth:`to_json` (unknown keys are ignored)."""
        names = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in names})

    def merged(self, other: RawRecord) -> RawRecord:
        """This record with its missing fields filled from another (search row + detail page)."""
        values: dict[str, Any] = {}
        for f in fields(self):
            mine = getattr(self, f.name)
            theirs = getattr(other, f.name)
            empty = mine is None or mine == "" or mine == [] or mine == {}
            values[f.name] = theirs if empty else mine
        values["extra"] = {**other.extra, **self.extra}
        return RawRecord(**values)


@functools.cache
def _record_fields() -> tuple[str, ...]:
    return tuple(f.name for f in fields(RawRecord))


@dataclass
class CleanListing:
    """A listing after rule-based (and optional LLM) cleaning: typed, normalized, geocoded."""

    source: str
    external_id: str
    url: str | None
    title: str
    description: str | None
    property_type: str
    street: str | None
    unit: str | None
    city: str | None
    state: str | None
    zip: str | None
    lat: float | None
    lng: float | None
    geo_precision: str | None  # "page" (coordinates on the page) or "zip" (ZIP centroid)
    asking_price: int | None
    bedrooms: int | None
    bathrooms: float | None
    sqft: int | None
    year_built: int | None
    photos: list[str]
    posted_at: datetime | None
    contact_name: str | None
    contact_phone: str | None
    contact_email: str | None
    dedup_key: str | None
    issues: list[str] = field(default_factory=list)
    hints: list[str] = field(default_factory=list)  # fraud hints from the LLM, shown as signals

    def to_json(self) -> dict[str, Any]:
        """A JSON-serialisable dict."""
        data = asdict(self)
        if self.posted_at is not None:
            data["posted_at"] = self.posted_at.isoformat()
        return data


@dataclass
class FetchedPage:
    """A page as fetched (or the error instead of it), kept in raw_listings."""

    url: str
    body: str
    http_status: int | None
    kind: str  # "search" or "detail"
    external_id: str | None = None
    error: str | None = None


@dataclass
class ScrapedListing:
    """A listing a parser found: the record plus the raw text it came from."""

    record: RawRecord
    fragment: str
    detail_error: str | None = None


@dataclass
class FailedListing:
    """A listing that could not be parsed; recorded against its raw fragment."""

    reason: str
    fragment: str
    external_id: str | None = None
    url: str | None = None


@dataclass
class ScrapeBatch:
    """Everything one search page produced: the pages fetched, the listings and the failures."""

    source: str
    region: str | None
    pages: list[FetchedPage] = field(default_factory=list)
    listings: list[ScrapedListing] = field(default_factory=list)
    failures: list[FailedListing] = field(default_factory=list)
