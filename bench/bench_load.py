"""Load test: a mixed marketplace workload with Locust (headless) against 2 API processes and a worker.

1. A private migrated database, Elasticsearch prefix and arq queue; N synthetic leads (seed_synthetic;
   embedded only with --embed, since no operation of the workload reads vectors) plus a pool of
   contested leads with 1-3 seats near the same metros, ANALYZE, reindex_all; buyers with credits, and
   a bearer token for each.
2. Two ``aiqleads serve`` processes and one ``aiqleads worker``, with the per-minute rate limit raised
   (so the test measures capacity, not the limiter) and short holds (so holds expire during the run).
3. The floor: the same Locust setup (same users, same hosts) on ``GET /healthz`` for 10 s.
4. The load: bench/locustfile.py's Browser, Buyer and Subscriber users for a fixed time; prints a table
   per operation (requests, req/s, p50/p95/p99, failures), the CPU each party used meanwhile (our API
   processes, worker, Locust, this database's PostgreSQL backends, everything else on the machine),
   the server-side mean per operation from the API processes' /metrics, the expected business
   outcomes, and the error count, which must be 0.
5. The invariants: nothing oversold, seat counts match the rows, every ledger balances, no negative
   balance, credits spent equal the purchases' prices.

Run: ``.venv/bin/python bench/bench_load.py`` (5,000 leads, 40 users, 60 s), ``--full`` (100,000
leads, 80 users, 300 s), or ``--leads/--users/--spawn-rate/--duration`` (seconds). Exits non-zero when
there was any failed request or a broken invariant; logs (API processes, worker, Locust) are kept in
the directory it prints.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import glob
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg
from _support import api_processes, asyncpg_dsn, database_name, emit_figures, private_environment
from aiqtest_support.live_server import REPO, server_env
from prometheus_client.parser import text_string_to_metric_families

from aiqleads.domain.bootstrap import opened
from aiqleads.domain.cart.timers import timer_key
from aiqleads.domain.search.indexer import reindex_all
from aiqleads.domain.settings import Settings
from aiqleads.domain.users.tokens import issue_token
from aiqleads.resolvers.ids import to_global_id
from aiqleads_dev.seeding import METROS, seed_synthetic

LOCUSTFILE = Path(__file__).with_name("locustfile.py")
LOCUST = Path(sys.executable).with_name("locust")
NO_RATE_LIMIT = 10**9
ITEM_HOLD_SECONDS = 20
CART_HOLD_SECONDS = 45
LOAD_USERS = ("Browser", "Buyer", "Subscriber")
# Without --embed the worker's repair sweep would embed every lead during the load (a minute of CPU
# per 2,000 leads), so it is turned off on every process: the workload has no recommendation query.
NO_SWEEP = {"AIQ_EMBED_SWEEP_LEADS": "0"}


async def seed(settings: Settings, args: argparse.Namespace) -> dict[str, Any]:
    """Synthetic leads, the contested pool, buyers with credits; returns the Locust fixture (no hosts)."""
    last = [0.0]

    def progress(line: str) -> None:
        if time.perf_counter() - last[0] > 5:
            last[0] = time.perf_counter()
            print(f"  {line.strip()}", flush=True)

    started = time.perf_counter()
    # embedding is ~30-60 leads/s here and no operation of the workload reads vectors (see NO_SWEEP)
    await seed_synthetic(settings, args.leads, 42, progress, embed=args.embed)
    embedded = "embedded" if args.embed else "not embedded"
    print(f"seeded {args.leads:,} synthetic leads ({embedded}) in {time.perf_counter() - started:.1f}s")
    metros = sorted(METROS, key=lambda m: -m.weight)[:6]  # where most synthetic leads are
    rng = random.Random(7)
    contested = [uuid.uuid4() for _ in range(args.contested)]
    buyers = [uuid.uuid4() for _ in range(args.buyers)]
    conn = await asyncpg.connect(asyncpg_dsn(settings.database_url))
    try:
        rows = []
        for n, lead_id in enumerate(contested):
            metro = metros[n % len(metros)]
            point = f"POINT({metro.lng + rng.uniform(-0.04, 0.04)} {metro.lat + rng.uniform(-0.04, 0.04)})"
            seats = rng.choice([1, 1, 2, 3])
            rows.append((lead_id, metro.city, metro.state, point, args.lead_price, seats))
        await conn.executemany(
            "INSERT INTO leads (id, source, property_type, title, city, state, zip, location, posted_at,"
            " price_credits, max_buyers) VALUES ($1, 'ZILLOW', 'CONDO', 'Contested condo', $2, $3, '00000',"
            " ST_GeogFromText($4), now(), $5, $6)",
            rows,
        )
        await conn.executemany(
            "INSERT INTO users (id, email, name, password_hash, tier, role, credit_balance)"
            " VALUES ($1, $2, 'Load Buyer', 'x', 'FREE', 'user', $3)",
            [(u, f"load-{u.hex}@example.com", args.credits) for u in buyers],
        )
        await conn.executemany(
            "INSERT INTO credit_ledger (user_id, amount, balance_after, kind, reason)"
            " VALUES ($1, $2, $2, 'GRANT', 'load test')",
            [(u, args.credits) for u in buyers],
        )
        await conn.execute("ANALYZE")
    finally:
        await conn.close()
    async with opened(settings, purpose="bench") as deps:
        started = time.perf_counter()
        result = await reindex_all(deps.sessionmaker, deps.es, settings)
        print(f"indexed {result.indexed:,} leads in {time.perf_counter() - started:.1f}s", flush=True)
    ttl = args.duration + 3600
    return {
        "tokens": [issue_token(u, settings.jwt_secret, ttl) for u in buyers],
        "contested": [to_global_id("Lead", lead_id) for lead_id in contested],
        "centers": [{"lat": m.lat, "lng": m.lng, "city": m.city} for m in metros],
    }


@contextmanager
def worker_process(settings: Settings, log_dir: Path, **extra_env: str) -> Iterator[subprocess.Popen[bytes]]:
    """One ``aiqleads worker`` with the API processes' environment; stopped afterwards."""
    with (log_dir / "worker.log").open("wb") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "aiqleads.cli", "worker", "--metrics-port", "0"],
            cwd=REPO,
            env=server_env(settings, **extra_env),
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        time.sleep(1.0)
        if proc.poll() is not None:
            raise RuntimeError(f"the worker exited at once:\n{(log_dir / 'worker.log').read_text()[-3000:]}")
        yield proc
    finally:
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def locust(
    classes: tuple[str, ...],
    users: int,
    rate: float,
    seconds: int,
    fixture: Path,
    prefix: Path,
    args: argparse.Namespace,
) -> dict[str, Any]:
    """Run Locust headless; its per-operation stats, failures and outcome counts."""
    command = [
        str(LOCUST),
        "-f",
        str(LOCUSTFILE),
        "--headless",
        "-u",
        str(users),
        "-r",
        str(rate),
        "-t",
        f"{seconds}s",
        "--host",
        json.loads(fixture.read_text())["hosts"][0],
        "--csv",
        str(prefix),
        "--only-summary",
        "--stop-timeout",
        "5",
        "--fixture",
        str(fixture),
        "--outcomes",
        f"{prefix}_outcomes",
        "--think",
        str(args.think),
        "--ws-seconds",
        str(args.ws_seconds),
        *classes,
    ]
    with Path(f"{prefix}_locust.log").open("wb") as log:
        done = subprocess.run(command, cwd=REPO, stdout=log, stderr=subprocess.STDOUT, timeout=seconds + 120)
    stats_path = Path(f"{prefix}_stats.csv")
    if not stats_path.exists():
        raise RuntimeError(f"locust wrote no stats (exit {done.returncode}): see {prefix}_locust.log")
    with stats_path.open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    failures_path = Path(f"{prefix}_failures.csv")
    failures = list(csv.DictReader(failures_path.open(newline=""))) if failures_path.exists() else []
    exceptions_path = Path(f"{prefix}_exceptions.csv")
    exceptions = list(csv.DictReader(exceptions_path.open(newline=""))) if exceptions_path.exists() else []
    outcomes: Counter[str] = Counter()
    for path in glob.glob(f"{prefix}_outcomes.*.json"):
        outcomes.update(json.loads(Path(path).read_text()))
    return {
        "rows": rows,
        "failures": failures,
        "exceptions": exceptions,
        "outcomes": outcomes,
        "exit": done.returncode,
    }


