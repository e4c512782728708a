"""Enqueue background jobs on the arq queue (only after the causing transaction commits)."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterable

from arq.connections import ArqRedis
from redis.asyncio import Redis

log = logging.getLogger(__name__)

INDEX_LEADS_JOB = "index_leads_job"  # workers/index_jobs.py


async def enqueue(redis: Redis, queue_name: str, job_name: str, *args: object) -> bool:
    """Put one job on the queue; False (logged) if Redis refused, since the change already committed."""
    try:
        arq = ArqRedis(pool_or_conn=redis.connection_pool, default_queue_name=queue_name)
        return await arq.enqueue_job(job_name, *args, _queue_name=queue_name) is not None
    except Exception:
        log.exception("could not enqueue %s", job_name)
        return False


async def enqueue_reindex(redis: Redis, queue_name: str, lead_ids: Iterable[uuid.UUID]) -> bool:
    """Have the worker refresh these leads in the search index (availability, price, status)."""
    ids = sorted({str(lead_id) for lead_id in lead_ids})
    if not ids:
        return True
    return await enqueue(redis, queue_name, INDEX_LEADS_JOB, ids)
