"""Read-path benchmark: radius, bounding-box and faceted full-text queries on 100,000 leads.

Creates a private database (migrated to head) and a private Elasticsearch alias, seeds synthetic
leads with aiqleads_dev.seeding.seed_synthetic, builds the index with reindex_all, then prints
p50/p95 latency of each query
  - through the full GraphQL stack: one real ``aiqleads serve`` process (uvicorn, the production
    HTTP stack) on one keep-alive HTTP connection from a light client (``http.client``), anonymous
    caller, 20 leads per page with totalCount, nested seats/address/location; and
  - for comparison, the floors: the minimal SQL for the same answer, hand-written on plain asyncpg
    connections, and the bare Elasticsearch search request (hits + facet aggregations); and, in
    between, the domain query alone (page + count through SQLAlchemy, without GraphQL).
The minimal SQL of the radius page is the fastest statement that gives the API's answer: a KNN
scan of the GiST index finds the distance of the page's last row, and the page is read in
(distance, id) order from the disk of that radius (one ``ORDER BY distance, id`` over the whole
radius would sort every match: it is timed too, to show it); the count is the one the API answers,
exact up to AIQ_EXACT_COUNT_LIMIT matches (``totalCountIsExact`` false beyond); both run
concurrently on two connections, as the API runs them.
Each is timed alternately with its floor on the same inputs so background load affects both alike.
The exact count and the count capped at AIQ_EXACT_COUNT_LIMIT are timed alone too.

Usage: .venv/bin/python bench/bench_read.py [--leads 100000] [--iterations 150] [--keep]
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import http.client
import random
import statistics
import sys
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import urlsplit

import asyncpg
import orjson
from _support import api_process, asyncpg_dsn, database_name, emit_figures, percentile, private_environment
from sqlalchemy import func, select, text

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
_JSON = {"Content-Type": "application/json"}


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


# The minimal SQL for the answer of the radius query, with the same conditions the API applies
# (available leads only): the columns the GraphQL query reads, and the count.
_CENTRE = "ST_SetSRID(ST_MakePoint($1, $2), 4326)::geography"
_ON_MARKET = "status = 'AVAILABLE' AND buyers_count + holds_count < max_buyers"
_WHERE = f"ST_DWithin(public_location, {_CENTRE}, $3, false) AND {_ON_MARKET}"
_PAGE_COLUMNS = (
    "SELECT id, title, property_type, asking_price, bedrooms, bathrooms, price_credits, max_buyers,"
    " buyers_count, holds_count, city, zip, ST_AsBinary(public_location) AS point,"
    f" public_location <-> {_CENTRE} AS metres FROM leads"
)
# the distance of the 21st nearest match, by a KNN scan (the radius checked row by row, so the scan
# is nearest-first); the page is every match within it, in (distance, id) order (0.01 m: the KNN
# operator's and ST_DWithin's last bit)
_NEAREST_21 = (
    f"SELECT public_location <-> {_CENTRE} AS metres FROM leads"
    f" WHERE _ST_DWithin(public_location, {_CENTRE}, $3, false) AND {_ON_MARKET}"
    f" ORDER BY public_location <-> {_CENTRE} LIMIT 21"
)
_KNN_PAGE = (
    f"{_PAGE_COLUMNS} WHERE {_WHERE} AND ST_DWithin(public_location, {_CENTRE},"
    f" coalesce((SELECT max(metres) FROM ({_NEAREST_21}) AS nearest), $3) + 0.01, false)"
    " ORDER BY metres, id LIMIT 21"
)
_SORTED_PAGE = f"{_PAGE_COLUMNS} WHERE {_WHERE} ORDER BY metres, id LIMIT 21"
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

        with api_process(settings) as base_url:
            parts = urlsplit(base_url)
            api = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port, timeout=60)

            async def gql(query: str, variables: dict[str, Any]) -> dict[str, Any]:
                # a blocking call on purpose: the lightest client, and nothing else runs meanwhile
                payload = orjson.dumps({"query": query, "variables": variables})
                try:
                    api.request("POST", "/graphql", body=payload, headers=_JSON)
                    response = api.getresponse()
                except (BrokenPipeError, ConnectionResetError, http.client.RemoteDisconnected):
                    # uvicorn closes a connection idle for 5 s (while the SQL alone is timed): again
                    # on a new one (in a warm-up: the timed calls follow each other closely)
                    api.close()
                    api.request("POST", "/graphql", body=payload, headers=_JSON)
                    response = api.getresponse()
                body: dict[str, Any] = orjson.loads(response.read())
                if response.status != 200 or body.get("errors"):
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

            cap = settings.exact_count_limit + 1

            async def minimal_sql(i: int) -> tuple[list[asyncpg.Record], int]:
                args_ = radius_args(i)
                page, count = await asyncio.gather(
                    page_conn.fetch(_KNN_PAGE, *args_), count_conn.fetchval(_CAPPED_COUNT, *args_, cap)
                )
                return page, count

            async def exact_count(i: int) -> None:
                await count_conn.fetchval(_COUNT, *radius_args(i))

            async def capped_count(i: int) -> None:
                await count_conn.fetchval(_CAPPED_COUNT, *radius_args(i), cap)

            async def knn_page(i: int) -> None:
                await page_conn.fetch(_KNN_PAGE, *radius_args(i))

            async def sorted_page(i: int) -> None:
                await page_conn.fetch(_SORTED_PAGE, *radius_args(i))

            plan = await page_conn.fetch("EXPLAIN " + _NEAREST_21, *radius_args(0))
            knn = any("Index Scan using ix_leads_public_location_gist" in r[0] for r in plan) and not any(
                "Sort Key: (public_location <->" in r[0] for r in plan
            )
            print(f"plan of the minimal page's nearest rows: {'KNN index scan' if knn else 'NOT a KNN scan'}")
            for i in range(20):  # the floor gives the API's answer: the same page, the same count
                answer = (await gql(LEADS_GQL, {"filter": _radius_filter(i), "sort": "DISTANCE"}))["data"]
                page, count = await minimal_sql(i)
                ids = [
                    uuid.UUID(base64.urlsafe_b64decode(e["node"]["id"] + "==").decode()[5:])
                    for e in answer["leads"]["edges"]
                ]
                if ids != [row["id"] for row in page[:20]] or answer["leads"]["totalCount"] != min(
                    count, cap - 1
                ):
                    raise RuntimeError(f"the minimal SQL's answer differs from the API's at centre {i}")
            print("the minimal SQL gives the API's page and totalCount (20 centres)")

            print(f"\nlatency over {args.leads} leads (first: 20 with totalCount; one client, sequential):")
            figures: dict[str, float] = {}
            radius = await _measure(
                "radius 10 mi, sort DISTANCE",
                args.iterations,
                {
                    "GraphQL": lambda i: gql(LEADS_GQL, {"filter": _radius_filter(i), "sort": "DISTANCE"}),
                    "domain query (page + count)": lambda i: sql_page(_radius_filter(i), "DISTANCE"),
                    "minimal SQL (KNN page + capped count)": minimal_sql,
                },
                "minimal SQL (KNN page + capped count)",
            )
            counts = await _measure(
                "radius 10 mi, the SQL alone",
                args.iterations,
                {
                    "KNN page": knn_page,
                    "the page in one ORDER BY (distance, id)": sorted_page,
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
            floor = radius["minimal SQL (KNN page + capped count)"]
            figures.update(
                # the API's totalCount was checked above to be this count, exact up to the limit
                count_limit=settings.exact_count_limit,
                count_checked_centres=20,
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
