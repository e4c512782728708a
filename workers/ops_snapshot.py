"""The worker's gauge loop: queue depth and age, business counts and the ledger invariant.

A background task of the worker process rather than an arq job, so a backed-up queue cannot delay
the very gauges that report it. Each pass is one short read; each is counted as a run of
``ops_snapshot`` (and ``ledger_check``) in ``aiq_job_runs_total``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

from aiqleads.domain.bootstrap import Deps
from aiqleads.domain.jobs import queue_stats
from aiqleads.domain.monitoring.snapshot import business_snapshot, ledger_violations
from aiqleads.domain.unit_of_work import read_only
from aiqleads.workers.metrics import WorkerMetrics

log = logging.getLogger(__name__)


class OpsSnapshotLoop:
    """Refreshes the worker's gauges every ``ops_snapshot_seconds`` (the ledger every
    ``ledger_check_seconds``)."""

    def __init__(self, deps: Deps, metrics: WorkerMetrics) -> None:
        self.deps = deps
        self.metrics = metrics
        self._task: asyncio.Task[None] | None = None
        self._next_ledger_check = 0.0

    def start(self) -> None:
        """Start the loop (its first pass runs at once)."""
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="ops-snapshot")

    async def stop(self) -> None:
        """Stop the loop."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _run(self) -> None:
        while True:
            await self.refresh()
            await asyncio.sleep(self.deps.settings.ops_snapshot_seconds)

    async def refresh(self) -> None:
        """One pass: the gauges, and the ledger check when it is due; failures are counted and logged."""
        await self._timed("ops_snapshot", self._snapshot)
        if time.monotonic() >= self._next_ledger_check:
            self._next_ledger_check = time.monotonic() + self.deps.settings.ledger_check_seconds
            await self._timed("ledger_check", self._ledger_check)

    async def _timed(self, job: str, work: Callable[[], Awaitable[None]]) -> None:
        started = time.perf_counter()
        try:
            await work()
        except asyncio.CancelledError:
            raise
        except Exception:  # a database or Redis hiccup: the next pass tries again
            log.exception("%s pass failed", job)
            self.metrics.shared.job_finished(job, "failure", time.perf_counter() - started)
        else:
            self.metrics.shared.job_finished(job, "success", time.perf_counter() - started)

    async def _snapshot(self) -> None:
        metrics = self.metrics
        depth, age = await queue_stats(self.deps.redis, self.deps.queue_name)
        metrics.queue_depth.set(depth)
        metrics.queue_oldest_age.set(age)
        async with read_only(self.deps) as session:
            snapshot = await business_snapshot(session, datetime.now(UTC))
        metrics.active_holds.set(snapshot.active_holds)
        for (source, status), count in snapshot.leads.items():
            metrics.leads.labels(source, status).set(count)
        for status, count in snapshot.returns.items():
            metrics.returns.labels(status).set(count)
        for job, count in snapshot.dead_letters.items():
            metrics.dead_letters.labels(job).set(count)
        metrics.payments_awaiting_webhook.set(snapshot.payments_awaiting_webhook)

    async def _ledger_check(self) -> None:
        async with read_only(self.deps) as session:
            violations = await ledger_violations(session)
        if violations:
            log.error("credit ledger invariant violated: %d balance(s) differ from their ledger", violations)
        self.metrics.ledger_violations.set(violations)
        self.metrics.ledger_ok.set(0 if violations else 1)
        self.metrics.ledger_checked_at.set(time.time())