def _row_figures(row: dict[str, str]) -> dict[str, float]:
    def number(key: str) -> float:
        value = row.get(key) or "0"
        return float(value) if value != "N/A" else 0.0

    return {
        "requests": number("Request Count"),
        "failures": number("Failure Count"),
        "rps": number("Requests/s"),
        "p50": number("50%"),
        "p95": number("95%"),
        "p99": number("99%"),
    }


def print_table(rows: list[dict[str, str]]) -> None:
    """Operation, requests, req/s, p50/p95/p99 (ms; for WS events: delivery latency), failures."""
    print(
        f"  {'type':<5} {'operation':<22} {'requests':>9} {'req/s':>8}"
        f" {'p50':>7} {'p95':>7} {'p99':>7} {'failures':>9}"
    )
    for row in sorted(rows, key=lambda r: (r["Name"] == "Aggregated", r["Type"], r["Name"])):
        f = _row_figures(row)
        print(
            f"  {row['Type'] or '':<5} {row['Name']:<22} {f['requests']:>9.0f} {f['rps']:>8.1f}"
            f" {f['p50']:>7.0f} {f['p95']:>7.0f} {f['p99']:>7.0f} {f['failures']:>9.0f}"
        )


def server_metrics(urls: list[str]) -> dict[str, dict[str, float]]:
    """Per GraphQL operation, summed over the API processes' /metrics: count, seconds, errors by code."""
    totals: dict[str, dict[str, float]] = {}
    for url in urls:
        with urllib.request.urlopen(f"{url}/metrics", timeout=10) as response:
            body = response.read().decode()
        for family in text_string_to_metric_families(body):
            for sample in family.samples:
                operation = sample.labels.get("operation")
                if operation is None:
                    continue
                entry = totals.setdefault(operation, {})
                if sample.name == "aiq_graphql_operation_seconds_count":
                    entry["count"] = entry.get("count", 0.0) + sample.value
                elif sample.name == "aiq_graphql_operation_seconds_sum":
                    entry["seconds"] = entry.get("seconds", 0.0) + sample.value
                elif sample.name == "aiq_graphql_operation_errors_total":
                    key = f"error {sample.labels.get('code', '?')}"
                    entry[key] = entry.get(key, 0.0) + sample.value
    return totals


