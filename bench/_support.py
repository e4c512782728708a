"""Setup shared by the benchmarks: a private migrated database, Elasticsearch prefix and arq queue,
removed afterwards; and real `aiqleads serve` processes.

The database and API-process helpers are the test suite's own (tests/aiqtest_support), so tests and
benchmarks start servers and databases the same way; this module puts tests/ on sys.path for them.
"""

from __future__ import annotations

import sys
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from aiqtest_support.database import asyncpg_dsn, create_database, drop_database
from aiqtest_support.live_server import ApiProcess, api_process, api_processes

from aiqleads.domain.bootstrap import opened
from aiqleads.domain.settings import Settings

__all__ = [
    "ApiProcess",
    "api_process",
    "api_processes",
    "asyncpg_dsn",
    "database_name",
    "drop_indices",
    "drop_queue",
    "emit_figures",
    "percentile",
    "private_environment",
    "report_line",
]


def percentile(samples: list[float], q: float) -> float:
    """The q-quantile (0..1) of samples, linearly interpolated."""
    ordered = sorted(samples)
    k = (len(ordered) - 1) * q
    lo, hi = int(k), min(int(k) + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


def emit_figures(name: str, figures: dict[str, float]) -> None:
    """Print a benchmark's key figures as one JSON line that bench/run_all.py collects."""
    import json

    print(f"::figures:: {json.dumps({'bench': name, 'figures': figures})}", flush=True)


def report_line(label: str, p50: float, p95: float, floor: float | None = None) -> str:
    """One printed figure: p50/p95 in ms, and the ratio of the p50 to the floor when there is one."""
    ratio = f"   {p50 / floor:5.2f}x the floor" if floor else "   (floor)"
    return f"  {label:<58} p50 {p50:7.2f} ms   p95 {p95:7.2f} ms{ratio}"


def database_name(settings: Settings) -> str:
    """The database a Settings points at."""
    return settings.database_url.rsplit("/", 1)[1]


async def drop_indices(settings: Settings) -> None:
    """Delete every Elasticsearch index of the settings' prefix."""
    async with opened(settings, purpose="bench") as deps:
        await deps.es.indices.delete(index=f"{settings.es_index_prefix}*", ignore_unavailable=True)


async def drop_queue(settings: Settings) -> None:
    """Delete the settings' arq queue (jobs a run left queued)."""
    async with opened(settings, purpose="bench") as deps:
        await deps.redis.delete(settings.arq_queue_name)


@asynccontextmanager
async def private_environment(label: str, *, keep: bool = False, **changes: Any) -> AsyncIterator[Settings]:
    """Settings (from the environment) on a fresh migrated database ``aiq_bench_<label>_<tag>`` with
    a private ES index prefix and arq queue, plus ``changes``.

    Afterwards the database, the prefix's indices and the queue are dropped, unless ``keep``.
    """
    base = Settings.from_env()
    tag = f"{label}_{uuid.uuid4().hex[:8]}"
    name = f"aiq_bench_{tag}"
    url = await create_database(base, name)
    settings = base.replace(
        env="development",
        database_url=url,
        es_index_prefix=f"aiqbench_{tag}",
        arq_queue_name=f"aiqbench:{tag}:queue",
        **changes,
    )
    try:
        yield settings
    finally:
        if keep:
            print(f"kept database {name} and the indices {settings.es_index_prefix}*")
        else:
            await drop_indices(settings)
            await drop_queue(settings)
            await drop_database(base, name)
