"""Demand signals (views, cart adds, purchases) recorded cheaply in Redis for the pricing engine.

Hot path (``record_signal``): ONE pipelined Redis round trip, no SQL:

* ``aiq:demand:{lead}`` — a small hash of bucketed counters, field ``{kind}:{bucket}`` where a bucket
  is ``bucket_seconds`` wide; the sliding window is the last ``window_seconds / bucket_seconds``
  buckets. The key expires after a window without signals; stale fields are pruned when read.
* ``aiq:pricing:dirty:{queue}`` — a sorted set of leads whose inputs changed (score = last signal,
  in ms). The per-minute cron reprices exactly these (plus leads whose freshness tick is due).
* ``aiq:demand:burst:{lead}`` — a weighted counter over a short fixed window. Crossing the burst
  threshold (or any purchase) enqueues an immediate ``reprice_lead_job`` through arq, debounced by
  ``aiq:pricing:debounce:{lead}`` (SET NX PX) so a storm of signals enqueues one job.

The dirty set is namespaced by the arq queue name so deployments (and test sessions) sharing one
Redis never steal each other's work. Signals are best effort: a Redis failure is logged, never
raised into the request that caused it.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Literal, cast

from redis.asyncio import Redis
from redis.asyncio.client import Pipeline
from redis.exceptions import RedisError

from aiqleads.domain.jobs import JobName, enqueue_debounced, queue_debounced
from aiqleads.domain.pricing.engine import DemandSignals
from aiqleads.domain.settings import Settings

log = logging.getLogger(__name__)

SignalKind = Literal["view", "cart_add", "purchase"]
SIGNAL_KINDS: tuple[str, ...] = ("view", "cart_add", "purchase")
DEFAULT_QUEUE = Settings.arq_queue_name


@dataclass(frozen=True)
class SignalPolicy:
    """Windows and thresholds of the demand counters."""

    window_seconds: int = 3600
    bucket_seconds: int = 300
    burst_window_seconds: int = 60
    burst_threshold: int = 15  # weighted signals within the burst window
    view_burst_weight: int = 1
    cart_add_burst_weight: int = 5
    debounce_ms: int = 5000  # at most one immediate reprice per lead per this interval

    @property
    def buckets(self) -> int:
        """Number of buckets in the window."""
        return max(1, self.window_seconds // self.bucket_seconds)


DEFAULT_SIGNAL_POLICY = SignalPolicy()


@dataclass(frozen=True)
class DirtyEntry:
    """A lead marked for repricing, with the score it had when read (for safe removal)."""

    lead_id: uuid.UUID
    score: int


def user_actor(user_id: uuid.UUID) -> str:
    """The actor name of a signed-in user (one vote per lead and window)."""
    return f"user:{user_id}"


def seen_key(lead_id: uuid.UUID | str, kind: str, actor: str) -> str:
    """Marker that this actor's signal of this kind on this lead was counted in the current window."""
    return f"aiq:demand:seen:{lead_id}:{kind}:{actor}"


# One round trip: skip an actor already counted in this window, else count, mark dirty, add to the burst.
_RECORD = """
if ARGV[8] == '1' and not redis.call('SET', KEYS[1], '1', 'NX', 'EX', ARGV[1]) then
  return -1
end
redis.call('HINCRBY', KEYS[2], ARGV[2], 1)
redis.call('EXPIRE', KEYS[2], ARGV[3])
redis.call('ZADD', KEYS[3], ARGV[5], ARGV[4])
local burst = redis.call('INCRBY', KEYS[4], ARGV[6])
redis.call('EXPIRE', KEYS[4], ARGV[7], 'NX')
return burst
"""


def demand_key(lead_id: uuid.UUID | str) -> str:
    """Hash of bucketed counters of one lead."""
    return f"aiq:demand:{lead_id}"


def burst_key(lead_id: uuid.UUID | str) -> str:
    """Short-window weighted counter of one lead."""
    return f"aiq:demand:burst:{lead_id}"


def debounce_key(lead_id: uuid.UUID | str) -> str:
    """Marker preventing repeated immediate reprices of one lead."""
    return f"aiq:pricing:debounce:{lead_id}"


def dirty_key(queue_name: str | None = None) -> str:
    """Sorted set of leads whose pricing inputs changed, per deployment (arq queue)."""
    return f"aiq:pricing:dirty:{queue_name or DEFAULT_QUEUE}"


async def record_signal(
    redis: Redis,
    lead_id: uuid.UUID,
    kind: SignalKind,
    *,
    queue_name: str | None = None,
    now: float | None = None,
    policy: SignalPolicy = DEFAULT_SIGNAL_POLICY,
    actor: str | None = None,
) -> bool:
    """Count one demand signal for a lead (call after the causing transaction commits).

    Pass ``queue_name=settings.arq_queue_name`` so the lead is marked dirty for, and an immediate
    reprice is enqueued on, this deployment's worker queue (default: the default queue name).
    With an ``actor`` (``user:<id>``, ``key:<id>``, ``ip:<addr>``), views and cart adds count once
    per actor, lead and window, so one account (or one address) cannot pump a price; purchases
    always count (each one is paid). Returns True when this signal enqueued an immediate reprice.
    """
    (enqueued,) = await record_signals(
        redis, [(lead_id, kind, actor)], queue_name=queue_name, now=now, policy=policy
    )
    return enqueued


