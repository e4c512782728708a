"""Job names (the one place they are spelled) and enqueueing on the arq queue.

Enqueue only after the causing transaction commits: use cases record jobs on their unit of work
(domain/unit_of_work.py), which calls ``enqueue`` once the commit succeeded.
"""

from __future__ import annotations

import hashlib
import logging
import uuid
from collections.abc import Iterable
from enum import StrEnum

from arq.connections import ArqRedis
from arq.constants import job_key_prefix, result_key_prefix
from arq.jobs import serialize_job
from arq.utils import timestamp_ms
from redis.asyncio import Redis
from redis.exceptions import NoScriptError

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


# arq's enqueue as one script (arq's own enqueue_job takes three to four round trips: WATCH,
# EXISTS, then MULTI..EXEC): the same keys and payload, written atomically in one round trip.
_ENQUEUE = """
if redis.call('EXISTS', KEYS[1], KEYS[2]) > 0 then return 0 end
redis.call('PSETEX', KEYS[1], ARGV[1], ARGV[2])
redis.call('ZADD', KEYS[3], ARGV[3], ARGV[4])
return 1
"""
_ENQUEUE_SHA = hashlib.sha1(_ENQUEUE.encode()).hexdigest()


async def enqueue(
    arq: ArqRedis, queue_name: str, job: JobName, *args: object, job_id: str | None = None
) -> bool:
    """Put one job on the queue in one round trip; False (logged) if Redis refused, since the
    change already committed.

    With a ``job_id``, a job of that id already queued (or whose result is kept) absorbs this one,
    as with arq's ``enqueue_job``.
    """
    job_id = job_id or uuid.uuid4().hex
    now_ms = timestamp_ms()
    payload = serialize_job(str(job), args, {}, None, now_ms, serializer=arq.job_serializer)
    keys = (job_key_prefix + job_id, result_key_prefix + job_id, queue_name)
    argv: tuple[str | bytes, ...] = (str(arq.expires_extra_ms), payload, str(now_ms), job_id)
    try:
        try:
            added = await arq.evalsha(_ENQUEUE_SHA, 3, *keys, *argv)  # type: ignore[misc, arg-type]
        except NoScriptError:
            added = await arq.eval(_ENQUEUE, 3, *keys, *argv)  # type: ignore[misc, arg-type]
    except Exception:
        log.exception("could not enqueue %s", job)
        return False
    return bool(added)


def reindex_args(lead_ids: Iterable[uuid.UUID | str]) -> list[str]:
    """The argument of one INDEX_LEADS job: the distinct lead ids, sorted (stable for tests)."""
    return sorted({str(lead_id) for lead_id in lead_ids})


def profile_update_job_id(queue_name: str) -> str:
    """The one id of the queued profile update: triggers while one is queued coalesce into it."""
    return f"aiq:update-profiles:{queue_name}"
