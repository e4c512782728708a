"""Instrumented arq jobs: outcome and duration metrics for every job (``measured``), and retries
with backoff and dead letters for the jobs that need them (``tracked``)."""

from __future__ import annotations

import asyncio
import functools
import json
import logging
import time
import traceback
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from arq.worker import Retry

from aiqleads.domain.ingest.dead_letters import record_dead_letter
from aiqleads.domain.unit_of_work import UnitOfWork
from aiqleads.workers import context as wctx

log = logging.getLogger(__name__)

MAX_TRIES = 5  # must match worker_settings()["max_tries"]
RETRY_BASE_SECONDS = 5.0
RETRY_MAX_SECONDS = 600.0
T = TypeVar("T")
MEASURED = "__aiq_measured__"  # set on a job function whose runs are already counted


def retry_delay(job_try: int) -> float:
    """Exponential backoff between attempts: 5 s, 10 s, 20 s, … capped at 10 minutes."""
    return min(RETRY_MAX_SECONDS, RETRY_BASE_SECONDS * 2 ** max(0, job_try - 1))


def tracked(
    fn: Callable[..., Awaitable[T]],
) -> Callable[..., Awaitable[T]]:
    """Instrument an arq job: outcome and duration metrics, retries with backoff, dead letters.

    A failing attempt is retried (arq Retry with exponential defer) until MAX_TRIES; the last
    failure is stored in dead_letters with the job's arguments and traceback, then re-raised.
    """
    name = fn.__name__

    @functools.wraps(fn)
    async def job(ctx: dict[str, Any], *args: Any, **kwargs: Any) -> T:
        shared = wctx.metrics(ctx).shared
        started = time.perf_counter()
        try:
            result = await fn(ctx, *args, **kwargs)
        except Retry:
            shared.job_finished(name, "retry", time.perf_counter() - started)
            raise
        except asyncio.CancelledError:  # arq's job_timeout cancels the job: still a run, and a failed one
            shared.job_finished(name, "failure", time.perf_counter() - started)
            raise
        except Exception as exc:
            job_try = wctx.job_try(ctx)
            if job_try < MAX_TRIES:
                shared.job_finished(name, "retry", time.perf_counter() - started)
                log.warning("job %s failed (try %d/%d): %r; retrying", name, job_try, MAX_TRIES, exc)
                raise Retry(defer=retry_delay(job_try)) from exc
            shared.job_finished(name, "dead_letter", time.perf_counter() - started)
            await _dead_letter(ctx, name, args, kwargs, exc, job_try)
            raise
        shared.job_finished(name, "success", time.perf_counter() - started)
        return result

    setattr(job, MEASURED, True)
    return job


def measured(fn: Callable[..., Awaitable[T]]) -> Callable[..., Awaitable[T]]:
    """Count an arq job's runs by outcome (success, retry, failure) and time them; a job already
    ``tracked`` is returned as it is."""
    if getattr(fn, MEASURED, False):
        return fn
    name = fn.__name__

    @functools.wraps(fn)
    async def job(ctx: dict[str, Any], *args: Any, **kwargs: Any) -> T:
        shared = wctx.metrics(ctx).shared
        started = time.perf_counter()
        outcome = "failure"
        try:
            result = await fn(ctx, *args, **kwargs)
            outcome = "success"
            return result
        except Retry:
            outcome = "retry"
            raise
        finally:
            shared.job_finished(name, outcome, time.perf_counter() - started)

    setattr(job, MEASURED, True)
    return job


async def _dead_letter(
    ctx: dict[str, Any],
    name: str,
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
    exc: BaseException,
    attempts: int,
) -> None:
    error = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))[-8000:]
    payload = json.loads(
        json.dumps({"args": list(args), "kwargs": kwargs, "job_id": wctx.job_id(ctx)}, default=str)
    )
    try:
        async with UnitOfWork(wctx.deps(ctx)) as uow:
            await record_dead_letter(uow.session, name, payload, error, attempts)
    except Exception:  # the dead letter is best effort; the original error is what matters
        log.exception("could not record dead letter for job %s", name)
