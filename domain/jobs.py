"""Job names (the one place they are spelled) and enqueueing on the arq queue.

Enqueue only after the causing transaction commits: use cases record jobs on their unit of work
(domain/unit_of_work.py), which calls ``enqueue`` once the commit succeeded.
"""

from __future__ import annotations

import hashlib
import logging
import uuid
from collections.abc import Iterable, Sequence
from enum import StrEnum

from arq.connections import ArqRedis
from arq.constants import expires_extra_ms as default_expires_extra_ms
from arq.constants import job_key_prefix, result_key_prefix
from arq.jobs import serialize_job
from arq.utils import timestamp_ms
from redis.asyncio import Redis
from redis.asyncio.client import Pipeline
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
    SCHEDULE_SCRAPES = "schedule_scrapes_job"
    EXPIRE_OLD_LEADS = "expire_old_leads_job"


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


def _job_keys_and_args(
    redis: Redis,
    queue_name: str,
    job: JobName,
    args: tuple[object, ...],
    job_id: str | None,
    kwargs: dict[str, object] | None = None,
) -> tuple[tuple[str, str, str], tuple[str | bytes, ...]]:
    """The keys and arguments of ``_ENQUEUE`` for one job, in arq's own format."""
    job_id = job_id or uuid.uuid4().hex
    now_ms = timestamp_ms()
    # a plain Redis (demand signals) enqueues with arq's defaults; the process's ArqRedis with its own
    serializer = getattr(redis, "job_serializer", None)
    payload = serialize_job(str(job), args, kwargs or {}, None, now_ms, serializer=serializer)
    keys = (job_key_prefix + job_id, result_key_prefix + job_id, queue_name)
    expires = getattr(redis, "expires_extra_ms", default_expires_extra_ms)
    return keys, (str(expires), payload, str(now_ms), job_id)


def queue_enqueue(
    pipe: Pipeline,
    redis: Redis,
    queue_name: str,
    job: JobName,
    *args: object,
    job_id: str | None = None,
    kwargs: dict[str, object] | None = None,
) -> None:
    """Put ``enqueue_now``'s script on a pipeline (``redis``: the client whose arq settings the job
    takes), for effects sent together in one round trip; its reply is 1 when the job was added."""
    keys, argv = _job_keys_and_args(redis, queue_name, job, args, job_id, kwargs)
    pipe.eval(_ENQUEUE, 3, *keys, *argv)  # type: ignore[arg-type]


class EnqueueRefused(Exception):
    """Redis refused to take a job (the change the job follows has already committed)."""


async def enqueue_now(
    redis: Redis,
    queue_name: str,
    job: JobName,
    *args: object,
    job_id: str | None = None,
    kwargs: dict[str, object] | None = None,
) -> bool:
    """Put one job on the queue in one round trip; True if added, False if a job of that
    ``job_id`` already queued (or whose result is kept) absorbed it, as with arq's
    ``enqueue_job``. A refusal raises EnqueueRefused: for callers whose answer is the job."""
    keys, argv = _job_keys_and_args(redis, queue_name, job, args, job_id, kwargs)
    try:
        try:
            added = await redis.evalsha(_ENQUEUE_SHA, 3, *keys, *argv)  # type: ignore[misc, arg-type]
        except NoScriptError:
            added = await redis.eval(_ENQUEUE, 3, *keys, *argv)  # type: ignore[misc, arg-type]
    except Exception as exc:
        raise EnqueueRefused(f"the queue refused {job}: {exc!r}") from exc
    return bool(added)


async def enqueue(
    redis: Redis,
    queue_name: str,
    job: JobName,
    *args: object,
    job_id: str | None = None,
    kwargs: dict[str, object] | None = None,
) -> bool:
    """``enqueue_now`` for after-commit effects: a refusal is logged and answers False, since the
    change already committed (sweeps and repair jobs pick up what a lost job would have done)."""
    try:
        return await enqueue_now(redis, queue_name, job, *args, job_id=job_id, kwargs=kwargs)
    except EnqueueRefused:
        log.exception("could not enqueue %s", job)
        return False


# the same, unless a debounce marker is already set (else set it, for ARGV[5] ms)
_ENQUEUE_DEBOUNCED = (
    "if not redis.call('SET', KEYS[4], '1', 'NX', 'PX', ARGV[5]) then return 0 end\n" + _ENQUEUE
)


async def enqueue_debounced(
    redis: Redis, queue_name: str, jobs: Sequence[tuple[JobName, tuple[object, ...], str]], debounce_ms: int
) -> list[bool]:
    """Enqueue several jobs in one pipelined round trip, each unless its debounce key (the third
    item) was set within ``debounce_ms``; per job, whether it was enqueued. Raises RedisError."""
    if not jobs:
        return []
    async with redis.pipeline(transaction=False) as pipe:
        queue_debounced(pipe, redis, queue_name, jobs, debounce_ms)
        results = await pipe.execute()
    return [bool(result) for result in results]


def queue_debounced(
    pipe: Pipeline,
    redis: Redis,
    queue_name: str,
    jobs: Sequence[tuple[JobName, tuple[object, ...], str]],
    debounce_ms: int,
) -> None:
    """``enqueue_debounced``' commands on a pipeline (``redis``: the client whose arq settings the
    jobs take); one reply per job, 1 when it was enqueued."""
    for job, args, debounce_key in jobs:
        keys, argv = _job_keys_and_args(redis, queue_name, job, args, None)
        pipe.eval(_ENQUEUE_DEBOUNCED, 4, *keys, debounce_key, *argv, str(debounce_ms))  # type: ignore[arg-type]


def reindex_args(lead_ids: Iterable[uuid.UUID | str]) -> list[str]:
    """The argument of one INDEX_LEADS job: the distinct lead ids, sorted (stable for tests)."""
    return sorted({str(lead_id) for lead_id in lead_ids})


def profile_update_job_id(queue_name: str) -> str:
    """The one id of the queued profile update: triggers while one is queued coalesce into it."""
    return f"aiq:update-profiles:{queue_name}"


async def queue_stats(redis: Redis, queue_name: str, now_ms: int | None = None) -> tuple[int, float]:
    """How many jobs the queue holds, and how many seconds the oldest due one has waited (0 if none).

    arq scores each queued job by when it may run (enqueue time, or its deferral), so the lowest
    score at or below now is the longest-waiting runnable job.
    """
    now_ms = timestamp_ms() if now_ms is None else now_ms
    async with redis.pipeline(transaction=False) as pipe:
        pipe.zcard(queue_name)
        pipe.zrangebyscore(queue_name, "-inf", now_ms, start=0, num=1, withscores=True)
        depth, oldest = await pipe.execute()
    age = max(0.0, (now_ms - float(oldest[0][1])) / 1000) if oldest else 0.0
    return int(depth), age
