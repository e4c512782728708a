"""Ingestion against the real database: raw listings kept, dedup across sources, idempotent re-runs,
in-place updates, fraud and quality scores, failures recorded without stopping the run."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from typing import Any

from aiqtest_support.ingestkit import local_fetch_config, sample, serve_samples, variant, worker_ctx
from sqlalchemy import func, select

from aiqleads.domain.core.geo import lat_lng
from aiqleads.domain.core.lead import Lead, LeadSourceRecord, PriceHistory, RawListing
from aiqleads.workers.ingest_jobs import run_scrape
from aiqleads_dev.samples import site_pages
from aiqleads_dev.site_server import SiteServer


async def _scrape(deps: Any, settings: Any, urls: dict[str, str], source: str, region: str) -> Any:
    ctx = worker_ctx(deps, settings.replace(source_base_urls=urls))
    return await run_scrape(ctx, source, region, fetch_config=local_fetch_config(settings))


async def _sources_of(deps: Any, lead_id: Any) -> list[tuple[str, str]]:
    async with deps.sessionmaker() as session:
        rows = await session.execute(
            select(LeadSourceRecord.source, LeadSourceRecord.external_id).where(
                LeadSourceRecord.lead_id == lead_id
            )
        )
        return sorted((r[0], r[1]) for r in rows)


async def test_same_property_on_three_sources_becomes_one_lead_with_three_sources(
    deps: Any, settings: Any
) -> None:
    home = variant(sample("velasco"), sources=("zillow", "craigslist", "fsbo"))
    server, urls = await serve_samples([home])
    try:
        reports = [
            await _scrape(deps, settings, urls, src, "dallas") for src in ("zillow", "craigslist", "fsbo")
        ]
    finally:
        await server.stop()
    assert [r.listings for r in reports] == [1, 1, 1]
    assert (reports[0].created, reports[1].merged, reports[2].merged) == (1, 1, 1)
    lead_ids = {r.lead_ids[0] for r in reports}
    assert len(lead_ids) == 1
    lead_id = next(iter(lead_ids))
    assert await _sources_of(deps, lead_id) == sorted(
        [
            ("ZILLOW", home.ident("zillow")),
            ("CRAIGSLIST", home.ident("craigslist")),
            ("FSBO", home.ident("fsbo")),
        ]
    )
    async with deps.sessionmaker() as session:
        lead = await session.get(Lead, lead_id)
        assert lead is not None
        count = await session.scalar(
            select(func.count()).select_from(Lead).where(Lead.dedup_key == lead.dedup_key)
        )
        history = await session.scalar(
            select(func.count()).select_from(PriceHistory).where(PriceHistory.lead_id == lead.id)
        )
    assert count == 1
    assert lead.source == "ZILLOW" and lead.street == home.street and lead.zip == "75214"
    assert lead.asking_price == 489_000 and lead.bedrooms == 3 and lead.bathrooms == 2.0 and lead.sqft == 1850
    assert lead.contact_phone and lead.contact_phone.startswith("+1214")
    # photos of all three sources are merged onto the one lead
    assert {p.split("/")[2] for p in lead.photos} == {
        "photos.zillowstatic.com",
        "images.craigslist.org",
        "fsbo.com",
    }
    assert 0.7 <= lead.quality_score <= 1.0 and lead.fraud_score < 0.3
    assert history == 1 and lead.price_credits >= 1


async def test_rerun_is_idempotent_and_changed_listing_updates_in_place(deps: Any, settings: Any) -> None:
    homes = [variant(sample("bataan")), variant(sample("palopinto"))]
    sites = site_pages(homes)
    server = SiteServer({"craigslist": sites["craigslist"]})
    bases = await server.start()
    urls = {"craigslist": bases["craigslist"] + "/{region}"}
    try:
        first = await _scrape(deps, settings, urls, "craigslist", "dallas")
        second = await _scrape(deps, settings, urls, "craigslist", "dallas")
        # the seller cuts the price: the same posting comes back changed
        changed = [homes[0], replace(homes[1], price=359_000)]
        server.sites["craigslist"] = site_pages(changed)["craigslist"]
        third = await _scrape(deps, settings, urls, "craigslist", "dallas")
    finally:
        await server.stop()
    assert first.created == 2 and first.rejected == 0
    assert second.created == 0 and second.unchanged == 2 and second.updated == 0
    assert third.created == 0 and third.unchanged == 1 and third.updated == 1
    assert sorted(first.lead_ids) == sorted(second.lead_ids) == sorted(third.lead_ids)
    async with deps.sessionmaker() as session:
        lead = (
            await session.scalars(
                select(Lead)
                .join(LeadSourceRecord, LeadSourceRecord.lead_id == Lead.id)
                .where(LeadSourceRecord.external_id == homes[1].ident("craigslist"))
            )
        ).one()
        raw_versions = await session.scalar(
            select(func.count())
            .select_from(RawListing)
            .where(RawListing.external_id == homes[1].ident("craigslist"), RawListing.status == "INGESTED")
        )
    assert lead.asking_price == 359_000
    # raw listings are kept per version: the original and the changed posting (search row + page each)
    assert raw_versions == 4


async def test_scam_listing_gets_fraud_signals_against_its_neighbourhood(deps: Any, settings: Any) -> None:
    # honest neighbours around $260/sqft, then a "condo" at $77/sqft with wire-transfer language
    base = sample("gaston")
    honest = [
        variant(sample("velasco"), lat=base.lat + 0.004 * i, lng=base.lng - 0.003 * i, sources=("zillow",))
        for i in range(1, 5)
    ]
    scam = variant(base, sources=("craigslist",))
    server, urls = await serve_samples([*honest, scam])
    try:
        await _scrape(deps, settings, urls, "zillow", "dallas")
        report = await _scrape(deps, settings, urls, "craigslist", "dallas")
    finally:
        await server.stop()
    assert report.created == 1
    async with deps.sessionmaker() as session:
        lead = await session.get(Lead, report.lead_ids[0])
    assert lead is not None
    text = " | ".join(lead.fraud_signals)
    assert "Payment-scam language" in text and "wire transfer" in text and "out of the country" in text
    assert "below the median" in text
    assert lead.fraud_score >= 0.7
    lat, lng = lat_lng(lead.location)
    assert abs(lat - scam.lat) < 1e-4 and abs(lng - scam.lng) < 1e-4


async def test_broken_pages_and_listings_are_recorded_and_the_run_goes_on(deps: Any, settings: Any) -> None:
    good = variant(sample("williams"))
    bad_detail = variant(sample("josephine"))
    sites = site_pages([good, bad_detail])["craigslist"]
    # one posting page is served with changed markup, another listing has no link at all
    for path in list(sites):
        if path.endswith(f"{bad_detail.ident('craigslist')}.html"):
            sites[path] = "<html><body><div class='new-layout'>We changed everything</div></body></html>"
        if "/search/rea" in path:
            sites[path] = sites[path].replace(
                "</ol>",
                '<li class="cl-static-search-result" title="x"><div class="title">no link</div></li></ol>',
            )
    server = SiteServer({"craigslist": sites})
    bases = await server.start()
    try:
        report = await _scrape(
            deps, settings, {"craigslist": bases["craigslist"] + "/{region}"}, "craigslist", "denver"
        )
    finally:
        await server.stop()
    assert report.listings == 2 and report.failed == 1
    assert report.created == 2  # the posting with unreadable markup still became a lead from its search row
    async with deps.sessionmaker() as session:
        failed = list(
            await session.scalars(
                select(RawListing).where(RawListing.status == "FAILED", RawListing.region == "denver")
            )
        )
        detail_rows = list(
            await session.scalars(
                select(RawListing).where(RawListing.external_id == bad_detail.ident("craigslist"))
            )
        )
    reasons = " | ".join(r.parse_error or "" for r in failed)
    assert "result row has no posting link" in reasons
    assert any("We changed everything" in r.body for r in detail_rows)
    assert any((r.parse_error or "").startswith("detail page unreadable") for r in detail_rows)


async def test_invalid_listing_is_rejected_with_reasons(deps: Any, settings: Any) -> None:
    nowhere = variant(sample("bataan"), zip="00000", lat=0.0001, lng=0.0001, sources=("fsbo",), city="Dallas")
    server, urls = await serve_samples([nowhere])
    try:
        report = await _scrape(deps, settings, urls, "fsbo", "dallas")
    finally:
        await server.stop()
    assert report.rejected == 1 and report.created == 0
    async with deps.sessionmaker() as session:
        row = (
            await session.scalars(
                select(RawListing).where(
                    RawListing.external_id == nowhere.ident("fsbo"), RawListing.status == "REJECTED"
                )
            )
        ).first()
    assert row is not None and "no location" in (row.parse_error or "")


async def test_concurrent_scrapes_of_the_same_property_still_make_one_lead(deps: Any, settings: Any) -> None:
    homes = [variant(sample("kinney"), sources=("zillow", "facebook")) for _ in range(3)]
    server, urls = await serve_samples(homes)
    try:
        reports = await asyncio.gather(
            _scrape(deps, settings, urls, "zillow", "austin"),
            _scrape(deps, settings, urls, "facebook", "austin"),
        )
    finally:
        await server.stop()
    assert sum(r.created for r in reports) == 3 and sum(r.merged for r in reports) == 3
    for home in homes:
        async with deps.sessionmaker() as session:
            lead_ids = set(
                await session.scalars(
                    select(LeadSourceRecord.lead_id).where(
                        LeadSourceRecord.external_id.in_([home.ident("zillow"), home.ident("facebook")])
                    )
                )
            )
        assert len(lead_ids) == 1
