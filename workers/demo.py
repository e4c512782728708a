"""Demo data through the real pipeline: the shipped sample pages of all four sources are served
from a loopback HTTP server and the real scrapers (polite fetcher, parsers, cleaning, dedup,
scoring, storage, indexing, announcements) run against it.

``aiqleads seed --demo`` reaches this through ``aiqleads.workers.seeding.seed_demo``. Running it
again is harmless: unchanged listings stay as they are.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from aiqleads.domain.settings import Settings
from aiqleads.workers.ingest_jobs import ScrapeReport, run_scrape
from aiqleads.workers.metrics import WorkerMetrics
from aiqleads.workers.scrapers.fetcher import FetchConfig
from aiqleads.workers.scrapers.site_server import SiteServer, load_shipped_sites

SOURCE_ORDER = ("zillow", "craigslist", "fsbo", "facebook")
DEMO_RATE_PER_HOST = 25.0  # loopback server: polite but quick


async def seed_demo(settings: Settings, progress: Callable[[str], None] | None = None) -> str:
    """Load the shipped sample pages through the real scrapers; returns a one-line summary."""
    from elasticsearch import AsyncElasticsearch
    from redis.asyncio import Redis

    from aiqleads.domain.db import make_engine, make_sessionmaker

    sites, regions = load_shipped_sites()
    server = SiteServer({name: dict(pages) for name, pages in sites.items()})
    bases = await server.start()
    urls = {name: base + ("/{region}" if name == "craigslist" else "") for name, base in bases.items()}
    demo_settings = settings.replace(source_base_urls=urls)
    engine = make_engine(settings.database_url, pool_size=2)
    redis = Redis.from_url(settings.redis_url)
    es = AsyncElasticsearch(settings.elasticsearch_url, request_timeout=60)
    ctx: dict[str, Any] = {
        "settings": demo_settings,
        "engine": engine,
        "sessionmaker": make_sessionmaker(engine),
        "redis_client": redis,
        "es": es,
        "metrics": WorkerMetrics.create(),
    }
    config = FetchConfig.from_settings(demo_settings, rate_per_host=DEMO_RATE_PER_HOST, proxy=None)
    reports: list[ScrapeReport] = []
    try:
        for source in SOURCE_ORDER:
            for region in regions.get(source, []):
                report = await run_scrape(ctx, source, region, pages=20, fetch_config=config)
                reports.append(report)
                if progress is not None:
                    progress(report.line())
    finally:
        await server.stop()
        await es.close()
        await redis.aclose()
        await engine.dispose()
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
