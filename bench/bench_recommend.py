"""Recommendation benchmark: embedding throughput, HNSW recall@10 and similarLeads latency.

Creates a private database (migrated to head), seeds N synthetic leads with
aiqleads_dev.seeding.seed_synthetic and embeds them with the configured (local) model through
embed_missing, then measures on a fixed random sample of source leads (200 queries without a filter,
200 with a 10-mile ``near`` filter centred at the source lead's public location; available leads
only and the source excluded, as similarLeads does):
  - recall@10 of the production query path (use_iterative_scan with settings.hnsw_ef_search, then
    nearest) against an exact scan under the same conditions (``SET LOCAL enable_indexscan = off``:
    the HNSW index can only be read by an index scan, so the scan is exhaustive, while the GiST geo
    index stays usable through bitmap scans); both plans are printed once;
  - a sweep of hnsw.ef_search over 40/100/200 (recall and SQL p50, with and without the geo filter);
  - similarLeads p50/p95 through GraphQL over HTTP against a real `aiqleads serve` (anonymous), with
    the /healthz floor of the same server, the bare HNSW SQL and the exact scan for comparison;
  - when the planner serves geo queries from the GiST index instead (then exact by construction),
    the first --forced-geo of them again on the HNSW iterative scan (GiST index dropped in the
    private database, sequential scans off), the path ef_search matters for under a filter.

Recall counts a returned lead as correct when it is among the exact top 10 or ties the exact 10th
distance (identical headlines share one vector, so several leads can sit at the same distance).

Usage: .venv/bin/python bench/bench_recommend.py [--leads 100000] [--queries 200] [--forced-geo 100]
       [--seed 7] [--keep]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import statistics
import sys
import time
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import httpx
import numpy as np
from _support import api_process, database_name, private_environment
from geoalchemy2 import Geometry
from sqlalchemy import cast, event, func, select, text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from aiqleads.domain.bootstrap import opened
from aiqleads.domain.core.filters.parse import parse_filter
from aiqleads.domain.core.filters.spec import LeadFilterSpec
from aiqleads.domain.core.lead import Lead
from aiqleads.domain.recommendations.embedder import Embedder, Vectors
from aiqleads.domain.recommendations.embedding import embed_missing
from aiqleads.domain.recommendations.models import LeadEmbedding
from aiqleads.domain.recommendations.neighbours import nearest, use_iterative_scan
from aiqleads.domain.recommendations.suggestions import similar_leads
from aiqleads.domain.settings import Settings
from aiqleads.resolvers.ids import to_global_id, uuid_of
from aiqleads_dev.seeding import seed_synthetic

K = 10
RADIUS_MILES = 10.0
EF_SWEEP = (40, 100, 200)
TIE_EPSILON = 1e-6
HNSW_INDEX = "ix_lead_embeddings_hnsw"
GEO_INDEX = "ix_leads_public_location_gist"
GOAL_RECALL = 0.95
GOAL_P95_MS = 25.0
GOAL_EMBED_RATE = 300.0

SIMILAR_GQL = """
query BenchSimilar($leadId: ID!, $filter: LeadFilter, $first: Int) {
  similarLeads(leadId: $leadId, filter: $filter, first: $first) { id title price recommendationReason }
}
"""
SIMILAR_ID_GQL = SIMILAR_GQL.replace("id title price recommendationReason", "id")


@dataclass(frozen=True)
class Query:
    """One similarLeads question: the source lead, its vector and public point, and the filter."""

    lead_id: uuid.UUID
    vector: np.ndarray
    lat: float
    lng: float
    geo: bool

    @property
    def raw_filter(self) -> dict[str, Any] | None:
        """The LeadFilter input (None: the default filter, available leads)."""
        if not self.geo:
            return None
        return {"near": {"center": {"lat": self.lat, "lng": self.lng}, "radiusMiles": RADIUS_MILES}}

    @property
    def spec(self) -> LeadFilterSpec:
        """The parsed filter, as the resolver builds it."""
        return parse_filter(self.raw_filter)


@dataclass(frozen=True)
class Answer:
    """What one query returned: ids and cosine distances (closest first) and the time it took."""

    ids: tuple[uuid.UUID, ...]
    distances: tuple[float, ...]
    ms: float


def _percentile(samples: Sequence[float], q: float) -> float:
    """Linear-interpolated percentile of the samples (q in 0..1)."""
    ordered = sorted(samples)
    k = (len(ordered) - 1) * q
    lo, hi = int(k), min(int(k) + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


def _p50_p95(samples: Sequence[float]) -> str:
    """``p50 x ms   p95 y ms`` of latency samples."""
    return f"p50 {statistics.median(samples):7.2f} ms   p95 {_percentile(samples, 0.95):7.2f} ms"


def _load() -> str:
    """The machine's 1/5/15-minute load averages (this bench shares its cores with PostgreSQL)."""
    return "load average " + " ".join(f"{x:.2f}" for x in os.getloadavg()) + f" on {os.cpu_count()} cores"


