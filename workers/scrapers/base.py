"""What every source's parser provides, and the shared helpers for embedded JSON in HTML."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, Protocol

from aiqleads.domain.core.listings import RawRecord
from aiqleads.workers.scrapers.regions import Region
from aiqleads.workers.scrapers.url_policy import resolve_link

MAX_FRAGMENT_CHARS = 200_000


class PageParseError(Exception):
    """The page as a whole could not be parsed (markup changed, data missing, not the expected page)."""


@dataclass
class ParsedListing:
    """One listing found on a page, with the fragment of the page it came from (kept as raw)."""

    record: RawRecord
    fragment: str
    needs_detail: bool = False


@dataclass
class ListingFailure:
    """One listing on a page that could not be parsed; the run goes on."""

    reason: str
    fragment: str
    external_id: str | None = None


@dataclass
class SearchPage:
    """A parsed search-results page."""

    listings: list[ParsedListing] = field(default_factory=list)
    failures: list[ListingFailure] = field(default_factory=list)
    next_url: str | None = None


class SourceParser(Protocol):
    """A source's page parsers (pure functions of the page text; the runner does the fetching)."""

    source: str  # LeadSource value, e.g. "ZILLOW"
    name: str  # settings/CLI name, e.g. "zillow"
    default_base_url: str
    hosts: tuple[str, ...]  # the real site's hosts ("*.example.org" matches subdomains)

    def search_url(self, base_url: str, region: Region, page: int) -> str:
        """URL of the page-th (1-based) search results page for a region."""
        ...

    def parse_search(self, text: str, url: str, region: Region) -> SearchPage:
        """Listings (and the next page's URL) on a search page; PageParseError if unreadable."""
        ...

    def parse_detail(self, text: str, url: str, stub: RawRecord) -> RawRecord:
        """The listing's detail page merged over its search-row stub; PageParseError if unreadable."""
        ...


def fragment_of(value: Any) -> str:
    """A listing's raw fragment as text (JSON objects are dumped compactly), bounded in size."""
    text = value if isinstance(value, str) else json.dumps(value, separators=(",", ":"), default=str)
    return text[:MAX_FRAGMENT_CHARS]


def absolute(base: str, href: Any) -> str | None:
    """An absolute URL for a link found on a page (None for empty or non-string hrefs); whether it
    may be fetched is the URL policy's call (url_policy.py), made by the fetcher."""
    return resolve_link(base, href)


def walk(value: Any) -> Iterator[dict[str, Any]]:
    """Every JSON object nested anywhere in a value, depth first (for Relay/Next.js payloads)."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            yield item
            stack.extend(reversed(list(item.values())))
        elif isinstance(item, list):
            stack.extend(reversed(item))


def dig(value: Any, *path: str | int) -> Any:
    """value[path[0]][path[1]]…, or None where anything along the way is missing or mistyped."""
    for key in path:
        if isinstance(key, int):
            if not isinstance(value, list) or not -len(value) <= key < len(value):
                return None
        elif not isinstance(value, dict):
            return None
        value = value[key] if isinstance(key, int) else value.get(key)
        if value is None:
            return None
    return value


def text_or_none(value: Any) -> str | None:
    """A stripped string, or None for empty/non-scalar values."""
    if value is None or isinstance(value, (dict, list, bool)):
        return None
    text = str(value).strip()
    return text or None


_COMMENT = re.compile(r"^\s*<!--(.*)-->\s*$", re.DOTALL)


def load_json_text(text: str) -> Any:
    """json.loads for script contents, tolerating the <!-- … --> wrapping some sites use."""
    match = _COMMENT.match(text)
    return json.loads(match.group(1) if match else text)
