"""Read-path benchmark: radius, bounding-box and faceted full-text queries on 100,000 leads.

Creates a private database (migrated to head) and a private Elasticsearch alias, seeds synthetic
leads with aiqleads_dev.seeding.seed_synthetic, builds the index with reindex_all, then prints
p50/p95 latency of each query
  - through the full GraphQL stack (Starlette app with its lifespan, in-process httpx ASGI client,
    anonymous caller, 20 leads per page with totalCount, nested seats/address/location), and
  - for comparison, the bare query: the domain SQL (page + count on PostgreSQL/PostGIS, run
    concurrently on two connections as the API does) and the bare Elasticsearch search request
    (hits + facet aggregations).
The two are timed alternately on the same inputs so background load affects both alike.

Usage: .venv/bin/python bench/bench_read.py [--leads 100000] [--iterations 150] [--keep]
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import sys
import time
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
from _support import database_name, private_environment
from asgi_lifespan import LifespanManager
from sqlalchemy import func, select, text

from aiqleads.app import create_app
from aiqleads.domain.bootstrap import bootstrap
from aiqleads.domain.core.filters.parse import parse_filter
from aiqleads.domain.core.lead import Lead
from aiqleads.domain.leads.query import filter_conditions, list_leads
from aiqleads.domain.search.indexer import reindex_all
from aiqleads.domain.search.mapping import alias_name
from aiqleads.domain.search.query import search_body
from aiqleads.domain.settings import Settings
from aiqleads_dev.seeding import METROS, seed_synthetic

LIST_FIELDS = """
  totalCount
  pageInfo { hasNextPage endCursor }
  edges { cursor node {
    id title propertyType askingPrice bedrooms bathrooms price availableSeats distanceMiles
    address { city zip } location { lat lng }
  } }