def _goal(ok: bool) -> str:
    """The verdict printed beside a figure."""
    return "met" if ok else "NOT MET"


async def _prepare(session: AsyncSession, ef: int | None, *, forced: bool = False) -> None:
    """Set the transaction up for the HNSW production path at ``ef``, or (None) for an exact scan;
    ``forced`` also turns sequential scans off (with the GiST index dropped, only HNSW is left)."""
    if ef is None:
        await session.execute(text("SET LOCAL enable_indexscan = off"))
        return
    if forced:
        await session.execute(text("SET LOCAL enable_seqscan = off"))
    await use_iterative_scan(session, ef)


async def _run_nearest(
    sessionmaker: async_sessionmaker[AsyncSession],
    model: str,
    q: Query,
    ef: int | None,
    *,
    forced: bool = False,
) -> Answer:
    """The query on the HNSW production path at ``ef`` (None: exact scan, index scans disabled)."""
    async with sessionmaker() as session:
        started = time.perf_counter()
        await _prepare(session, ef, forced=forced)
        found = await nearest(session, q.vector, model, q.spec, K, extra=[Lead.id != q.lead_id])
        ms = (time.perf_counter() - started) * 1000
    return Answer(tuple(n.lead.id for n in found), tuple(n.vector_distance for n in found), ms)


def _hits(approx: Answer, exact: Answer) -> int:
    """Approximate results that are in the exact top K or tie its K-th distance."""
    if not exact.ids:
        return 0
    exact_ids, kth = set(exact.ids), exact.distances[-1]
    return sum(
        1
        for i, d in zip(approx.ids, approx.distances, strict=True)
        if i in exact_ids or d <= kth + TIE_EPSILON
    )


def _recall(approx: Sequence[Answer], exact: Sequence[Answer]) -> float:
    """Pooled recall@K: hits over the exact result sizes (queries with no exact result add nothing)."""
    expected = sum(len(e.ids) for e in exact)
    return sum(_hits(a, e) for a, e in zip(approx, exact, strict=True)) / expected if expected else 1.0


@contextlib.contextmanager
def _captured(engine: AsyncEngine) -> Iterator[list[tuple[str, Any]]]:
    """Record the (statement, parameters) the engine sends to the driver inside the block."""
    seen: list[tuple[str, Any]] = []

    def hook(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, many: bool) -> None:
        seen.append((statement, parameters))

    event.listen(engine.sync_engine, "before_cursor_execute", hook)
    try:
        yield seen
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", hook)


def _plan_nodes(plan: dict[str, Any]) -> list[str]:
    """The scan nodes of an EXPLAIN (FORMAT JSON) plan, e.g. ``Index Scan using ix_lead_embeddings_hnsw``."""
    nodes: list[str] = []
    kind = plan["Node Type"]
    if "Scan" in kind:
        index = plan.get("Index Name")
        nodes.append(f"{kind} using {index}" if index else f"{kind} on {plan.get('Relation Name', '?')}")
    for child in plan.get("Plans", []):
        nodes.extend(_plan_nodes(child))
    return nodes


