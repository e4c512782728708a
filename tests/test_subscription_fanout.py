"""One shared fan-out per process: many local subscribers share the process's single Redis
subscription; unsubscribing or disconnecting removes them from the registry; a consumer that
stalls keeps a bounded backlog (drop-oldest) and cannot hold up the others; an idle websocket
subscriber costs no task beyond the connection's and its operation's."""

from __future__ import annotations

import asyncio
import contextlib
import json
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

from aiqtest_support.cartkit import wait_for
from aiqtest_support.ws import GraphQLWebSocket
from starlette.applications import Starlette

from aiqleads.domain.events import PRICE_CHANNEL, QUEUE_SIZE, EventHub, cart_channel
from aiqleads.domain.pricing.service import PriceChange, publish_changes
from aiqleads.resolvers.ids import to_global_id

PRICE_CHANGED = "subscription($ids: [ID!]) { priceChanged(leadIds: $ids) { leadId newPrice } }"


class _CountingRedis:
    """The real Redis client, counting the pub/sub connections and subscriptions asked of it."""

    def __init__(self, redis: Any) -> None:
        self._redis = redis
        self.pubsubs: list[Any] = []
        self.subscribe_calls = 0

    def pubsub(self) -> Any:
        pubsub = self._redis.pubsub()
        self.pubsubs.append(pubsub)
        spy = self
        for name in ("subscribe", "psubscribe"):
            real = getattr(pubsub, name)

            async def counted(*args: Any, _real: Any = real, **kwargs: Any) -> Any:
                spy.subscribe_calls += 1
                return await _real(*args, **kwargs)

            setattr(pubsub, name, counted)
        return pubsub


@contextlib.asynccontextmanager
async def _hub(redis: Any) -> AsyncIterator[tuple[EventHub, _CountingRedis]]:
    counting = _CountingRedis(redis)
    hub = EventHub(counting)  # type: ignore[arg-type]
    await hub.start()
    try:
        yield hub, counting
    finally:
        await hub.stop()


async def _start(hub: EventHub, channel: str, into: list[dict[str, Any]]) -> asyncio.Task[None]:
    async def consume() -> None:
        async for event in hub.subscribe(channel):
            into.append(event)

    return asyncio.create_task(consume())


async def _redis_client_entry(redis: Any, pubsub: Any) -> dict[str, str]:
    """The CLIENT LIST entry of a pub/sub object's connection (found by its local port)."""
    port = pubsub.connection._writer.get_extra_info("sockname")[1]
    for line in (await redis.execute_command("CLIENT", "LIST", "TYPE", "pubsub")).splitlines():
        text = line.decode() if isinstance(line, bytes) else line
        fields = dict(item.split("=", 1) for item in text.split(" ") if "=" in item)
        if fields.get("addr", "").endswith(f":{port}"):
            return fields
    raise AssertionError("the hub's pub/sub connection is not in CLIENT LIST")


async def test_many_subscribers_share_one_redis_subscription_and_leave_no_entry(deps: Any) -> None:
    async with _hub(deps.redis) as (hub, counting):
        user_channels = [cart_channel(uuid.uuid4()) for _ in range(5)]
        received: dict[str, list[list[dict[str, Any]]]] = {}
        tasks = []
        for channel in [PRICE_CHANNEL, *user_channels]:
            for _ in range(100 if channel == PRICE_CHANNEL else 3):
                into: list[dict[str, Any]] = []
                received.setdefault(channel, []).append(into)
                tasks.append(await _start(hub, channel, into))
        assert await wait_for(lambda: hub.subscriber_count == 115, 5)
        assert hub.channel_count == 6

        # one connection, one pattern subscription, whatever the number of subscribers or channels
        assert len(counting.pubsubs) == 1 and counting.subscribe_calls == 1
        entry = await _redis_client_entry(deps.redis, counting.pubsubs[0])
        assert (entry["psub"], entry["sub"]) == ("1", "0"), entry

        await deps.redis.publish(PRICE_CHANNEL, json.dumps({"n": 1}))
        await deps.redis.publish(user_channels[0], json.dumps({"n": 2}))
        assert await wait_for(lambda: all(len(r) == 1 for r in received[PRICE_CHANNEL]), 5)
        assert await wait_for(lambda: all(len(r) == 1 for r in received[user_channels[0]]), 5)
        assert all(r == [] for channel in user_channels[1:] for r in received[channel])
        shared = received[PRICE_CHANNEL][0][0]
        assert all(r[0] is shared for r in received[PRICE_CHANNEL])  # parsed once, not per subscriber

        for task in tasks:  # a disconnect cancels the operation: its entry leaves the registry
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        assert hub.subscriber_count == 0 and hub.channel_count == 0


