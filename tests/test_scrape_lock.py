"""One scrape at a time per source and region: the Redis lease, two workers' runs started together
on a slow site, its renewal past its time to live, and a run that lost it."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import pytest
from aiohttp import web
from aiqtest_support.ingestkit import sample, serve_samples, variant, worker_ctx
from prometheus_client import generate_latest
from sqlalchemy import select

from aiqleads.domain.ingest.run_lock import RunLock, scrape_lock_key
from aiqleads.domain.ingest.scrape_runs import ScrapeRun
from aiqleads.domain.settings import Settings
from aiqleads.workers import ingest_jobs
from aiqleads.workers.context import metrics as worker_metrics
from aiqleads.workers.ingest_jobs import scrape_job

SEARCH = "/listings/search/results/FL/Miami/"  # the FSBO search page of Miami on the local site


async def _slow_site(seconds: float) -> tuple[Any, dict[str, str], list[Any]]:
    """FSBO Miami with two fresh listings whose search page takes ``seconds`` to answer."""
    homes = [variant(sample("virginia")), variant(sample("brickell"))]
    server, urls = await serve_samples(homes)
    html = server.sites["fsbo"][SEARCH]

    async def slow(request: web.Request) -> web.Response:
        await asyncio.sleep(seconds)
        return web.Response(text=html, content_type="text/html", charset="utf-8")

    server.sites["fsbo"][SEARCH] = slow
    return server, urls, homes


def _same(value: Any, token: str) -> bool:
    return value in (token, token.encode())


async def test_the_lease_is_taken_once_renewed_and_released_only_by_its_owner(deps: Any) -> None:
    key = f"aiq:test-lock:{uuid.uuid4().hex}"
    first, second = RunLock(deps.redis, key, ttl_ms=5000), RunLock(deps.redis, key, ttl_ms=5000)
    assert await first.acquire() and first.held
    assert not await second.acquire() and not second.held
    assert await first.renew() and 4000 < await deps.redis.pttl(key) <= 5000
    await deps.redis.delete(key)  # the first lease lapsed (its worker stalled) and another run took it
    assert await second.acquire()
    assert not await first.renew() and first.lost and not first.held
    assert not await first.release() and _same(await deps.redis.get(key), second.token)
    assert await second.release() and not await deps.redis.exists(key)
    with pytest.raises(RuntimeError, match="acquire"):
        async with RunLock(deps.redis, key):
            pass


async def test_two_runs_started_together_scrape_once_and_the_renewed_lease_outlives_its_ttl(
    deps: Any, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(ingest_jobs, "SCRAPE_LOCK_TTL_MS", 600)  # renewed every 0.2 s
    server, urls, _ = await _slow_site(1.5)
    run_settings = settings.replace(source_base_urls=urls, scraper_rate_per_host=100.0)
    key = scrape_lock_key(settings.arq_queue_name, "fsbo", "miami")
    tag = uuid.uuid4().hex[:8]
    ctxs = [worker_ctx(deps, run_settings, job_id=f"{tag}-{n}") for n in range(3)]  # three workers
    try:
        together = [
            asyncio.create_task(scrape_job(ctxs[0], "fsbo", "miami", None, "schedule")),
            asyncio.create_task(scrape_job(ctxs[1], "fsbo", "Miami", None, "schedule")),
        ]
        await asyncio.sleep(1.0)  # the first lease (0.6 s) would have lapsed without its renewals
        assert await deps.redis.pttl(key) > 0
        late = await scrape_job(ctxs[2], "fsbo", "miami", None, "admin")
        results = [*await asyncio.gather(*together), late]
    finally:
        await server.stop()
    assert sorted(r["outcome"] for r in results) == ["skipped_locked", "skipped_locked", "succeeded"]
    [scraped] = [r for r in results if r["outcome"] == "succeeded"]
    assert scraped["created"] == 2 and scraped["listings"] == 2 and scraped["complete"] is True
    assert all(r["search_pages"] == 0 and r["listings"] == 0 for r in results if r is not scraped)
    assert len([r for r in server.requests_to("fsbo") if r.path == SEARCH]) == 1  # one crawl only
    assert not await deps.redis.exists(key)  # released at the end

    async with deps.sessionmaker() as session:
        rows = list(
            await session.scalars(
                select(ScrapeRun).where(ScrapeRun.job_id.like(f"{tag}-%")).order_by(ScrapeRun.job_id)
            )
        )
    assert [(r.source, r.region) for r in rows] == [("FSBO", "miami")] * 3
    [winner] = [r for r in rows if r.outcome == "succeeded"]
    assert winner.id == scraped["run_id"] and winner.trigger == "schedule" and winner.complete
    assert winner.job_id in (ctxs[0]["job_id"], ctxs[1]["job_id"])  # one of the two started together
    assert winner.counts["created"] == 2 and winner.counts["search_pages"] == 1
    assert winner.finished_at is not None and winner.finished_at >= winner.started_at
    skipped = [r for r in rows if r.outcome == "skipped_locked"]
    assert sorted(r.trigger for r in skipped) == ["admin", "schedule"]
    assert all(r.finished_at is not None and r.counts == {} for r in skipped)
    expositions = {c["job_id"]: generate_latest(worker_metrics(c).registry).decode() for c in ctxs}
    won = expositions.pop(winner.job_id)
    assert 'aiq_scrape_runs_total{outcome="succeeded",source="FSBO"} 1.0' in won
    assert 'aiq_scrape_last_success_timestamp_seconds{source="FSBO"}' in won
    for text in expositions.values():
        assert 'aiq_scrape_runs_total{outcome="skipped_locked",source="FSBO"} 1.0' in text
        assert 'outcome="succeeded"' not in text


async def test_a_run_whose_lease_was_taken_is_recorded_but_counts_no_absence(
    deps: Any, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(ingest_jobs, "SCRAPE_LOCK_TTL_MS", 300)
    server, urls, _ = await _slow_site(0.8)
    key = scrape_lock_key(settings.arq_queue_name, "fsbo", "miami")
    ctx = worker_ctx(deps, settings.replace(source_base_urls=urls, scraper_rate_per_host=100.0))
    try:
        run = asyncio.create_task(scrape_job(ctx, "fsbo", "miami"))
        await asyncio.sleep(0.3)
        await deps.redis.set(key, "another-worker", px=5000)  # as if our lease had lapsed and been taken
        report = await run
    finally:
        await server.stop()
        stolen = await deps.redis.get(key)
        await deps.redis.delete(key)
    assert report["outcome"] == "succeeded" and report["created"] == 2
    assert report["complete"] is False  # it may have overlapped another run: no absence is counted
    assert _same(stolen, "another-worker")  # and its release left the other worker's lease alone
    async with deps.sessionmaker() as session:
        row = await session.get(ScrapeRun, report["run_id"])
    assert row is not None and row.outcome == "succeeded" and row.complete is False
    assert row.trigger == "admin"  # scrape_job's default: an operator's ad-hoc run