async def _explain(deps: Any, model: str, q: Query, ef: int | None, *, forced: bool = False) -> list[str]:
    """The scan nodes of the statement nearest() sends for this query (HNSW at ``ef`` or exact)."""
    async with deps.sessionmaker() as session:
        await _prepare(session, ef, forced=forced)
        with _captured(deps.engine) as seen:
            await nearest(session, q.vector, model, q.spec, K, extra=[Lead.id != q.lead_id])
        statement, parameters = next(s for s in reversed(seen) if "ORDER BY" in s[0])
        conn = await session.connection()
        result = await conn.exec_driver_sql(f"EXPLAIN (FORMAT JSON) {statement}", parameters)
        raw = result.scalar_one()
        plan = json.loads(raw) if isinstance(raw, str) else raw
    return _plan_nodes(plan[0]["Plan"])


async def _sample_queries(
    sessionmaker: async_sessionmaker[AsyncSession], model: str, count: int, seed: int
) -> list[Query]:
    """``count`` random source leads (fixed seed), each asked once without and once with the geo filter."""
    point = cast(Lead.public_location, Geometry)
    lat, lng = func.ST_Y(point), func.ST_X(point)
    async with sessionmaker() as session:
        ids = (
            await session.scalars(
                select(LeadEmbedding.lead_id)
                .where(LeadEmbedding.embedding_model == model)
                .order_by(LeadEmbedding.lead_id)
            )
        ).all()
        chosen = random.Random(seed).sample(list(ids), min(count, len(ids)))
        rows = (
            await session.execute(
                select(Lead.id, LeadEmbedding.embedding, lat, lng)
                .join(LeadEmbedding, LeadEmbedding.lead_id == Lead.id)
                .where(Lead.id.in_(chosen))
            )
        ).all()
    by_id = {row[0]: row for row in rows}
    plain = [
        Query(i, np.asarray(by_id[i][1], dtype=np.float32), by_id[i][2], by_id[i][3], False) for i in chosen
    ]
    return plain + [Query(q.lead_id, q.vector, q.lat, q.lng, True) for q in plain]


class _TimedEmbedder:
    """The embedder with the seconds spent inside ``embed`` counted (model time vs database time)."""

    def __init__(self, inner: Embedder) -> None:
        self.inner = inner
        self.seconds = 0.0

    @property
    def model_id(self) -> str:
        """The wrapped embedder's model id."""
        return self.inner.model_id

    async def embed(self, texts: Sequence[str]) -> Vectors:
        """The wrapped embed, timed."""
        started = time.perf_counter()
        try:
            return await self.inner.embed(texts)
        finally:
            self.seconds += time.perf_counter() - started

    async def aclose(self) -> None:
        """Nothing: the wrapped embedder is closed with the deps."""


async def _embed(deps: Any, say: Any) -> None:
    """Embed every seeded lead through embed_missing and print the throughput figures."""
    embedder = _TimedEmbedder(deps.lead_embedder)
    started = time.perf_counter()
    report = await embed_missing(deps, embedder, progress=say)
    wall = time.perf_counter() - started
    print(report.line(), flush=True)
    rate = report.embedded / wall if wall > 0 else 0.0
    texts_rate = report.computed / report.seconds if report.seconds > 0 else 0.0
    print(f"model {embedder.model_id}: {texts_rate:,.0f} texts/s (computed / seconds of embed_missing)")
    model_rate = report.computed / embedder.seconds if embedder.seconds > 0 else 0.0
    print(
        f"  of the {report.seconds:.1f}s, {embedder.seconds:.1f}s inside embed() "
        f"({model_rate:,.0f} texts/s of model time) and {report.seconds - embedder.seconds:.1f}s "
        "reading and writing PostgreSQL (UPDATE of the rows, HNSW inserts)"
    )
    ok = rate >= GOAL_EMBED_RATE
    print(f"embed: {rate:,.0f} leads/s   (goal ≥ {GOAL_EMBED_RATE:.0f} leads/s: {_goal(ok)})")
    print(_load(), flush=True)


