"""Abuse resistance at the HTTP edge: cost-weighted budgets, sign-in throttles, cost with real
variables, bounded bodies, typed 503s, and metric labels from a closed set."""

from __future__ import annotations

import asyncio
import random
import re
import threading
import time
import uuid
from collections.abc import AsyncIterator
from typing import Any

import graphql
import httpx
import pytest
import pytest_asyncio
from asgi_lifespan import LifespanManager

from aiqleads.app import create_app
from aiqleads.domain.settings import Settings
from aiqleads.domain.users import passwords
from aiqleads.resolvers.client_address import client_address

LOGIN = (
    "mutation L($e: String!, $p: String!) "
    "{ login(email: $e, password: $p) { token errors { code message } } }"
)
REGISTER = (
    'mutation R($e: String!) { register(input: { email: $e, password: "correct horse battery", '
    'name: "Abuser" }) { token errors { code message } } }'
)


def _ip() -> str:
    """A random documentation-range client address, so counters never collide across runs."""
    return f"198.51.{random.randrange(256)}.{random.randrange(1, 255)}"


class Client:
    """An in-process client of a dedicated app, speaking through a trusted proxy from one address."""

    def __init__(self, http: httpx.AsyncClient, ip: str) -> None:
        self.http = http
        self.ip = ip

    async def post(
        self, query: str, variables: dict[str, Any] | None = None, **headers: str
    ) -> httpx.Response:
        return await self.http.post(
            "/graphql",
            json={"query": query, "variables": variables or {}},
            headers={"x-forwarded-for": self.ip, **headers},
        )


async def _app_client(settings: Settings, **changes: Any) -> AsyncIterator[Client]:
    app = create_app(settings.replace(trusted_proxies=("127.0.0.1",), **changes))
    async with LifespanManager(app):
        transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 5555))
        async with httpx.AsyncClient(transport=transport, base_url="http://t", timeout=30) as http:
            yield Client(http, _ip())


@pytest_asyncio.fixture(loop_scope="session")
async def limited(settings: Settings) -> AsyncIterator[Client]:
    """An app with a small operation budget: 10 units a minute, one unit per 100 of cost."""
    async for client in _app_client(settings, rate_limit_per_minute=10, rate_limit_cost_unit=100):
        yield client


@pytest_asyncio.fixture(loop_scope="session")
async def throttled(settings: Settings) -> AsyncIterator[Client]:
    """An app with the sign-in throttles small: 10 failures per address, 15 per account, 3 sign-ups."""
    async for client in _app_client(
        settings,
        rate_limit_per_minute=10_000,
        registrations_per_ip_per_hour=3,
        login_max_failures=10,
        login_max_failures_per_account=15,
    ):
        yield client


async def _wait_for_a_fresh_minute() -> None:
    """Budgets are per calendar minute: start a budget test well inside one."""
    second = time.time() % 60
    if second > 50:
        await asyncio.sleep(60.5 - second)


async def test_operations_spend_budget_in_proportion_to_their_cost(limited: Client) -> None:
    await _wait_for_a_fresh_minute()
    page = "{ leads(first: 20) { edges { node { id title price city: address { city } } } } }"  # cost > 100
    statuses = [(await limited.post(page)).status_code for _ in range(4)]
    # 1 + 20 × (edges 1 + node 1 + id, title, price 3 + address 1 + city 1) = 141 → 2 units each
    assert statuses == [200, 200, 200, 200]
    cheap = [(await limited.post("{ __typename }")).status_code for _ in range(3)]
    assert cheap == [200, 200, 429]  # 8 units spent, 2 cheap calls left, then refused
    refused = await limited.post("{ __typename }")
    body = refused.json()
    assert refused.status_code == 429
    assert body["errors"][0]["extensions"]["code"] == "RATE_LIMITED"
    retry = int(refused.headers["retry-after"])
    assert 1 <= retry <= 60 and body["errors"][0]["extensions"]["retryAfter"] == retry
    # another client address has its own budget
    other = Client(limited.http, _ip())
    assert (await other.post("{ __typename }")).status_code == 200


