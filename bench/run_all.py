"""Run every benchmark and write the figures table of bench/README.md.

Each benchmark runs as its own process (``.venv/bin/python bench/<name>.py ...``) with its output
shown as it comes and kept under ``--logs``; each ends with one ``::figures::`` JSON line
(``_support.emit_figures``). The table between the markers of bench/README.md is rewritten from those
figures, with the date and the machine: each row is a figure, the floor it is measured against in
the same run, their ratio, the goal and whether it is met.

    .venv/bin/python bench/run_all.py            # reduced sizes (a few minutes)
    .venv/bin/python bench/run_all.py --full     # the sizes of the goals (100k leads, 10k subscribers)
    .venv/bin/python bench/run_all.py --only floor read   # some of them (the table keeps the others,
                                                          # at either size, each row saying which)
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
README = BENCH / "README.md"
# each benchmark's last figures at each size, so a partial run keeps the rest
FIGURES = BENCH / "figures.json"
BEGIN, END = "<!-- figures:begin -->", "<!-- figures:end -->"


@dataclass(frozen=True)
class Bench:
    """One benchmark: its script and its arguments at reduced and at full size."""

    name: str
    script: str
    reduced: list[str]
    full: list[str]


BENCHES = [
    Bench("floor", "bench_floor.py", ["--iterations", "1000"], ["--iterations", "3000"]),
    Bench(
        "read",
        "bench_read.py",
        ["--leads", "20000", "--iterations", "60"],
        ["--leads", "100000", "--iterations", "150"],
    ),
    Bench(
        "checkout",
        "bench_checkout.py",
        ["--buyers", "100", "--leads", "30", "--burst", "200", "--holds", "60", "--serial", "30"],
        [],
    ),
    Bench(
        "subscribers",
        "bench_subscribers.py",
        ["--subscribers", "2000", "--delivery-subscribers", "2000", "--events", "5"],
        ["--subscribers", "10000", "--delivery-subscribers", "5000"],
    ),
    Bench("ingest", "bench_ingest.py", ["--listings", "600", "--clean", "3000"], ["--listings", "2000"]),
    # as `aiqleads reindex --workers 2` runs it: one build process per core
    Bench(
        "reindex",
        "bench_reindex.py",
        ["--leads", "20000", "--workers", "2"],
        ["--leads", "100000", "--workers", "2"],
    ),
    Bench("load", "bench_load.py", ["--duration", "45", "--floor-seconds", "8"], ["--full"]),
]

# per benchmark, per size ("full" / "reduced"): when it ran and its figures
Runs = dict[str, dict[str, dict[str, Any]]]


@dataclass(frozen=True)
class Row:
    """One line of the table: how to read its figure, floor and goal from the figures."""

    path: str
    bench: str
    figure: Callable[[dict[str, float]], str]
    floor: Callable[[dict[str, float]], str]
    ratio: Callable[[dict[str, float]], float | None]
    goal: str
    met: Callable[[dict[str, float]], bool]


def _ms(key: str) -> Callable[[dict[str, float]], str]:
    return lambda f: f"{f[key]:.2f} ms p50"


def _ratio(key: str) -> Callable[[dict[str, float]], float | None]:
    return lambda f: f[key]


def _count_exact_up_to_n(figures: dict[str, float]) -> bool:
    """The goal's second branch: the API answers a count exact up to N (bench_read checked its
    totalCount against that count on 20 centres), and the README documents N and
    totalCountIsExact."""
    if not figures.get("count_checked_centres") or not figures.get("count_limit"):
        return False
    readme = (BENCH.parent / "README.md").read_text()
    return "AIQ_EXACT_COUNT_LIMIT" in readme and "totalCountIsExact" in readme


ROWS = [
    Row(
        "anonymous `{ __typename }`",
        "floor",
        _ms("{ __typename } anonymous"),
        lambda f: f"`/healthz` {f['healthz_p50_ms']:.2f} ms",
        _ratio("typename_ratio"),
        "≤ 1.5×",
        lambda f: f["typename_ratio"] <= 1.5,
    ),
    Row(
        "`leads(near: 10 mi, sort: DISTANCE, first: 20)` + `totalCount`",
        "read",
        _ms("radius_graphql_ms"),
        lambda f: f"minimal SQL (KNN page + count exact to 1,000) {f['radius_floor_ms']:.2f} ms",
        _ratio("radius_ratio"),
        "≤ 1.8×",
        lambda f: f["radius_ratio"] <= 1.8,
    ),
    Row(
        "the count of that radius (SQL alone)",
        "read",
        lambda f: f"exact {f['exact_count_ms']:.2f} ms, capped at 1,000 {f['capped_count_ms']:.2f} ms",
        lambda f: f"KNN page {f['knn_page_ms']:.2f} ms",
        lambda f: None,
        "≤ 5 ms, or exact up to N (documented)",
        lambda f: f["exact_count_ms"] <= 5 or f["capped_count_ms"] <= 5 or _count_exact_up_to_n(f),
    ),
    Row(
        "`leads(within: bbox, sort: NEWEST)` + `totalCount`",
        "read",
        _ms("bbox_graphql_ms"),
        lambda f: f"domain query {f['bbox_floor_ms']:.2f} ms",
        _ratio("bbox_ratio"),
        "≤ 1.8×",
        lambda f: f["bbox_ratio"] <= 1.8,
    ),
    Row(
        "`searchLeads` + facets",
        "read",
        _ms("search_graphql_ms"),
        lambda f: f"bare ES request {f['search_floor_ms']:.2f} ms",
        _ratio("search_ratio"),
        "≤ 1.3×",
        lambda f: f["search_ratio"] <= 1.3,
    ),
    Row(
        "2-item `checkout`, one client",
        "checkout",
        _ms("checkout_p50_ms"),
        lambda f: f"`/healthz` {f['healthz_p50_ms']:.2f} ms",
        _ratio("checkout_ratio"),
        "≤ 6×",
        lambda f: f["checkout_ratio"] <= 6,
    ),
    Row(
        "200 simultaneous checkouts, 2 API processes",
        "checkout",
        lambda f: f"{f['burst_checkouts_per_s']:.0f}/s, p95 {f['burst_p95_ms'] / 1000:.2f} s",
        lambda f: (
            f"the machine's CPU ceiling {f['burst_cpu_ceiling_per_s']:.0f}/s "
            f"({f['burst_cpu_ms_per_checkout']:.1f} ms of CPU per checkout, all processes)"
            if "burst_cpu_ceiling_per_s" in f
            else "—"
        ),
        lambda f: (
            f["burst_checkouts_per_s"] / f["burst_cpu_ceiling_per_s"]
            if "burst_cpu_ceiling_per_s" in f
            else None
        ),
        "≥ 150/s, p95 ≤ 1 s",
        lambda f: f["burst_checkouts_per_s"] >= 150 and f["burst_p95_ms"] <= 1000,
    ),
    Row(
        "idle `priceChanged` subscriber (server RSS per connection + subscription)",
        "subscribers",
        lambda f: f"{f['subscriber_kb']:.1f} KB ({f['rss_subscribed_mb']:.0f} MB with the process)",
        lambda f: f"bare websocket connection {f['bare_connection_kb']:.1f} KB",
        _ratio("subscriber_to_floor"),
        "≤ 30 KB",
        lambda f: f["subscriber_kb"] <= 30,
    ),
    Row(
        "one `priceChanged` event to N subscribers: last delivery",
        "subscribers",
        lambda f: f"p95 {f['last_delivery_p95_ms']:.0f} ms",
        lambda f: f"one subscriber {f['delivery_floor_ms']:.1f} ms",
        lambda f: f["last_delivery_p95_ms"] / f["delivery_floor_ms"],
        "p95 ≤ 1 s (5,000 subscribers)",
        lambda f: f["last_delivery_p95_ms"] <= 1000,
    ),
    Row(
        "ingestion end to end (fetch → parse → clean → dedup → score → store → index → announce)",
        "ingest",
        lambda f: (
            f"{f['first_per_s']:.0f} listings/s (re-run {f['rerun_per_s']:.0f}/s)"
            + (f", {f['workers']:.0f} worker processes" if "workers" in f else "")
        ),
        lambda f: (
            f"cleaning alone {f['clean_per_s']:,.0f}/s; parse + clean {f['parse_clean_per_s']:,.0f}/s"
            + (
                f"; bare fetch {f['bare_fetch_cpu_ms']:.2f} ms of CPU a page; the run's CPU ceiling "
                f"{f['first_ceiling_per_s']:.0f}/s ({f['first_cpu_ms']:.1f} ms of CPU per listing, "
                "all processes)"
                if "first_ceiling_per_s" in f
                else ""
            )
        ),
        lambda f: f["clean_per_s"] / f["first_per_s"],
        "≥ 400 listings/s",
        lambda f: f["first_per_s"] >= 400,
    ),
    Row(
        "`aiqleads reindex`",
        "reindex",
        lambda f: (
            f"{f['leads']:,.0f} leads in {f['reindex_s']:.1f} s ({f['leads_per_s']:,.0f}/s"
            + (f", `--workers {f['workers']:.0f}`" if f.get("workers", 1) > 1 else "")
            + f"; {f['document_us']:.0f} µs to build a document)"
        ),
        lambda f: (
            f"bare `_bulk` of prebuilt documents {f['floor_bulk_s']:.1f} s; "
            f"bare SELECT {f['floor_select_s']:.1f} s"
            + (
                f"; Elasticsearch alone {f['es_floor_cpu_ms_per_doc']:.2f} ms of CPU a document "
                f"({f['es_floor_bound_s'] * 100_000 / f['leads']:.1f} s of both cores at 100k)"
                if "es_floor_cpu_ms_per_doc" in f
                else ""
            )
        ),
        _ratio("ratio"),
        "≤ 15 s at 100k",
        lambda f: f["reindex_s"] * 100_000 / f["leads"] <= 15,
    ),
    Row(
        "mixed load (Locust: browse, search, view, hold, checkout, subscribe), 2 API + 1 worker",
        "load",
        lambda f: (
            f"{f['http_rps']:.0f} HTTP req/s, {f['errors']:.0f} errors, p95 checkout "
            f"{f.get('p95 checkout', 0):.0f} ms"
        ),
        lambda f: f"`/healthz` under the same Locust setup {f['floor_rps']:.0f} req/s",
        lambda f: f["http_rps"] / f["floor_rps"] if f["floor_rps"] else None,
        "0 errors, invariants hold",
        lambda f: f["errors"] == 0 and f["broken_invariants"] == 0,
    ),
]


def machine() -> str:
    """One line about this machine: CPU model and cores, memory, OS, Python."""
    model = "unknown CPU"
    with open("/proc/cpuinfo") as cpuinfo:
        for line in cpuinfo:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    with open("/proc/meminfo") as meminfo:
        kb = int(meminfo.readline().split()[1])
    return (
        f"{model}, {os.cpu_count()} cores, {kb / 1024 / 1024:.0f} GB RAM, "
        f"{platform.system()} {platform.release()}, Python {platform.python_version()}"
    )


def run_bench(bench: Bench, full: bool, logs: Path) -> dict[str, float]:
    """Run one benchmark, echoing its output; its figures (RuntimeError without them)."""
    args = bench.full if full else bench.reduced
    command = [sys.executable, str(BENCH / bench.script), *args]
    print(f"\n=== {bench.name}: {' '.join(command[1:])}", flush=True)
    started = time.perf_counter()
    figures: dict[str, float] | None = None
    log = logs / f"{bench.name}.log"
    with log.open("w") as out:
        proc = subprocess.Popen(
            command, cwd=BENCH, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, bufsize=1
        )
        assert proc.stdout is not None
        for line in proc.stdout:
            out.write(line)
            if line.startswith("::figures:: "):
                figures = json.loads(line.removeprefix("::figures:: "))["figures"]
            elif "alembic.runtime.migration" not in line:
                print(line, end="", flush=True)
        code = proc.wait()
    print(f"=== {bench.name}: exit {code} in {time.perf_counter() - started:.0f} s (log {log})", flush=True)
    if code != 0 or figures is None:
        raise RuntimeError(f"{bench.name} failed (exit {code}); see {log}")
    return figures


SIZES = ("full", "reduced")


def load_runs() -> Runs:
    """The last run of each benchmark at each size, from bench/figures.json (older layouts read too)."""
    if not FIGURES.exists():
        return {}
    saved: dict[str, Any] = json.loads(FIGURES.read_text())
    if "runs" in saved:
        return dict(saved["runs"])
    # the layout before 2026-12-04 kept one size only: its figures, one stamp each
    size = "full" if saved.get("full") else "reduced"
    measured = saved.get("measured") or {}
    return {
        name: {size: {"at": measured.get(name, saved.get("at", "?")), "figures": found}}
        for name, found in (saved.get("figures") or {}).items()
    }


def latest(runs: Runs, name: str, prefer_full: bool) -> tuple[str, dict[str, Any]] | None:
    """The size and run a row shows: this run's size first, else the other one."""
    by_size = runs.get(name, {})
    for size in SIZES if prefer_full else reversed(SIZES):
        if size in by_size:
            return size, by_size[size]
    return None


