"""Benchmark of checkout under contention and of hold-expiry delivery, against the real services.

1. Creates a private database and migrates it; inserts buyers (with credits) and leads.
2. Checkout under contention: two ``aiqleads serve`` processes; every buyer races to hold a few
   leads out of a small pool of shared and exclusive leads (so most adds collide), then checks
   out. Prints successful checkouts per second (wall clock of the whole race and of the checkout
   phase alone), checkout latency percentiles, and verifies that nothing was oversold and every
   ledger balances.
3. Expiry delivery: two more ``aiqleads serve`` processes with 2-second item holds; each buyer
   subscribes to ``cartEvents`` over a real websocket on one process and holds a lead through the
   other; prints the latency from each hold's deadline to the HOLD_EXPIRED event arriving
   (p50 / p95 / max).

Run: ``.venv/bin/python bench/bench_checkout.py [--buyers 300] [--leads 60] [--holds 150]``.
Everything it creates (database, Redis timer keys) is removed at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import statistics
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
import asyncpg
import httpx
import websockets
from _support import (
    CpuMeter,
    api_processes,
    asyncpg_dsn,
    cpu_ceiling,
    database_name,
    emit_figures,
    private_environment,
)

from aiqleads.domain.bootstrap import opened
from aiqleads.domain.cart.timers import timer_key
from aiqleads.domain.settings import Settings
from aiqleads.domain.users.tokens import issue_token
from aiqleads.resolvers.ids import to_global_id

ADD = "mutation($id: ID!) { addToCart(leadId: $id) { errors { code } } }"
CHECKOUT = "mutation($key: String!) { checkout(idempotencyKey: $key) { creditsSpent errors { code } } }"
EVENTS = "subscription { cartEvents { kind leadId heldUntil at } }"
NO_RATE_LIMIT = "1000000"


def _pct(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(pct / 100 * len(ordered)) - 1))]


def _latencies(values: list[float]) -> str:
    ms = [v * 1000 for v in values]
    return f"p50 {statistics.median(ms):.1f} ms, p95 {_pct(ms, 95):.1f} ms, max {max(ms):.1f} ms"


async def forget_timers(settings: Settings) -> None:
    """Remove the run's Redis hold-timer set."""
    async with opened(settings, purpose="bench") as deps:
        await deps.redis.delete(timer_key(settings))


async def seed(
    settings: Settings, buyers: int, credits: int, leads: list[int], price: int
) -> tuple[list[str], list[uuid.UUID]]:
    """Insert buyers (with a GRANT in the ledger) and leads with the given seat counts."""
    conn = await asyncpg.connect(asyncpg_dsn(settings.database_url))
    try:
        user_ids = [uuid.uuid4() for _ in range(buyers)]
        await conn.executemany(
            "INSERT INTO users (id, email, name, password_hash, tier, role, credit_balance)"
            " VALUES ($1, $2, 'Bench Buyer', 'x', 'FREE', 'user', $3)",
            [(u, f"bench-{u.hex}@example.com", credits) for u in user_ids],
        )
        if credits:
            await conn.executemany(
                "INSERT INTO credit_ledger (user_id, amount, balance_after, kind, reason)"
                " VALUES ($1, $2, $2, 'GRANT', 'bench')",
                [(u, credits) for u in user_ids],
            )
        lead_ids = [uuid.uuid4() for _ in leads]
        await conn.executemany(
            "INSERT INTO leads (id, source, property_type, title, city, state, zip, location, posted_at,"
            " price_credits, max_buyers) VALUES ($1, 'ZILLOW', 'CONDO', 'Bench condo', 'Benchville', 'TX',"
            " '73301', ST_GeogFromText('POINT(-97.74 30.27)'), now(), $2, $3)",
            [(lead_id, price, seats) for lead_id, seats in zip(lead_ids, leads, strict=True)],
        )
    finally:
        await conn.close()
    tokens = [issue_token(u, settings.jwt_secret, 3600) for u in user_ids]
    return tokens, lead_ids


