"""Benchmark of `aiqleads reindex`: rebuilding the Elasticsearch index of N leads from PostgreSQL.

A private migrated database is seeded with N synthetic leads (``seed_synthetic``, no embeddings),
ANALYZEd, then, in one run:
  - the floor on the PostgreSQL side: one bare SELECT of the index columns of every lead;
  - ``reindex_all`` (new index, keyset reads, documents, bulk requests, alias swap, catch-up);
  - the floor on the Elasticsearch side: the same documents, built and serialised in memory
    beforehand, sent as bare ``_bulk`` requests (two at a time, one per core) into a scratch
    index with the rebuild's settings; and, for the record, what building one document costs in
    one process (timed on a sample), since that is what the rebuild spends its CPU on.
Prints seconds and leads/s of each, and the ratio of the rebuild to each floor.

Run: ``.venv/bin/python bench/bench_reindex.py [--leads 100000]``. Everything it creates is removed.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import os
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from typing import Any

from _support import CpuMeter, cpu_ceiling, emit_figures, private_environment
from sqlalchemy import select, text

from aiqleads.domain.bootstrap import Deps, bootstrap
from aiqleads.domain.core.lead import INDEX_COLUMNS
from aiqleads.domain.search.indexer import BUILD_SETTINGS, build_bulk_bodies, reindex_all
from aiqleads.domain.search.mapping import INDEX_SETTINGS, MAPPING, lead_document
from aiqleads_dev.seeding import seed_synthetic

FLOOR_CHUNK = 2000
FLOOR_CONCURRENCY = 2
DOCUMENT_SAMPLE = 5000


def _line(label: str, seconds: float, count: int, floor: float | None = None, *, note: str = "") -> str:
    ratio = note or (f"{seconds / floor:6.2f}x" if floor else "(floor)")
    return f"  {label:<52} {seconds:7.2f} s  {count / seconds:>9,.0f} leads/s   {ratio}"


async def _bare_select(deps: Deps) -> tuple[float, list[Any]]:
    """One statement reading the index columns of every lead (the rows are kept for the ES floor)."""
    started = time.perf_counter()
    async with deps.sessionmaker() as session:
        rows = list((await session.execute(select(*INDEX_COLUMNS))).all())
    return time.perf_counter() - started, rows


async def _bare_bulk(deps: Deps, index: str, bodies: list[bytes]) -> tuple[float, dict[str, float]]:
    """Pre-serialised bulk bodies sent FLOOR_CONCURRENCY at a time into a scratch index with the
    rebuild's settings: seconds, and the CPU each process spent."""
    es = deps.es
    await es.indices.create(index=index, settings={**INDEX_SETTINGS, **BUILD_SETTINGS}, mappings=MAPPING)
    queue = list(reversed(bodies))

    async def sender() -> None:
        while queue:
            body = queue.pop()
            response = await es.bulk(operations=body)
            assert not response.get("errors"), "the floor's bulk request failed"

    meter = CpuMeter()
    started = time.perf_counter()
    await asyncio.gather(*(sender() for _ in range(FLOOR_CONCURRENCY)))
    await es.indices.refresh(index=index)
    elapsed = time.perf_counter() - started
    spent = meter.spent()
    await es.indices.delete(index=index)
    return elapsed, spent


async def _prebuilt_bodies(index: str, rows: list[Any]) -> list[bytes]:
    """The bulk bodies of every row, built beforehand (in worker processes, not timed)."""
    names = list(rows[0]._fields)
    values = [tuple(row) for row in rows]
    loop = asyncio.get_running_loop()
    with ProcessPoolExecutor(os.cpu_count() or 1, mp_context=multiprocessing.get_context("spawn")) as pool:
        parts = await asyncio.gather(
            *(
                loop.run_in_executor(pool, build_bulk_bodies, index, names, values[i : i + FLOOR_CHUNK])
                for i in range(0, len(values), FLOOR_CHUNK)
            )
        )
    return [body for bodies, _ in parts for body in bodies]


