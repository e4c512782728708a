"""Housekeeping jobs."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from typing import Any

from arq import cron
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from aiqleads.domain.credits import idempotency
from aiqleads.domain.settings import Settings

log = logging.getLogger(__name__)
PRUNE_BATCH = 5000


async def ping(ctx: dict[str, Any]) -> str:
    """A trivial job proving the worker is alive."""
    return "pong"


async def prune_idempotency_records(ctx: dict[str, Any], batch_size: int = PRUNE_BATCH) -> int:
    """Job: delete idempotency records past their retention (at least 24 h), in batches."""
    settings: Settings = ctx["settings"]
    sessionmaker: async_sessionmaker[AsyncSession] = ctx["sessionmaker"]
    retention = timedelta(hours=settings.idempotency_retention_hours)
    pruned = 0
    while True:
        async with sessionmaker() as session, session.begin():
            removed = await idempotency.prune_records(session, datetime.now(UTC), retention, batch_size)
        pruned += removed
        if removed < batch_size:
            break
    if pruned:
        log.info("pruned %d idempotency record(s) older than %s", pruned, retention)
    return pruned


FUNCTIONS: list[Any] = [ping, prune_idempotency_records]
CRON_JOBS: list[Any] = [cron(prune_idempotency_records, minute=23, second=0, unique=True)]