def process_cpu(pid: int) -> float:
    """CPU seconds a process has used (user + system); 0 when it is gone."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(stat[11]) + int(stat[12])) / os.sysconf("SC_CLK_TCK")


async def database_backends(settings: Settings) -> dict[int, float]:
    """The PostgreSQL backends connected to the run's database, with the CPU seconds of each so far."""
    conn = await asyncpg.connect(asyncpg_dsn(settings.database_url))
    try:
        pids = await conn.fetch(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
    finally:
        await conn.close()
    return {row["pid"]: process_cpu(row["pid"]) for row in pids}


def cpu_snapshot(pids: dict[str, list[int]], backends: dict[int, float]) -> dict[str, Any]:
    """CPU seconds so far: the machine's busy time, our processes, waited-for children, the backends."""
    fields = Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]
    idle = int(fields[3]) + int(fields[4])
    busy = (sum(int(f) for f in fields[:8]) - idle) / os.sysconf("SC_CLK_TCK")
    snapshot: dict[str, Any] = {"wall": time.monotonic(), "machine": busy, "backends": backends}
    for name, group in pids.items():
        snapshot[name] = sum(process_cpu(pid) for pid in group)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    snapshot["Locust"] = children.ru_utime + children.ru_stime  # locust is the only child waited for
    return snapshot


