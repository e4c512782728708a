"""Scheduled scraping and the age sweep: the worker's crons around ``scrape_job``.

Every minute ``schedule_scrapes_job`` enqueues ``scrape_job`` for each source and region that
``AIQ_SCRAPE_SCHEDULE`` (domain/core/schedule.py) makes due in that minute. The tick is an arq
cron with a unique id per minute, so however many workers run, one tick job is queued; and each
scrape it enqueues has a job id made of the queue, source, region and minute, so a tick that runs
twice (or late) still queues each run once. The run itself takes the source/region lease
(``ingest_jobs.run_recorded_scrape``), so a slow run is never overlapped by the next one: the
next finds the lease taken and is recorded as ``skipped_locked``.

Every hour ``expire_old_leads_job`` retires leads older than ``AIQ_LEAD_MAX_AGE_DAYS``.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

from arq import cron

from aiqleads.domain.core.schedule import Schedule, minute_slot, parse_schedule
from aiqleads.domain.ingest.expiry import expire_old
from aiqleads.domain.jobs import JobName, enqueue
from aiqleads.domain.settings import Settings
from aiqleads.workers import context as wctx
from aiqleads.workers.scrapers.regions import REGIONS
from aiqleads.workers.scrapers.runner import PARSERS

log = logging.getLogger(__name__)


def known_regions() -> dict[str, list[str]]:
    """Each source's region slugs (every scraper knows every metro of workers/scrapers/regions.py)."""
    return {source: sorted(REGIONS) for source in PARSERS}


def load_schedule(settings: Settings) -> Schedule:
    """The worker's schedule, regions checked and ``*`` expanded; ScheduleError names a bad entry
    (worker_settings calls this, so a worker with a bad schedule never starts)."""
    return parse_schedule(settings.scrape_schedule, known_regions())


def scrape_job_id(queue_name: str, source: str, region: str, slot: datetime) -> str:
    """The one id of the scheduled run of a source and region in a minute."""
    return f"aiq:scrape:{queue_name}:{source}:{region}:{minute_slot(slot):%Y%m%dT%H%MZ}"


async def enqueue_due(ctx: wctx.WorkerCtx, schedule: Schedule, at: datetime) -> list[tuple[str, str]]:
    """Enqueue the runs due in the minute of ``at`` (each under its own id); the ones newly queued."""
    deps = wctx.deps(ctx)
    slot = minute_slot(at)
    queued: list[tuple[str, str]] = []
    for source, region in schedule.due(slot):
        job_id = scrape_job_id(deps.queue_name, source, region, slot)
        if await enqueue(
            deps.arq, deps.queue_name, JobName.SCRAPE, source, region, None, "schedule", job_id=job_id
        ):
            queued.append((source, region))
    return queued


async def schedule_scrapes_job(ctx: wctx.WorkerCtx) -> dict[str, Any]:
    """Cron, every minute: enqueue the scrapes the schedule makes due in this minute (the minute
    the tick was scheduled for, even if it runs late)."""
    schedule = load_schedule(wctx.deps(ctx).settings)
    if not schedule:
        return {"due": 0, "queued": 0}
    at = wctx.scheduled_at(ctx) or datetime.now(UTC)
    due = schedule.due(minute_slot(at))
    queued = await enqueue_due(ctx, schedule, at)
    if queued:
        log.info("scheduled %s", ", ".join(f"{source} {region}" for source, region in queued))
    return {"slot": minute_slot(at).isoformat(), "due": len(due), "queued": len(queued)}


async def expire_old_leads_job(ctx: wctx.WorkerCtx) -> int:
    """Cron, hourly: retire leads posted more than AIQ_LEAD_MAX_AGE_DAYS ago (EXPIRED, max_age)."""
    expired = await expire_old(wctx.deps(ctx), datetime.now(UTC))
    if expired:
        wctx.metrics(ctx).leads_expired.labels("max_age").inc(len(expired))
        log.info("expired %d lead(s) past their maximum age", len(expired))
    return len(expired)


FUNCTIONS: dict[JobName, Any] = {
    JobName.SCHEDULE_SCRAPES: schedule_scrapes_job,
    JobName.EXPIRE_OLD_LEADS: expire_old_leads_job,
}
CRON_JOBS: list[Any] = [
    cron(schedule_scrapes_job, second=0, unique=True),
    cron(expire_old_leads_job, minute=41, second=20, unique=True),
]
