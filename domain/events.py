"""Cross-process event fan-out through Redis pub/sub.

Publishers (API processes and workers) PUBLISH JSON to a channel after their transaction commits:
use cases record ``uow.publish(channel, payload)`` on their unit of work (domain/unit_of_work.py).
Each API process keeps ONE Redis subscription (pattern ``aiq:*``) and hands messages to local
asyncio queues, so N websocket subscribers cost one Redis connection, not N.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections import defaultdict
from collections.abc import AsyncIterator
from typing import Any

from redis.asyncio import Redis

log = logging.getLogger(__name__)

CHANNEL_PREFIX = "aiq:"
QUEUE_SIZE = 1000


def cart_channel(user_id: object) -> str:
    """Channel carrying one user's cart events."""
    return f"{CHANNEL_PREFIX}cart:{user_id}"


PRICE_CHANNEL = f"{CHANNEL_PREFIX}price"
NEW_LEADS_CHANNEL = f"{CHANNEL_PREFIX}newleads"


async def publish(redis: Redis, channel: str, payload: dict[str, Any]) -> None:
    """Publish one event now (use cases record events on their unit of work instead)."""
    await redis.publish(channel, json.dumps(payload, default=str))


class EventHub:
    """One per process: a single Redis pattern subscription fanned out to local queues."""

    def __init__(self, redis: Redis) -> None:
        self._redis = redis
        self._queues: dict[str, set[asyncio.Queue[dict[str, Any]]]] = defaultdict(set)
        self._task: asyncio.Task[None] | None = None
        self._ready = asyncio.Event()

    @property
    def subscriber_count(self) -> int:
        """Number of live local subscriptions (for metrics and tests)."""
        return sum(len(q) for q in self._queues.values())

    async def start(self) -> None:
        """Begin listening; returns once the Redis subscription is active."""
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="event-hub")
        await asyncio.wait_for(self._ready.wait(), timeout=10)

    async def stop(self) -> None:
        """Stop listening and drop every local subscription."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        self._queues.clear()

    async def _run(self) -> None:
        while True:
            pubsub = self._redis.pubsub()
            try:
                await pubsub.psubscribe(f"{CHANNEL_PREFIX}*")
                self._ready.set()
                async for message in pubsub.listen():
                    if message.get("type") != "pmessage":
                        continue
                    self._dispatch(_text(message["channel"]), _text(message["data"]))
            except asyncio.CancelledError:
                raise
            except Exception:  # a dropped Redis connection must not end delivery for good
                log.exception("event hub lost its Redis subscription; reconnecting")
                await asyncio.sleep(0.5)
            finally:
                with contextlib.suppress(Exception):
                    await pubsub.aclose()  # type: ignore[no-untyped-call]

    def _dispatch(self, channel: str, data: str) -> None:
        queues = self._queues.get(channel)
        if not queues:
            return
        try:
            payload = json.loads(data)
        except ValueError:
            log.warning("dropping non-JSON event on %s", channel)
            return
        for queue in list(queues):
            if queue.full():  # a stalled client loses its oldest event rather than stalling everyone
                with contextlib.suppress(asyncio.QueueEmpty):
                    queue.get_nowait()
            queue.put_nowait(payload)

    async def subscribe(self, channel: str) -> AsyncIterator[dict[str, Any]]:
        """Yield events published on a channel until the consumer stops iterating."""
        queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue(maxsize=QUEUE_SIZE)
        self._queues[channel].add(queue)
        try:
            while True:
                yield await queue.get()
        finally:
            self._queues[channel].discard(queue)
            if not self._queues[channel]:
                del self._queues[channel]


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value
