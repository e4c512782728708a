"""Repricing jobs: immediate repricing of one lead, and the per-minute cron over changed inputs.

The cron never scans the table: it reprices the leads marked dirty by demand signals (a Redis
sorted set) and the leads whose freshness tick is due (partial index on ``reprice_due_at``), in
batches of ``BATCH_SIZE`` within a time budget, so its cost follows what changed, not how many
leads exist. Each batch is one unit of work (domain/pricing/use_cases.py); its price changes are
published, and the leads reindexed, after the commit.
"""

from __future__ import annotations

import logging
import time
import uuid
from datetime import UTC, datetime
from typing import Any

from arq import cron

from aiqleads.domain.jobs import JobName
from aiqleads.domain.pricing import signals, use_cases
from aiqleads.workers import context as wctx

log = logging.getLogger(__name__)

BATCH_SIZE = 2000
TIME_BUDGET_SECONDS = 50.0  # leave room before the next minute's run


async def reprice_lead_job(ctx: wctx.WorkerCtx, lead_id: str) -> dict[str, Any]:
    """Reprice one lead now (after a purchase or a burst of demand), with the AI hint if configured."""
    deps = wctx.deps(ctx)
    lead = uuid.UUID(lead_id)
    started_ms = int(time.time() * 1000)
    now = datetime.now(UTC)
    hints = await use_cases.hints_for(deps, deps.hinter, [lead], now)
    outcome = await use_cases.reprice(deps, [lead], now, hints)
    if lead in outcome.processed or lead in outcome.missing:
        # Signals up to the job's start are served; later ones keep the lead dirty for the cron.
        await signals.clear_dirty(
            deps.redis, [signals.DirtyEntry(lead, started_ms)], queue_name=deps.queue_name
        )
    return {
        "changed": len(outcome.changes),
        "locked": len(outcome.locked),
        "price": outcome.changes[0].new_price if outcome.changes else None,
    }


async def reprice_dirty_job(ctx: wctx.WorkerCtx, *, batch_size: int = BATCH_SIZE) -> dict[str, Any]:
    """Reprice every lead whose inputs changed: dirty leads from signals, then due freshness ticks."""
    deps = wctx.deps(ctx)
    redis, queue = deps.redis, deps.queue_name
    started = time.monotonic()
    now = datetime.now(UTC)
    up_to_ms = int(now.timestamp() * 1000)
    stats = {"dirty": 0, "due": 0, "changed": 0, "locked": 0, "batches": 0}

    offset = 0  # entries left in the set (locked rows) are skipped within this run
    while time.monotonic() - started < TIME_BUDGET_SECONDS:
        entries = await signals.dirty_batch(
            redis, queue_name=queue, limit=batch_size, up_to_ms=up_to_ms, offset=offset
        )
        if not entries:
            break
        outcome = await use_cases.reprice(deps, [e.lead_id for e in entries], now)
        served = [e for e in entries if e.lead_id not in outcome.locked]
        await signals.clear_dirty(redis, served, queue_name=queue)
        offset += len(entries) - len(served)
        stats["dirty"] += len(outcome.processed)
        stats["changed"] += len(outcome.changes)
        stats["locked"] += len(outcome.locked)
        stats["batches"] += 1

    while time.monotonic() - started < TIME_BUDGET_SECONDS:
        outcome = await use_cases.reprice_due(deps, now, batch_size)
        stats["due"] += len(outcome.processed)
        stats["changed"] += len(outcome.changes)
        stats["batches"] += 1
        if len(outcome.processed) < batch_size:
            break

    stats["seconds"] = round(time.monotonic() - started, 3)  # type: ignore[assignment]
    if stats["dirty"] or stats["due"]:
        log.info("repriced %s", stats)
    return stats


FUNCTIONS: dict[JobName, Any] = {
    JobName.REPRICE_LEAD: reprice_lead_job,
    JobName.REPRICE_DIRTY: reprice_dirty_job,
}
CRON_JOBS: list[Any] = [cron(reprice_dirty_job, name="cron:reprice_dirty", second=5, run_at_startup=False)]