async def verify(settings: Settings) -> dict[str, int]:
    """No oversell, counts match rows, and every ledger balances."""
    conn = await asyncpg.connect(asyncpg_dsn(settings.database_url))
    try:
        oversold = await conn.fetchval(
            "SELECT count(*) FROM leads l WHERE buyers_count > max_buyers OR buyers_count <>"
            " (SELECT count(*) FROM purchases p WHERE p.lead_id = l.id AND p.returned_at IS NULL)"
        )
        unbalanced = await conn.fetchval(
            "SELECT count(*) FROM users u WHERE credit_balance <>"
            " COALESCE((SELECT sum(amount) FROM credit_ledger c WHERE c.user_id = u.id), 0)"
        )
        negative = await conn.fetchval("SELECT count(*) FROM credit_ledger WHERE balance_after < 0")
        purchases = await conn.fetchval("SELECT count(*) FROM purchases")
        seats = await conn.fetchval("SELECT sum(max_buyers) FROM leads")
    finally:
        await conn.close()
    names = ("oversold_leads", "unbalanced_users", "negative_entries", "purchases", "seats")
    return dict(zip(names, (oversold, unbalanced, negative, purchases, seats), strict=True))


class LoadClient:
    """The load generator's HTTP client for one API process: aiohttp, whose requests cost this
    process about a third of httpx's CPU (on these two cores the generator's CPU is taken from
    the servers it measures); room for ``concurrency`` connections."""

    def __init__(self, url: str, concurrency: int) -> None:
        self._url = f"{url}/graphql"
        connector = aiohttp.TCPConnector(limit=concurrency, keepalive_timeout=2.0)
        self._session = aiohttp.ClientSession(connector=connector, timeout=aiohttp.ClientTimeout(total=60))

    async def post(self, token: str, query: str, variables: dict[str, Any]) -> dict[str, Any]:
        """Post an operation as the token's user; its data (RuntimeError on GraphQL errors)."""
        payload = json.dumps({"query": query, "variables": variables})
        headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
        async with self._session.post(self._url, data=payload, headers=headers) as response:
            body = json.loads(await response.read())
        if body.get("errors"):
            raise RuntimeError(body["errors"])
        return body["data"]  # type: ignore[no-any-return]

    async def aclose(self) -> None:
        """Close its connections."""
        await self._session.close()


def _clients(urls: list[str], concurrency: int) -> list[LoadClient]:
    """One load client per API process."""
    return [LoadClient(u, concurrency) for u in urls]


async def checkout_race(
    urls: list[str], tokens: list[str], lead_ids: list[uuid.UUID], per_buyer: int, concurrency: int
) -> dict[str, Any]:
    """Every buyer holds a few random leads of the small pool, then checks out."""
    clients = _clients(urls, concurrency)
    gate = asyncio.Semaphore(concurrency)
    checkout_latency: list[float] = []
    add_codes: dict[str, int] = {}
    bought = 0
    rng = random.Random(7)
    plans = [rng.sample(lead_ids, per_buyer) for _ in tokens]

    async def buyer(n: int, token: str) -> None:
        nonlocal bought
        client = clients[n % len(clients)]
        async with gate:
            held = 0
            for lead_id in plans[n]:
                data = await client.post(token, ADD, {"id": to_global_id("Lead", lead_id)})
                codes = [e["code"] for e in data["addToCart"]["errors"]] or ["OK"]
                for code in codes:
                    add_codes[code] = add_codes.get(code, 0) + 1
                held += codes == ["OK"]
            if not held:
                return
            started = time.perf_counter()
            data = await client.post(token, CHECKOUT, {"key": f"bench-{n}"})
            checkout_latency.append(time.perf_counter() - started)
            if not data["checkout"]["errors"]:
                bought += 1
            else:
                print("  checkout refused:", data["checkout"]["errors"])

    started = time.perf_counter()
    await asyncio.gather(*(buyer(n, token) for n, token in enumerate(tokens)))
    wall = time.perf_counter() - started
    for client in clients:
        await client.aclose()
    return {"wall": wall, "checkouts": bought, "latency": checkout_latency, "adds": add_codes}


