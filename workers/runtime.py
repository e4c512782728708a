"""Worker lifecycle: bootstrap the process's Deps at startup and close them at shutdown."""

from __future__ import annotations

from prometheus_client import start_http_server

from aiqleads.domain.bootstrap import bootstrap
from aiqleads.domain.settings import Settings
from aiqleads.tracing import WORKER_SERVICE, start_tracing
from aiqleads.workers import cart_jobs
from aiqleads.workers import context as wctx
from aiqleads.workers.ops_snapshot import OpsSnapshotLoop


async def startup(ctx: wctx.WorkerCtx) -> None:
    """Create the worker's Deps and metrics once per process, then start the hold timers."""
    settings = wctx.startup_settings(ctx) or Settings.from_env()
    metrics = wctx.metrics(ctx)  # job runs, queue and business gauges, scrapers, credits
    wctx.set_deps(ctx, await bootstrap(settings, purpose="worker", credit_observer=metrics.shared))
    tracing = start_tracing(WORKER_SERVICE)  # None, and nothing installed, without an OTLP endpoint
    if tracing is not None:
        tracing.instrument_clients(wctx.deps(ctx))
        wctx.set_tracing(ctx, tracing)
    port = wctx.metrics_port(ctx)
    if port:  # Prometheus scrapes the worker on loopback (put a proxy in front to expose it)
        server, _ = start_http_server(port, addr="127.0.0.1", registry=metrics.registry)
        wctx.set_metrics_server(ctx, server)
    await cart_jobs.on_worker_startup(ctx)  # hold timers + reconciliation
    gauges = OpsSnapshotLoop(wctx.deps(ctx), metrics)  # queue, business and ledger gauges
    gauges.start()
    wctx.set_background(ctx, gauges)


async def shutdown(ctx: wctx.WorkerCtx) -> None:
    """Close what startup created."""
    gauges = wctx.pop_background(ctx)
    if gauges is not None:
        await gauges.stop()
    await cart_jobs.on_worker_shutdown(ctx)
    server = wctx.pop_metrics_server(ctx)
    if server is not None:
        server.shutdown()
        server.server_close()
    deps = wctx.pop_deps(ctx)
    if deps is not None:
        await deps.aclose()
    tracing = wctx.pop_tracing(ctx)
    if tracing is not None:  # last: the spans of closing are exported too
        tracing.shutdown()
