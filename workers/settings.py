"""arq worker configuration: every job module contributes FUNCTIONS (by JobName) and CRON_JOBS."""

from __future__ import annotations

from typing import Any

from arq.connections import RedisSettings

from aiqleads.domain.jobs import JobName
from aiqleads.domain.settings import Settings
from aiqleads.workers import (
    basic_jobs,
    cart_jobs,
    index_jobs,
    ingest_jobs,
    pricing_jobs,
    recommendation_jobs,
)
from aiqleads.workers import context as wctx
from aiqleads.workers.runtime import shutdown, startup

# Each job module exposes FUNCTIONS ({JobName: arq function}) and CRON_JOBS (arq.cron(...) entries).
JOB_MODULES: list[Any] = [basic_jobs, index_jobs, pricing_jobs, cart_jobs, ingest_jobs, recommendation_jobs]


def registered_functions() -> list[Any]:
    """Every job function, checked against its JobName (arq registers a function by its __name__,
    and enqueues name the JobName, so the two must agree)."""
    functions: list[Any] = []
    for module in JOB_MODULES:
        for name, function in getattr(module, "FUNCTIONS", {}).items():
            if _job_name(function) != str(name):
                raise RuntimeError(f"job {_job_name(function)} is registered as {name}")
            functions.append(function)
    missing = set(JobName) - {JobName(_job_name(f)) for f in functions}
    if missing:
        raise RuntimeError(f"no job function for {sorted(missing)}")
    return functions


def _job_name(function: Any) -> str:
    """The name arq registers: a plain coroutine's __name__, or an arq.func(...)'s name."""
    return str(getattr(function, "__name__", None) or function.name)


def worker_settings(settings: Settings, metrics_port: int | None = None) -> dict[str, Any]:
    """Keyword settings for arq's Worker, built from our Settings (nothing happens at import)."""
    cron_jobs: list[Any] = []
    for module in JOB_MODULES:
        cron_jobs.extend(getattr(module, "CRON_JOBS", []))
    return {
        "functions": registered_functions(),
        "cron_jobs": cron_jobs,
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