async def test_the_forwarded_address_is_believed_only_from_a_trusted_proxy() -> None:
    class Peer:
        def __init__(self, host: str, forwarded: str) -> None:
            self.client = type("C", (), {"host": host})()
            self.headers = {"x-forwarded-for": forwarded}

    trusted = ("10.0.0.0/8", "127.0.0.1")
    assert client_address(Peer("127.0.0.1", "203.0.113.9"), trusted) == "203.0.113.9"
    # a client-supplied first hop is ignored: the right-most untrusted hop is the client
    assert client_address(Peer("10.1.2.3", "6.6.6.6, 203.0.113.9, 10.9.9.9"), trusted) == "203.0.113.9"
    assert client_address(Peer("198.51.100.7", "203.0.113.9"), trusted) == "198.51.100.7"  # not a proxy
    assert client_address(Peer("127.0.0.1", "not-an-ip"), trusted) == "127.0.0.1"
    assert client_address(Peer("127.0.0.1", "203.0.113.9"), ()) == "127.0.0.1"  # no proxies configured
    # one IPv6 subscriber holds a whole /64: it is one client for every limit
    assert client_address(Peer("2001:db8:1:2:aaaa::1", ""), ()) == "2001:db8:1:2::/64"
    assert client_address(Peer("2001:db8:1:2:bbbb::9", ""), ()) == "2001:db8:1:2::/64"
    assert client_address(Peer("::ffff:203.0.113.5", ""), ()) == "203.0.113.5"


async def test_wrong_passwords_lock_the_account_for_that_address(throttled: Client, make_user: Any) -> None:
    user = await make_user()
    wrong = {"e": user.email, "p": "wrong password!"}
    for _ in range(10):
        body = (await throttled.post(LOGIN, wrong)).json()
        assert body["data"]["login"]["errors"][0]["code"] == "INVALID_CREDENTIALS"
    for _ in range(2):  # 11th and 12th: refused before any password check
        body = (await throttled.post(LOGIN, wrong)).json()
        assert body["data"]["login"]["errors"][0]["code"] == "RATE_LIMITED"
    right = {"e": user.email, "p": "correct horse battery"}
    locked = (await throttled.post(LOGIN, right)).json()["data"]["login"]
    assert locked["token"] is None and locked["errors"][0]["code"] == "RATE_LIMITED"
    assert "Retry in" in locked["errors"][0]["message"]
    # the account is not locked for its owner elsewhere, and a success there resets that pair only
    elsewhere = Client(throttled.http, _ip())
    assert (await elsewhere.post(LOGIN, right)).json()["data"]["login"]["token"]
    # across addresses the account has a higher ceiling (15 here): 4 more failures from a third
    # address bring it to 14, the 15th fails, then even the right password is refused everywhere
    third = Client(throttled.http, _ip())
    for _ in range(5):
        assert (await third.post(LOGIN, wrong)).json()["data"]["login"]["errors"][0]["code"] in {
            "INVALID_CREDENTIALS",
            "RATE_LIMITED",
        }
    fourth = Client(throttled.http, _ip())
    ceiling = (await fourth.post(LOGIN, right)).json()["data"]["login"]
    assert ceiling["token"] is None and ceiling["errors"][0]["code"] == "RATE_LIMITED"


async def test_a_success_clears_the_failures_of_its_address(throttled: Client, make_user: Any) -> None:
    user = await make_user()
    wrong = {"e": user.email, "p": "wrong password!"}
    right = {"e": user.email, "p": "correct horse battery"}
    for _ in range(9):
        await throttled.post(LOGIN, wrong)
    assert (await throttled.post(LOGIN, right)).json()["data"]["login"]["token"]
    # without the reset the pair would be locked at its 10th failure, the 1st after the success;
    # 9 + 5 = 14 stays under the account-wide ceiling of 15
    for _ in range(5):
        body = (await throttled.post(LOGIN, wrong)).json()
        assert body["data"]["login"]["errors"][0]["code"] == "INVALID_CREDENTIALS"


async def test_one_sign_in_field_per_operation(throttled: Client) -> None:
    aliased = (
        "mutation { "
        + " ".join(
            f'a{i}: login(email: "x{i}@example.com", password: "guess-{i}-guess") {{ token }}'
            for i in range(30)
        )
        + " }"
    )
    body = (await throttled.post(aliased)).json()
    assert body["data"] is None
    assert body["errors"][0]["extensions"]["code"] == "INVALID_INPUT"
    assert "At most one login or register" in body["errors"][0]["message"]
    mixed = (
        'mutation { a: login(email: "a@example.com", password: "password-1") { token } '
        'b: register(input: {email: "b@example.com", password: "password-1", name: "B"}) { token } }'
    )
    assert (await throttled.post(mixed)).json()["errors"][0]["extensions"]["code"] == "INVALID_INPUT"


