"""Prometheus metrics of the worker: job outcomes and durations, scraper pages and listings.

The registry is created in worker startup (workers/runtime.py) or by the CLI, never at import.
"""

from __future__ import annotations

import functools
import json
import logging
import time
import traceback
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from arq.worker import Retry
from prometheus_client import CollectorRegistry, Counter, Histogram

from aiqleads.domain.ingest.dead_letters import record_dead_letter

log = logging.getLogger(__name__)

MAX_TRIES = 5  # must match worker_settings()["max_tries"]
RETRY_BASE_SECONDS = 5.0
RETRY_MAX_SECONDS = 600.0
T = TypeVar("T")


@dataclass
class WorkerMetrics:
    """The worker's collectors on one registry."""

    registry: CollectorRegistry
    job_outcomes: Counter
    job_seconds: Histogram
    scraper_pages: Counter
    scraper_listings: Counter
    leads_ingested: Counter

    @classmethod
    def create(cls) -> WorkerMetrics:
        """A fresh registry with every worker collector."""
        registry = CollectorRegistry(auto_describe=True)
        return cls(
            registry=registry,
            job_outcomes=Counter(
                "aiq_worker_jobs_total",
                "Worker job runs by job and outcome (success, retry, dead_letter).",
                ["job", "outcome"],
                registry=registry,
            ),
            job_seconds=Histogram(
                "aiq_worker_job_seconds",
                "Worker job duration by job.",
                ["job"],
                registry=registry,
                buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600),
            ),
            scraper_pages=Counter(
                "aiq_scraper_pages_total",
                "Search and detail pages fetched by source and outcome (ok, fetch_error, parse_error).",
                ["source", "outcome"],
                registry=registry,
            ),
            scraper_listings=Counter(
                "aiq_scraper_listings_total",
                "Scraped listings by source and outcome (created, updated, merged, unchanged, rejected, "
                "failed).",
                ["source", "outcome"],
                registry=registry,
            ),
            leads_ingested=Counter(
                "aiq_leads_ingested_total",
                "Leads created by ingestion, by source.",
                ["source"],
                registry=registry,
            ),
        )


def metrics_of(ctx: dict[str, Any]) -> WorkerMetrics:
    """The worker's metrics (created on first use when startup did not make them, e.g. in the CLI)."""
    metrics = ctx.get("metrics")
    if not isinstance(metrics, WorkerMetrics):
        metrics = ctx["metrics"] = WorkerMetrics.create()
    return metrics


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
        metrics = metrics_of(ctx)
        started = time.perf_counter()
        try:
            result = await fn(ctx, *args, **kwargs)
        except Retry:
            metrics.job_outcomes.labels(name, "retry").inc()
            raise
        except Exception as exc:
            job_try = int(ctx.get("job_try") or 1)
            if job_try < MAX_TRIES:
                metrics.job_outcomes.labels(name, "retry").inc()
                log.warning("job %s failed (try %d/%d): %r; retrying", name, job_try, MAX_TRIES, exc)
                raise Retry(defer=retry_delay(job_try)) from exc
            metrics.job_outcomes.labels(name, "dead_letter").inc()
            await _dead_letter(ctx, name, args, kwargs, exc, job_try)
            raise
        else:
            metrics.job_outcomes.labels(name, "success").inc()
            return result
        finally:
            metrics.job_seconds.labels(name).observe(time.perf_counter() - started)

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
        json.dumps({"args": list(args), "kwargs": kwargs, "job_id": ctx.get("job_id")}, default=str)
    )
    try:
        async with ctx["sessionmaker"]() as session, session.begin():
            await record_dead_letter(session, name, payload, error, attempts)
    except Exception:  # the dead letter is best effort; the original error is what matters
        log.exception("could not record dead letter for job %s", name)
