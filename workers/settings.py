"""arq worker configuration: every job module contributes FUNCTIONS and CRON_JOBS lists."""

from __future__ import annotations

from typing import Any

from arq.connections import RedisSettings

from aiqleads.domain.settings import Settings
from aiqleads.workers import basic_jobs, cart_jobs, index_jobs, ingest_jobs, pricing_jobs
from aiqleads.workers.runtime import shutdown, startup

# Each job module exposes FUNCTIONS (arq functions) and CRON_JOBS (arq.cron(...) entries).
JOB_MODULES: list[Any] = [basic_jobs, index_jobs, pricing_jobs, cart_jobs, ingest_jobs]


def worker_settings(settings: Settings, metrics_port: int | None = None) -> dict[str, Any]:
    """Keyword settings for arq's Worker, built from our Settings (nothing happens at import)."""
    functions: list[Any] = []
    cron_jobs: list[Any] = []
    for module in JOB_MODULES:
        functions.extend(getattr(module, "FUNCTIONS", []))
        cron_jobs.extend(getattr(module, "CRON_JOBS", []))
    return {
        "functions": functions,
        "cron_jobs": cron_jobs,
        "on_startup": startup,
        "on_shutdown": shutdown,
        "redis_settings": RedisSettings.from_dsn(settings.redis_url),
        "queue_name": settings.arq_queue_name,
        # events (reprices, expiry) should reach subscribers in tens of ms, not arq's default 0.5 s
        "poll_delay": 0.05,
        "max_tries": 5,
        "job_timeout": 600,
        "ctx": {"settings": settings, "metrics_port": metrics_port},
    }
