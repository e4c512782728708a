"""cartEvents over a real websocket: the viewer's own events only, cleaned up on disconnect."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any

from aiqtest_support.cartkit import (
    ADD,
    CART_EVENTS,
    CHECKOUT,
    EXTEND,
    REMOVE,
    lead_gid,
    next_cart_event,
    wait_for,
)
from aiqtest_support.ws import GraphQLWebSocket
from starlette.applications import Starlette

CITY = dict(city="Eventon", zip="73366")


@contextlib.asynccontextmanager
async def _subscriber(url: str, token: str | None) -> AsyncIterator[GraphQLWebSocket]:
    params = {"authorization": f"Bearer {token}"} if token else {}
    ws = await GraphQLWebSocket.connect(url, params)
    try:
        await ws.subscribe(CART_EVENTS)
        yield ws
    finally:
        await ws.close()


async def test_viewer_gets_own_events_only_and_subscriptions_clean_up(
    live_url: str, app: Starlette, gql: Any, buyers: Any, make_lead: Any
) -> None:
    hub = app.state.deps.hub
    baseline = hub.subscriber_count
    alice, bob = await buyers(tier="PRO", credits=100), await buyers(credits=500)
    lead, other = await make_lead(**CITY), await make_lead(**CITY)
    async with _subscriber(live_url, alice.token) as alice_ws, _subscriber(live_url, bob.token) as bob_ws:
        assert await wait_for(lambda: hub.subscriber_count == baseline + 2, 5)

        await gql(ADD, {"id": lead_gid(lead.id)}, token=alice.token)
        created = await next_cart_event(alice_ws)
        assert created["kind"] == "HOLD_CREATED" and created["leadId"] == lead_gid(lead.id)
        held_until, cart_expires = (
            datetime.fromisoformat(created["heldUntil"]),
            datetime.fromisoformat(created["cartExpiresAt"]),
        )
        assert (cart_expires - held_until).total_seconds() == 600 and created["at"]

        await gql(EXTEND, {"id": lead_gid(lead.id)}, token=alice.token)
        extended = await next_cart_event(alice_ws)
        assert extended["kind"] == "HOLD_EXTENDED"
        assert (datetime.fromisoformat(extended["heldUntil"]) - held_until).total_seconds() == 300

        await gql(ADD, {"id": lead_gid(other.id)}, token=alice.token)
        assert (await next_cart_event(alice_ws))["kind"] == "HOLD_CREATED"
        await gql(REMOVE, {"id": lead_gid(other.id)}, token=alice.token)
        released = await next_cart_event(alice_ws)
        assert released["kind"] == "HOLD_RELEASED" and released["leadId"] == lead_gid(other.id)
        assert released["cartExpiresAt"] is not None  # the other hold keeps the cart alive

        await gql(CHECKOUT, {"key": uuid.uuid4().hex}, token=alice.token)
        checked_out = await next_cart_event(alice_ws)
        assert checked_out["kind"] == "CHECKED_OUT" and checked_out["leadId"] is None

        with contextlib.suppress(asyncio.TimeoutError):
            leaked = await asyncio.wait_for(bob_ws.receive(), 1.0)
            raise AssertionError(f"bob received alice's event: {leaked}")
    assert await wait_for(lambda: hub.subscriber_count == baseline, 5), hub.subscriber_count


async def test_abrupt_disconnect_and_unauthenticated_subscription(
    live_url: str, app: Starlette, buyers: Any
) -> None:
    hub = app.state.deps.hub
    baseline = hub.subscriber_count
    user = await buyers(credits=500)
    sockets = []
    for _ in range(3):
        ws = await GraphQLWebSocket.connect(live_url, {"authorization": f"Bearer {user.token}"})
        await ws.subscribe(CART_EVENTS)
        sockets.append(ws)
    assert await wait_for(lambda: hub.subscriber_count == baseline + 3, 5)
    for ws in sockets:
        ws.connection.transport.abort()  # no close handshake, like a dropped mobile connection
    assert await wait_for(lambda: hub.subscriber_count == baseline, 5), hub.subscriber_count

    async with _subscriber(live_url, None) as anonymous:
        message = await asyncio.wait_for(anonymous.receive(), 5)
    assert (
        message["type"] == "next"
        and message["payload"]["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    )
    assert hub.subscriber_count == baseline
