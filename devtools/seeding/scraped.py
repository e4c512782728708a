"""Demo listings through the real pipeline: the shipped sample pages of all four sources are served
from a loopback HTTP server and the real scrapers (polite fetcher, parsers, cleaning, dedup,
scoring, storage, indexing, announcements) run against it.

``aiqleads seed --demo`` reaches this through ``aiqleads_dev.seeding.seed_demo``. Running it
again is harmless: unchanged listings stay as they are.
"""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import Callable

from aiqleads.domain.bootstrap import Deps, opened
from aiqleads.domain.settings import Settings
from aiqleads.workers import context as wctx
from aiqleads.workers.ingest_jobs import ScrapeReport, run_scrape
from aiqleads.workers.scrapers.fetcher import FetchConfig
from aiqleads_dev.samples import load_shipped_sites
from aiqleads_dev.site_server import SiteServer

SOURCE_ORDER = ("zillow", "craigslist", "fsbo", "facebook")
DEMO_RATE_PER_HOST = 25.0  # loopback server: polite but quick


async def seed_scraped_demo(
    settings: Settings, progress: Callable[[str], None] | None = None, *, deps: Deps | None = None
) -> str:
    """Load the shipped sample pages through the real scrapers; returns a one-line summary.

    Uses ``deps`` when given (the caller closes it), else bootstraps its own clients.
    """
    sites, regions = load_shipped_sites()
    server = SiteServer({name: dict(pages) for name, pages in sites.items()})
    bases = await server.start()
    urls = {name: base + ("/{region}" if name == "craigslist" else "") for name, base in bases.items()}
    demo_settings = settings.replace(source_base_urls=urls)
    config = FetchConfig.from_settings(demo_settings, rate_per_host=DEMO_RATE_PER_HOST, proxy=None)
    reports: list[ScrapeReport] = []
    try:
        async with contextlib.AsyncExitStack() as stack:
            if deps is None:
                deps = await stack.enter_async_context(opened(settings, purpose="cli"))
            # the same clients, but the settings that point the scrapers at the local sites; the
            # copy shares the owner's closers, so only the owner closes it
            ctx = wctx.for_deps(dataclasses.replace(deps, settings=demo_settings))
            for source in SOURCE_ORDER:
                for region in regions.get(source, []):
                    report = await run_scrape(ctx, source, region, pages=20, fetch_config=config)
                    reports.append(report)
                    if progress is not None:
                        progress(report.line())
    finally:
        await server.stop()
    return _summary(reports)


def _summary(reports: list[ScrapeReport]) -> str:
    created = sum(r.created for r in reports)
    merged = sum(r.merged for r in reports)
    unchanged = sum(r.unchanged for r in reports)
    listings = sum(r.listings for r in reports)
    sources = len({r.source for r in reports if r.listings})
    return (
        f"demo listings: {listings} scraped from {sources} sources in {len({r.region for r in reports})} "
        "metros "
        f"→ {created} new leads, {merged} merged duplicates, {unchanged} unchanged"
    )
