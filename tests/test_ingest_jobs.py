"""The aggregation jobs in a real arq worker, their retries, dead letters and metrics, and the CLI."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path
from typing import Any

import pytest
from aiqtest_support.ingestkit import sample, serve_samples, variant, worker_ctx
from aiqtest_support.live_server import server_env
from arq import create_pool
from arq.connections import RedisSettings
from arq.jobs import Job
from arq.worker import Retry, Worker
from prometheus_client import generate_latest
from sqlalchemy import select

from aiqleads.domain.core.lead import LeadSourceRecord, RawListing
from aiqleads.domain.ingest.models import DeadLetter
from aiqleads.domain.recommendations.models import LeadEmbedding
from aiqleads.workers.context import metrics as worker_metrics
from aiqleads.workers.ingest_jobs import clean_job, scrape_job
from aiqleads.workers.settings import worker_settings


async def test_scrape_job_runs_in_a_real_arq_worker(deps: Any, settings: Any) -> None:
    homes = [variant(sample("mclendon")), variant(sample("edgewood"))]
    server, urls = await serve_samples(homes)
    job_settings = settings.replace(source_base_urls=urls, scraper_rate_per_host=50.0)
    pool = await create_pool(
        RedisSettings.from_dsn(settings.redis_url), default_queue_name=settings.arq_queue_name
    )
    try:
        job = await pool.enqueue_job("scrape_job", "fsbo", "atlanta", 2)
        assert job is not None
        worker = Worker(**{**worker_settings(job_settings), "burst": True, "poll_delay": 0.05})
        await worker.main()
        await worker.close()
        result = await Job(job.job_id, pool, _queue_name=settings.arq_queue_name).result(timeout=5)
    finally:
        await pool.aclose()
        await server.stop()
    assert result["source"] == "FSBO" and result["created"] == 2 and result["listings"] == 2
    assert result["indexed"] == 2 and result["announced"] == 2
    async with deps.sessionmaker() as session:
        sources = list(
            await session.scalars(
                select(LeadSourceRecord.external_id).where(
                    LeadSourceRecord.external_id.in_([h.ident("fsbo") for h in homes])
                )
            )
        )
    assert sorted(sources) == sorted(h.ident("fsbo") for h in homes)
    # the scrape's commit enqueued the embedding of its leads, and the burst worker ran it
    async with deps.sessionmaker() as session:
        models = list(
            await session.scalars(
                select(LeadEmbedding.embedding_model)
                .join(LeadSourceRecord, LeadSourceRecord.lead_id == LeadEmbedding.lead_id)
                .where(LeadSourceRecord.external_id.in_([h.ident("fsbo") for h in homes]))
            )
        )
    assert models == [deps.embedding_model] * 2


async def test_failing_job_is_retried_with_backoff_then_dead_lettered(deps: Any, settings: Any) -> None:
    ctx = worker_ctx(deps, settings, job_try=1, job_id="job-under-test")
    with pytest.raises(Retry) as retry:
        await scrape_job(ctx, "zillow", "atlantis")
    assert retry.value.defer_score == 5000
    ctx["job_try"] = 3
    with pytest.raises(Retry) as later:
        await scrape_job(ctx, "zillow", "atlantis")
    assert later.value.defer_score == 20000
    ctx["job_try"] = 5
    with pytest.raises(ValueError, match="unknown region"):
        await scrape_job(ctx, "zillow", "atlantis")
    async with deps.sessionmaker() as session:
        letters = list(
            await session.scalars(
                select(DeadLetter).where(DeadLetter.args["job_id"].astext == "job-under-test")
            )
        )
    assert len(letters) == 1
    assert letters[0].job_name == "scrape_job" and letters[0].attempts == 5
    assert letters[0].args["args"] == ["zillow", "atlantis"] and "unknown region" in letters[0].error
    exposition = generate_latest(worker_metrics(ctx).registry).decode()
    assert 'aiq_job_runs_total{job="scrape_job",outcome="retry"} 2.0' in exposition
    assert 'aiq_job_runs_total{job="scrape_job",outcome="dead_letter"} 1.0' in exposition
    assert 'aiq_job_duration_seconds_count{job="scrape_job"} 3.0' in exposition


async def test_clean_job_reprocesses_stored_raw_listings(deps: Any, settings: Any) -> None:
    home = variant(sample("dilworth"))
    server, urls = await serve_samples([home])
    ctx = worker_ctx(deps, settings.replace(source_base_urls=urls, scraper_rate_per_host=100.0))
    try:
        first = await scrape_job(ctx, "fsbo", "charlotte")
    finally:
        await server.stop()
    async with deps.sessionmaker() as session:
        raw_ids = list(
            await session.scalars(
                select(RawListing.id).where(
                    RawListing.external_id == home.ident("fsbo"), RawListing.parsed["kind"].is_(None)
                )
            )
        )
    again = await clean_job(ctx, raw_ids)
    assert first["created"] == 1 and len(raw_ids) == 1
    assert again == {
        "raw_listings": 1,
        "summary": "0 new, 0 updated, 0 merged, 1 unchanged, 0 rejected, 0 failed",
    }
    exposition = generate_latest(worker_metrics(ctx).registry).decode()
    assert 'aiq_scraper_pages_total{outcome="ok",source="FSBO"} 2.0' in exposition
    assert 'aiq_scraper_listings_total{outcome="created",source="FSBO"} 1.0' in exposition


async def test_cli_scrape_prints_progress_and_a_summary(settings: Any) -> None:
    homes = [variant(sample("williams")), variant(sample("josephine")), variant(sample("williams"))]
    server, urls = await serve_samples(homes)
    env = server_env(settings, AIQ_CRAIGSLIST_BASE_URL=urls["craigslist"])
    env.pop("AIQ_ZILLOW_BASE_URL", None)
    exe = Path(sys.executable).with_name("aiqleads")
    try:
        proc = await asyncio.create_subprocess_exec(
            str(exe), "scrape", "craigslist", "--region", "denver", "--pages", "1",
            env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
        )  # fmt: skip
        out, _ = await asyncio.wait_for(proc.communicate(), timeout=120)
        bad = await asyncio.create_subprocess_exec(
            str(exe), "scrape", "craigslist", "--region", "gotham",
            env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
        )  # fmt: skip
        bad_out, _ = await asyncio.wait_for(bad.communicate(), timeout=60)
    finally:
        await server.stop()
    text = out.decode()
    assert proc.returncode == 0, text
    assert "[craigslist denver] page 1: 3 listings, 3 new" in text
    assert text.strip().splitlines()[-1].startswith("craigslist denver: 1 pages, 3 listings → 3 new")
    assert bad.returncode != 0 and "unknown region 'gotham'" in bad_out.decode()
    assert os.environ.get("AIQ_CRAIGSLIST_BASE_URL") is None  # the test did not leak config