def cpu_usage(before: dict[str, Any], after: dict[str, Any]) -> dict[str, float]:
    """Average cores used between two snapshots: per group of ours, the PostgreSQL backends of the
    run's database, and everything else on the machine (Elasticsearch and Redis serving the load,
    and whatever else runs here)."""
    wall = after["wall"] - before["wall"]
    skip = ("wall", "machine", "backends")
    used = {k: (after[k] - before[k]) / wall for k in after if k not in skip}
    # a backend first seen at the end was opened during the load: all its CPU is the load's
    backend_seconds = sum(cpu - before["backends"].get(pid, 0.0) for pid, cpu in after["backends"].items())
    used["PostgreSQL (this database)"] = backend_seconds / wall
    machine = (after["machine"] - before["machine"]) / wall
    used["ES/Redis/other processes"] = max(0.0, machine - sum(used.values()))
    used["machine"] = machine
    return used


async def verify(settings: Settings) -> dict[str, int]:
    """The oversell and ledger invariants, and the seat and spend bookkeeping, at the end of the run."""
    checks = {
        "oversold_leads": "SELECT count(*) FROM leads l WHERE buyers_count > max_buyers"
        " OR buyers_count + holds_count > max_buyers OR buyers_count <>"
        " (SELECT count(*) FROM purchases p WHERE p.lead_id = l.id AND p.returned_at IS NULL)",
        "holds_count_mismatch": "SELECT count(*) FROM leads l WHERE holds_count <>"
        " (SELECT count(*) FROM holds h WHERE h.lead_id = l.id)",
        "double_purchases": "SELECT count(*) FROM (SELECT 1 FROM purchases WHERE returned_at IS NULL"
        " GROUP BY user_id, lead_id HAVING count(*) > 1) d",
        "unbalanced_users": "SELECT count(*) FROM users u WHERE credit_balance <>"
        " COALESCE((SELECT sum(amount) FROM credit_ledger c WHERE c.user_id = u.id), 0)",
        "negative_entries": "SELECT count(*) FROM credit_ledger WHERE balance_after < 0",
        "spend_mismatch": "SELECT count(*) FROM users u WHERE"
        " COALESCE((SELECT -sum(amount) FROM credit_ledger c WHERE c.user_id = u.id AND kind = 'SPEND'), 0)"
        " <> COALESCE((SELECT sum(price) FROM purchases p WHERE p.user_id = u.id), 0)",
        "purchases": "SELECT count(*) FROM purchases",
        "holds_left": "SELECT count(*) FROM holds",
    }
    conn = await asyncpg.connect(asyncpg_dsn(settings.database_url))
    try:
        return {name: int(await conn.fetchval(sql)) for name, sql in checks.items()}
    finally:
        await conn.close()


async def forget_timers(settings: Settings) -> None:
    """Remove the run's Redis hold-timer set."""
    async with opened(settings, purpose="bench") as deps:
        await deps.redis.delete(timer_key(settings))


async def run(
    leads: int = 5_000,
    users: int = 40,
    spawn_rate: float = 10.0,
    duration: int = 60,
    floor_seconds: int = 10,
    **options: Any,
) -> dict[str, float]:
    """The whole load test; key figures (total req/s, errors, floor req/s, p95 per operation in ms)."""
    defaults = {
        "buyers": 400,
        "credits": 400,
        "contested": 120,
        "lead_price": 10,
        "think": 0.5,
        "ws_seconds": 20.0,
        "keep": False,
        "embed": False,
    }
    # Locust's CSV of a run shorter than ~5 s can come out empty
    args = argparse.Namespace(
        leads=leads,
        users=users,
        spawn_rate=spawn_rate,
        duration=duration,
        floor_seconds=max(5, floor_seconds),
    )
    for key, value in defaults.items():
        setattr(args, key, options.get(key, value))
    changes = {
        "rate_limit_per_minute": NO_RATE_LIMIT,
        "item_hold_seconds": ITEM_HOLD_SECONDS,
        "cart_hold_seconds": CART_HOLD_SECONDS,
    }
    async with private_environment("load", keep=args.keep, **changes) as settings:
        try:
            return await _run(settings, args)
        finally:
            await forget_timers(settings)


