"""Health, readiness, metrics, rate limits, query limits and error masking at the HTTP edge."""

from __future__ import annotations

import logging
from typing import Any

import httpx
from asgi_lifespan import LifespanManager

from aiqleads.app import create_app
from aiqleads.domain.settings import Settings


async def test_healthz_and_readyz_report_every_dependency(client: httpx.AsyncClient) -> None:
    assert (await client.get("/healthz")).json() == {"status": "ok"}
    ready = await client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json()["checks"] == {"postgres": "ok", "redis": "ok", "elasticsearch": "ok"}


async def test_readyz_fails_when_a_dependency_is_down(settings: Settings) -> None:
    broken = settings.replace(elasticsearch_url="http://127.0.0.1:9")  # nothing listens on port 9
    app = create_app(broken)
    async with LifespanManager(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as c:
            ready = await c.get("/readyz")
    assert ready.status_code == 503
    assert ready.json()["checks"]["elasticsearch"].startswith("error")
    assert ready.json()["checks"]["postgres"] == "ok"


async def test_graphiql_is_served_on_get(client: httpx.AsyncClient) -> None:
    page = await client.get("/graphql", headers={"accept": "text/html"})
    assert page.status_code == 200
    assert "graphiql" in page.text.lower()


async def test_metrics_count_operations_and_errors(client: httpx.AsyncClient, gql: Any) -> None:
    await gql("query PlansForMetrics { plans { tier } }")
    await gql("query BrokenForMetrics { nope }", expect_errors=True)
    text = (await client.get("/metrics")).text
    # labelled by root field (a closed set), never by the client's operation name
    assert 'aiq_graphql_operation_seconds_count{operation="plans",type="query"}' in text
    assert "PlansForMetrics" not in text and "BrokenForMetrics" not in text
    assert 'aiq_graphql_operation_errors_total{code="INVALID_INPUT",operation="other"}' in text
    assert "aiq_graphql_active_subscriptions" in text


async def test_plans_match_the_tiers(gql: Any) -> None:
    plans = {
        p["tier"]: p
        for p in (await gql("{ plans { tier monthlyCredits discountPercent maxCartItems holdExtensions } }"))[
            "data"
        ]["plans"]
    }
    assert plans["FREE"] == {
        "tier": "FREE",
        "monthlyCredits": 0,
        "discountPercent": 0,
        "maxCartItems": 5,
        "holdExtensions": 0,
    }
    assert plans["PRO"]["monthlyCredits"] == 100 and plans["PRO"]["discountPercent"] == 10
    assert plans["ENTERPRISE"]["maxCartItems"] == 50 and plans["ENTERPRISE"]["holdExtensions"] == 3


async def test_depth_and_alias_limits(gql: Any) -> None:
    deep = "{ me { id } " + " ".join(f"a{i}: plans {{ tier }}" for i in range(40)) + " }"
    body = await gql(deep, expect_errors=True)
    assert body["errors"] and "alias" in body["errors"][0]["message"].lower()


async def test_rate_limit_is_per_principal_and_typed(settings: Settings, make_user: Any) -> None:
    app = create_app(settings.replace(rate_limit_per_minute=3))
    user = await make_user()
    async with LifespanManager(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as c:
            headers = {"Authorization": f"Bearer {user.token}"}
            statuses = [
                (await c.post("/graphql", json={"query": "{ me { id } }"}, headers=headers)).status_code
                for _ in range(5)
            ]
            limited = await c.post("/graphql", json={"query": "{ me { id } }"}, headers=headers)
    assert statuses[:3] == [200, 200, 200]
    assert statuses[3:] == [429, 429]
    assert limited.json()["errors"][0]["extensions"]["code"] == "RATE_LIMITED"
    retry = int(limited.headers["retry-after"])
    assert 1 <= retry <= 60 and limited.json()["errors"][0]["extensions"]["retryAfter"] == retry


async def test_query_cost_limit_refuses_huge_nested_pages(gql: Any) -> None:
    # each alias: 1 + 100 * (edges 1 + node 1 + 3 fields + priceHistory (1 + 100 * 3)) = 30,601
    page = (
        "leads(first: 100) { edges { node { id title price priceHistory(first: 100) { price at reason } } } }"
    )
    heavy = "{ " + " ".join(f"p{i}: {page}" for i in range(4)) + " }"
    body = await gql(heavy, expect_errors=True)
    assert body["data"] is None
    assert "Query cost 122404 exceeds the limit of 100000" in body["errors"][0]["message"]
    assert body["errors"][0]["extensions"] == {"code": "COST_LIMIT_EXCEEDED", "cost": 122404, "limit": 100000}
    # a normal page with nested history stays well within the limit
    ok = await gql("{ leads(first: 100) { edges { node { id priceHistory(first: 5) { price } } } } }")
    assert "leads" in ok["data"]


def test_cost_counts_page_sizes_variables_and_fragments() -> None:
    from graphql import parse

    from aiqleads.schema.cost import ASSUMED_PAGE, selection_cost

    doc = parse(
        "query($n: Int = 7, $m: Int) { a: leads(first: $n) { edges { node { ...F } } } "
        "b: leads(first: $m) { totalCount } } fragment F on Lead { id title }"
    )
    op = doc.definitions[0]
    fragments = {d.name.value: d for d in doc.definitions[1:]}
    # a: 1 + 7 * (edges 1 + node 1 + id 1 + title 1 = 4) = 29; b: 1 + 100 * 1
    assert selection_cost(op.selection_set, fragments, {"n": 7}) == 29 + 1 + ASSUMED_PAGE


async def test_a_post_to_graphql_skips_the_router_but_keeps_the_edges_answers(
    app: Any, monkeypatch: Any
) -> None:
    """POST /graphql goes straight to the GraphQL app (ApiApp): on a real uvicorn an unexpected
    failure there is still a plain 500 that is logged, the next request is served, and the
    methods the route does not take still get the router's 405."""
    from aiqtest_support.live_server import served_in_process

    from aiqleads.app import GraphQLApp

    original = GraphQLApp._serve_operation
    calls = {"n": 0}

    async def sometimes_broken(self: Any, *args: Any) -> Any:
        calls["n"] += 1
        if calls["n"] == 1:
            raise RuntimeError("a bug nobody expected")
        return await original(self, *args)

    monkeypatch.setattr(GraphQLApp, "_serve_operation", sometimes_broken)
    body = {"query": "{ __typename }"}
    logged: list[logging.LogRecord] = []
    handler = logging.Handler()
    handler.emit = logged.append  # type: ignore[method-assign]
    async with served_in_process(app) as base, httpx.AsyncClient(base_url=base, timeout=10) as c:
        logging.getLogger("uvicorn.error").addHandler(handler)  # uvicorn's loggers do not propagate
        try:
            broken = await c.post("/graphql", json=body)
        finally:
            logging.getLogger("uvicorn.error").removeHandler(handler)
        fine = await c.post("/graphql", json=body)
        put = await c.put("/graphql", json=body)
        slash = await c.post("/graphql/", json=body, follow_redirects=False)
    assert broken.status_code == 500 and "a bug nobody expected" not in broken.text
    assert any(r.exc_info and "a bug nobody expected" in str(r.exc_info[1]) for r in logged)
    assert fine.status_code == 200 and fine.json() == {"data": {"__typename": "Query"}}
    assert put.status_code == 405
    assert slash.status_code == 307  # the router's redirect to /graphql, as before
