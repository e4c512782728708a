"""Repricing jobs: immediate repricing of one lead, and the per-minute cron over changed inputs.

The cron never scans the table: it reprices the leads marked dirty by demand signals (a Redis
sorted set) and the leads whose freshness tick is due (partial index on ``reprice_due_at``), in
batches of ``BATCH_SIZE`` within a time budget, so its cost follows what changed, not how many
leads exist. Each batch is one transaction; its price changes are published after the commit.
"""

from __future__ import annotations

import logging
import time
import uuid
from datetime import UTC, datetime
from typing import Any

from arq import cron
from arq.connections import ArqRedis

from aiqleads.domain.pricing import service, signals
from aiqleads.domain.pricing.llm_hint import build_hinter
from aiqleads.domain.settings import Settings

log = logging.getLogger(__name__)

BATCH_SIZE = 2000
TIME_BUDGET_SECONDS = 50.0  # leave room before the next minute's run
_HINTER = "pricing_hinter"
INDEX_JOB = "index_leads_job"  # workers/index_jobs.py: Elasticsearch sorts and filters on the price


async def _after_commit(ctx: dict[str, Any], changes: list[service.PriceChange]) -> None:
    """Publish committed changes, then have the search index pick up the new prices."""
    if not changes:
        return
    await service.publish_changes(ctx["redis_client"], changes)
    arq = ArqRedis(pool_or_conn=ctx["redis_client"].connection_pool)
    await arq.enqueue_job(
        INDEX_JOB, [str(c.lead_id) for c in changes], _queue_name=ctx["settings"].arq_queue_name
    )


def _hinter(ctx: dict[str, Any]) -> Any:
    """The LLM hinter for this worker (built once; None without a configured provider)."""
    if _HINTER not in ctx:
        ctx[_HINTER] = build_hinter(ctx["settings"])
    return ctx[_HINTER]


async def reprice_lead_job(ctx: dict[str, Any], lead_id: str) -> dict[str, Any]:
    """Reprice one lead now (after a purchase or a burst of demand), with the AI hint if configured."""
    settings: Settings = ctx["settings"]
    redis = ctx["redis_client"]
    sessionmaker = ctx["sessionmaker"]
    lead = uuid.UUID(lead_id)
    started_ms = int(time.time() * 1000)
    now = datetime.now(UTC)
    hints = {}
    hinter = _hinter(ctx)
    if hinter is not None:
        async with sessionmaker() as session:  # read, then let the connection go during the LLM call
            requests = await service.hint_requests(session, redis, [lead], now)
        hints = await service.suggest_hints(hinter, requests)
    async with sessionmaker() as session, session.begin():
        outcome = await service.reprice_batch(session, redis, [lead], now, hints)
    await _after_commit(ctx, outcome.changes)
    if lead in outcome.processed or lead in outcome.missing:
        # Signals up to the job's start are served; later ones keep the lead dirty for the cron.
        await signals.clear_dirty(
            redis, [signals.DirtyEntry(lead, started_ms)], queue_name=settings.arq_queue_name
        )
    return {
        "changed": len(outcome.changes),
        "locked": len(outcome.locked),
        "price": outcome.changes[0].new_price if outcome.changes else None,
    }


async def reprice_dirty_job(ctx: dict[str, Any], *, batch_size: int = BATCH_SIZE) -> dict[str, Any]:
    """Reprice every lead whose inputs changed: dirty leads from signals, then due freshness ticks."""
    settings: Settings = ctx["settings"]
    redis = ctx["redis_client"]
    sessionmaker = ctx["sessionmaker"]
    queue = settings.arq_queue_name
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
        async with sessionmaker() as session, session.begin():
            outcome = await service.reprice_batch(session, redis, [e.lead_id for e in entries], now)
        await _after_commit(ctx, outcome.changes)
        served = [e for e in entries if e.lead_id not in outcome.locked]
        await signals.clear_dirty(redis, served, queue_name=queue)
        offset += len(entries) - len(served)
        stats["dirty"] += len(outcome.processed)
        stats["changed"] += len(outcome.changes)
        stats["locked"] += len(outcome.locked)
        stats["batches"] += 1

    while time.monotonic() - started < TIME_BUDGET_SECONDS:
        async with sessionmaker() as session, session.begin():
            outcome = await service.reprice_due(session, redis, now, batch_size)
        await _after_commit(ctx, outcome.changes)
        stats["due"] += len(outcome.processed)
        stats["changed"] += len(outcome.changes)
        stats["batches"] += 1
        if len(outcome.processed) < batch_size:
            break

    stats["seconds"] = round(time.monotonic() - started, 3)  # type: ignore[assignment]
    if stats["dirty"] or stats["due"]:
        log.info("repriced %s", stats)
    return stats


FUNCTIONS: list[Any] = [reprice_lead_job, reprice_dirty_job]
CRON_JOBS: list[Any] = [cron(reprice_dirty_job, name="cron:reprice_dirty", second=5, run_at_startup=False)]
