"""Read-path benchmark: radius, bounding-box and faceted full-text queries on 100,000 leads.

Creates a private database (migrated to head) and a private Elasticsearch alias, seeds synthetic
leads with aiqleads_dev.seeding.seed_synthetic, builds the index with reindex_all, then prints
p50/p95 latency of each query
  - through the full GraphQL stack (Starlette app with its lifespan, in-process httpx ASGI client,
    anonymous caller, 20 leads per page with totalCount, nested seats/address/location), and
  - for comparison, the floors: the minimal SQL for the same answer, hand-written on plain asyncpg
    connections (the KNN page on the GiST index of the public point, ``ORDER BY public_location <->
    centre``, and the count, concurrently on two connections as the API does), and the bare
    Elasticsearch search request (hits + facet aggregations); and, in between, the domain query
    alone (page + count through SQLAlchemy, without GraphQL).
Each is timed alternately with its floor on the same inputs so background load affects both alike.
The exact count and the count capped at AIQ_EXACT_COUNT_LIMIT are timed alone too.

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

import asyncpg
import httpx
from _support import asyncpg_dsn, database_name, emit_figures, percentile, private_environment
from asgi_lifespan import LifespanManager
from sqlalchemy import func, select, text

from aiqleads.app import create_app
from aiqleads.domain.bootstrap import bootstrap
from aiqleads.domain.core.filters.parse import parse_filter
from aiqleads.domain.core.geo import METERS_PER_MILE
from aiqleads.domain.core.lead import Lead
from aiqleads.domain.leads.query import list_leads
from aiqleads.domain.leads.sql_filter import filter_conditions
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


async def _measure(label: str, iterations: int, calls: dict[str, Call], floor: str) -> dict[str, float]:
    """Time the calls in rotation on the same inputs; print each p50/p95 and its ratio to the floor."""
    for i in range(max(5, iterations // 10)):  # warm-up
        for call in calls.values():
            await call(10_000 + i)
    samples: dict[str, list[float]] = {name: [] for name in calls}
    names = list(calls)
    for i in range(iterations):
        for name in names[i % len(names) :] + names[: i % len(names)]:
            started = time.perf_counter()
            await calls[name](i)
            samples[name].append((time.perf_counter() - started) * 1000)
    base = statistics.median(samples[floor])
    p50s: dict[str, float] = {}
    for name, values in samples.items():
        p50, p95 = statistics.median(values), percentile(values, 0.95)
        p50s[name] = p50
        ratio = "(floor)" if name == floor else f"{p50 / base:5.2f}x the floor"
        what = f"{label} — {name}"
        print(f"  {what:<66} p50 {p50:7.2f} ms   p95 {p95:7.2f} ms   {ratio}", flush=True)
    return p50s


# The minimal SQL for the answer of the radius query: the KNN page of the columns the GraphQL query
# reads, and the count, with the same conditions the API applies (available leads only).
_WHERE = (
    "ST_DWithin(public_location, ST_SetSRID(ST_MakePoint($1, $2), 4326)::geography, $3, false)"
    " AND status = 'AVAILABLE' AND buyers_count + holds_count < max_buyers"
)
_KNN_PAGE = (
    "SELECT id, title, property_type, asking_price, bedrooms, bathrooms, price_credits, max_buyers,"
    " buyers_count, holds_count, city, zip, ST_AsBinary(public_location) AS point,"
    " public_location <-> ST_SetSRID(ST_MakePoint($1, $2), 4326)::geography AS metres"
    f" FROM leads WHERE {_WHERE} ORDER BY metres, id LIMIT 21"
)
_COUNT = f"SELECT count(*) FROM leads WHERE {_WHERE}"
_CAPPED_COUNT = f"SELECT count(*) FROM (SELECT 1 FROM leads WHERE {_WHERE} LIMIT $4) AS capped"


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
    parser.add_argument("--database", help="use this already seeded and indexed bench database")
    args = parser.parse_args(argv)

    t0 = time.perf_counter()
    if args.database:
        base = Settings.from_env()
        head = base.database_url.rsplit("/", 1)[0]
        prefix = args.database.replace("aiq_bench_", "aiqbench_", 1)
        settings = base.replace(
            env="development",
            database_url=f"{head}/{args.database}",
            es_index_prefix=prefix,
            rate_limit_per_minute=10**9,
        )
        figures = await _run(settings, args, seeded=True)
    else:
        async with private_environment("read", keep=args.keep, rate_limit_per_minute=10**9) as settings:
            figures = await _run(settings, args)
    print(f"\ntotal bench time {time.perf_counter() - t0:.0f}s")
    emit_figures("read", figures)


async def _run(settings: Settings, args: argparse.Namespace, *, seeded: bool = False) -> dict[str, float]:
    print(f"database {database_name(settings)}, index alias {alias_name(settings)}", flush=True)
    deps = await bootstrap(settings, purpose="bench")
    engine, sessionmaker, es = deps.engine, deps.sessionmaker, deps.es
    try:
        last = [0.0]

        def progress(line: str) -> None:  # a line every few seconds is plenty
            if time.perf_counter() - last[0] > 3 or "100.0%" in line or "alias" in line:
                last[0] = time.perf_counter()
                print(f"  {line}", flush=True)

        if not seeded:
            t = time.perf_counter()
            written = await seed_synthetic(settings, args.leads, 42, progress, embed=False)
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
                # the read sessions the API's resolvers use (autocommit: the driver path, driver_rows)
                read = deps.read_sessionmaker
                async with read() as session, read() as count_session:
                    await list_leads(
                        session,
                        parse_filter(raw),
                        sort,
                        20,
                        None,
                        count_session=count_session,
                        count_limit=settings.exact_count_limit,
                    )

            async def es_search(i: int) -> None:
                q, f = _search_args(i)
                body = search_body(parse_filter(f), q, "RELEVANCE", 21, None)
                await es.search(index=alias_name(settings), body=body)

            page_conn = await asyncpg.connect(asyncpg_dsn(settings.database_url))
            count_conn = await asyncpg.connect(asyncpg_dsn(settings.database_url))

            def radius_args(i: int) -> tuple[float, float, float]:
                near = _radius_filter(i)["near"]
                return near["center"]["lng"], near["center"]["lat"], near["radiusMiles"] * METERS_PER_MILE

            async def minimal_sql(i: int) -> None:
                args_ = radius_args(i)
                await asyncio.gather(page_conn.fetch(_KNN_PAGE, *args_), count_conn.fetchval(_COUNT, *args_))

            async def exact_count(i: int) -> None:
                await count_conn.fetchval(_COUNT, *radius_args(i))

            async def capped_count(i: int) -> None:
                await count_conn.fetchval(_CAPPED_COUNT, *radius_args(i), settings.exact_count_limit + 1)

            async def knn_page(i: int) -> None:
                await page_conn.fetch(_KNN_PAGE, *radius_args(i))

            plan = await page_conn.fetch("EXPLAIN " + _KNN_PAGE, *radius_args(0))
            knn = any("Index Scan using ix_leads_public_location_gist" in r[0] for r in plan) and not any(
                "Sort Key: (public_location <->" in r[0] for r in plan
            )
            print(f"plan of the minimal KNN page: {'KNN index scan' if knn else 'NOT a KNN scan'}")

            print(f"\nlatency over {args.leads} leads (first: 20 with totalCount; one client, sequential):")
            figures: dict[str, float] = {}
            radius = await _measure(
                "radius 10 mi, sort DISTANCE",
                args.iterations,
                {
                    "GraphQL": lambda i: gql(LEADS_GQL, {"filter": _radius_filter(i), "sort": "DISTANCE"}),
                    "domain query (page + count)": lambda i: sql_page(_radius_filter(i), "DISTANCE"),
                    "minimal SQL (KNN page + exact count)": minimal_sql,
                },
                "minimal SQL (KNN page + exact count)",
            )
            counts = await _measure(
                "radius 10 mi, the SQL alone",
                args.iterations,
                {
                    "KNN page": knn_page,
                    "exact count": exact_count,
                    f"count capped at {settings.exact_count_limit}": capped_count,
                },
                "KNN page",
            )
            bbox = await _measure(
                "bbox ~20x21 mi, sort NEWEST",
                args.iterations,
                {
                    "GraphQL": lambda i: gql(LEADS_GQL, {"filter": _bbox_filter(i)}),
                    "domain query (page + count)": lambda i: sql_page(_bbox_filter(i), "NEWEST"),
                },
                "domain query (page + count)",
            )
            search = await _measure(
                "search + facets, RELEVANCE",
                args.iterations,
                {
                    "GraphQL": lambda i: gql(
                        SEARCH_GQL, {"query": _search_args(i)[0], "filter": _search_args(i)[1]}
                    ),
                    "bare ES request (hits + aggs)": es_search,
                },
                "bare ES request (hits + aggs)",
            )
            await page_conn.close()
            await count_conn.close()
            floor = radius["minimal SQL (KNN page + exact count)"]
            figures.update(
                radius_graphql_ms=radius["GraphQL"],
                radius_floor_ms=floor,
                radius_ratio=radius["GraphQL"] / floor,
                exact_count_ms=counts["exact count"],
                capped_count_ms=counts[f"count capped at {settings.exact_count_limit}"],
                knn_page_ms=counts["KNN page"],
                bbox_graphql_ms=bbox["GraphQL"],
                bbox_floor_ms=bbox["domain query (page + count)"],
                bbox_ratio=bbox["GraphQL"] / bbox["domain query (page + count)"],
                search_graphql_ms=search["GraphQL"],
                search_floor_ms=search["bare ES request (hits + aggs)"],
                search_ratio=search["GraphQL"] / search["bare ES request (hits + aggs)"],
            )
            return figures
    finally:
        await deps.aclose()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1:]))
