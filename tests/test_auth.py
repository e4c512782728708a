"""register → login → me over HTTP and websockets; typed errors for bad input and bad tokens."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import websockets
from aiqtest_support.live_server import api_process
from aiqtest_support.ws import GraphQLWebSocket

from aiqleads.domain.bootstrap import Deps
from aiqleads.domain.events import cart_channel, publish
from aiqleads.domain.settings import Settings
from aiqleads.domain.users.service import create_api_key
from aiqleads.domain.users.tokens import issue_token

REGISTER = """
mutation($input: RegisterInput!) {
  register(input: $input) { token user { id email name tier credits } errors { code message field } }
}"""
LOGIN = """
mutation($email: String!, $password: String!) {
  login(email: $email, password: $password) { token user { email } errors { code message field } }
}"""
ME = "query { me { id email name tier credits } }"


def _email() -> str:
    return f"auth-{uuid.uuid4().hex[:10]}@Example.com"


async def test_register_login_me(gql: Any) -> None:
    email = _email()
    reg = (await gql(REGISTER, {"input": {"email": email, "password": "s3cret-pass", "name": " Ada  L "}}))[
        "data"
    ]
    assert reg["register"]["errors"] == []
    assert reg["register"]["user"]["email"] == email.split("@")[0] + "@example.com"
    assert reg["register"]["user"]["name"] == "Ada L"
    assert reg["register"]["user"]["tier"] == "FREE"
    assert reg["register"]["user"]["credits"] == 0

    login = (await gql(LOGIN, {"email": email.lower(), "password": "s3cret-pass"}))["data"]["login"]
    assert login["errors"] == [] and login["token"]
    me = (await gql(ME, token=login["token"]))["data"]["me"]
    assert me["email"] == reg["register"]["user"]["email"]
    assert me["id"] == reg["register"]["user"]["id"]

    anonymous = (await gql(ME))["data"]["me"]
    assert anonymous is None


async def test_wrong_password_and_unknown_email_are_invalid_credentials(gql: Any) -> None:
    email = _email()
    await gql(REGISTER, {"input": {"email": email, "password": "s3cret-pass", "name": "Bo"}})
    for variables in (
        {"email": email, "password": "wrong-pass"},
        {"email": _email(), "password": "s3cret-pass"},
    ):
        login = (await gql(LOGIN, variables))["data"]["login"]
        assert login["token"] is None
        assert [e["code"] for e in login["errors"]] == ["INVALID_CREDENTIALS"]


@pytest.mark.parametrize(
    ("email", "password", "name", "code", "field"),
    [
        ("not-an-email", "s3cret-pass", "X", "INVALID_INPUT", "email"),
        ("a@b", "s3cret-pass", "X", "INVALID_INPUT", "email"),
        (None, "short", "X", "INVALID_INPUT", "password"),
        (None, "s3cret-pass", "   ", "INVALID_INPUT", "name"),
    ],
)
async def test_register_rejects_bad_input(
    gql: Any, email: str | None, password: str, name: str, code: str, field: str
) -> None:
    payload = {"email": email or _email(), "password": password, "name": name}
    result = (await gql(REGISTER, {"input": payload}))["data"]["register"]
    assert result["token"] is None
    assert [(e["code"], e["field"]) for e in result["errors"]] == [(code, field)]


async def test_duplicate_email_is_email_taken_even_when_racing(gql: Any) -> None:
    email = _email()
    variables = {"input": {"email": email, "password": "s3cret-pass", "name": "Dup"}}
    results = await asyncio.gather(*(gql(REGISTER, variables) for _ in range(5)))
    payloads = [r["data"]["register"] for r in results]
    winners = [p for p in payloads if p["token"]]
    assert len(winners) == 1
    assert all([e["code"] for e in p["errors"]] == ["EMAIL_TAKEN"] for p in payloads if not p["token"])
    again = (await gql(REGISTER, {"input": {**variables["input"], "email": email.upper()}}))["data"][
        "register"
    ]
    assert [e["code"] for e in again["errors"]] == ["EMAIL_TAKEN"]


async def test_malformed_json_body_is_a_typed_400(client: httpx.AsyncClient) -> None:
    for body in (b"{not json", b'"just a string"'):
        response = await client.post("/graphql", content=body, headers={"content-type": "application/json"})
        assert response.status_code == 400
        assert response.json()["errors"][0]["extensions"]["code"] == "INVALID_INPUT"


async def test_unknown_fields_and_arguments_are_validation_errors(gql: Any) -> None:
    body = await gql("query { me { id shoeSize } }", expect_errors=True)
    assert "shoeSize" in body["errors"][0]["message"]
    body = await gql(
        'mutation { register(input: {email: "a@example.com", password: "x", name: "y", age: 3}) { token } }',
        expect_errors=True,
    )
    assert "age" in body["errors"][0]["message"]
    assert all("Internal server error" not in e["message"] for e in body["errors"])


async def test_bad_bearer_token_is_refused_over_http(client: httpx.AsyncClient, settings: Settings) -> None:
    expired = issue_token(uuid.uuid4(), settings.jwt_secret, ttl_seconds=-10)
    forged = issue_token(uuid.uuid4(), "another-secret", ttl_seconds=600)
    for header in (f"Bearer {expired}", f"Bearer {forged}", "Bearer garbage", "Basic abc"):
        response = await client.post("/graphql", json={"query": ME}, headers={"Authorization": header})
        assert response.status_code == 401, header
        assert response.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


async def test_viewer_only_subscription_needs_a_token(client: httpx.AsyncClient, gql: Any) -> None:
    body = await gql("query { me { id } }")
    assert body["data"]["me"] is None


@pytest.fixture(scope="module")
def live_api(settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """One real API process for the websocket tests of this module."""
    with api_process(settings, Path(tmp_path_factory.mktemp("api"))) as base:
        yield base


CART_EVENTS = "subscription { cartEvents { kind leadId heldUntil cartExpiresAt at } }"


async def test_same_token_authorizes_a_websocket_subscription(gql: Any, live_api: str, deps: Deps) -> None:
    email = _email()
    token = (await gql(REGISTER, {"input": {"email": email, "password": "s3cret-pass", "name": "Ws"}}))[
        "data"
    ]["register"]["token"]
    me = (await gql(ME, token=token))["data"]["me"]
    ws = await GraphQLWebSocket.connect(live_api, {"authorization": f"Bearer {token}"})
    try:
        op = await ws.subscribe(CART_EVENTS)
        user_id = uuid.UUID(__import__("base64").urlsafe_b64decode(me["id"] + "==").decode().split(":")[1])
        # the subscription is live once the API process has registered it; publish until it arrives
        at = "2026-01-01T00:00:00+00:00"
        for _ in range(50):
            await publish(
                deps.redis, cart_channel(user_id), {"kind": "CART_EXPIRED", "lead_id": None, "at": at}
            )
            try:
                message = await asyncio.wait_for(ws.receive(), timeout=0.2)
                break
            except TimeoutError:
                continue
        else:
            pytest.fail("no cart event arrived over the websocket")
        assert message["id"] == op and message["type"] == "next"
        assert message["payload"]["data"]["cartEvents"]["kind"] == "CART_EXPIRED"
    finally:
        await ws.close()


async def test_bad_token_is_refused_on_websocket(live_api: str, settings: Settings) -> None:
    url = live_api.replace("http://", "ws://") + "/graphql"
    async with websockets.connect(url, subprotocols=["graphql-transport-ws"]) as conn:
        await conn.send(json.dumps({"type": "connection_init", "payload": {"authorization": "Bearer nope"}}))
        with pytest.raises(websockets.ConnectionClosed) as closed:
            await asyncio.wait_for(conn.recv(), timeout=5)
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 4403


@pytest.mark.parametrize("name", ["x-api-key", "X-API-Key", "X-Api-Key"])
async def test_websocket_api_key_is_read_in_any_capitalisation(live_api: str, deps: Deps, name: str) -> None:
    # GraphiQL's headers editor and browsers send header names as typed: X-API-Key must count
    async with deps.sessionmaker() as session, session.begin():
        _, secret = await create_api_key(session, f"ws-{uuid.uuid4().hex[:6]}")
    ws = await GraphQLWebSocket.connect(live_api, {name: secret})
    await ws.close()
    nested = await GraphQLWebSocket.connect(live_api, {"headers": {name: secret}})
    await nested.close()
    url = live_api.replace("http://", "ws://") + "/graphql"
    async with websockets.connect(url, subprotocols=["graphql-transport-ws"]) as conn:
        await conn.send(json.dumps({"type": "connection_init", "payload": {name: "aiq_revoked_or_made_up"}}))
        with pytest.raises(websockets.ConnectionClosed) as closed:
            await asyncio.wait_for(conn.recv(), timeout=5)
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 4403


async def test_anonymous_websocket_cannot_subscribe_to_cart_events(live_api: str) -> None:
    ws = await GraphQLWebSocket.connect(live_api)
    try:
        await ws.subscribe(CART_EVENTS)
        message = await asyncio.wait_for(ws.receive(), timeout=5)
        # graphql-transport-ws reports resolver errors as a result with errors ("next"), then completes
        errors = message["payload"]["errors"] if message["type"] == "next" else message["payload"]
        assert message["type"] in ("next", "error")
        assert errors[0]["extensions"]["code"] == "UNAUTHENTICATED"
    finally:
        await ws.close()


async def test_legacy_graphql_ws_protocol_is_served(live_api: str, gql: Any) -> None:
    token = (await gql(REGISTER, {"input": {"email": _email(), "password": "s3cret-pass", "name": "Old"}}))[
        "data"
    ]["register"]["token"]
    url = live_api.replace("http://", "ws://") + "/graphql"
    async with websockets.connect(url, subprotocols=["graphql-ws"]) as conn:
        await conn.send(
            json.dumps({"type": "connection_init", "payload": {"authorization": f"Bearer {token}"}})
        )
        ack = json.loads(await asyncio.wait_for(conn.recv(), timeout=5))
        assert ack["type"] == "connection_ack"
