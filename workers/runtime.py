"""Worker lifecycle: build engines and clients at startup and close them at shutdown."""

from __future__ import annotations

from typing import Any

from elasticsearch import AsyncElasticsearch
from prometheus_client import start_http_server
from redis.asyncio import Redis

from aiqleads.domain.db import make_engine, make_sessionmaker
from aiqleads.domain.settings import Settings
from aiqleads.workers import cart_jobs
from aiqleads.workers.metrics import WorkerMetrics


async def startup(ctx: dict[str, Any]) -> None:
    """Create the worker's resources once per process."""
    settings: Settings = ctx.get("settings") or Settings.from_env()
    engine = make_engine(settings.database_url, pool_size=5)
    ctx["settings"] = settings
    ctx["engine"] = engine
    ctx["sessionmaker"] = make_sessionmaker(engine)
    ctx["redis_client"] = Redis.from_url(settings.redis_url)
    ctx["es"] = AsyncElasticsearch(settings.elasticsearch_url, request_timeout=60)
    ctx["metrics"] = WorkerMetrics.create()  # job outcomes/durations, scraper counters
    port = ctx.get("metrics_port")
    if port:  # Prometheus scrapes the worker on loopback (put a proxy in front to expose it)
        ctx["metrics_server"], _ = start_http_server(port, addr="127.0.0.1", registry=ctx["metrics"].registry)
    await cart_jobs.on_worker_startup(ctx)  # hold timers + reconciliation


async def shutdown(ctx: dict[str, Any]) -> None:
    """Close what startup created."""
    await cart_jobs.on_worker_shutdown(ctx)
    server = ctx.pop("metrics_server", None)
    if server is not None:
        server.shutdown()
        server.server_close()
    await ctx["es"].close()
    await ctx["redis_client"].aclose()
    await ctx["engine"].dispose()
