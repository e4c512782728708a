"""Shared subscriptions: websocket subscriptions to a hub feed are records grouped by what they
would be sent (query, variables, viewer), executed once per group and event, delivered to every
member with its own operation id; a viewer never shares a group with another; `complete` and a
dropped socket end them; a slow socket keeps a bounded backlog, in order, and costs no task
unless a send has to wait."""

from __future__ import annotations

import asyncio
import json
import uuid
from datetime import UTC, datetime
from typing import Any

from aiqtest_support.cartkit import wait_for
from aiqtest_support.ws import GraphQLWebSocket
from starlette.applications import Starlette

from aiqleads.domain.core.visibility import viewer_price
from aiqleads.domain.pricing.service import PriceChange, publish_changes
from aiqleads.resolvers.ids import to_global_id
from aiqleads.schema.pipeline import GatedSchema
from aiqleads.schema.shared_subscriptions import BACKLOG, SharedSubscriptions, _Sink

PRICE = "subscription($ids: [ID!]) { priceChanged(leadIds: $ids) { leadId oldPrice newPrice } }"


def _shared(app: Starlette) -> SharedSubscriptions:
    schema = app._graphql.schema  # type: ignore[attr-defined]
    assert isinstance(schema, GatedSchema)
    return schema.shared_subscriptions(app.state.deps.hub)


async def _next(ws: GraphQLWebSocket) -> dict[str, Any]:
    message = await asyncio.wait_for(ws.receive(), 5)
    assert message["type"] == "next", message
    return message


async def test_equal_subscriptions_share_one_execution_and_viewers_never_share(
    live_url: str, app: Starlette, make_user: Any
) -> None:
    shared, hub = _shared(app), app.state.deps.hub
    groups, subscribers = shared.group_count, hub.subscriber_count
    lead, other = uuid.uuid4(), uuid.uuid4()
    ids = {"ids": [to_global_id("Lead", lead)]}
    pro = await make_user(tier="PRO")
    anonymous = [await GraphQLWebSocket.connect(live_url) for _ in range(4)]
    signed_in = [await GraphQLWebSocket.connect(live_url, {"authorization": f"Bearer {pro.token}"})]
    elsewhere = await GraphQLWebSocket.connect(live_url)
    sockets = [*anonymous, *signed_in, elsewhere]
    try:
        ops = {}
        for ws in anonymous:
            await ws.subscribe(PRICE, ids)  # op "1" on each socket
            ops[ws] = await ws.subscribe(PRICE, ids)  # and op "2": the same group, twice per socket
        ops[signed_in[0]] = await signed_in[0].subscribe(PRICE, ids)
        await elsewhere.subscribe(PRICE, {"ids": [to_global_id("Lead", other)]})
        assert await wait_for(lambda: hub.subscriber_count == subscribers + 10, 10)
        # the anonymous ones share; the PRO user and the other lead's watcher each have their own
        assert shared.group_count == groups + 3

        await publish_changes(
            app.state.deps.redis, [PriceChange(lead, 40, 44, datetime.now(UTC), 32.7, -96.8)]
        )
        for ws in anonymous:
            got = sorted([await _next(ws), await _next(ws)], key=lambda m: m["id"])
            assert [m["id"] for m in got] == ["1", "2"]
            assert all(m["payload"]["data"]["priceChanged"]["newPrice"] == 44 for m in got)
        pro_change = (await _next(signed_in[0]))["payload"]["data"]["priceChanged"]
        assert pro_change["newPrice"] == viewer_price(44, "PRO") and pro_change["oldPrice"] == viewer_price(
            40, "PRO"
        )
        assert viewer_price(44, "PRO") != 44  # the PRO discount shows, so it was not the anonymous group's
        with_nothing = asyncio.wait_for(elsewhere.receive(), 0.5)
        try:
            await with_nothing
            raise AssertionError("a watcher of another lead got the change")
        except TimeoutError:
            pass

        # `complete` ends one member; the group lives on for the others
        await anonymous[0].connection.send(json.dumps({"id": ops[anonymous[0]], "type": "complete"}))
        assert await wait_for(lambda: hub.subscriber_count == subscribers + 9, 5)
        assert shared.group_count == groups + 3
    finally:
        for ws in sockets:
            await ws.close()
    assert await wait_for(lambda: hub.subscriber_count == subscribers, 10), hub.subscriber_count
    assert shared.group_count == groups


async def test_a_dropped_socket_leaves_its_group(live_url: str, app: Starlette) -> None:
    shared, hub = _shared(app), app.state.deps.hub
    groups, subscribers = shared.group_count, hub.subscriber_count
    ws = await GraphQLWebSocket.connect(live_url)
    await ws.subscribe(PRICE, {"ids": [to_global_id("Lead", uuid.uuid4())]})
    assert await wait_for(lambda: hub.subscriber_count == subscribers + 1, 5)
    ws.connection.transport.abort()  # no close handshake
    assert await wait_for(lambda: hub.subscriber_count == subscribers, 5)
    assert shared.group_count == groups


async def test_a_socket_that_takes_frames_at_once_costs_no_task() -> None:
    sent: list[str] = []

    async def send_text(frame: str) -> None:
        sent.append(frame)

    sink = _Sink("7", send_text)
    sink.offer('{"data":1}')
    assert sink.sending is None  # sent eagerly, no task
    assert [json.loads(frame) for frame in sent] == [{"id": "7", "type": "next", "payload": {"data": 1}}]


async def test_a_slow_socket_keeps_a_bounded_backlog_in_order() -> None:
    writable = asyncio.Event()
    sent: list[int] = []

    async def send_text(frame: str) -> None:
        await writable.wait()  # a paused transport, as uvicorn's send waits for it
        sent.append(json.loads(frame)["payload"])

    sink = _Sink("1", send_text)
    for n in range(BACKLOG + 50):
        sink.offer(str(n))
    assert sink.sending is not None and sent == []
    writable.set()
    assert await wait_for(lambda: sink.sending is None, 5)
    # the first frame (already being written), then the newest BACKLOG in order: the oldest dropped
    assert sent == [0, *range(50, BACKLOG + 50)]
    sink.offer("999")
    assert sent[-1] == 999 and sink.sending is None


async def test_ending_a_waiting_send_unwinds_it() -> None:
    never = asyncio.Event()
    finished: list[str] = []

    async def send_text(frame: str) -> None:
        try:
            await never.wait()
        finally:
            finished.append(frame)

    sink = _Sink("1", send_text)
    sink.offer("1")
    task = sink.sending
    assert task is not None
    sink.close()
    await asyncio.gather(task, return_exceptions=True)
    assert finished and sink.sending is None