def _rotated(items: Sequence[Any], i: int) -> list[Any]:
    """The items rotated by i, so no variant is always timed first (shared background load)."""
    k = i % len(items)
    return [*items[k:], *items[:k]]


async def _http_round(
    base_url: str, deps: Any, model: str, ef: int, queries: Sequence[Query], warm: int
) -> tuple[dict[str, list[float]], list[list[uuid.UUID]]]:
    """similarLeads over HTTP (anonymous), /healthz and the bare HNSW SQL, timed alternately per
    query: latencies by name, and the ids similarLeads returned."""
    samples: dict[str, list[float]] = {"similar": [], "similar_id": [], "healthz": [], "sql": []}
    returned: list[list[uuid.UUID]] = []
    async with httpx.AsyncClient(base_url=base_url, timeout=60) as client:

        async def similar(q: Query, query: str = SIMILAR_GQL) -> list[dict[str, Any]]:
            variables = {"leadId": to_global_id("Lead", q.lead_id), "filter": q.raw_filter, "first": K}
            response = await client.post("/graphql", json={"query": query, "variables": variables})
            body: dict[str, Any] = response.json()
            if response.status_code != 200 or body.get("errors"):
                raise RuntimeError(f"GraphQL error ({response.status_code}): {body}")
            leads: list[dict[str, Any]] = body["data"]["similarLeads"]
            return leads

        async def healthz(_q: Query) -> None:
            (await client.get("/healthz")).raise_for_status()

        async def sql(q: Query) -> None:
            await _run_nearest(deps.sessionmaker, model, q, ef)

        for q in queries[:warm]:  # warm-up: connections, caches, the index pages
            await similar(q)
            await healthz(q)
        sample = await similar(queries[0])
        print(f"similarLeads sample: {len(sample)} leads, first {json.dumps(sample[0])[:200]}", flush=True)
        for i, q in enumerate(queries):
            for name in _rotated(("similar", "similar_id", "healthz", "sql"), i):
                started = time.perf_counter()
                if name == "similar":
                    leads = await similar(q)
                elif name == "similar_id":
                    await similar(q, SIMILAR_ID_GQL)
                elif name == "healthz":
                    await healthz(q)
                else:
                    await sql(q)
                samples[name].append((time.perf_counter() - started) * 1000)
                if name == "similar":
                    returned.append([uuid_of(lead["id"], "Lead") for lead in leads])
    return samples, returned


async def _domain_similar(deps: Any, settings: Settings, model: str, queries: Sequence[Query]) -> list[float]:
    """In-process similar_leads (source vector, nearest, reasons) per query, in ms: the SQL side of
    the resolver without GraphQL and HTTP."""
    times: list[float] = []
    for q in queries:
        async with deps.sessionmaker() as session:
            started = time.perf_counter()
            await similar_leads(session, settings, model, q.lead_id, q.spec, K)
            times.append((time.perf_counter() - started) * 1000)
    return times


async def main(argv: list[str]) -> None:
    """Parse the arguments and run the benchmark on a private database."""
    parser = argparse.ArgumentParser(description="Recommendation benchmark on synthetic leads.")
    parser.add_argument("--leads", type=int, default=100_000)
    parser.add_argument(
        "--queries", type=int, default=200, help="source leads (each asked with and without geo)"
    )
    parser.add_argument("--seed", type=int, default=7, help="RNG seed of the source-lead sample")
    parser.add_argument(
        "--forced-geo",
        type=int,
        default=100,
        help="geo queries to repeat forced onto the HNSW index (the first N of the sample; 0: skip)",
    )
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    args = parser.parse_args(argv)

    t0 = time.perf_counter()
    async with private_environment("recommend", keep=args.keep, rate_limit_per_minute=10**9) as settings:
        await _run(settings, args)
    print(f"\ntotal bench time {time.perf_counter() - t0:.0f}s")


