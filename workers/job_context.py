"""Each job run's log lines carry its name, id and try, and, while tracing is on, the run is a span.

``on_job_start`` (arq's hook, in the task that runs the job) marks the run's id and try, so arq's own
start, finish and failure lines carry them; ``in_job_context`` wraps every registered function and
cron job to add the job's name (arq's hook is not told it) and open the span.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Awaitable, Callable
from typing import Any, cast

from arq.cron import CronJob
from arq.worker import Function

from aiqleads.domain import log_context
from aiqleads.workers import context as wctx


async def on_job_start(ctx: wctx.WorkerCtx) -> None:
    """Mark what runs from here in this job's task (arq's lines and the job's) as this run's."""
    log_context.begin_job(wctx.job_id(ctx) or "", wctx.job_try(ctx))  # the task ends with the run


def in_job_context(job: Any) -> Any:
    """The registered job (a coroutine function, an ``arq.func`` or an ``arq.cron``) with its runs
    logged under its name, and traced while tracing is on."""
    if isinstance(job, Function | CronJob):
        return dataclasses.replace(job, coroutine=cast(Any, _named(job.coroutine, job.name)))
    return _named(job, job.__name__)


def _named(fn: Callable[..., Awaitable[Any]], name: str) -> Callable[..., Awaitable[Any]]:
    @functools.wraps(fn)
    async def run(ctx: wctx.WorkerCtx, *args: Any, **kwargs: Any) -> Any:
        found = log_context.current()
        job_id, job_try = wctx.job_id(ctx) or "", wctx.job_try(ctx)
        token = None
        if isinstance(found, log_context.JobLog) and found.job_id == job_id:
            found.job = name  # the record on_job_start made: arq's finish line gets the name too
        else:
            token = log_context.begin_job(job_id, job_try, name)
        try:
            tracer = wctx.job_tracer(ctx)
            if tracer is None:
                return await fn(ctx, *args, **kwargs)
            with tracer.job(name, job_id, job_try):
                return await fn(ctx, *args, **kwargs)
        finally:
            if token is not None:
                log_context.end(token)

    return run