def _document_cost(rows: list[Any]) -> tuple[float, int]:
    """Seconds per document of lead_document in this one process, on a sample of the rows."""
    sample = rows[:: max(1, len(rows) // DOCUMENT_SAMPLE)][:DOCUMENT_SAMPLE]
    started = time.perf_counter()
    for row in sample:
        lead_document(row)
    return (time.perf_counter() - started) / len(sample), len(sample)


async def run(
    leads: int = 100_000, *, workers: int = 1, progress: Callable[[str], None] | None = None
) -> dict[str, float]:
    """Seed `leads` synthetic leads privately, time reindex_all and its floors; returns the figures."""
    say = progress or (lambda line: print(line, flush=True))
    async with private_environment("reindex") as settings:
        deps = await bootstrap(settings, purpose="bench")
        try:
            t = time.perf_counter()
            await seed_synthetic(settings, leads, 42, lambda _line: None, embed=False)
            async with deps.engine.begin() as conn:
                await conn.execute(text("ANALYZE"))
            say(f"seeded {leads:,} synthetic leads in {time.perf_counter() - t:.1f}s")

            select_s, rows = await _bare_select(deps)
            per_document, sampled = _document_cost(rows)
            floor_index = f"{settings.es_index_prefix}-floor"
            bodies = await _prebuilt_bodies(floor_index, rows)
            del rows

            meter = CpuMeter()
            result = await reindex_all(deps.sessionmaker, deps.es, settings, workers=workers)
            reindex_cpu = meter.spent()
            assert result.indexed == leads, f"reindex indexed {result.indexed} of {leads}"
            reindex_s = result.seconds

            bulk_s, bulk_cpu = await _bare_bulk(deps, floor_index, bodies)
        finally:
            await deps.aclose()
    say(f"reindex of {leads:,} leads (figure, then the floors measured in the same run):")
    label = "aiqleads reindex" if workers == 1 else f"aiqleads reindex --workers {workers}"
    say(_line(f"reindex_all ({label})", reindex_s, leads, bulk_s))
    say(_line("floor: bare _bulk of prebuilt documents (ES)", bulk_s, leads))
    say(_line("floor: bare SELECT of the index columns (PG)", select_s, leads))
    say(
        _line(
            "  for the record: lead_document in one process",
            per_document * leads,
            leads,
            note=f"({per_document * 1e6:,.0f} us/doc, on {sampled:,} rows)",
        )
    )
    say(f"  ratio to the slower floor: {reindex_s / max(bulk_s, select_s):.2f}x")
    # the machine's bound: the CPU one document costs in all, and what Elasticsearch alone spends
    # indexing a prebuilt one (the floor's), spread over every core
    cores = os.cpu_count() or 1
    cpu_s, ceiling, cpu_line = cpu_ceiling(reindex_cpu, leads, "document")
    say(cpu_line.replace("client", "this process + its build workers"))
    es_floor_ms = bulk_cpu["elasticsearch"] / leads * 1000
    es_bound_s = es_floor_ms / 1000 * leads / cores
    say(
        f"  Elasticsearch alone, on the bare _bulk of prebuilt documents: {es_floor_ms:.3f} ms of CPU a "
        f"document => {es_bound_s:.1f} s of all {cores} cores for {leads:,} documents, "
        "before any read or build"
    )
    return {
        "leads": float(leads),
        "workers": float(workers),
        "reindex_s": reindex_s,
        "leads_per_s": leads / reindex_s,
        "floor_bulk_s": bulk_s,
        "floor_select_s": select_s,
        "document_us": per_document * 1e6,
        "ratio": reindex_s / max(bulk_s, select_s),
        "cpu_ms_per_doc": cpu_s * 1000,
        "cpu_ceiling_per_s": ceiling,
        "es_floor_cpu_ms_per_doc": es_floor_ms,
        "es_floor_bound_s": es_bound_s,
    }


def main(argv: list[str] | None = None) -> None:
    """Command line: --leads N (default 100,000)."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--leads", type=int, default=100_000, help="synthetic leads to seed and index")
    parser.add_argument("--workers", type=int, default=1, help="processes building documents (--workers)")
    args = parser.parse_args(argv)
    emit_figures("reindex", asyncio.run(run(args.leads, workers=args.workers)))


if __name__ == "__main__":
    main()
