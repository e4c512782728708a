"""The same limits over websockets, against a real `aiqleads serve`: the per-principal budget and
the cost limit apply to every operation; a token's expiry closes its connection (4401); caps on
subscriptions per connection and connections per user; no connection_init → closed."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import websockets
from aiqtest_support.live_server import api_process

from aiqleads.domain.settings import Settings
from aiqleads.domain.users.tokens import issue_token

BUDGET = 100
MAX_MESSAGE = 64 * 1024  # AIQ_MAX_BODY_BYTES: one websocket message is bounded like a body


@pytest.fixture(scope="module")
def server(settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """One API process with small websocket limits for the whole module."""
    with api_process(
        settings,
        tmp_path_factory.mktemp("ws-limits"),
        AIQ_RATE_LIMIT_PER_MINUTE=str(BUDGET),
        AIQ_MAX_QUERY_COST="10000",
        AIQ_MAX_SUBSCRIPTIONS_PER_CONNECTION="3",
        AIQ_MAX_CONNECTIONS_PER_USER="2",
        AIQ_WS_CONNECTION_INIT_TIMEOUT_SECONDS="1",
        AIQ_MAX_BODY_BYTES=str(MAX_MESSAGE),
    ) as base:
        yield base


async def _connect(base: str, token: str | None = None) -> Any:
    ws = await websockets.connect(
        base.replace("http://", "ws://") + "/graphql", subprotocols=["graphql-transport-ws"]
    )
    payload = {"authorization": f"Bearer {token}"} if token else {}
    await ws.send(json.dumps({"type": "connection_init", "payload": payload}))
    ack = json.loads(await asyncio.wait_for(ws.recv(), 10))
    assert ack["type"] == "connection_ack", ack
    return ws


async def _next(ws: Any, within: float = 10) -> dict[str, Any]:
    while True:
        message = json.loads(await asyncio.wait_for(ws.recv(), within))
        if message["type"] == "ping":
            await ws.send(json.dumps({"type": "pong"}))
            continue
        if message["type"] != "pong":
            return message  # type: ignore[no-any-return]


async def _run(ws: Any, op_id: str, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
    """Send one operation and return its first result message (next or error), skipping complete."""
    await ws.send(
        json.dumps(
            {"id": op_id, "type": "subscribe", "payload": {"query": query, "variables": variables or {}}}
        )
    )
    while True:
        message = await _next(ws)
        if message.get("id") == op_id and message["type"] in {"next", "error"}:
            return message


def _token(settings: Settings, user_id: uuid.UUID, ttl: int = 3600) -> str:
    return issue_token(user_id, settings.jwt_secret, ttl)


async def test_two_hundred_operations_over_one_socket_meet_the_budget(
    server: str, settings: Settings, make_user: Any
) -> None:
    if time.time() % 60 > 45:  # budgets are per calendar minute: start well inside one
        await asyncio.sleep(61 - time.time() % 60)
    user = await make_user()
    ws = await _connect(server, _token(settings, user.id))
    try:
        outcomes = [await _run(ws, str(i), "query { __typename }") for i in range(200)]
    finally:
        await ws.close()
    served = [m for m in outcomes if m["type"] == "next"]
    refused = [m for m in outcomes if m["type"] == "error"]
    assert len(served) == BUDGET and len(refused) == 200 - BUDGET
    assert all(m["payload"][0]["extensions"]["code"] == "RATE_LIMITED" for m in refused)
    assert all(1 <= m["payload"][0]["extensions"]["retryAfter"] <= 60 for m in refused)


async def test_the_cost_limit_applies_to_websocket_operations_with_their_variables(
    server: str, settings: Settings, make_user: Any
) -> None:
    user = await make_user()
    aliased = (
        "query Q($n: Int = 1) { "
        + " ".join(f"a{i}: leads(first: $n) {{ edges {{ node {{ id title price }} }} }}" for i in range(30))
        + " }"
    )
    ws = await _connect(server, _token(settings, user.id))
    try:
        refused = await _run(ws, "big", aliased, {"n": 100})
        fine = await _run(ws, "small", aliased, {"n": 1})
    finally:
        await ws.close()
    assert refused["type"] == "error"
    assert refused["payload"][0]["extensions"] == {
        "code": "COST_LIMIT_EXCEEDED",
        "cost": 15030,
        "limit": 10000,
    }
    assert fine["type"] == "next" and "errors" not in fine["payload"]


async def test_a_connection_closes_when_its_token_expires(
    server: str, settings: Settings, make_user: Any
) -> None:
    user = await make_user()
    ws = await _connect(server, _token(settings, user.id, ttl=2))
    try:
        sub = await _run(ws, "1", "query { me { id } }")
        assert sub["payload"]["data"]["me"] is not None
        started = time.monotonic()
        with pytest.raises(websockets.ConnectionClosed) as closed:
            while True:
                await _next(ws, within=10)
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 4401
        assert time.monotonic() - started < 6
    finally:
        await ws.close()


async def test_subscriptions_per_connection_are_capped(
    server: str, settings: Settings, make_user: Any
) -> None:
    user = await make_user()
    ws = await _connect(server, _token(settings, user.id))
    try:
        for i in range(3):
            await ws.send(
                json.dumps(
                    {
                        "id": f"s{i}",
                        "type": "subscribe",
                        "payload": {"query": "subscription { cartEvents { kind } }"},
                    }
                )
            )
        refused = await _run(ws, "s3", "subscription { cartEvents { kind } }")
    finally:
        await ws.close()
    assert refused["type"] == "error"
    assert "Subscription limit reached" in json.dumps(refused["payload"])


async def test_connections_per_user_are_capped_across_the_process(
    server: str, settings: Settings, make_user: Any
) -> None:
    user = await make_user()
    token = _token(settings, user.id)
    first, second = await _connect(server, token), await _connect(server, token)
    try:
        with pytest.raises((RuntimeError, AssertionError, websockets.ConnectionClosed)):
            third = await _connect(server, token)
            await third.close()
        # another user is not affected, and a closed connection frees its place
        other = await make_user()
        await (await _connect(server, _token(settings, other.id))).close()
        await first.close()
        await asyncio.sleep(0.3)
        again = await _connect(server, token)
        await again.close()
    finally:
        await first.close()
        await second.close()


async def test_a_message_larger_than_the_body_limit_closes_the_socket(
    server: str, settings: Settings, make_user: Any
) -> None:
    # a principal of its own: the other tests here spend the shared budgets of this module's server
    token = _token(settings, (await make_user()).id)
    ws = await _connect(server, token)
    query = "query { __typename }" + " " * MAX_MESSAGE
    await ws.send(json.dumps({"id": "1", "type": "subscribe", "payload": {"query": query}}))
    with pytest.raises(websockets.ConnectionClosed) as closed:
        await _next(ws)
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 1009  # message too big
    ws = await _connect(server, token)  # the server itself goes on
    try:
        await ws.send(json.dumps({"id": "1", "type": "subscribe", "payload": {"query": "{ __typename }"}}))
        assert (await _next(ws))["payload"]["data"] == {"__typename": "Query"}
    finally:
        await ws.close()


async def test_a_socket_that_never_initialises_is_closed(server: str) -> None:
    ws = await websockets.connect(
        server.replace("http://", "ws://") + "/graphql", subprotocols=["graphql-transport-ws"]
    )
    started = time.monotonic()
    with pytest.raises(websockets.ConnectionClosed) as closed:
        await asyncio.wait_for(ws.recv(), 10)
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 4408
    assert time.monotonic() - started < 5


async def test_connection_leases_cap_every_kind_of_principal(app: Any) -> None:
    from aiqleads.ws_sessions import WebsocketSession

    class Socket:
        application_state = None

    redis = app.state.deps.redis
    for principal in (f"ip:198.51.100.{uuid.uuid4().int % 250}-{uuid.uuid4().hex}", f"key:{uuid.uuid4()}"):
        sessions = [WebsocketSession(redis, Socket(), principal, None) for _ in range(3)]  # type: ignore[arg-type]
        taken = [await s.acquire(2) for s in sessions]
        assert taken == [True, True, False], principal
        await sessions[0].end()  # a closed connection gives its place back at once
        assert await sessions[2].acquire(2)
        for s in sessions[1:]:
            await s.end()
