"""Setup shared by the benchmarks: a private migrated database, Elasticsearch prefix and arq queue,
removed afterwards; and real `aiqleads serve` processes.

The database and API-process helpers are the test suite's own (tests/aiqtest_support), so tests and
benchmarks start servers and databases the same way; this module puts tests/ on sys.path for them.
"""

from __future__ import annotations

import os
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
    "CpuMeter",
    "api_process",
    "api_processes",
    "asyncpg_dsn",
    "cpu_ceiling",
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


_TICK = os.sysconf("SC_CLK_TCK")
# the services' processes, by the name the kernel knows them by (Elasticsearch runs in a JVM)
_SERVICE_ROLES = {"postgres": "postgres", "postmaster": "postgres", "java": "elasticsearch"}


def _process_cpu(pid: int) -> float:
    """CPU seconds (user + system) a process has used so far (0 if it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / _TICK


class CpuMeter:
    """CPU seconds spent from its creation to ``spent()``, by role: the given processes (e.g.
    ``api=[pids]``), every PostgreSQL, Redis and Elasticsearch process on the machine, and this
    process with its reaped children ("client"). A process that ends in between is lost; one that
    starts is counted whole."""

    def __init__(self, **pids: list[int]) -> None:
        self._pids = pids
        self._before = self._snapshot()

    def _snapshot(self) -> dict[tuple[str, int], float]:
        totals = {(role, pid): _process_cpu(pid) for role, group in self._pids.items() for pid in group}
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                name = (entry / "comm").read_text().strip()
            except OSError:
                continue
            role = "redis" if name.startswith("redis") else _SERVICE_ROLES.get(name)
            if role is not None:
                totals[(role, int(entry.name))] = _process_cpu(int(entry.name))
        usage = os.times()  # with the children already reaped (a finished process pool's workers)
        totals[("client", 0)] = usage.user + usage.system + usage.children_user + usage.children_system
        return totals

    def spent(self) -> dict[str, float]:
        """CPU seconds each role spent since the meter was made."""
        after = self._snapshot()
        spent = dict.fromkeys([*self._pids, "postgres", "redis", "elasticsearch", "client"], 0.0)
        for (role, pid), seconds in after.items():
            spent[role] += seconds - self._before.get((role, pid), 0.0)
        return spent


def cpu_ceiling(spent: dict[str, float], units: int, unit: str) -> tuple[float, float, str]:
    """CPU seconds per unit in all, the machine's ceiling (its cores over that, units per second,
    whatever the waits) and a printable line of both by role."""
    per_unit = {role: seconds / max(1, units) for role, seconds in spent.items()}
    total = sum(per_unit.values())
    cores = os.cpu_count() or 1
    ceiling = cores / total if total > 0 else float("inf")
    parts = ", ".join(f"{role} {seconds * 1000:.2f} ms" for role, seconds in per_unit.items())
    line = (
        f"  CPU per {unit}: {parts}; {total * 1000:.2f} ms in all "
        f"=> at most {ceiling:,.0f} {unit}s/s on {cores} cores, with no wait at all"
    )
    return total, ceiling, line


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
