"""The GraphQL floor: what a trivial operation costs over the same server's bare HTTP route.

Starts one real ``aiqleads serve`` process (uvicorn, the production HTTP stack) on a private
database and times, alternately on one keep-alive connection:
  - ``GET /healthz`` (Starlette routing + JSON response: the floor), and
  - an anonymous ``POST /graphql {"query": "{ __typename }"}`` (body bounds, context, auth,
    parse/validation caches, the cost/budget admission with its Redis round trip, execution,
    metrics, JSON encoding),
  - the same operation signed in with a bearer token (token check + the viewer's row).
Prints p50/p95 of each and the ratio of the p50s to the floor. Then, to show where the rest goes,
the same operation's parts timed in this process: Strawberry's ``execute`` of ``{ __typename }`` on a
one-field schema with only the parser and validation caches (the framework's own floor), our
schema's ``execute`` (the lean HTTP pipeline: admission with the process's leased budget, masking,
metrics), and one budget charge that goes to Redis (what a charge costs when the lease runs out).

Run: ``.venv/bin/python bench/bench_floor.py [--iterations 2000]``.
"""

from __future__ import annotations

import argparse
import asyncio
import http.client
import json
import statistics
import time
import uuid
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

import asyncpg
from _support import api_process, asyncpg_dsn, emit_figures, percentile, private_environment, report_line

from aiqleads.domain.bootstrap import opened
from aiqleads.domain.settings import Settings
from aiqleads.domain.users import rate_limit
from aiqleads.domain.users.tokens import issue_token

TYPENAME = json.dumps({"query": "{ __typename }"}).encode()


async def _buyer_token(settings: Settings) -> str:
    """A bearer token of a freshly inserted buyer."""
    user_id = uuid.uuid4()
    conn = await asyncpg.connect(asyncpg_dsn(settings.database_url))
    try:
        await conn.execute(
            "INSERT INTO users (id, email, name, password_hash, tier, role, credit_balance)"
            " VALUES ($1, $2, 'Floor Buyer', 'x', 'FREE', 'user', 0)",
            user_id,
            f"floor-{user_id.hex}@example.com",
        )
    finally:
        await conn.close()
    return issue_token(user_id, settings.jwt_secret, 3600)


def _timed(call: Callable[[], None]) -> float:
    started = time.perf_counter()
    call()
    return (time.perf_counter() - started) * 1000


def measure(base_url: str, token: str, iterations: int) -> dict[str, list[float]]:
    """Alternate the three requests on one keep-alive connection; milliseconds per request."""
    parts = urlsplit(base_url)
    conn = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port, timeout=30)
    json_headers = {"Content-Type": "application/json"}
    signed_in = {**json_headers, "Authorization": f"Bearer {token}"}

    def get_health() -> None:
        conn.request("GET", "/healthz")
        response = conn.getresponse()
        assert response.status == 200 and response.read() == b'{"status":"ok"}'

    def post(headers: dict[str, str]) -> Callable[[], None]:
        def call() -> None:
            conn.request("POST", "/graphql", body=TYPENAME, headers=headers)
            response = conn.getresponse()
            body = response.read()
            assert response.status == 200 and b'"__typename":"Query"' in body, body

        return call

    calls = {"/healthz": get_health, "{ __typename } anonymous": post(json_headers)}
    calls["{ __typename } signed in"] = post(signed_in)
    for _ in range(max(50, iterations // 10)):  # warm-up: caches, connection pools, JIT-free Python
        for call in calls.values():
            call()
    samples: dict[str, list[float]] = {name: [] for name in calls}
    names = list(calls)
    for i in range(iterations):
        order = names[i % len(names) :] + names[: i % len(names)]  # rotate so drift affects all alike
        for name in order:
            samples[name].append(_timed(calls[name]))
    conn.close()
    return samples


async def _timed_async(call: Callable[[], Any], iterations: int) -> list[float]:
    for _ in range(max(50, iterations // 10)):
        await call()
    samples = []
    for _ in range(iterations):
        started = time.perf_counter()
        await call()
        samples.append((time.perf_counter() - started) * 1000)
    return samples


async def parts(settings: Settings, iterations: int) -> dict[str, list[float]]:
    """The operation's parts, in this process: framework execute, our schema's execute, Redis."""
    import strawberry
    from strawberry.extensions import ParserCache, ValidationCache

    from aiqleads.resolvers.context import Context
    from aiqleads.resolvers.metrics import ApiMetrics
    from aiqleads.schema.root import build_schema

    @strawberry.type
    class OneField:
        answer: int = strawberry.field(default=42, description="A constant.")

    bare = strawberry.Schema(
        query=OneField, extensions=[lambda: ParserCache(maxsize=16), lambda: ValidationCache(maxsize=16)]
    )
    ours = build_schema(settings)
    out: dict[str, list[float]] = {}
    async with opened(settings, purpose="bench") as deps:
        metrics = ApiMetrics.create()

        async def framework() -> None:
            result = await bare.execute("{ __typename }")
            assert result.errors is None

        async def schema() -> None:
            result = await ours.execute("{ __typename }", context_value=Context(deps=deps, metrics=metrics))
            assert result.errors is None, result.errors

        async def redis_charge() -> None:
            await rate_limit.charge(deps.redis, "bench:floor", 10**9, 1)

        out["Strawberry execute, caches only (in process)"] = await _timed_async(framework, iterations)
        gate = "our schema's execute: the gate, leased budget (in process)"
        out[gate] = await _timed_async(schema, iterations)
        out["the budget's Redis round trip alone, unleased (in process)"] = await _timed_async(
            redis_charge, iterations
        )
    return out


async def run(iterations: int) -> dict[str, float]:
    """Measure on a private database; the figures by name (p50 ms and ratios)."""
    async with private_environment("floor", rate_limit_per_minute=10**9) as settings:
        token = await _buyer_token(settings)
        with api_process(settings, AIQ_RATE_LIMIT_PER_MINUTE=str(10**9)) as url:
            samples = await asyncio.to_thread(measure, url, token, iterations)
    floor = statistics.median(samples["/healthz"])
    figures: dict[str, float] = {"healthz_p50_ms": floor}
    print(f"GraphQL floor on one `aiqleads serve` process, {iterations} requests each, one client:")
    for name, values in samples.items():
        p50 = statistics.median(values)
        print(
            report_line(name, p50, percentile(values, 0.95), floor if name != "/healthz" else None),
            flush=True,
        )
        figures[name] = p50
    figures["typename_ratio"] = figures["{ __typename } anonymous"] / floor
    figures["typename_signed_in_ratio"] = figures["{ __typename } signed in"] / floor
    print("where the rest goes (each part timed alone; ratios to the same /healthz floor):")
    async with private_environment("floorparts", rate_limit_per_minute=10**9) as settings:
        for name, values in (await parts(settings, iterations)).items():
            print(report_line(name, statistics.median(values), percentile(values, 0.95), floor), flush=True)
            figures[name] = statistics.median(values)
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--iterations", type=int, default=2000)
    args = parser.parse_args()
    emit_figures("floor", asyncio.run(run(args.iterations)))


if __name__ == "__main__":
    main()
