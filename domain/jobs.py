"""Job names (the one place they are spelled) and enqueueing on the arq queue.

Enqueue only after the causing transaction commits: use cases record jobs on their unit of work
(domain/unit_of_work.py), which calls ``enqueue`` once the commit succeeded.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterable
from enum import StrEnum

from arq.connections import ArqRedis
from redis.asyncio import Redis

log = logging.getLogger(__name__)


class JobName(StrEnum):
    """Every arq function name; workers/settings.py registers each job under its name here."""

    PING = "ping"
    PRUNE_IDEMPOTENCY_RECORDS = "prune_idempotency_records"
    INDEX_LEAD = "index_lead_job"
    INDEX_LEADS = "index_leads_job"
    REPRICE_LEAD = "reprice_lead_job"
    REPRICE_DIRTY = "reprice_dirty_job"
    EXPIRE_CART_HOLDS = "expire_cart_holds"
    RECONCILE_HOLDS = "reconcile_holds"
    GRANT_MONTHLY_ALLOWANCES = "grant_monthly_allowances"
    SCRAPE = "scrape_job"
    CLEAN = "clean_job"
    EMBED_LEADS = "embed_leads_job"
    EMBED_PENDING = "embed_pending_job"
    UPDATE_PROFILES = "update_profiles_job"


def queue_client(redis: Redis, queue_name: str) -> ArqRedis:
    """An arq client on an existing Redis connection pool (no connection of its own); bootstrap
    builds the process's one, and code handed only a Redis (demand signals) wraps it here."""
    return ArqRedis(pool_or_conn=redis.connection_pool, default_queue_name=queue_name)


async def enqueue(
    arq: ArqRedis, queue_name: str, job: JobName, *args: object, job_id: str | None = None
) -> bool:
    """Put one job on the queue; False (logged) if Redis refused, since the change already committed.

    With a ``job_id``, a job of that id already queued absorbs this one (arq returns None).
    """
    try:
        return await arq.enqueue_job(str(job), *args, _queue_name=queue_name, _job_id=job_id) is not None
    except Exception:
        log.exception("could not enqueue %s", job)
        return False


def reindex_args(lead_ids: Iterable[uuid.UUID | str]) -> list[str]:
    """The argument of one INDEX_LEADS job: the distinct lead ids, sorted (stable for tests)."""
    return sorted({str(lead_id) for lead_id in lead_ids})


def profile_update_job_id(queue_name: str) -> str:
    """The one id of the queued profile update: triggers while one is queued coalesce into it."""
    return f"aiq:update-profiles:{queue_name}"