async def test_registrations_are_limited_per_address(throttled: Client) -> None:
    results = []
    for _ in range(4):
        email = f"reg-{uuid.uuid4().hex[:10]}@example.com"
        results.append((await throttled.post(REGISTER, {"e": email})).json()["data"]["register"])
    assert [bool(r["token"]) for r in results] == [True, True, True, False]
    assert results[3]["errors"][0]["code"] == "RATE_LIMITED"


async def test_password_hashing_runs_off_the_event_loop(
    throttled: Client, make_user: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    user = await make_user()
    loop_thread = threading.get_ident()
    seen: list[int] = []
    original = passwords.verify_password

    def spy(password_hash: str, password: str) -> bool:
        seen.append(threading.get_ident())
        return original(password_hash, password)

    monkeypatch.setattr(passwords, "verify_password", spy)
    body = (await throttled.post(LOGIN, {"e": user.email, "p": "correct horse battery"})).json()
    assert body["data"]["login"]["token"]
    assert seen and all(ident != loop_thread for ident in seen)


async def test_cost_counts_the_variables_as_sent(settings: Settings) -> None:
    aliased = (
        "query Q($n: Int = 1) { "
        + " ".join(f"a{i}: leads(first: $n) {{ edges {{ node {{ id title price }} }} }}" for i in range(30))
        + " }"
    )
    # each alias costs 1 + n × (edges 1 + node 1 + 3 fields) = 1 + 5n: with n = 100, 30 × 501 = 15,030
    async for client in _app_client(settings, max_query_cost=10_000):
        refused = (await client.post(aliased, {"n": 100})).json()
        fine = (await client.post(aliased, {"n": 1})).json()
        default = (await client.post(aliased)).json()
    assert refused["data"] is None
    error = refused["errors"][0]
    assert error["extensions"] == {"code": "COST_LIMIT_EXCEEDED", "cost": 15030, "limit": 10000}
    assert "15030" in error["message"] and "10000" in error["message"]
    assert "errors" not in fine and "errors" not in default


async def test_oversized_malformed_and_hostile_bodies_are_refused_cleanly(client: httpx.AsyncClient) -> None:
    big = b'{"query": "{ __typename }", "pad": "' + b"x" * (2 * 1024 * 1024) + b'"}'
    response = await client.post("/graphql", content=big, headers={"content-type": "application/json"})
    assert response.status_code == 413
    assert response.json()["errors"][0]["extensions"]["code"] == "INVALID_INPUT"

    async def chunks() -> AsyncIterator[bytes]:  # no Content-Length: refused while streaming
        yield b'{"query": "{ __typename }", "pad": "'
        for _ in range(40):
            yield b"y" * 65536
        yield b'"}'

    streamed = await client.post("/graphql", content=chunks(), headers={"content-type": "application/json"})
    assert streamed.status_code == 413

    brackets = await client.post(
        "/graphql", content=b"[" * 100_000, headers={"content-type": "application/json"}
    )
    assert brackets.status_code == 400
    assert brackets.json()["errors"][0]["extensions"]["code"] == "INVALID_INPUT"
    deep = '{"query": "{ __typename }", "variables": {"a": ' + "[" * 100 + "]" * 100 + "}}"
    too_deep = await client.post(
        "/graphql", content=deep.encode(), headers={"content-type": "application/json"}
    )
    assert too_deep.status_code == 400 and "nested deeper" in too_deep.json()["errors"][0]["message"]
    surrogate = (
        b'{"query": "query($q: String!) { searchLeads(query: $q) { totalCount } }", '
        b'"variables": {"q": "\\ud800"}}'
    )
    lone = await client.post("/graphql", content=surrogate, headers={"content-type": "application/json"})
    assert lone.status_code == 400 and "surrogate" in lone.json()["errors"][0]["message"]
    for raw in (b"", b"null", b"42", b'"text"', b"{", b"\xff\xfe"):
        bad = await client.post("/graphql", content=raw, headers={"content-type": "application/json"})
        assert bad.status_code == 400, raw
        assert bad.json()["errors"][0]["extensions"]["code"] == "INVALID_INPUT"


async def test_a_database_that_is_down_is_a_typed_503(settings: Settings, make_user: Any) -> None:
    user = await make_user()
    down = settings.replace(database_url="postgresql+asyncpg://aiqleads:aiqleads@127.0.0.1:9/aiqleads")
    app = create_app(down)
    async with LifespanManager(app, startup_timeout=60):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t", timeout=30) as http:
            # while authenticating (the token's user is looked up)
            auth = await http.post(
                "/graphql", json={"query": "{ me { id } }"}, headers={"Authorization": f"Bearer {user.token}"}
            )
            # while resolving a field
            listing = await http.post("/graphql", json={"query": "{ leads(first: 1) { totalCount } }"})
            ready = await http.get("/readyz")
    for response in (auth, listing):
        assert response.status_code == 503, response.text
        assert response.json()["errors"][0]["extensions"]["code"] == "SERVICE_UNAVAILABLE"
        assert int(response.headers["retry-after"]) > 0
    assert ready.status_code == 503 and ready.json()["checks"]["postgres"].startswith("error")
    assert ready.json()["checks"]["redis"] == "ok"


async def test_sixty_operation_names_add_no_metric_label_values(client: httpx.AsyncClient, gql: Any) -> None:
    await gql("{ plans { tier } }")
    await gql("{ nope }", expect_errors=True)

    def label_values(text: str) -> set[str]:
        return set(re.findall(r'operation="([^"]*)"', text))

    before = label_values((await client.get("/metrics")).text)
    for i in range(60):
        await gql(f"query Attack{i}x{uuid.uuid4().hex} {{ plans {{ tier }} }}")
        await gql(f"query Broken{i} {{ field{i} }}", expect_errors=True)
    after = label_values((await client.get("/metrics")).text)
    assert after == before, after - before
    assert {"plans", "other"} <= after


async def test_redis_down_while_charging_the_budget_is_a_typed_503(app: Any) -> None:
    from dataclasses import replace

    from redis.asyncio import Redis
    from starlette.responses import Response

    from aiqleads.resolvers.context import Context
    from aiqleads.resolvers.limits import admit

    broken = Redis.from_url("redis://127.0.0.1:1/0", socket_connect_timeout=0.2)
    try:
        deps = replace(app.state.deps, redis=broken)
        response = Response()
        ctx = Context(deps=deps, request=None, response=response)
        refusal = await admit(ctx, "{ __typename }", {}, 1, ["__typename"])
    finally:
        await broken.aclose()
    assert refusal is not None and (refusal.extensions or {})["code"] == "SERVICE_UNAVAILABLE"
    assert response.status_code == 503 and int(response.headers["retry-after"]) > 0


async def test_a_fragment_bomb_is_refused_in_linear_time_and_charged(settings: Settings) -> None:
    # each fragment spreads the next twice: 2^60 fields once expanded, under a kilobyte of text
    n = 60
    bomb = (
        "query { ...F0 }"
        + "".join(f" fragment F{i} on Query {{ ...F{i + 1} ...F{i + 1} }}" for i in range(n))
        + f" fragment F{n} on Query {{ __typename }}"
    )
    # a refusal spends a tenth of the largest allowed operation: 100,000 / 10 / 100 = 100 units
    async for client in _app_client(settings, rate_limit_per_minute=500, rate_limit_cost_unit=100):
        await _wait_for_a_fresh_minute()
        codes = [(await client.post(bomb)).json()["errors"][0] for _ in range(6)]
    assert [e["extensions"]["code"] for e in codes] == ["COST_LIMIT_EXCEEDED"] * 5 + ["RATE_LIMITED"]
    assert codes[0]["extensions"]["cost"] == 2**60


async def test_an_omitted_first_costs_the_default_page(settings: Settings) -> None:
    nested = "{ leads { edges { node { id priceHistory { price } } } } }"
    async for client in _app_client(settings, max_query_cost=400):
        body = (await client.post(nested)).json()
    # 1 + 20 × (edges 1 + node 1 + id 1 + priceHistory (1 + 20 × 1)) = 481, as with first: 20 written out
    assert body["errors"][0]["extensions"] == {"code": "COST_LIMIT_EXCEEDED", "cost": 481, "limit": 400}


async def test_depth_is_limited_through_fragments(settings: Settings) -> None:
    deep = (
        "query { ...A } fragment A on Query { leads { edges { node { ...B } } } } "
        "fragment B on Lead { address { city } priceHistory(first: 1) { price } }"
    )  # leads › edges › node › address › city: depth 4 below the root field
    async for client in _app_client(settings, max_query_depth=3):
        refused = (await client.post(deep)).json()
    async for client in _app_client(settings, max_query_depth=4):
        allowed = (await client.post(deep)).json()
    assert refused["errors"][0]["extensions"]["code"] == "INVALID_INPUT"
    assert "depth 4 exceeds the limit of 3" in refused["errors"][0]["message"]
    assert "errors" not in allowed


async def test_standard_introspection_is_admitted_and_a_fan_out_through_it_is_not(
    settings: Settings,
) -> None:
    # GraphiQL (and every other tool) sends graphql-js's introspection: ofType nested 9 levels deep
    standard = graphql.get_introspection_query(descriptions=True, specified_by_url=True)
    levels = ["__schema", "types", *["fields", "type"] * 5]  # depth 12, each fields level a list
    fan_out = "{ " + " { ".join(levels) + " { name" + " }" * (len(levels) + 1)
    async for client in _app_client(settings):
        admitted = (await client.post(standard)).json()
        refused = (await client.post(fan_out)).json()
    assert "errors" not in admitted
    names = {t["name"] for t in admitted["data"]["__schema"]["types"]}
    assert {"Query", "Lead", "CartEvent"} <= names
    assert refused["errors"][0]["extensions"]["code"] == "INVALID_INPUT"
    assert "depth" in refused["errors"][0]["message"].lower()  # graphql-core's rule or ours


def test_only_the_introspection_type_has_an_of_type_field() -> None:
    # the depth walk counts no level for a field named ofType (a chain, not a fan-out); that is
    # only sound while no type of ours has a field of that name
    from aiqleads.schema.root import build_schema

    schema = build_schema()._schema
    owners = [
        name
        for name, kind in schema.type_map.items()
        if isinstance(kind, graphql.GraphQLObjectType | graphql.GraphQLInterfaceType)
        and "ofType" in kind.fields
    ]
    assert owners == ["__Type"]


async def test_parallel_wrong_passwords_cannot_outrun_the_throttle(throttled: Client, make_user: Any) -> None:
    user = await make_user()
    wrong = {"e": user.email, "p": "wrong password!"}
    results = await asyncio.gather(*(throttled.post(LOGIN, wrong) for _ in range(30)))
    codes = [r.json()["data"]["login"]["errors"][0]["code"] for r in results]
    # every attempt is counted before its password is checked: at most 10 were ever verified
    assert codes.count("INVALID_CREDENTIALS") == 10 and codes.count("RATE_LIMITED") == 20


async def test_guessing_from_elsewhere_cannot_lock_the_owner_out(throttled: Client, make_user: Any) -> None:
    user = await make_user()
    right = {"e": user.email, "p": "correct horse battery"}
    assert (await throttled.post(LOGIN, right)).json()["data"]["login"]["token"]  # the owner's address
    for _ in range(4):  # attackers from four other addresses pass the account-wide ceiling of 15
        attacker = Client(throttled.http, _ip())
        for _ in range(5):
            await attacker.post(LOGIN, {"e": user.email, "p": "guess guess"})
    stranger = Client(throttled.http, _ip())
    refused = (await stranger.post(LOGIN, right)).json()["data"]["login"]
    assert refused["errors"][0]["code"] == "RATE_LIMITED"
    assert (await throttled.post(LOGIN, right)).json()["data"]["login"]["token"]  # the owner still can


async def test_deep_json_in_get_parameters_is_a_400_not_a_500(client: httpx.AsyncClient) -> None:
    response = await client.get(
        "/graphql",
        params={"query": "{ __typename }", "variables": "[" * 20_000},
        headers={"accept": "application/json"},
    )
    assert response.status_code == 400
