"""arq worker configuration: every job module contributes FUNCTIONS (by JobName) and CRON_JOBS."""

from __future__ import annotations

import dataclasses
from typing import Any, cast

from arq.connections import RedisSettings
from arq.cron import CronJob
from arq.worker import Function

from aiqleads.domain.jobs import JobName
from aiqleads.domain.settings import Settings
from aiqleads.workers import (
    basic_jobs,
    cart_jobs,
    index_jobs,
    ingest_jobs,
    pricing_jobs,
    recommendation_jobs,
    schedule_jobs,
)
from aiqleads.workers import context as wctx
from aiqleads.workers.job_context import in_job_context, on_job_start
from aiqleads.workers.runtime import shutdown, startup
from aiqleads.workers.tracking import measured

# Each job module exposes FUNCTIONS ({JobName: arq function}) and CRON_JOBS (arq.cron(...) entries).
JOB_MODULES: list[Any] = [
    basic_jobs,
    index_jobs,
    pricing_jobs,
    cart_jobs,
    ingest_jobs,
    recommendation_jobs,
    schedule_jobs,
]


def registered_functions() -> list[Any]:
    """Every job function, checked against its JobName (arq registers a function by its __name__,
    and enqueues name the JobName, so the two must agree)."""
    functions: list[Any] = []
    for module in JOB_MODULES:
        for name, function in getattr(module, "FUNCTIONS", {}).items():
            if _job_name(function) != str(name):
                raise RuntimeError(f"job {_job_name(function)} is registered as {name}")
            functions.append(_measured_function(function))
    missing = set(JobName) - {JobName(_job_name(f)) for f in functions}
    if missing:
        raise RuntimeError(f"no job function for {sorted(missing)}")
    return functions


def _job_name(function: Any) -> str:
    """The name arq registers: a plain coroutine's __name__, or an arq.func(...)'s name."""
    return str(getattr(function, "__name__", None) or function.name)


def _measured_function(function: Any) -> Any:
    """The job with its runs counted and timed (an arq.func(...) keeps its options)."""
    if isinstance(function, Function):
        return dataclasses.replace(function, coroutine=cast(Any, measured(function.coroutine)))
    return measured(function)


def _measured_cron(job: CronJob) -> CronJob:
    """The cron entry with its coroutine counted and timed like every other job."""
    return dataclasses.replace(job, coroutine=cast(Any, measured(job.coroutine)))


def worker_settings(settings: Settings, metrics_port: int | None = None) -> dict[str, Any]:
    """Keyword settings for arq's Worker, built from our Settings (nothing happens at import)."""
    schedule_jobs.load_schedule(settings)  # a bad AIQ_SCRAPE_SCHEDULE (e.g. unknown region) never starts
    cron_jobs: list[Any] = []
    for module in JOB_MODULES:
        cron_jobs.extend(_measured_cron(job) for job in getattr(module, "CRON_JOBS", []))
    return {
        # outermost, so every line a job logs (arq's too) names the job, and a run is one span
        "functions": [in_job_context(function) for function in registered_functions()],
        "cron_jobs": [in_job_context(job) for job in cron_jobs],
        "on_job_start": on_job_start,
        "on_startup": startup,
        "on_shutdown": shutdown,
        "redis_settings": RedisSettings.from_dsn(settings.redis_url),
        "queue_name": settings.arq_queue_name,
        # events (reprices, expiry) should reach subscribers in tens of ms, not arq's default 0.5 s
        "poll_delay": 0.05,
        "max_tries": 5,
        "job_timeout": 600,
        "ctx": wctx.initial(settings, metrics_port),
    }