async def record_signals(
    redis: Redis,
    signals: Sequence[tuple[uuid.UUID, SignalKind, str | None]],
    *,
    queue_name: str | None = None,
    now: float | None = None,
    policy: SignalPolicy = DEFAULT_SIGNAL_POLICY,
) -> list[bool]:
    """Count several (lead, kind, actor) signals in ONE pipelined round trip, each exactly as
    ``record_signal`` counts it; per signal, whether it enqueued an immediate reprice."""
    if not signals:
        return []
    try:
        async with redis.pipeline(transaction=False) as pipe:
            queue_signals(pipe, signals, queue_name=queue_name, now=now, policy=policy)
            replies = await pipe.execute()
    except RedisError:
        log.warning("could not record %d demand signal(s)", len(signals), exc_info=True)
        return [False] * len(signals)
    return await reprice_bursts(redis, signals, replies, queue_name=queue_name, policy=policy)


def queue_signals(
    pipe: Pipeline,
    signals: Sequence[tuple[uuid.UUID, SignalKind, str | None]],
    *,
    queue_name: str | None = None,
    now: float | None = None,
    policy: SignalPolicy = DEFAULT_SIGNAL_POLICY,
) -> None:
    """Put the counting of these signals on a pipeline (one reply each: the lead's burst weight,
    or -1 for a repeat), then the immediate reprice every purchase asks for (one reply each:
    whether it was enqueued); ``reprice_bursts`` takes the replies, in that order."""
    for _lead, kind, _actor in signals:
        if kind not in SIGNAL_KINDS:
            raise ValueError(f"unknown demand signal kind {kind!r}")
    ts = time.time() if now is None else now
    bucket = int(ts // policy.bucket_seconds)
    for lead_id, kind, actor in signals:
        weight = policy.cart_add_burst_weight if kind == "cart_add" else policy.view_burst_weight
        dedupe = actor is not None and kind != "purchase"
        pipe.eval(
            _RECORD,
            4,
            seen_key(lead_id, kind, actor or "-"),
            demand_key(lead_id),
            dirty_key(queue_name),
            burst_key(lead_id),
            str(policy.window_seconds),
            f"{kind}:{bucket}",
            str(policy.window_seconds + policy.bucket_seconds),
            str(lead_id),
            str(int(ts * 1000)),
            str(weight),
            str(policy.burst_window_seconds),
            "1" if dedupe else "0",
        )
    # a purchase is never a repeat: its reprice needs no reply first, and goes in the same trip
    purchased = [lead_id for lead_id, kind, _actor in signals if kind == "purchase"]
    queue_reprices(pipe, purchased, queue_name=queue_name, policy=policy)


async def reprice_bursts(
    redis: Redis,
    signals: Sequence[tuple[uuid.UUID, SignalKind, str | None]],
    replies: Sequence[Any],
    *,
    queue_name: str | None = None,
    policy: SignalPolicy = DEFAULT_SIGNAL_POLICY,
) -> list[bool]:
    """From the replies of ``queue_signals``: a burst of views and holds asks for an immediate
    reprice too (a purchase's went with the count), at most one per lead and interval; per
    signal, whether one was enqueued."""
    counts, purchased = list(replies[: len(signals)]), iter(replies[len(signals) :])
    if any(isinstance(reply, Exception) for reply in replies):
        log.warning("could not record %d demand signal(s): %r", len(signals), list(replies))
        return [False] * len(signals)
    bursting = [
        kind != "purchase" and int(result) >= 0 and int(result) >= policy.burst_threshold
        for (_lead, kind, _actor), result in zip(signals, counts, strict=True)
    ]
    reprice = [lead_id for (lead_id, _kind, _actor), burst in zip(signals, bursting, strict=True) if burst]
    try:
        enqueued = iter(await enqueue_reprices(redis, reprice, queue_name=queue_name, policy=policy))
    except RedisError:
        log.warning("could not enqueue reprices of %d lead(s)", len(reprice), exc_info=True)
        enqueued = iter([False] * len(reprice))
    return [
        bool(next(purchased)) if kind == "purchase" else next(enqueued) if burst else False
        for (_lead, kind, _actor), burst in zip(signals, bursting, strict=True)
    ]


def queue_reprices(
    pipe: Pipeline,
    lead_ids: Sequence[uuid.UUID],
    *,
    queue_name: str | None = None,
    policy: SignalPolicy = DEFAULT_SIGNAL_POLICY,
) -> None:
    """``enqueue_reprices``' commands on a pipeline (one reply per lead: whether it was enqueued)."""
    queue = queue_name or DEFAULT_QUEUE
    jobs = [(JobName.REPRICE_LEAD, (str(lead_id),), debounce_key(lead_id)) for lead_id in lead_ids]
    queue_debounced(pipe, pipe, queue, jobs, policy.debounce_ms)  # arq defaults, as enqueue_reprices


async def enqueue_reprices(
    redis: Redis,
    lead_ids: Sequence[uuid.UUID],
    *,
    queue_name: str | None = None,
    policy: SignalPolicy = DEFAULT_SIGNAL_POLICY,
) -> list[bool]:
    """Enqueue an immediate ``reprice_lead_job`` per lead (at most one per debounce interval per
    lead), all in one round trip; per lead, whether a job was enqueued."""
    queue = queue_name or DEFAULT_QUEUE
    jobs = [(JobName.REPRICE_LEAD, (str(lead_id),), debounce_key(lead_id)) for lead_id in lead_ids]
    return await enqueue_debounced(redis, queue, jobs, policy.debounce_ms)


async def read_demand(
    redis: Redis,
    lead_ids: Sequence[uuid.UUID],
    *,
    now: float | None = None,
    policy: SignalPolicy = DEFAULT_SIGNAL_POLICY,
) -> dict[uuid.UUID, DemandSignals]:
    """Demand of each lead over the sliding window, in one pipelined round trip.

    Counters of buckets that slid out of the window are deleted in a second pipeline.
    """
    if not lead_ids:
        return {}
    ts = time.time() if now is None else now
    oldest = int(ts // policy.bucket_seconds) - policy.buckets + 1
    async with redis.pipeline(transaction=False) as pipe:
        for lead_id in lead_ids:
            pipe.hgetall(demand_key(lead_id))
        hashes = cast(list[dict[Any, Any]], await pipe.execute())
    out: dict[uuid.UUID, DemandSignals] = {}
    stale: dict[uuid.UUID, list[str]] = {}
    for lead_id, fields in zip(lead_ids, hashes, strict=True):
        counts = dict.fromkeys(SIGNAL_KINDS, 0)
        for raw_field, raw_value in fields.items():
            name = _text(raw_field)
            kind, _, raw_bucket = name.partition(":")
            try:
                bucket = int(raw_bucket)
                value = int(raw_value)
            except ValueError:
                stale.setdefault(lead_id, []).append(name)
                continue
            if bucket < oldest or kind not in counts:
                stale.setdefault(lead_id, []).append(name)
            else:
                counts[kind] += value
        out[lead_id] = DemandSignals(
            views=counts["view"], cart_adds=counts["cart_add"], purchases=counts["purchase"]
        )
    if stale:
        async with redis.pipeline(transaction=False) as pipe:
            for lead_id, names in stale.items():
                pipe.hdel(demand_key(lead_id), *names)
            await pipe.execute()
    return out


async def mark_dirty(
    redis: Redis, lead_ids: Iterable[uuid.UUID], *, queue_name: str | None = None, now: float | None = None
) -> int:
    """Mark leads for repricing by the next cron run (e.g. after their facts changed)."""
    score = int((time.time() if now is None else now) * 1000)
    mapping: dict[str, int] = {str(lead_id): score for lead_id in lead_ids}
    if not mapping:
        return 0
    return int(await redis.zadd(dirty_key(queue_name), mapping))


async def dirty_batch(
    redis: Redis, *, queue_name: str | None, limit: int, up_to_ms: int, offset: int = 0
) -> list[DirtyEntry]:
    """Up to `limit` dirty leads marked at or before `up_to_ms`, oldest first."""
    rows = await redis.zrangebyscore(
        dirty_key(queue_name), "-inf", up_to_ms, start=offset, num=limit, withscores=True
    )
    entries: list[DirtyEntry] = []
    for member, score in rows:
        try:
            entries.append(DirtyEntry(uuid.UUID(_text(member)), int(score)))
        except ValueError:
            await redis.zrem(dirty_key(queue_name), member)  # not a lead id: drop it
    return entries


_CLEAR_IF_UNCHANGED = """
local removed = 0
for i = 1, #ARGV, 2 do
  local score = redis.call('ZSCORE', KEYS[1], ARGV[i])
  if score and tonumber(score) <= tonumber(ARGV[i + 1]) then
    redis.call('ZREM', KEYS[1], ARGV[i])
    removed = removed + 1
  end
end
return removed
"""


async def clear_dirty(redis: Redis, entries: Sequence[DirtyEntry], *, queue_name: str | None) -> int:
    """Unmark processed leads, except those marked again since they were read (one round trip)."""
    if not entries:
        return 0
    args: list[str] = []
    for entry in entries:
        args += [str(entry.lead_id), str(entry.score)]
    removed = await redis.eval(_CLEAR_IF_UNCHANGED, 1, dirty_key(queue_name), *args)  # type: ignore[misc]
    return int(removed)


async def dirty_count(redis: Redis, *, queue_name: str | None) -> int:
    """How many leads wait for repricing."""
    return int(await redis.zcard(dirty_key(queue_name)))


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value