"""
LEADS_GQL = (
    "query Bench($filter: LeadFilter, $sort: LeadSort) {\n"
    f"  leads(filter: $filter, sort: $sort, first: 20) {{ {LIST_FIELDS} }}\n"
    "}"
)
SEARCH_GQL = f"""
query BenchSearch($query: String!, $filter: LeadFilter) {{
  searchLeads(query: $query, filter: $filter, first: 20) {{
    {LIST_FIELDS}
    facets {{
      propertyTypes {{ value count }} sources {{ value count }} cities {{ value count }}
      bedrooms {{ value count }} priceRanges {{ from to count }}
    }}
  }}
}}
"""
SEARCH_TEXTS = [
    "2 bed 2 bath condo near downtown",
    "single family home with pool",
    "townhouse garage",
    "condominum",
    "3br house fixer upper",
    "duplex investment",
]

Call = Callable[[int], Awaitable[Any]]


def _percentile(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    k = (len(ordered) - 1) * q
    lo, hi = int(k), min(int(k) + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


async def _measure_pair(label: str, bare_label: str, iterations: int, full: Call, bare: Call) -> None:
    """Time the full-stack and the bare call alternately on the same inputs."""
    for i in range(max(5, iterations // 10)):  # warm-up
        await full(10_000 + i)
        await bare(10_000 + i)
    samples: dict[str, list[float]] = {"GraphQL": [], bare_label: []}
    for i in range(iterations):
        order = [("GraphQL", full), (bare_label, bare)]
        if i % 2:
            order.reverse()
        for name, call in order:
            started = time.perf_counter()
            await call(i)
            samples[name].append((time.perf_counter() - started) * 1000)
    for name, values in samples.items():
        p50, p95 = statistics.median(values), _percentile(values, 0.95)
        what = f"{label} — {name}"
        print(f"  {what:<62} p50 {p50:7.2f} ms   p95 {p95:7.2f} ms   (n={iterations})", flush=True)


def _radius_filter(i: int) -> dict[str, Any]:
    rng = random.Random(i)
    metro = METROS[i % len(METROS)]
    centre = {"lat": metro.lat + rng.uniform(-0.05, 0.05), "lng": metro.lng + rng.uniform(-0.05, 0.05)}
    return {"near": {"center": centre, "radiusMiles": 10.0}}


def _bbox_filter(i: int) -> dict[str, Any]:
    rng = random.Random(i)
    metro = METROS[i % len(METROS)]
    lat, lng = metro.lat + rng.uniform(-0.05, 0.05), metro.lng + rng.uniform(-0.05, 0.05)
    return {"within": {"south": lat - 0.15, "west": lng - 0.18, "north": lat + 0.15, "east": lng + 0.18}}


def _search_args(i: int) -> tuple[str, dict[str, Any]]:
    metro = METROS[i % len(METROS)]
    return SEARCH_TEXTS[i % len(SEARCH_TEXTS)], {"city": metro.city}


async def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(description="Read-path benchmark on synthetic leads.")
    parser.add_argument("--leads", type=int, default=100_000)
    parser.add_argument("--iterations", type=int, default=150)
    parser.add_argument("--keep", action="store_true", help="keep the database and index afterwards")
    args = parser.parse_args(argv)

    t0 = time.perf_counter()
    async with private_environment("read", keep=args.keep, rate_limit_per_minute=10**9) as settings:
        await _run(settings, args)
    print(f"\ntotal bench time {time.perf_counter() - t0:.0f}s")


async def _run(settings: Settings, args: argparse.Namespace) -> None:
    print(f"database {database_name(settings)}, index alias {alias_name(settings)}", flush=True)
    deps = await bootstrap(settings, purpose="bench")
    engine, sessionmaker, es = deps.engine, deps.sessionmaker, deps.es
    try:
        last = [0.0]

        def progress(line: str) -> None:  # a line every few seconds is plenty
            if time.perf_counter() - last[0] > 3 or "100.0%" in line or "alias" in line:
                last[0] = time.perf_counter()
                print(f"  {line}", flush=True)

        t = time.perf_counter()
        written = await seed_synthetic(settings, args.leads, 42, progress)
        print(f"seeded {written} leads in {time.perf_counter() - t:.1f}s", flush=True)
        async with engine.begin() as conn:
            await conn.execute(text("ANALYZE"))
        t = time.perf_counter()
        result = await reindex_all(sessionmaker, es, settings, progress)
        print(
            f"indexed {result.indexed} leads into {result.index} in {time.perf_counter() - t:.1f}s",
            flush=True,
        )

        async with sessionmaker() as session:
            for label, raw in (("radius", _radius_filter(0)), ("bbox", _bbox_filter(0))):
                stmt = select(func.count()).select_from(Lead).where(*filter_conditions(parse_filter(raw)))
                compiled = stmt.compile(engine.sync_engine, compile_kwargs={"literal_binds": True})
                plan = (await session.execute(text(f"EXPLAIN {compiled}"))).scalars().all()
                uses = (
                    # geo filters run on the public point (see core.visibility)
                    "GiST index"
                    if any("ix_leads_public_location_gist" in line for line in plan)
                    else "NO geo index"
                )
                print(f"plan of the {label} filter: {uses}", flush=True)

        app = create_app(settings)
        async with (
            LifespanManager(app, startup_timeout=60),
            httpx.AsyncClient(
                transport=httpx.ASGITransport(app=app), base_url="http://bench", timeout=60
            ) as client,
        ):

            async def gql(query: str, variables: dict[str, Any]) -> dict[str, Any]:
                response = await client.post("/graphql", json={"query": query, "variables": variables})
                body: dict[str, Any] = response.json()
                if response.status_code != 200 or body.get("errors"):
                    raise RuntimeError(f"GraphQL error: {body}")
                return body

            sample = await gql(LEADS_GQL, {"filter": _radius_filter(0), "sort": "DISTANCE"})
            print(
                f"radius sample: totalCount {sample['data']['leads']['totalCount']} within 10 mi", flush=True
            )
            sample = await gql(LEADS_GQL, {"filter": _bbox_filter(0)})
            print(f"bbox sample: totalCount {sample['data']['leads']['totalCount']} in a 0.30° x 0.36° box")
            q, f = _search_args(0)
            sample = await gql(SEARCH_GQL, {"query": q, "filter": f})
            total = sample["data"]["searchLeads"]["totalCount"]
            print(f"search sample: {q!r} in {f['city']}: totalCount {total}")

            async def sql_page(raw: dict[str, Any], sort: str) -> None:
                async with sessionmaker() as session, sessionmaker() as count_session:
                    await list_leads(session, parse_filter(raw), sort, 20, None, count_session=count_session)

            async def es_search(i: int) -> None:
                q, f = _search_args(i)
                body = search_body(parse_filter(f), q, "RELEVANCE", 21, None)
                await es.search(index=alias_name(settings), body=body)

            print(f"\nlatency over {args.leads} leads (first: 20 with totalCount; one client, sequential):")
            pairs: list[tuple[str, str, Call, Call]] = [
                (
                    "radius 10 mi, sort DISTANCE",
                    "bare SQL (page + count)",
                    lambda i: gql(LEADS_GQL, {"filter": _radius_filter(i), "sort": "DISTANCE"}),
                    lambda i: sql_page(_radius_filter(i), "DISTANCE"),
                ),
                (
                    "bbox ~20x21 mi, sort NEWEST",
                    "bare SQL (page + count)",
                    lambda i: gql(LEADS_GQL, {"filter": _bbox_filter(i)}),
                    lambda i: sql_page(_bbox_filter(i), "NEWEST"),
                ),
                (
                    "search + facets, RELEVANCE",
                    "bare ES request (hits + aggs)",
                    lambda i: gql(SEARCH_GQL, {"query": _search_args(i)[0], "filter": _search_args(i)[1]}),
                    es_search,
                ),
            ]
            for label, bare_label, full, bare in pairs:
                await _measure_pair(label, bare_label, args.iterations, full, bare)
    finally:
        await deps.aclose()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1:]))