def table(runs: Runs, full: bool) -> str:
    """The markdown table of every row whose benchmark has figures, each with its size and time."""
    lines = [
        f"Machine: {machine()}. Written by `bench/run_all.py{' --full' if full else ''}`; each row says "
        "the size and time of the run it comes from (the goals are stated for the full sizes), and "
        "each floor was measured in the same run as its figure.",
        "",
        "| path | figure | floor (same run) | ratio | goal | met | run |",
        "|---|---|---|---|---|---|---|",
    ]
    for row in ROWS:
        shown = latest(runs, row.bench, full)
        if shown is None:
            continue
        size, run = shown
        found = run["figures"]
        when = f"{size}, {run['at']}"
        try:
            ratio = row.ratio(found)
            cells = [
                row.path,
                row.figure(found),
                row.floor(found),
                f"{ratio:.2f}×" if ratio is not None else "—",
                row.goal,
                "yes" if row.met(found) else "**no**",
            ]
        except KeyError as missing:
            cells = [row.path, f"(no figure {missing})", "", "", row.goal, ""]
        cells.append(when)
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def write_readme(text: str) -> None:
    """Replace the table between the markers of bench/README.md."""
    current = README.read_text()
    pattern = re.compile(re.escape(BEGIN) + ".*?" + re.escape(END), re.DOTALL)
    if not pattern.search(current):
        raise RuntimeError(f"{README} has no {BEGIN} ... {END} markers")
    README.write_text(pattern.sub(lambda _m: f"{BEGIN}\n{text}\n{END}", current))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--full", action="store_true", help="the sizes of the goals")
    parser.add_argument(
        "--only", nargs="*", help="run only these benchmarks", choices=[b.name for b in BENCHES]
    )
    parser.add_argument("--logs", type=Path, default=Path("/tmp/aiq-bench-logs"))
    args = parser.parse_args()
    args.logs.mkdir(parents=True, exist_ok=True)
    runs = load_runs()
    size = "full" if args.full else "reduced"
    started = time.perf_counter()
    failed: list[str] = []
    for bench in BENCHES:
        if args.only and bench.name not in args.only:
            continue
        try:
            found = run_bench(bench, args.full, args.logs)
            stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
            runs.setdefault(bench.name, {})[size] = {"at": stamp, "figures": found}
        except RuntimeError as exc:
            print(f"!!! {exc}", flush=True)
            failed.append(bench.name)
    FIGURES.write_text(json.dumps({"runs": runs}, indent=2) + "\n")
    text = table(runs, args.full)
    write_readme(text)
    print(f"\n{text}\n\nall benchmarks in {time.perf_counter() - started:.0f} s; table written to {README}")
    if failed:
        sys.exit(f"failed: {', '.join(failed)}")


if __name__ == "__main__":
    main()