async def _run(settings: Settings, args: argparse.Namespace) -> None:
    """Seed, embed, then measure recall, the ef_search sweep and the HTTP latency."""
    print(
        f"database {database_name(settings)}, {args.leads:,} leads, hnsw_ef_search {settings.hnsw_ef_search}"
    )
    print(_load(), flush=True)
    last = [0.0]

    def say(line: str) -> None:
        """Print a progress line every few seconds (and the last one)."""
        if time.perf_counter() - last[0] > 5 or "100%" in line or "100.0%" in line:
            last[0] = time.perf_counter()
            print(f"  {line.strip()}", flush=True)

    t = time.perf_counter()
    await seed_synthetic(settings, args.leads, 42, say, embed=False)
    print(f"seeded {args.leads:,} leads in {time.perf_counter() - t:.1f}s", flush=True)

    async with opened(settings, purpose="bench", embedder=True) as deps:
        t = time.perf_counter()
        await deps.lead_embedder.embed(["warm-up"])  # loads the model (once per process)
        print(f"model loaded and warmed up in {time.perf_counter() - t:.1f}s (not in the rates below)")
        await _embed(deps, say)
    async with opened(settings, purpose="bench") as deps:
        async with deps.engine.connect() as conn:
            await (await conn.execution_options(isolation_level="AUTOCOMMIT")).execute(
                text("VACUUM ANALYZE leads")
            )
        await _measure(settings, deps, args)


def _part(answers: Sequence[Answer], which: Sequence[int]) -> list[Answer]:
    """The answers of these query indexes."""
    return [answers[i] for i in which]


def _p50(answers: Sequence[Answer]) -> float:
    """Median latency of the answers, in ms."""
    return statistics.median(a.ms for a in answers)


async def _on_index(
    deps: Any, model: str, queries: Sequence[Query], ef: int, *, forced: bool = False
) -> list[bool]:
    """Per query: whether the planner runs it on the HNSW index at ``ef``."""
    return [any(HNSW_INDEX in n for n in await _explain(deps, model, q, ef, forced=forced)) for q in queries]


async def _interleaved(
    deps: Any, model: str, queries: Sequence[Query], variants: Sequence[int | None], *, forced: bool = False
) -> dict[int | None, list[Answer]]:
    """Every query under every variant (ef or None: exact), the variants alternating per query so
    background load affects them alike; after a warm-up of 20 queries."""
    sm = deps.sessionmaker
    for q in queries[:20]:
        for value in variants:
            await _run_nearest(sm, model, q, value, forced=forced)
    runs: dict[int | None, list[Answer]] = {value: [] for value in variants}
    for i, q in enumerate(queries):
        answers = {
            value: await _run_nearest(sm, model, q, value, forced=forced) for value in _rotated(variants, i)
        }
        for value in variants:
            runs[value].append(answers[value])
    return runs


def _sweep_table(
    runs: dict[int | None, list[Answer]],
    exact: Sequence[Answer],
    groups: dict[str, list[int]],
    planned: dict[int, list[bool]],
    ef: int,
) -> None:
    """Print recall, SQL p50 and how many queries were planned on HNSW, per ef and query group."""
    names = list(groups)
    head = "".join(f"  {'recall ' + n:>18}" for n in names) + "".join(f"  {'p50 ' + n:>15}" for n in names)
    print(f"  {'ef':>5}{head}  planned on HNSW ({', '.join(names)})")
    for value in sorted(v for v in runs if v is not None):
        answers = runs[value]
        recalls = "".join(f"  {_recall(_part(answers, g), _part(exact, g)):>18.4f}" for g in groups.values())
        p50s = "".join(f"  {_p50(_part(answers, g)):>12.2f} ms" for g in groups.values())
        counts = ", ".join(f"{sum(planned[value][i] for i in g)}/{len(g)}" for g in groups.values())
        mark = "  <- settings.hnsw_ef_search" if value == ef else ""
        print(f"  {value:>5}{recalls}{p50s}  {counts}{mark}")
    if None in runs:
        p50s = "".join(f"  {_p50(_part(runs[None], g)):>12.2f} ms" for g in groups.values())
        print(f"  {'exact':>5}{' ' * 20 * len(names)}{p50s}", flush=True)


