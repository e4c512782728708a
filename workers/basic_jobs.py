"""Housekeeping jobs."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

from arq import cron

from aiqleads.domain.credits import use_cases
from aiqleads.domain.jobs import JobName
from aiqleads.workers import context as wctx

log = logging.getLogger(__name__)
PRUNE_BATCH = 5000


async def ping(ctx: wctx.WorkerCtx) -> str:
    """A trivial job proving the worker is alive."""
    return "pong"


async def prune_idempotency_records(ctx: wctx.WorkerCtx, batch_size: int = PRUNE_BATCH) -> int:
    """Job: delete idempotency records past their retention (at least 24 h), in batches."""
    pruned = await use_cases.prune_idempotency_records(wctx.deps(ctx), datetime.now(UTC), batch_size)
    if pruned:
        log.info("pruned %d idempotency record(s)", pruned)
    return pruned


FUNCTIONS: dict[JobName, Any] = {
    JobName.PING: ping,
    JobName.PRUNE_IDEMPOTENCY_RECORDS: prune_idempotency_records,
}
CRON_JOBS: list[Any] = [cron(prune_idempotency_records, minute=23, second=0, unique=True)]