async def checkout_burst(
    urls: list[str],
    tokens: list[str],
    lead_ids: list[uuid.UUID],
    concurrency: int,
    api_pids: list[int] | None = None,
) -> dict[str, Any]:
    """Each buyer already holds its leads; all checkouts fire at once (shared leads lock together).

    With ``api_pids``, also the CPU time each part of the machine spent on the checkouts."""
    clients = _clients(urls, concurrency)
    gate = asyncio.Semaphore(concurrency)
    latency: list[float] = []
    ok = 0

    async def post(client: LoadClient, token: str, query: str, variables: dict[str, Any]) -> dict[str, Any]:
        async with gate:
            return await client.post(token, query, variables)

    # holds first (each buyer takes two seats of two 5-seat leads; pairs overlap across buyers)
    async def hold(n: int, token: str) -> None:
        for lead_id in (lead_ids[n % len(lead_ids)], lead_ids[(n + 1) % len(lead_ids)]):
            data = await post(clients[n % len(clients)], token, ADD, {"id": to_global_id("Lead", lead_id)})
            assert not data["addToCart"]["errors"], data

    await asyncio.gather(*(hold(n, t) for n, t in enumerate(tokens)))

    async def pay(n: int, token: str) -> None:
        nonlocal ok
        started = time.perf_counter()
        data = await post(clients[n % len(clients)], token, CHECKOUT, {"key": f"burst-{n}"})
        latency.append(time.perf_counter() - started)
        ok += not data["checkout"]["errors"]

    meter = CpuMeter(api=api_pids or [])
    started = time.perf_counter()
    await asyncio.gather(*(pay(n, t) for n, t in enumerate(tokens)))
    wall = time.perf_counter() - started
    cpu = meter.spent()
    for client in clients:
        await client.aclose()
    return {"wall": wall, "checkouts": ok, "latency": latency, "cpu": cpu}


async def checkout_serial(
    url: str, tokens: list[str], lead_ids: list[uuid.UUID]
) -> tuple[list[float], list[float]]:
    """Baseline without contention: one buyer at a time holds two leads of its own and checks out
    (a 2-item checkout); the same client times the server's ``/healthz`` between checkouts (the
    floor)."""
    latency: list[float] = []
    health: list[float] = []
    async with httpx.AsyncClient(base_url=url, timeout=60) as http:
        for _ in range(20):  # warm-up of the floor's path
            await http.get("/healthz")
        for n, token in enumerate(tokens):
            for _ in range(3):
                started = time.perf_counter()
                assert (await http.get("/healthz")).status_code == 200
                health.append(time.perf_counter() - started)
            headers = {"Authorization": f"Bearer {token}"}
            for lead_id in lead_ids[2 * n : 2 * n + 2]:
                added = await http.post(
                    "/graphql",
                    headers=headers,
                    json={"query": ADD, "variables": {"id": to_global_id("Lead", lead_id)}},
                )
                assert not added.json()["data"]["addToCart"]["errors"], added.text
            started = time.perf_counter()
            response = await http.post(
                "/graphql", headers=headers, json={"query": CHECKOUT, "variables": {"key": f"serial-{n}"}}
            )
            latency.append(time.perf_counter() - started)
            assert not response.json()["data"]["checkout"]["errors"], response.text
    return latency, health