async def _measure(settings: Settings, deps: Any, args: argparse.Namespace) -> None:
    """Recall, plans, the ef_search sweep and the HTTP latency on the embedded leads."""
    model = deps.embedding_model
    queries = await _sample_queries(deps.sessionmaker, model, args.queries, args.seed)
    plain = [i for i, q in enumerate(queries) if not q.geo]
    geo = [i for i, q in enumerate(queries) if q.geo]
    groups = {"no filter": plain, "geo": geo}
    ef = settings.hnsw_ef_search
    print(f"\n{len(plain)} queries without a filter and {len(geo)} with a {RADIUS_MILES:g}-mile near filter")

    for label, q in (("no filter", queries[plain[0]]), ("geo filter", queries[geo[0]])):
        print(f"plan HNSW  ({label}, ef {ef}): {', '.join(await _explain(deps, model, q, ef))}")
        print(f"plan exact ({label}): {', '.join(await _explain(deps, model, q, None))}", flush=True)
    for q in queries:
        if any(HNSW_INDEX in node for node in await _explain(deps, model, q, None)):
            raise RuntimeError(f"the exact plan of a query reads {HNSW_INDEX}")
    variants: list[int | None] = [None, *sorted({*EF_SWEEP, ef})]
    planned = {value: await _on_index(deps, model, queries, value) for value in variants if value is not None}
    print(
        f"queries planned on {HNSW_INDEX} at ef {ef}: {sum(planned[ef][i] for i in plain)}/{len(plain)} "
        f"without a filter, {sum(planned[ef][i] for i in geo)}/{len(geo)} with the geo filter (the others: "
        "GiST or seq scan + sort, exact);\nno exact plan reads it (index scans off; the GiST index still "
        "serves through bitmap scans)",
        flush=True,
    )
    runs = await _interleaved(deps, model, queries, variants)
    exact = runs[None]
    print(
        "\nhnsw.ef_search sweep, production plans (recall@10 vs exact; SQL of use_iterative_scan + nearest):"
    )
    _sweep_table(runs, exact, groups, planned, ef)

    chosen = runs[ef]
    r_plain = _recall(_part(chosen, plain), _part(exact, plain))
    r_geo = _recall(_part(chosen, geo), _part(exact, geo))
    same_ids = sum(len(set(a.ids) & set(e.ids)) for a, e in zip(chosen, exact, strict=True))
    strict = same_ids / max(1, sum(len(e.ids) for e in exact))
    print(f"\nrecall@10 (no filter): {r_plain:.4f}")
    verdict = _goal(r_geo >= GOAL_RECALL)
    print(f"recall@10 ({RADIUS_MILES:g}-mile geo filter): {r_geo:.4f}   (goal ≥ {GOAL_RECALL}: {verdict})")
    print(f"recall@10: {_recall(chosen, exact):.4f}   (by id only, ties not counted: {strict:.4f})")
    short_hnsw = sum(1 for i in geo if len(chosen[i].ids) < K)
    short_exact = sum(1 for i in geo if len(exact[i].ids) < K)
    print(f"geo queries with fewer than {K} results: HNSW {short_hnsw}, exact {short_exact} (of {len(geo)})")

    await _http(settings, deps, model, queries, groups, chosen, exact)
    if args.forced_geo > 0 and sum(planned[ef][i] for i in geo) < len(geo):
        await _forced_geo(deps, model, queries, geo[: args.forced_geo], exact, ef)


