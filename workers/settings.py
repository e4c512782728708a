"""arq WorkerSettings: the jobs and cron jobs the worker runs, and its startup/shutdown."""

from __future__ import annotations

from typing import Any

from arq.connections import RedisSettings

from aiqleads.domain.settings import Settings
from aiqleads.workers.runtime import shutdown, startup

_settings = Settings.from_env()


async def ping(ctx: dict[str, Any]) -> str:
    """A trivial job proving the worker is alive."""
    return "pong"


class WorkerSettings:
    """arq reads this class: functions, cron jobs, lifecycle hooks and the Redis to use."""

    functions: list[Any] = [ping]
    cron_jobs: list[Any] = []
    on_startup = startup
    on_shutdown = shutdown
    redis_settings = RedisSettings.from_dsn(_settings.redis_url)
    max_tries = 5
    job_timeout = 600
