"""Worker lifecycle: bootstrap the process's Deps at startup and close them at shutdown."""

from __future__ import annotations

from prometheus_client import start_http_server

from aiqleads.domain.bootstrap import bootstrap
from aiqleads.domain.settings import Settings
from aiqleads.workers import cart_jobs
from aiqleads.workers import context as wctx


async def startup(ctx: wctx.WorkerCtx) -> None:
    """Create the worker's Deps and metrics once per process, then start the hold timers."""
    settings = wctx.startup_settings(ctx) or Settings.from_env()
    wctx.set_deps(ctx, await bootstrap(settings, purpose="worker"))
    metrics = wctx.metrics(ctx)  # job outcomes/durations, scraper counters
    port = wctx.metrics_port(ctx)
    if port:  # Prometheus scrapes the worker on loopback (put a proxy in front to expose it)
        server, _ = start_http_server(port, addr="127.0.0.1", registry=metrics.registry)
        wctx.set_metrics_server(ctx, server)
    await cart_jobs.on_worker_startup(ctx)  # hold timers + reconciliation


async def shutdown(ctx: wctx.WorkerCtx) -> None:
    """Close what startup created."""
    await cart_jobs.on_worker_shutdown(ctx)
    server = wctx.pop_metrics_server(ctx)
    if server is not None:
        server.shutdown()
        server.server_close()
    deps = wctx.pop_deps(ctx)
    if deps is not None:
        await deps.aclose()
