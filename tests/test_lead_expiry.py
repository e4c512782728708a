"""Lead expiry: a listing missing from N complete scrapes of its region (a run with page errors does
not count), and a lead past the maximum age, leave the market as EXPIRED; the runs are recorded."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

from aiohttp import web
from aiqtest_support.ingestkit import local_fetch_config, sample, serve_samples, variant, worker_ctx
from prometheus_client import generate_latest
from sqlalchemy import select

from aiqleads.domain.core.lead import Lead, LeadSourceRecord
from aiqleads.domain.ingest.expiry import expire_old
from aiqleads.domain.ingest.scrape_runs import ScrapeRun
from aiqleads.domain.settings import Settings
from aiqleads.workers.context import deps as worker_deps
from aiqleads.workers.context import metrics as worker_metrics
from aiqleads.workers.ingest_jobs import run_recorded_scrape
from aiqleads.workers.schedule_jobs import expire_old_leads_job
from aiqleads_dev.samples import Sample, site_pages

PAGE_2 = "/marketplace/seattle/propertyforsale/?cursor=c2"
PAGE_1 = "/marketplace/seattle/propertyforsale/"


async def _not_found(request: web.Request) -> web.Response:
    return web.Response(status=404, text="gone")


def _serve(server: Any, samples: list[Sample], per_page: int = 3, broken: tuple[str, ...] = ()) -> None:
    """Make the running local sites show these listings from now on (some pages answering 404)."""
    pages: dict[str, dict[str, Any]] = dict(site_pages(samples, per_page=per_page))
    for path in broken:
        assert path in pages["facebook"]
        pages["facebook"][path] = _not_found
    server.sites.clear()
    server.sites.update(pages)


async def _listing(deps: Any, home: Sample) -> tuple[LeadSourceRecord, Lead]:
    async with deps.sessionmaker() as session:
        record = await session.scalar(
            select(LeadSourceRecord).where(
                LeadSourceRecord.source == "FACEBOOK", LeadSourceRecord.external_id == home.ident("facebook")
            )
        )
        assert record is not None
        lead = await session.get(Lead, record.lead_id)
        assert lead is not None
        return record, lead


async def test_a_listing_missing_from_n_complete_scrapes_expires_and_an_incomplete_run_does_not_count(
    deps: Any, settings: Settings
) -> None:
    kept, gone, other = (variant(sample(key)) for key in ("wallingford", "linden", "wallingford"))
    server, urls = await serve_samples([kept, gone, other])
    ctx = worker_ctx(deps, settings.replace(source_base_urls=urls, lead_missing_scrapes=2))
    fetch = local_fetch_config(settings)

    async def scrape() -> Any:
        return await run_recorded_scrape(ctx, "facebook", "seattle", trigger="cli", fetch_config=fetch)

    try:
        reports = [await scrape()]  # all three listed
        _serve(server, [kept, other])
        reports.append(await scrape())  # `gone` missing once
        missed_once = (await _listing(deps, gone))[0].missed_scrapes
        _serve(server, [kept, other], per_page=1, broken=(PAGE_2,))
        reports.append(await scrape())  # page 2 fails: an incomplete run counts no absence
        _serve(server, [kept, other], broken=(PAGE_1,))
        reports.append(await scrape())  # the site is down: a failed run
        after_bad_runs = await _listing(deps, gone)
        _serve(server, [kept, other])
        reports.append(await scrape())  # missing from a second complete run: expired
    finally:
        await server.stop()

    assert reports[0].created == 3 and reports[0].complete
    assert missed_once == 1 and reports[1].complete and reports[1].expired == 0
    assert reports[2].page_errors == 1 and reports[2].listings == 1 and not reports[2].complete
    assert reports[2].outcome == "succeeded"  # it read a page: it ran, partially
    assert reports[3].outcome == "failed" and reports[3].listings == 0 and not reports[3].complete
    assert after_bad_runs[0].missed_scrapes == 1 and after_bad_runs[1].status == "AVAILABLE"
    assert reports[4].complete and reports[4].expired == 1

    gone_source, gone_lead = await _listing(deps, gone)
    assert gone_lead.status == "EXPIRED" and gone_source.missed_scrapes == 2
    for home in (kept, other):
        source, lead = await _listing(deps, home)
        assert lead.status == "AVAILABLE" and source.missed_scrapes == 0 and source.region == "seattle"

    async with deps.sessionmaker() as session:
        runs = list(
            await session.scalars(
                select(ScrapeRun).where(ScrapeRun.id.in_([r.run_id for r in reports])).order_by(ScrapeRun.id)
            )
        )
    assert [(r.outcome, r.complete, r.expired, r.trigger) for r in runs] == [
        ("succeeded", True, 0, "cli"),
        ("succeeded", True, 0, "cli"),
        ("succeeded", False, 0, "cli"),
        ("failed", False, 0, "cli"),
        ("succeeded", True, 1, "cli"),
    ]
    assert runs[0].counts["created"] == 3 and runs[2].counts["page_errors"] == 1
    assert runs[3].error is not None and "no search page could be read" in runs[3].error
    exposition = generate_latest(worker_metrics(ctx).registry).decode()
    assert 'aiq_leads_expired_total{reason="missing"} 1.0' in exposition
    assert 'aiq_scrape_runs_total{outcome="succeeded",source="FACEBOOK"} 4.0' in exposition
    assert 'aiq_scrape_runs_total{outcome="failed",source="FACEBOOK"} 1.0' in exposition


async def test_a_scrape_that_finds_no_listing_at_all_counts_no_absence(deps: Any, settings: Settings) -> None:
    # a layout change or a block page that answers 200 with no listings looks like an empty region:
    # counted as complete, one such run would expire every lead of the region (misses = 1 here)
    home = variant(sample("wallingford"))
    server, urls = await serve_samples([home])
    ctx = worker_ctx(deps, settings.replace(source_base_urls=urls, lead_missing_scrapes=1))
    fetch = local_fetch_config(settings)
    try:
        first = await run_recorded_scrape(ctx, "facebook", "seattle", trigger="cli", fetch_config=fetch)
        # the same search page, read fine (200), with an empty feed
        page = dict(site_pages([home], per_page=3))["facebook"][PAGE_1]
        emptied, replaced = re.subn(r'"edges": \[.*\], "page_info"', '"edges": [], "page_info"', page)
        assert replaced == 1
        server.sites.clear()
        server.sites.update({"facebook": {PAGE_1: emptied}})
        empty = await run_recorded_scrape(ctx, "facebook", "seattle", trigger="cli", fetch_config=fetch)
    finally:
        await server.stop()
    assert first.complete and first.created == 1
    assert empty.outcome == "succeeded" and empty.search_pages >= 1 and empty.page_errors == 0
    assert empty.listings == 0 and not empty.complete and empty.expired == 0
    record, lead = await _listing(deps, home)
    assert lead.status == "AVAILABLE" and record.missed_scrapes == 0


async def test_leads_past_the_maximum_age_expire_in_the_hourly_sweep(
    deps: Any, settings: Settings, make_lead: Any
) -> None:
    now = datetime.now(UTC)
    ancient = now - timedelta(days=4000)  # older than any other test's lead: the sweep below is 10 years
    old = await make_lead(posted_at=ancient, city="Agedale")
    old_sold = await make_lead(posted_at=ancient, city="Agedale", status="SOLD_OUT", buyers_count=1)
    old_withdrawn = await make_lead(posted_at=ancient, city="Agedale", status="WITHDRAWN")
    recent = await make_lead(posted_at=now - timedelta(days=3000), city="Agedale")
    ten_years = settings.replace(lead_max_age_days=3650)

    assert await expire_old(worker_deps(worker_ctx(deps, settings.replace(lead_max_age_days=0))), now) == []
    ctx = worker_ctx(deps, ten_years)
    assert await expire_old_leads_job(ctx) >= 2
    async with deps.sessionmaker() as session:
        statuses = {
            lead.id: lead.status
            for lead in await session.scalars(
                select(Lead).where(Lead.id.in_([old.id, old_sold.id, old_withdrawn.id, recent.id]))
            )
        }
    assert statuses == {
        old.id: "EXPIRED",
        old_sold.id: "EXPIRED",
        old_withdrawn.id: "WITHDRAWN",  # an operator's withdrawal stands
        recent.id: "AVAILABLE",
    }
    assert (
        'aiq_leads_expired_total{reason="max_age"}' in generate_latest(worker_metrics(ctx).registry).decode()
    )
    # the sweep is idempotent: nothing is left to expire
    assert await expire_old(worker_deps(ctx), now, batch=1) == []
