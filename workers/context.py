"""Typed access to the arq worker context: one ``Deps`` and the worker's own process state.

arq hands every job a plain dict; nothing but this module reads or writes its keys, so a job
says ``deps(ctx).sessionmaker`` or ``metrics(ctx)`` and a typo is a type error, not a KeyError.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from aiqleads.domain.bootstrap import Deps
from aiqleads.domain.cart.timer_loop import HoldTimerLoop
from aiqleads.domain.settings import Settings
from aiqleads.workers.metrics import WorkerMetrics

WorkerCtx = dict[str, Any]

_DEPS = "deps"
_METRICS = "metrics"
_HOLD_TIMERS = "hold_timers"
_METRICS_SERVER = "metrics_server"
_SETTINGS = "settings"  # given by worker_settings(); startup bootstraps Deps from it
_METRICS_PORT = "metrics_port"
_OPS_SNAPSHOT = "ops_snapshot"


def initial(settings: Settings, metrics_port: int | None) -> WorkerCtx:
    """The ctx arq starts the worker with (startup turns it into Deps)."""
    return {_SETTINGS: settings, _METRICS_PORT: metrics_port}


def for_deps(deps: Deps, **state: Any) -> WorkerCtx:
    """A ctx around existing Deps (the CLI running a job's code in-process, tests)."""
    return {_DEPS: deps, _METRICS: WorkerMetrics.create(), **state}


def startup_settings(ctx: WorkerCtx) -> Settings | None:
    """The settings the worker was configured with, if any."""
    settings = ctx.get(_SETTINGS)
    return settings if isinstance(settings, Settings) else None


def metrics_port(ctx: WorkerCtx) -> int | None:
    """Where to serve the worker's Prometheus metrics (None: not served)."""
    port = ctx.get(_METRICS_PORT)
    return int(port) if port else None


def set_deps(ctx: WorkerCtx, deps: Deps) -> None:
    """Install the process's Deps (worker startup)."""
    ctx[_DEPS] = deps


def deps(ctx: WorkerCtx) -> Deps:
    """The process's Deps."""
    found = ctx.get(_DEPS)
    if not isinstance(found, Deps):
        raise RuntimeError("the worker context has no Deps (worker startup did not run)")
    return found


def find_deps(ctx: WorkerCtx) -> Deps | None:
    """The process's Deps, or None before startup (or after shutdown)."""
    found = ctx.get(_DEPS)
    return found if isinstance(found, Deps) else None


def pop_deps(ctx: WorkerCtx) -> Deps | None:
    """Remove and return the Deps (worker shutdown closes them)."""
    found = ctx.pop(_DEPS, None)
    return found if isinstance(found, Deps) else None


def metrics(ctx: WorkerCtx) -> WorkerMetrics:
    """The worker's metrics (created on first use when startup did not make them, e.g. in the CLI)."""
    found = ctx.get(_METRICS)
    if not isinstance(found, WorkerMetrics):
        found = ctx[_METRICS] = WorkerMetrics.create()
    return found


def hold_timers(ctx: WorkerCtx) -> HoldTimerLoop | None:
    """The running hold timer loop of this worker, if started."""
    found = ctx.get(_HOLD_TIMERS)
    return found if isinstance(found, HoldTimerLoop) else None


def set_hold_timers(ctx: WorkerCtx, loop: HoldTimerLoop) -> None:
    """Remember the started timer loop."""
    ctx[_HOLD_TIMERS] = loop


def pop_hold_timers(ctx: WorkerCtx) -> HoldTimerLoop | None:
    """Forget and return the timer loop (shutdown stops it)."""
    found = ctx.pop(_HOLD_TIMERS, None)
    return found if isinstance(found, HoldTimerLoop) else None


def set_background(ctx: WorkerCtx, loop: Any) -> None:
    """Remember the started gauge loop (shutdown stops it)."""
    ctx[_OPS_SNAPSHOT] = loop


def pop_background(ctx: WorkerCtx) -> Any:
    """Forget and return the gauge loop, if one was started."""
    return ctx.pop(_OPS_SNAPSHOT, None)


def set_metrics_server(ctx: WorkerCtx, server: Any) -> None:
    """Remember the Prometheus HTTP server (shutdown stops it)."""
    ctx[_METRICS_SERVER] = server


def pop_metrics_server(ctx: WorkerCtx) -> Any:
    """Forget and return the Prometheus HTTP server, if one was started."""
    return ctx.pop(_METRICS_SERVER, None)


def job_try(ctx: WorkerCtx) -> int:
    """Which attempt of the current job this is (arq's job_try; 1 outside arq)."""
    return int(ctx.get("job_try") or 1)


def scheduled_at(ctx: WorkerCtx) -> datetime | None:
    """When the current job was due to run (arq's score: a cron job's scheduled time); None outside arq."""
    score = ctx.get("score")
    return datetime.fromtimestamp(int(score) / 1000, UTC) if score else None


def job_id(ctx: WorkerCtx) -> str | None:
    """The current job's id (arq's job_id; None outside arq)."""
    value = ctx.get("job_id")
    return str(value) if value is not None else None


_TRACING = "tracing"  # the process's aiqleads.tracing.Tracing, while tracing is on


def set_tracing(ctx: WorkerCtx, tracing: Any) -> None:
    """Remember the process's tracing (startup; shutdown undoes it)."""
    ctx[_TRACING] = tracing


def pop_tracing(ctx: WorkerCtx) -> Any:
    """Forget and return the process's tracing, if it was started."""
    return ctx.pop(_TRACING, None)


def job_tracer(ctx: WorkerCtx) -> Any:
    """Opens a job run's span (``aiqleads.tracing.JobTracer``); None while tracing is off."""
    tracing = ctx.get(_TRACING)
    return tracing.job_tracer() if tracing is not None else None