async def _http(
    settings: Settings,
    deps: Any,
    model: str,
    queries: Sequence[Query],
    groups: dict[str, list[int]],
    chosen: Sequence[Answer],
    exact: Sequence[Answer],
) -> None:
    """similarLeads over HTTP against a real `aiqleads serve`, with its floors and the SQL beside it."""
    domain_ms = await _domain_similar(deps, settings, model, queries)
    ef = settings.hnsw_ef_search
    extra_env = {"AIQ_HNSW_EF_SEARCH": str(ef), "AIQ_EMBEDDER": settings.embedder}
    with api_process(settings, **extra_env) as base_url:
        samples, returned = await _http_round(base_url, deps, model, ef, queries, 20)
    same = sum(1 for got, a in zip(returned, chosen, strict=True) if got == list(a.ids))
    print(f"similarLeads over HTTP returned the same ids as the HNSW SQL for {same}/{len(queries)} queries")
    similar_ms, sql_ms = samples["similar"], samples["sql"]
    s50, s95 = statistics.median(similar_ms), _percentile(similar_ms, 0.95)
    verdict = _goal(s95 <= GOAL_P95_MS)
    print(f"\nsimilar p50/p95: {s50:.2f}/{s95:.2f} ms   (goal p95 ≤ {GOAL_P95_MS:g} ms: {verdict})")
    exact_ms = [a.ms for a in exact]
    print(f"exact scan SQL p50/p95: {statistics.median(exact_ms):.2f}/{_percentile(exact_ms, 0.95):.2f} ms")
    for name, which in groups.items():
        print(f"  {'similarLeads, ' + name + ':':<36}{_p50_p95([similar_ms[i] for i in which])}")
    print(f"  {'similarLeads selecting only id:':<36}{_p50_p95(samples['similar_id'])}")
    print(f"  {f'HNSW SQL (ef {ef}), timed alongside:':<36}{_p50_p95(sql_ms)}")
    for name, which in groups.items():
        print(f"  {'exact SQL, ' + name + ':':<36}{_p50_p95([exact_ms[i] for i in which])}")
    print(f"  {'in-process similar_leads (domain):':<36}{_p50_p95(domain_ms)}")
    print(f"  {'/healthz floor, same server:':<36}{_p50_p95(samples['healthz'])}")
    print(f"  similar p50 / HNSW SQL p50: {s50 / statistics.median(sql_ms):.2f}x")
    print(_load(), flush=True)


async def _forced_geo(
    deps: Any, model: str, queries: Sequence[Query], geo: Sequence[int], exact: Sequence[Answer], ef: int
) -> None:
    """The geo queries forced onto the HNSW iterative scan (GiST index dropped in this private
    database, sequential scans off): what ef_search buys when the filter runs inside the graph walk."""
    async with deps.engine.begin() as conn:
        definition = (
            await conn.execute(text(f"SELECT pg_get_indexdef('{GEO_INDEX}'::regclass)"))
        ).scalar_one()
        await conn.execute(text(f"DROP INDEX {GEO_INDEX}"))
    try:
        geo_queries = [queries[i] for i in geo]
        geo_exact = [exact[i] for i in geo]
        variants = sorted({*EF_SWEEP, ef})
        planned = {v: await _on_index(deps, model, geo_queries, v, forced=True) for v in variants}
        runs: dict[int | None, list[Answer]] = dict(
            await _interleaved(deps, model, geo_queries, variants, forced=True)
        )
        print(
            f"\n{len(geo)} geo queries forced onto the HNSW iterative scan ({GEO_INDEX} dropped, "
            "enable_seqscan off):"
        )
        _sweep_table(runs, geo_exact, {"geo": list(range(len(geo)))}, planned, ef)
        short = sum(1 for a in runs[ef] if len(a.ids) < K)
        short_exact = sum(1 for a in geo_exact if len(a.ids) < K)
        print(
            f"  fewer than {K} results at ef {ef}: HNSW {short}, exact {short_exact} (of {len(geo)})",
            flush=True,
        )
    finally:
        async with deps.engine.begin() as conn:
            await conn.execute(text(definition))


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1:]))