async def expiry_latency(
    urls: list[str], tokens: list[str], lead_ids: list[uuid.UUID], spread: float
) -> tuple[list[float], list[float]]:
    """Hold through one process, listen on the other.

    Returns, per hold, seconds from its deadline to the HOLD_EXPIRED event arriving at the
    websocket client, and to the server's release (the event's ``at``).
    """
    delivered: list[float] = []
    released: list[float] = []
    missing: list[dict[str, Any]] = []
    ready = asyncio.Event()
    subscribed = 0
    clients = {url: httpx.AsyncClient(base_url=url, timeout=30) for url in urls}  # built before timing

    async def one(n: int, token: str, lead_id: uuid.UUID) -> None:
        nonlocal subscribed
        listen_url, hold_url = urls[n % 2], urls[(n + 1) % 2]
        async with websockets.connect(
            listen_url.replace("http", "ws") + "/graphql",
            subprotocols=["graphql-transport-ws"],
            max_queue=None,
        ) as ws:
            await ws.send(
                json.dumps({"type": "connection_init", "payload": {"authorization": f"Bearer {token}"}})
            )
            assert json.loads(await ws.recv())["type"] == "connection_ack"
            await ws.send(json.dumps({"id": "1", "type": "subscribe", "payload": {"query": EVENTS}}))
            subscribed += 1
            if subscribed == len(tokens):
                ready.set()
            await ready.wait()
            await asyncio.sleep(
                1.0 + spread * n / len(tokens)
            )  # let subscriptions register; stagger deadlines
            response = await clients[hold_url].post(
                "/graphql",
                json={"query": ADD, "variables": {"id": to_global_id("Lead", lead_id)}},
                headers={"Authorization": f"Bearer {token}"},
            )
            assert not response.json()["data"]["addToCart"]["errors"], response.text
            seen: list[Any] = []
            while True:
                try:
                    message = json.loads(await asyncio.wait_for(ws.recv(), 30))
                except TimeoutError:
                    missing.append({"buyer": n, "lead": str(lead_id), "seen": seen})
                    return
                arrived = time.time()
                seen.append(message)
                if message.get("type") == "ping":
                    await ws.send(json.dumps({"type": "pong"}))
                    continue
                if message.get("type") != "next":
                    continue
                event = message["payload"]["data"]["cartEvents"]
                if event["kind"] == "HOLD_EXPIRED":
                    deadline = datetime.fromisoformat(event["heldUntil"]).timestamp()
                    delivered.append(arrived - deadline)
                    released.append(datetime.fromisoformat(event["at"]).timestamp() - deadline)
                    return

    try:
        await asyncio.gather(*(one(n, t, lead_ids[n]) for n, t in enumerate(tokens)))
    finally:
        for client in clients.values():
            await client.aclose()
    if missing:
        print(f"  !! {len(missing)} subscriber(s) got no HOLD_EXPIRED within 30 s: {missing[:3]}")
    return delivered, released


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--buyers", type=int, default=300, help="buyers in the contention race")
    parser.add_argument("--leads", type=int, default=60, help="leads in the contended pool")
    parser.add_argument("--per-buyer", type=int, default=2, help="leads each buyer tries to hold")
    parser.add_argument("--concurrency", type=int, default=64, help="buyers in flight at once")
    parser.add_argument("--burst", type=int, default=200, help="buyers in the simultaneous-checkout burst")
    parser.add_argument("--serial", type=int, default=50, help="checkouts in the one-at-a-time baseline")
    parser.add_argument("--holds", type=int, default=150, help="subscribed holds in the expiry test")
    parser.add_argument("--spread", type=float, default=10.0, help="seconds over which those holds are made")
    args = parser.parse_args()
    figures = asyncio.run(run(args))
    emit_figures("checkout", figures)
    print(f"\n(run at {datetime.now(UTC).isoformat(timespec='seconds')} on {os.cpu_count()} CPU cores)")


async def run(args: argparse.Namespace) -> dict[str, float]:
    """Both parts on a private database, removed at the end with the run's hold timers."""
    async with private_environment("checkout") as settings:
        try:
            return await _run(settings, args)
        finally:
            await forget_timers(settings)