async def test_closing_a_subscription_unregisters_it_at_once(deps: Any) -> None:
    async with _hub(deps.redis) as (hub, _):
        events = hub.subscribe(PRICE_CHANNEL)
        waiting = asyncio.create_task(anext(events))
        assert await wait_for(lambda: hub.subscriber_count == 1, 5)
        await deps.redis.publish(PRICE_CHANNEL, json.dumps({"n": 1}))
        assert (await asyncio.wait_for(waiting, 5)) == {"n": 1}
        await events.aclose()
        assert hub.subscriber_count == 0 and hub.channel_count == 0


async def test_a_stalled_consumer_keeps_a_bounded_backlog_and_does_not_delay_others(deps: Any) -> None:
    async with _hub(deps.redis) as (hub, _):
        stalled = hub.subscribe(PRICE_CHANNEL)
        first = asyncio.create_task(anext(stalled))  # registered, then never read again
        live: list[dict[str, Any]] = []
        task = await _start(hub, PRICE_CHANNEL, live)
        assert await wait_for(lambda: hub.subscriber_count == 2, 5)

        total, burst = QUEUE_SIZE + 250, 250  # bursts the live consumer keeps up with
        for start in range(0, total, burst):
            async with deps.redis.pipeline(transaction=False) as pipe:
                for n in range(start, start + burst):
                    pipe.publish(PRICE_CHANNEL, json.dumps({"n": n}))
                await pipe.execute()
            expected = start + burst
            assert await wait_for(lambda: len(live) == expected, 10), len(live)  # noqa: B023
            assert max(hub.backlogs(PRICE_CHANNEL)) <= QUEUE_SIZE

        assert [event["n"] for event in live] == list(range(total))  # the live one lost nothing
        assert (await first) == {"n": 0}
        assert hub.backlogs(PRICE_CHANNEL) in ([QUEUE_SIZE, 0], [0, QUEUE_SIZE])
        # drop-oldest: what the stalled consumer still gets is the newest QUEUE_SIZE events
        assert (await anext(stalled))["n"] == total - QUEUE_SIZE
        await stalled.aclose()
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        assert hub.subscriber_count == 0


def _server_tasks() -> list[str]:
    """Tasks of this loop, except the websocket clients' own (the test's clients run here too)."""
    names = [repr(task.get_coro()) for task in asyncio.all_tasks()]
    return [name for name in names if "websockets/asyncio" not in name and " Connection." not in name]


async def test_websocket_subscribers_share_the_hub_and_cost_no_task_of_their_own(
    live_url: str, app: Starlette
) -> None:
    hub = app.state.deps.hub
    baseline_subs, baseline_tasks = hub.subscriber_count, len(_server_tasks())
    lead = uuid.uuid4()
    sockets = [await GraphQLWebSocket.connect(live_url) for _ in range(10)]
    try:
        for ws in sockets:
            for _ in range(2):
                await ws.subscribe(PRICE_CHANGED, {"ids": [to_global_id("Lead", lead)]})
        assert await wait_for(lambda: hub.subscriber_count == baseline_subs + 20, 10)
        await asyncio.sleep(0.2)  # init-timeout tasks finish their cancellation
        # per connection: uvicorn's ASGI task; per subscription: Strawberry's operation task.
        # No per-connection watchdog, no per-subscriber relay task.
        assert len(_server_tasks()) - baseline_tasks <= 10 + 20 + 1, _server_tasks()

        change = PriceChange(lead, 40, 44, datetime.now(UTC), 32.78, -96.8)
        await publish_changes(app.state.deps.redis, [change])
        for ws in sockets:
            got = [await asyncio.wait_for(ws.receive(), 5) for _ in range(2)]
            assert all(m["type"] == "next" and m["payload"]["data"]["priceChanged"]["newPrice"] for m in got)
    finally:
        for ws in sockets:
            await ws.close()
    assert await wait_for(lambda: hub.subscriber_count == baseline_subs, 10), hub.subscriber_count
