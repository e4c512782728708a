"""Cross-process event fan-out through Redis pub/sub.

Publishers (API processes and workers) PUBLISH JSON to a channel after their transaction commits:
use cases record ``uow.publish(channel, payload)`` on their unit of work (domain/unit_of_work.py).
Each API process keeps ONE Redis subscription (pattern ``aiq:*``) and fans each message out to a
registry of local subscriptions, so N websocket subscribers cost one Redis connection, not N.

An idle local subscription is one small slotted object in that registry (no queue, no task of its
own: the consumer's task waits on a single future). Events are parsed once per message and the
same payload dict is handed to every subscriber of the channel, so a backlog costs a pointer per
event. A consumer that falls behind keeps at most ``QUEUE_SIZE`` events and loses the oldest
beyond that (drop-oldest): a stalled client can neither stall the others nor grow memory.

A channel can also have listeners: objects handed each payload as it arrives, for fan-outs that
keep their own registry of subscriptions (the API's shared subscriptions,
``schema.shared_subscriptions``); a listener counts the subscriptions it serves.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections import deque
from collections.abc import AsyncIterator, Callable
from typing import Any, Protocol

from redis.asyncio import Redis

log = logging.getLogger(__name__)

CHANNEL_PREFIX = "aiq:"
QUEUE_SIZE = 1000  # events kept for a consumer that is behind (pointers to shared payloads)


def cart_channel(user_id: object) -> str:
    """Channel carrying one user's cart events."""
    return f"{CHANNEL_PREFIX}cart:{user_id}"


PRICE_CHANNEL = f"{CHANNEL_PREFIX}price"
NEW_LEADS_CHANNEL = f"{CHANNEL_PREFIX}newleads"


async def publish(redis: Redis, channel: str, payload: dict[str, Any]) -> None:
    """Publish one event now (use cases record events on their unit of work instead)."""
    await redis.publish(channel, json.dumps(payload, default=str))


class HubListener(Protocol):
    """Something that takes a channel's payloads itself (see ``EventHub.listen``)."""

    def deliver(self, payload: dict[str, Any]) -> None:
        """Take one payload (at once: the hub's task calls it)."""

    def __len__(self) -> int:
        """The subscriptions it serves."""
        ...


class _Subscription:
    """One local subscriber: events not yet consumed, and the consumer's wake-up future."""

    __slots__ = ("first", "more", "waiter")

    def __init__(self) -> None:
        # the next event, then a deque only when several wait: an idle or keeping-up consumer
        # allocates nothing per event (a fan-out to 5,000 makes every per-subscriber object count)
        self.first: dict[str, Any] | None = None
        self.more: deque[dict[str, Any]] | None = None
        self.waiter: asyncio.Future[None] | None = None

    def push(self, payload: dict[str, Any]) -> None:
        """Queue one event (dropping the oldest past QUEUE_SIZE) and wake the consumer."""
        if self.first is None:
            self.first = payload
        else:
            if self.more is None:
                self.more = deque(maxlen=QUEUE_SIZE - 1)
            elif len(self.more) == QUEUE_SIZE - 1:
                self.first = self.more.popleft()  # drop-oldest: ``first`` is the oldest of all
            self.more.append(payload)
        waiter = self.waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    def pop(self) -> dict[str, Any] | None:
        """The oldest waiting event, or None."""
        payload = self.first
        if payload is not None:
            more = self.more
            if more:
                self.first = more.popleft()
            else:
                self.first = self.more = None
        return payload

    @property
    def backlog(self) -> int:
        """Events waiting to be consumed."""
        if self.first is None:
            return 0
        return 1 + (len(self.more) if self.more is not None else 0)


class EventHub:
    """One per process: a single Redis pattern subscription fanned out to local subscribers."""

    def __init__(self, redis: Redis) -> None:
        self._redis = redis
        self._subscribers: dict[str, set[_Subscription]] = {}
        self._listeners: dict[str, set[HubListener]] = {}
        self._task: asyncio.Task[None] | None = None
        self._ready = asyncio.Event()

    @property
    def subscriber_count(self) -> int:
        """Number of live local subscriptions (for metrics and tests)."""
        subscribers = sum(len(subs) for subs in self._subscribers.values())
        return subscribers + sum(len(lis) for group in self._listeners.values() for lis in group)

    @property
    def channel_count(self) -> int:
        """Number of channels with at least one local subscriber (the fan-out registry's size)."""
        return len(self._subscribers.keys() | self._listeners.keys())

    def backlogs(self, channel: str) -> list[int]:
        """Events waiting for each local subscriber of a channel (tests: a slow consumer is bounded)."""
        return [sub.backlog for sub in self._subscribers.get(channel, ())]

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
        self._subscribers.clear()

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

    def listen(self, channel: str, listener: HubListener) -> Callable[[], None]:
        """Hand every payload published on the channel to ``listener.deliver`` (which must not
        block); returns the function that stops it."""
        self._listeners.setdefault(channel, set()).add(listener)

        def stop() -> None:
            listeners = self._listeners.get(channel)
            if listeners is not None:
                listeners.discard(listener)
                if not listeners:
                    del self._listeners[channel]

        return stop

    def _dispatch(self, channel: str, data: str) -> None:
        subscribers = self._subscribers.get(channel)
        listeners = self._listeners.get(channel)
        if not subscribers and not listeners:
            return
        try:
            payload = json.loads(data)
        except ValueError:
            log.warning("dropping non-JSON event on %s", channel)
            return
        if not isinstance(payload, dict):  # every event is an object; None also means "no event"
            log.warning("dropping a non-object event on %s", channel)
            return
        for subscriber in tuple(subscribers or ()):
            subscriber.push(payload)
        for listener in tuple(listeners or ()):
            try:
                listener.deliver(payload)
            except Exception:  # one listener's failure must not stop delivery to the others
                log.exception("an event listener of %s failed", channel)

    async def subscribe(self, channel: str) -> AsyncIterator[dict[str, Any]]:
        """Yield events published on a channel until the consumer stops iterating."""
        subscriber = _Subscription()
        self._subscribers.setdefault(channel, set()).add(subscriber)
        try:
            while True:
                payload = subscriber.pop()
                if payload is not None:
                    yield payload
                    continue
                subscriber.waiter = asyncio.get_running_loop().create_future()
                try:
                    await subscriber.waiter
                finally:
                    subscriber.waiter = None
        finally:
            subscribers = self._subscribers.get(channel)
            if subscribers is not None:
                subscribers.discard(subscriber)
                if not subscribers:
                    del self._subscribers[channel]


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value