async def _run(settings: Settings, args: argparse.Namespace) -> dict[str, float]:
    log_dir = Path(tempfile.mkdtemp(prefix="aiq-bench-load-"))
    print(f"database {database_name(settings)}; logs and Locust CSVs in {log_dir}", flush=True)
    fixture = await seed(settings, args)
    print(
        f"{args.buyers} buyers with {args.credits} credits; {args.contested} contested leads (1-3 seats,"
        f" {args.lead_price} credits); holds {ITEM_HOLD_SECONDS} s, carts {CART_HOLD_SECONDS} s",
        flush=True,
    )
    print(
        "rate limit raised to 10^9 per minute (AIQ_RATE_LIMIT_PER_MINUTE) on every process: this measures"
        " capacity, not the limiter",
        flush=True,
    )
    extra = {} if args.embed else NO_SWEEP
    with (
        api_processes(settings, log_dir, 2, **extra) as apis,
        worker_process(settings, log_dir, **extra) as worker,
    ):
        fixture["hosts"] = [api.base_url for api in apis]
        fixture_path = log_dir / "fixture.json"
        fixture_path.write_text(json.dumps(fixture))
        floor = locust(
            ("HealthUser",),
            args.users,
            args.users,
            args.floor_seconds,
            fixture_path,
            log_dir / "floor",
            args,
        )
        pids = {"API": [api.proc.pid for api in apis], "worker": [worker.pid]}
        before = cpu_snapshot(pids, await database_backends(settings))
        load = locust(
            LOAD_USERS, args.users, args.spawn_rate, args.duration, fixture_path, log_dir / "load", args
        )
        cpu = cpu_usage(before, cpu_snapshot(pids, await database_backends(settings)))
        server = server_metrics([api.base_url for api in apis])
        await asyncio.sleep(1.0)  # let the last commits' after-effects land before counting
    checks = await verify(settings)

    floor_row = next(r for r in floor["rows"] if r["Name"] == "Aggregated")
    floor_rps = _row_figures(floor_row)["rps"]
    total = _row_figures(next(r for r in load["rows"] if r["Name"] == "Aggregated"))
    http = [r for r in load["rows"] if r["Name"] != "Aggregated" and r["Type"] != "WS"]
    http_rps = sum(_row_figures(r)["rps"] for r in http)
    # an exception in a user's task (say, a payload without the expected shape) is an error too
    crashed = sum(int(e["Count"]) for e in floor["exceptions"] + load["exceptions"])
    errors = int(total["failures"]) + int(_row_figures(floor_row)["failures"]) + crashed

    print(
        f"\n== mixed load: {args.users} users (Browser 5 : Buyer 3 : Subscriber 1),"
        f" spawn {args.spawn_rate}/s, {args.duration} s, think 0-{args.think} s,"
        f" 2 API processes + 1 worker, {args.leads:,} leads =="
    )
    print("  (ms; WS rows: connect+ack time, and per event the delivery latency after the server's `at`)")
    print_table(load["rows"])
    print(
        "  CPU during the load, in cores (of "
        f"{os.cpu_count()}): " + ", ".join(f"{name} {cores:.2f}" for name, cores in cpu.items())
    )
    print("server side (the API processes' /metrics): operation, count, mean ms, error codes counted")
    for operation, entry in sorted(server.items()):
        count = entry.get("count", 0.0)
        mean = entry.get("seconds", 0.0) / count * 1000 if count else 0.0
        codes = ", ".join(f"{k[6:]} {v:.0f}" for k, v in sorted(entry.items()) if k.startswith("error "))
        print(f"  {operation:<22} {count:>7.0f} {mean:>8.1f}   {codes}")
    print(
        f"\nfloor: GET /healthz, same Locust setup ({args.users} users, no think time, both processes),"
        f" {args.floor_seconds} s: {floor_rps:.1f} req/s, p50 {_row_figures(floor_row)['p50']:.0f} ms"
    )
    ratio = f"{http_rps / floor_rps:.2f}x" if floor_rps else "n/a (no floor)"
    print(f"load HTTP throughput: {http_rps:.1f} req/s = {ratio} the floor's req/s")
    outcomes = load["outcomes"]
    by_operation: dict[str, list[str]] = {}
    for key, count in sorted(outcomes.items()):
        operation, _, code = key.rpartition(": ")
        by_operation.setdefault(operation, []).append(f"{code} {count}")
    print("outcomes per operation (business outcomes such as LEAD_UNAVAILABLE are successes, not errors):")
    for operation, counts in by_operation.items():
        print(f"  {operation:<22} {', '.join(counts)}")
    print(f"errors: {errors} (failed requests and events, and {crashed} exception(s) in Locust tasks)")
    for failure in (floor["failures"] + load["failures"])[:20]:
        print(
            f"  !! {failure['Occurrences']} x {failure['Method']} {failure['Name']}: {failure['Error'][:300]}"
        )
    for exception in (floor["exceptions"] + load["exceptions"])[:5]:
        print(f"  !! {exception['Count']} x exception in a task: {exception['Traceback'][-600:]}")
    broken = {k: v for k, v in checks.items() if k not in ("purchases", "holds_left") and v}
    print(f"invariants: {checks} -> {'OK' if not broken else 'BROKEN: ' + str(broken)}")

    figures: dict[str, float] = {
        "total_rps": total["rps"],
        "http_rps": http_rps,
        "floor_rps": floor_rps,
        "errors": float(errors),
        "broken_invariants": float(len(broken)),
        "purchases": float(checks["purchases"]),
    }
    for row in load["rows"]:
        if row["Name"] != "Aggregated":
            figures[f"p95 {row['Name']}"] = _row_figures(row)["p95"]
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--full", action="store_true", help="100,000 leads, 80 users, 300 s")
    parser.add_argument("--leads", type=int, default=None, help="synthetic leads (default 5,000)")
    parser.add_argument("--users", type=int, default=None, help="concurrent Locust users (default 40)")
    parser.add_argument("--spawn-rate", type=float, default=10.0, help="users started per second")
    parser.add_argument("--duration", type=int, default=None, help="seconds of load (default 60)")
    parser.add_argument("--floor-seconds", type=int, default=10, help="seconds of the /healthz floor")
    parser.add_argument("--think", type=float, default=0.5, help="most seconds a user waits between tasks")
    parser.add_argument("--keep", action="store_true", help="keep the database and index afterwards")
    parser.add_argument(
        "--embed", action="store_true", help="embed the leads too (slow; not read by the load)"
    )
    args = parser.parse_args()
    size = (100_000, 80, 300) if args.full else (5_000, 40, 60)
    started = time.perf_counter()
    figures = asyncio.run(
        run(
            leads=args.leads or size[0],
            users=args.users or size[1],
            spawn_rate=args.spawn_rate,
            duration=args.duration or size[2],
            floor_seconds=args.floor_seconds,
            think=args.think,
            keep=args.keep,
            embed=args.embed,
        )
    )
    print(
        f"\n(run at {datetime.now(UTC).isoformat(timespec='seconds')} on {os.cpu_count()} CPU cores,"
        f" {time.perf_counter() - started:.0f} s in all)"
    )
    emit_figures("load", figures)
    if figures["errors"] or figures["broken_invariants"]:
        sys.exit(1)


if __name__ == "__main__":
    main()