async def _run(settings: Settings, args: argparse.Namespace) -> dict[str, float]:
    log_dir = Path(tempfile.mkdtemp(prefix="aiq-bench-checkout-"))
    rng = random.Random(11)
    seats = [rng.choice([1, 1, 2, 3, 5]) for _ in range(args.leads)]
    tokens, lead_ids = await seed(settings, args.buyers, 100, seats, 10)
    burst_tokens, burst_leads = await seed(settings, args.burst, 100, [5] * max(2, args.burst // 2), 10)
    serial_tokens, serial_leads = await seed(settings, args.serial, 100, [1] * (2 * args.serial), 10)
    print(f"database {database_name(settings)}; logs in {log_dir}")
    with api_processes(settings, log_dir, 2, AIQ_RATE_LIMIT_PER_MINUTE=NO_RATE_LIMIT) as apis:
        urls = [api.base_url for api in apis]
        serial, health = await checkout_serial(urls[0], serial_tokens, serial_leads)
        race = await checkout_race(urls, tokens, lead_ids, args.per_buyer, args.concurrency)
        # every buyer of the burst checks out at the same moment (no client-side gate below it)
        burst = await checkout_burst(
            urls, burst_tokens, burst_leads, args.burst, [api.proc.pid for api in apis]
        )
    checks = await verify(settings)

    print("\n== checkout under contention (2 API processes, real PostgreSQL + Redis) ==")
    floor = statistics.median(health) * 1000
    print(
        f"baseline: {len(serial)} checkouts one at a time (no contention): p50 "
        f"{statistics.median(serial) * 1000:.1f} ms, p95 {_pct(serial, 95) * 1000:.1f} ms "
        f"=> {len(serial) / sum(serial):.1f} checkouts/s serially"
    )
    print(
        f"  floor: the same server's /healthz on the same client, p50 {floor:.2f} ms "
        f"=> a checkout is {statistics.median(serial) * 1000 / floor:.1f}x the floor"
    )
    print(f"race: {args.buyers} buyers x {args.per_buyer} adds over {args.leads} leads ({sum(seats)} seats)")
    print(f"  add outcomes: {race['adds']}")
    print(
        f"  successful checkouts: {race['checkouts']} in {race['wall']:.2f} s "
        f"=> {race['checkouts'] / race['wall']:.1f} checkouts/s (whole add+checkout race)"
    )
    print(f"  checkout latency: {_latencies(race['latency'])}")
    print(f"burst: {args.burst} buyers holding 2 seats each on shared 5-seat leads, checking out at once")
    print(
        f"  successful checkouts: {burst['checkouts']} in {burst['wall']:.2f} s "
        f"=> {burst['checkouts'] / burst['wall']:.1f} checkouts/s"
    )
    print(f"  checkout latency: {_latencies(burst['latency'])}")
    # the machine's ceiling for this burst: its cores divided by the CPU one checkout costs in all
    # (API, PostgreSQL, Redis and this client), whatever the lock waits
    cpu_total, ceiling, cpu_line = cpu_ceiling(burst["cpu"], burst["checkouts"], "checkout")
    print(cpu_line)
    print(f"  integrity: {checks}")
    assert (
        checks["oversold_leads"] == 0 and checks["unbalanced_users"] == 0 and checks["negative_entries"] == 0
    )
    figures: dict[str, float] = {
        "checkout_p50_ms": statistics.median(serial) * 1000,
        "healthz_p50_ms": floor,
        "checkout_ratio": statistics.median(serial) * 1000 / floor,
        "burst_checkouts_per_s": burst["checkouts"] / burst["wall"],
        "burst_p95_ms": _pct(burst["latency"], 95) * 1000,
        "burst_cpu_ms_per_checkout": cpu_total * 1000,
        "burst_cpu_ceiling_per_s": ceiling,
        "race_checkouts_per_s": race["checkouts"] / race["wall"],
    }

    hold_tokens, hold_leads = await seed(settings, args.holds, 0, [1] * args.holds, 0)
    with api_processes(
        settings,
        log_dir,
        2,
        AIQ_RATE_LIMIT_PER_MINUTE=NO_RATE_LIMIT,
        AIQ_ITEM_HOLD_SECONDS="2",
        AIQ_CART_HOLD_SECONDS="4",
    ) as apis:
        urls = [api.base_url for api in apis]
        delivered, released = await expiry_latency(urls, hold_tokens, hold_leads, args.spread)
    print("\n== hold deadline -> HOLD_EXPIRED delivered over a websocket on the other process ==")
    for label, values in (("delivered to the client", delivered), ("released by the server", released)):
        print(
            f"  {label}: {len(values)} holds of 2 s made over {args.spread:.0f} s: "
            f"p50 {statistics.median(values) * 1000:.0f} ms, "
            f"p95 {_pct(values, 95) * 1000:.0f} ms, max {max(values) * 1000:.0f} ms, "
            f"min {min(values) * 1000:.0f} ms"
        )
    figures["expiry_delivered_p95_ms"] = _pct(delivered, 95) * 1000
    return figures


if __name__ == "__main__":
    main()
