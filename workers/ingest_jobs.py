"""Aggregation jobs: scrape a source for a region, clean/validate/dedup/score/store the listings,
then (after each commit, through the unit of work) index the leads in Elasticsearch and announce
new ones on newLeads.

``scrape_job(ctx, source, region, pages=None, trigger="admin")`` crawls politely page by page; each
page is its own transaction, so a run that dies half way keeps what it stored and a re-run is
idempotent. Every job run and CLI scrape is a recorded run (``run_recorded_scrape``): one at a time
per source and region (a lease in Redis; a run that finds it taken is ``skipped_locked``), written
to ``scrape_runs`` with its counts, exported as metrics, and followed by lead expiry for listings
that stopped appearing (domain/ingest/expiry.py).
``clean_job(ctx, raw_ids=None, limit=500)`` re-cleans stored raw listings (after rule changes, or
once an LLM key is configured). Both are retried with backoff and dead-lettered by ``tracked``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from aiqleads.domain.bootstrap import Deps, opened
from aiqleads.domain.core.lead import Lead
from aiqleads.domain.core.listings import RawRecord, ScrapeBatch, ScrapedListing
from aiqleads.domain.ingest import repository as ingest_repo
from aiqleads.domain.ingest import scrape_runs
from aiqleads.domain.ingest.expiry import expire_missing
from aiqleads.domain.ingest.prepare import Refiner, prepare_batch
from aiqleads.domain.ingest.run_lock import DEFAULT_TTL_MS, RunLock, scrape_lock_key
from aiqleads.domain.ingest.store import IngestOutcome
from aiqleads.domain.ingest.use_cases import store_prepared
from aiqleads.domain.jobs import JobName
from aiqleads.domain.search.indexer import index_leads
from aiqleads.domain.settings import Settings
from aiqleads.domain.unit_of_work import UnitOfWork, read_only
from aiqleads.workers import context as wctx
from aiqleads.workers.scrapers.fetcher import FetchConfig, PoliteFetcher
from aiqleads.workers.scrapers.regions import resolve_region
from aiqleads.workers.scrapers.runner import (
    DEFAULT_MAX_PAGES,
    base_url_for,
    crawl,
    parser_for,
    policy_for,
)
from aiqleads.workers.tracking import tracked

log = logging.getLogger(__name__)
Progress = Callable[[str], None]
SCRAPE_LOCK_TTL_MS = DEFAULT_TTL_MS  # the run lease; renewed every third of it while the run lasts


@dataclass
class ScrapeReport:
    """The result of one scrape run (returned by the job as a dict)."""

    source: str
    region: str
    search_pages: int = 0
    detail_pages: int = 0
    listings: int = 0
    created: int = 0
    updated: int = 0
    merged: int = 0
    unchanged: int = 0
    rejected: int = 0
    failed: int = 0
    page_errors: int = 0
    indexed: int = 0
    announced: int = 0
    index_errors: list[str] = field(default_factory=list)
    seconds: float = 0.0
    lead_ids: list[str] = field(default_factory=list)
    # every search page read and the last one reached (only then do absences count, see expiry)
    complete: bool = False
    outcome: str = "succeeded"  # of the recorded run: succeeded, failed, skipped_locked
    run_id: int | None = None  # its scrape_runs row
    expired: int = 0  # leads the run retired because their listings were gone

    def line(self) -> str:
        """A one-line summary."""
        if self.outcome == "skipped_locked":
            return f"{self.source.lower()} {self.region}: skipped, another run of it is in progress"
        return (
            f"{self.source.lower()} {self.region}: {self.search_pages} pages, {self.listings} listings → "
            f"{self.created} new, {self.updated} updated, {self.merged} merged, {self.unchanged} unchanged, "
            f"{self.rejected} rejected, {self.failed + self.page_errors} failed ({self.seconds:.1f}s)"
        )


def _count(ctx: wctx.WorkerCtx, source: str, outcome: IngestOutcome) -> None:
    metrics = wctx.metrics(ctx)
    for name in ("created", "updated", "merged", "unchanged"):
        value = len(getattr(outcome, name))
        if value:
            metrics.scraper_listings.labels(source, name).inc(value)
    if outcome.rejected:
        metrics.scraper_listings.labels(source, "rejected").inc(outcome.rejected)
    if outcome.failed:
        metrics.scraper_listings.labels(source, "failed").inc(outcome.failed)
    if outcome.created:
        metrics.leads_ingested.labels(source).inc(len(outcome.created))


def _inline_indexer(deps: Deps, report: ScrapeReport | None) -> Callable[[Sequence[Lead]], Awaitable[int]]:
    """Index freshly stored leads at once (so they are searchable when announced); a failure is
    noted on the report and the unit of work hands the leads to the index job."""

    async def index_now(leads: Sequence[Lead]) -> int:
        try:
            indexed = await index_leads(deps.es, deps.settings, leads)
        except Exception as exc:
            log.warning("indexing %d leads failed (%r); enqueueing %s", len(leads), exc, JobName.INDEX_LEADS)
            if report is not None:
                report.index_errors.append(repr(exc)[:300])
            raise
        if report is not None:
            report.indexed += indexed
        return indexed

    return index_now


async def ingest_scraped(
    ctx: wctx.WorkerCtx, batch: ScrapeBatch, refiner: Refiner | None, report: ScrapeReport | None = None
) -> IngestOutcome:
    """Prepare (no transaction), then store in one unit of work that indexes and announces."""
    deps = wctx.deps(ctx)
    prepared = await prepare_batch(batch, refiner=refiner)
    stored = await store_prepared(deps, prepared, index_now=_inline_indexer(deps, report))
    outcome = stored.outcome
    _count(ctx, batch.source, outcome)
    if report is not None:
        report.announced += stored.announced
        report.created += len(outcome.created)
        report.updated += len(outcome.updated)
        report.merged += len(outcome.merged)
        report.unchanged += len(outcome.unchanged)
        report.rejected += outcome.rejected
        report.failed += outcome.failed
        report.lead_ids += [
            str(i) for i in outcome.created + outcome.updated + outcome.merged + outcome.unchanged
        ]
    return outcome


async def run_scrape(
    ctx: wctx.WorkerCtx,
    source: str,
    region: str,
    *,
    pages: int | None = None,
    progress: Progress | None = None,
    fetch_config: FetchConfig | None = None,
    seen: set[str] | None = None,
) -> ScrapeReport:
    """Scrape one source for one region through the whole pipeline (``run_recorded_scrape`` around
    it is what the job and the CLI run); ``seen`` collects the external ids of every listing read."""
    deps = wctx.deps(ctx)
    settings = deps.settings
    parser = parser_for(source)
    where = resolve_region(region)
    report = ScrapeReport(source=parser.source, region=where.slug)
    refiner = deps.refiner
    metrics = wctx.metrics(ctx)
    started = time.perf_counter()
    unidentified = 0  # listings that could not be read, nor told apart: the run saw less than all

    storing: asyncio.Task[None] | None = None

    async def store(batch: ScrapeBatch) -> None:
        await ingest_scraped(ctx, batch, refiner, report)
        if progress is not None:
            report.seconds = time.perf_counter() - started
            progress(
                f"[{parser.name} {where.slug}] page {report.search_pages}: {report.listings} listings, "
                f"{report.created} new, {report.updated} updated, {report.merged} merged, "
                f"{report.unchanged} unchanged, {report.rejected} rejected, "
                f"{report.failed + report.page_errors} failed"
            )

    async def on_batch(batch: ScrapeBatch) -> None:
        nonlocal storing, unidentified
        # The previous page was stored while this one was fetched and parsed: one page in the
        # database at a time, in crawl order, and a failed store still stops the crawl here.
        if storing is not None:
            await storing
        for page in batch.pages:
            outcome = "ok" if not page.error else ("parse_error" if page.http_status else "fetch_error")
            metrics.scraper_pages.labels(parser.source, outcome).inc()
        report.search_pages += sum(1 for p in batch.pages if p.kind == "search")
        report.detail_pages += sum(1 for p in batch.pages if p.kind == "detail")
        report.page_errors += sum(1 for p in batch.pages if p.kind == "search" and p.error)
        report.listings += len(batch.listings)
        if seen is not None:
            seen.update(item.record.external_id for item in batch.listings if item.record.external_id)
            seen.update(failure.external_id for failure in batch.failures if failure.external_id)
        unidentified += sum(1 for failure in batch.failures if not failure.external_id)
        storing = asyncio.create_task(store(batch))

    config = fetch_config or FetchConfig.from_settings(settings)
    try:
        async with PoliteFetcher(config, policy=policy_for(settings, parser, where)) as fetcher:
            stats = await crawl(
                parser,
                fetcher,
                base_url_for(settings, parser),
                where,
                max_pages=pages or DEFAULT_MAX_PAGES,
                on_batch=on_batch,
            )
        if storing is not None:
            await storing
    except BaseException:
        if storing is not None:
            storing.cancel()  # no-op when it already finished
            with contextlib.suppress(BaseException):
                await storing
        raise
    # a run that read its pages but found no listing at all proves nothing: an emptied layout, a
    # block page answering 200 or a region with nothing left look the same, and counting such a run
    # would expire the whole region in N scrapes (the age limit still retires what really went)
    saw_listings = report.listings > 0 or (seen is not None and len(seen) > 0)
    report.complete = report.page_errors == 0 and not stats.truncated and unidentified == 0 and saw_listings
    report.seconds = time.perf_counter() - started
    return report


async def run_recorded_scrape(
    ctx: wctx.WorkerCtx,
    source: str,
    region: str,
    *,
    trigger: str,
    pages: int | None = None,
    progress: Progress | None = None,
    fetch_config: FetchConfig | None = None,
) -> ScrapeReport:
    """One recorded run (trigger: schedule, cli or admin): take the source/region lease or record
    ``skipped_locked``; scrape; count absences and expire leads whose listings are gone; record
    the run in ``scrape_runs`` and the metrics. A run ends ``failed`` when it raised (re-raised:
    the job retries) or read no search page at all; a partial run succeeds but is not complete."""
    deps = wctx.deps(ctx)
    metrics = wctx.metrics(ctx)
    if trigger not in scrape_runs.TRIGGERS:
        raise ValueError(f"unknown scrape trigger {trigger!r}; known: {', '.join(scrape_runs.TRIGGERS)}")
    parser, where = parser_for(source), resolve_region(region)  # a typo fails before anything runs
    name, slug, job_id = parser.source, where.slug, wctx.job_id(ctx)
    lock = RunLock(deps.redis, scrape_lock_key(deps.queue_name, parser.name, slug), SCRAPE_LOCK_TTL_MS)
    if not await lock.acquire():
        async with UnitOfWork(deps) as uow:
            run_id = await scrape_runs.record_skipped(uow.session, name, slug, trigger, job_id)
        metrics.scrape_runs.labels(name, "skipped_locked").inc()
        log.info("%s %s: skipped, another run holds the lock", parser.name, slug)
        return ScrapeReport(source=name, region=slug, outcome="skipped_locked", run_id=run_id)
    async with lock:
        async with UnitOfWork(deps) as uow:
            run_id = await scrape_runs.start_run(uow.session, name, slug, trigger, job_id)
        seen: set[str] = set()
        try:
            report = await run_scrape(
                ctx, source, region, pages=pages, progress=progress, fetch_config=fetch_config, seen=seen
            )
            report.run_id = run_id
            # a run whose lease lapsed may have overlapped another: it must not count absences
            report.complete = report.complete and lock.held
            expired = await expire_missing(deps, name, slug, seen, complete=report.complete)
        except BaseException as exc:
            metrics.scrape_runs.labels(name, "failed").inc()
            await _record_failure(deps, run_id, exc)
            raise
        report.expired = len(expired)
        if expired:
            metrics.leads_expired.labels("missing").inc(len(expired))
        read_nothing = report.search_pages > 0 and report.page_errors == report.search_pages
        report.outcome = "failed" if read_nothing else "succeeded"
        async with UnitOfWork(deps) as uow:
            await scrape_runs.finish_run(
                uow.session,
                run_id,
                report.outcome,
                counts=scrape_runs.summary_counts(asdict(report)),
                complete=report.complete,
                expired=report.expired,
                error=f"no search page could be read ({report.page_errors} page error(s))"
                if read_nothing
                else None,
            )
    metrics.scrape_runs.labels(name, report.outcome).inc()
    if report.outcome == "succeeded":
        metrics.scrape_last_success.labels(name).set(time.time())
    return report


async def _record_failure(deps: Deps, run_id: int, exc: BaseException) -> None:
    """Close the run as failed (best effort: the exception is what the job reports)."""
    try:
        async with UnitOfWork(deps) as uow:
            await scrape_runs.finish_run(uow.session, run_id, "failed", counts={}, error=repr(exc))
    except Exception:
        log.exception("could not record the failure of scrape run %d", run_id)


@tracked
async def scrape_job(
    ctx: wctx.WorkerCtx, source: str, region: str, pages: int | None = None, trigger: str = "admin"
) -> dict[str, Any]:
    """arq job: one recorded scrape of one source for one region (see run_recorded_scrape); the
    scheduler enqueues it with trigger "schedule"."""
    report = await run_recorded_scrape(ctx, source, region, trigger=trigger, pages=pages)
    return asdict(report)


@tracked
async def clean_job(
    ctx: wctx.WorkerCtx, raw_ids: Sequence[int] | None = None, limit: int = 500
) -> dict[str, Any]:
    """arq job: re-clean stored raw listings (given ids, or those never ingested) through the pipeline."""
    deps = wctx.deps(ctx)
    async with read_only(deps) as session:
        rows = await ingest_repo.raw_listings_to_clean(session, raw_ids, limit)
    batches: dict[tuple[str, str | None], ScrapeBatch] = {}
    for row in rows:
        data = {k: v for k, v in (row.parsed or {}).items() if not k.startswith("_")}
        if "external_id" not in data:
            continue
        record = RawRecord.from_json(data)
        batch = batches.setdefault(
            (row.source, row.region), ScrapeBatch(source=row.source, region=row.region)
        )
        batch.listings.append(ScrapedListing(record, row.body))
    refiner = deps.refiner
    total = IngestOutcome()
    for batch in batches.values():
        total.add(await ingest_scraped(ctx, batch, refiner))
    return {"raw_listings": len(rows), "summary": total.summary()}


FUNCTIONS: dict[JobName, Any] = {JobName.SCRAPE: scrape_job, JobName.CLEAN: clean_job}
CRON_JOBS: list[Any] = []


async def scrape_once(
    settings: Settings, source: str, region: str, pages: int | None = None, progress: Progress | None = None
) -> ScrapeReport:
    """Run one scrape outside the worker (the `aiqleads scrape` command): own Deps, then closed."""
    parser_for(source), resolve_region(region)  # fail fast on a typo, before connecting
    async with opened(settings, purpose="cli", llm=True) as deps:
        return await run_recorded_scrape(
            wctx.for_deps(deps), source, region, trigger="cli", pages=pages, progress=progress
        )
