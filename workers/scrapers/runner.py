"""Crawling one source for one region: search pages (with pagination) and detail pages, fetched
politely, parsed, and handed on page by page. Nothing a page does can stop the run: fetch errors,
unreadable pages and broken listings are recorded against their raw page."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from aiqleads.domain.core.listings import FailedListing, FetchedPage, ScrapeBatch, ScrapedListing
from aiqleads.domain.settings import Settings
from aiqleads.workers.scrapers.base import PageParseError, SourceParser
from aiqleads.workers.scrapers.craigslist import CraigslistParser
from aiqleads.workers.scrapers.facebook import FacebookParser
from aiqleads.workers.scrapers.fetcher import FetchError, PoliteFetcher
from aiqleads.workers.scrapers.fsbo import FsboParser
from aiqleads.workers.scrapers.regions import Region
from aiqleads.workers.scrapers.url_policy import UrlPolicy
from aiqleads.workers.scrapers.zillow import ZillowParser

log = logging.getLogger(__name__)

DEFAULT_MAX_PAGES = 5
PARSERS: dict[str, SourceParser] = {
    p.name: p for p in (ZillowParser(), CraigslistParser(), FsboParser(), FacebookParser())
}
BatchHandler = Callable[[ScrapeBatch], Awaitable[None]]


def parser_for(source: str) -> SourceParser:
    """The parser of a source ("zillow", "ZILLOW", …); ValueError if unknown."""
    parser = PARSERS.get(source.strip().lower())
    if parser is None:
        raise ValueError(f"unknown source {source!r}; known: {', '.join(PARSERS)}")
    return parser


def base_url_for(settings: Settings, parser: SourceParser) -> str:
    """The configured base URL of a source (AIQ_<SOURCE>_BASE_URL) or the real site's."""
    return settings.source_base_urls.get(parser.name) or parser.default_base_url


def policy_for(settings: Settings, parser: SourceParser, region: Region) -> UrlPolicy:
    """The URLs a scrape of this source may request: the real site's hosts, plus the origin of a
    configured AIQ_<SOURCE>_BASE_URL (operator configuration, trusted as is)."""
    override = settings.source_base_urls.get(parser.name)
    trusted = [parser.search_url(override, region, 1)] if override else []
    return UrlPolicy(parser.hosts, trusted)


@dataclass
class CrawlStats:
    """What a crawl fetched."""

    search_pages: int = 0
    detail_pages: int = 0
    listings: int = 0
    failures: int = 0
    page_errors: int = 0
    truncated: bool = False  # stopped at the page limit with search pages left


def _error_text(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"[:2000]


async def crawl(
    parser: SourceParser,
    fetcher: PoliteFetcher,
    base_url: str,
    region: Region,
    *,
    max_pages: int = DEFAULT_MAX_PAGES,
    on_batch: BatchHandler,
) -> CrawlStats:
    """Fetch up to max_pages search pages (following the site's next links) and their detail pages."""
    stats = CrawlStats()
    url: str | None = parser.search_url(base_url, region, 1)
    seen: set[str] = set()
    while url and stats.search_pages < max_pages and url not in seen:
        seen.add(url)
        stats.search_pages += 1
        batch = ScrapeBatch(source=parser.source, region=region.slug)
        try:
            result = await fetcher.fetch(url)
        except FetchError as exc:
            stats.page_errors += 1
            batch.pages.append(FetchedPage(url, exc.body, exc.status, "search", error=exc.reason))
            await on_batch(batch)
            break
        error: str | None
        try:
            page = parser.parse_search(result.text, result.final_url, region)
        except PageParseError as exc:
            error = f"parse error: {exc}"
        except Exception as exc:  # a parser bug on odd markup is recorded like any unreadable page
            log.exception("parser %s crashed on %s", parser.name, url)
            error = f"parser crashed: {_error_text(exc)}"
        else:
            error = None
        if error is not None:
            stats.page_errors += 1
            batch.pages.append(FetchedPage(url, result.text, result.status, "search", error=error))
            await on_batch(batch)
            break
        batch.pages.append(FetchedPage(url, result.text, result.status, "search"))
        batch.failures = [FailedListing(f.reason, f.fragment, f.external_id, url) for f in page.failures]
        stats.failures += len(page.failures)
        for listing in page.listings:
            record = listing.record
            detail_error: str | None = None
            if listing.needs_detail and record.url:
                stats.detail_pages += 1
                try:
                    detail = await fetcher.fetch(record.url)
                except FetchError as exc:
                    detail_error = f"detail page unavailable: {exc.reason}"
                    batch.pages.append(
                        FetchedPage(
                            record.url, exc.body, exc.status, "detail", record.external_id, detail_error
                        )
                    )
                else:
                    try:
                        record = parser.parse_detail(detail.text, detail.final_url, record)
                    except Exception as exc:  # keep the search-row data; note why the detail is missing
                        detail_error = f"detail page unreadable: {_error_text(exc)}"
                    batch.pages.append(
                        FetchedPage(
                            record.url or detail.url,
                            detail.text,
                            detail.status,
                            "detail",
                            record.external_id,
                            detail_error,
                        )
                    )
            batch.listings.append(ScrapedListing(record, listing.fragment, detail_error))
            stats.listings += 1
        await on_batch(batch)
        url = page.next_url
    stats.truncated = bool(url) and url not in seen  # a next link back to a page read is the end
    return stats
