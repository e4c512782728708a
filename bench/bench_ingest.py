"""Benchmark of aggregation: cleaning throughput and end-to-end ingestion throughput.

1. Cleaning: parses the pages of N generated listings (all four sources, realistic structure) and
   runs the rule-based cleaning on every parsed record; prints listings cleaned per second (clean
   only, and parse + clean).
2. End to end: a private migrated database and Elasticsearch index prefix; the generated pages are
   served by loopback sites (one per source) and the real scrape runs against them: polite fetcher
   (robots.txt, per-host gate set high so the pipeline, not politeness, is measured), parsers,
   cleaning, validation, dedup (PostGIS + fuzzy), scoring (neighbourhood medians), pricing, storage,
   Elasticsearch indexing and newLeads announcements. The scrape jobs (one per source and region)
   are shared out over ``--workers`` processes (2 by default: one per core, as arq workers are
   deployed), each with its own clients and running its jobs one after another as a worker does;
   the loopback sites run in a process of their own (they stand for sites on other machines).
   Prints listings ingested per second for the first run and for an idempotent re-run, plus how
   many leads and merged duplicates resulted. Each run also counts the CPU every process spent on
   it (the workers, the sites, and every PostgreSQL, Elasticsearch and Redis process): per
   listing, and the machine's ceiling that implies (its cores over the CPU one listing costs).
3. The fetch floor: the same pages fetched one after another with a bare aiohttp session from the
   same loopback sites, the CPU per page (this client and the sites' process).
4. The summary: each end-to-end figure beside the floors of parts 1 and 3 (measured in the same
   run) and the ratio of the time per listing to the floor's. ``run()`` returns the figures.

Run: ``.venv/bin/python bench/bench_ingest.py [--listings 600] [--clean 5000] [--workers 2]``.
Everything it creates (database, indices) is removed at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import queue
import random
import time
import uuid
from dataclasses import replace
from datetime import timedelta
from typing import Any

import aiohttp
from _support import CpuMeter, cpu_ceiling, emit_figures, private_environment
from sqlalchemy import func, select

from aiqleads.domain.bootstrap import bootstrap
from aiqleads.domain.cleaning.pipeline import clean_record
from aiqleads.domain.core.lead import Lead, LeadSourceRecord
from aiqleads.domain.settings import Settings
from aiqleads.workers.context import for_deps
from aiqleads.workers.ingest_jobs import run_scrape
from aiqleads.workers.scrapers.fetcher import FetchConfig
from aiqleads.workers.scrapers.regions import resolve_region
from aiqleads.workers.scrapers.runner import PARSERS
from aiqleads_dev import samples as build
from aiqleads_dev.samples import SAMPLES, Sample, site_pages
from aiqleads_dev.site_server import SiteServer

SOURCES = ("zillow", "craigslist", "fsbo", "facebook")


def generate(count: int, seed: int = 7) -> list[Sample]:
    """count listings across the ten metros; about 15% of properties appear on a second source."""
    rng = random.Random(seed)
    made: list[Sample] = []
    while len(made) < count:
        base = rng.choice(SAMPLES)
        _number, _, rest = base.street.partition(" ")
        sources = [rng.choice(SOURCES)]
        if rng.random() < 0.15:
            sources.append(rng.choice([s for s in SOURCES if s != sources[0]]))
        tag = uuid.uuid4().hex[:8]
        made.append(
            replace(
                base,
                key=f"{base.key}-{tag}",
                street=f"{rng.randint(100, 9999)} {rest}",
                lat=round(base.lat + rng.uniform(-0.03, 0.03), 6),
                lng=round(base.lng + rng.uniform(-0.03, 0.03), 6),
                price=int(base.price * rng.uniform(0.8, 1.25)) // 100 * 100,
                phone=f"({base.phone.strip('+1 (')[:3]}) {rng.randint(201, 989)}-{rng.randint(1000, 9999)}",
                email=f"seller.{tag}@example.com" if base.email else None,
                description=f"{base.description} Ref {tag}.",
                sources=tuple(sources),
                extra={},
            )
        )
    return made


def parse_all(samples: list[Sample]) -> list[Any]:
    """Parse every generated page offline (search rows merged with detail pages) → RawRecords."""
    sites = site_pages(samples, per_page=50)
    records = []
    for source, pages in sites.items():
        parser = PARSERS[source]
        for path, text in pages.items():
            if not _is_search(source, path):
                continue
            region = _region_of(source, path)
            page = parser.parse_search(text, "https://bench.test" + path, region)
            for listing in page.listings:
                record = listing.record
                detail_path = "/" + (record.url or "").split("/", 3)[3]
                if listing.needs_detail and detail_path in pages:
                    record = parser.parse_detail(pages[detail_path], record.url or "", record)
                records.append(record)
    return records


def _is_search(source: str, path: str) -> bool:
    return {
        "zillow": "/fsbo/",
        "craigslist": "/search/rea",
        "fsbo": "/listings/search/",
        "facebook": "/propertyforsale/",
    }[source] in path


def _region_of(source: str, path: str) -> Any:
    parts = [p for p in path.split("?")[0].split("/") if p]
    name = {"zillow": parts[0], "craigslist": parts[0], "fsbo": parts[-1], "facebook": parts[1]}[source]
    return resolve_region(name)


def bench_cleaning(count: int) -> dict[str, float]:
    """The floors: listings cleaned per second (rules only), and parsed + cleaned per second."""
    samples = generate(count, seed=11)
    started = time.perf_counter()
    records = parse_all(samples)
    parsed = time.perf_counter()
    now = build.ANCHOR + timedelta(days=1)
    for record in records:
        clean_record(record, now)
    cleaned = time.perf_counter()
    print(
        f"cleaning: {len(records)} listings parsed in {parsed - started:.2f} s, cleaned in "
        f"{cleaned - parsed:.2f} s"
    )
    print(f"  listings cleaned per second (rules):           {len(records) / (cleaned - parsed):,.0f}")
    print(f"  listings parsed + cleaned per second:          {len(records) / (cleaned - started):,.0f}")
    return {
        "clean_per_s": len(records) / (cleaned - parsed),
        "parse_clean_per_s": len(records) / (cleaned - started),
    }


async def bench_end_to_end(count: int, workers: int = 2) -> dict[str, float]:
    """Listings ingested per second end to end, first run and idempotent re-run."""
    async with private_environment("ingest") as settings:
        return await _end_to_end(settings, count, workers)


def _shares(samples: list[Sample], workers: int) -> list[list[tuple[str, str]]]:
    """The scrape jobs (source, region) split over the worker processes, as even in listings as
    longest-first can make them (the run lasts as long as its busiest worker)."""
    sizes: dict[tuple[str, str], int] = {}
    for sample in samples:
        for source in sample.sources:
            sizes[(source, sample.region)] = sizes.get((source, sample.region), 0) + 1
    shares: list[list[tuple[str, str]]] = [[] for _ in range(workers)]
    loads = [0] * workers
    for job, size in sorted(sizes.items(), key=lambda item: (-item[1], item[0])):
        lightest = loads.index(min(loads))
        shares[lightest].append(job)
        loads[lightest] += size
    return [share for share in shares if share]


def _serve_sites(samples: list[Sample], ready: Any, stop: Any) -> None:
    """A process of its own serving the loopback sites (they stand for the real sites, which run
    on other machines): sends its base URLs on ``ready``, serves until ``stop`` is set."""

    async def serve() -> None:
        server = SiteServer({k: dict(v) for k, v in site_pages(samples, per_page=25).items()})
        ready.put(await server.start())
        await asyncio.to_thread(stop.wait)
        await server.stop()

    asyncio.run(serve())


def _scrape_worker(settings: Settings, jobs: list[tuple[str, str]], go: Any, results: Any) -> None:
    """A worker process, as an arq worker runs scrape jobs: its own clients, then, at each ``go``
    (the first run, the re-run), its share of the jobs one after another; each run's counts are
    sent on ``results``."""

    async def work() -> None:
        deps = await bootstrap(settings, purpose="bench")  # no LLM: the rules-only pipeline is measured
        ctx = for_deps(deps)
        config = FetchConfig.from_settings(settings, rate_per_host=5000.0)
        try:
            for _ in range(2):
                await asyncio.to_thread(go.wait)
                counts = dict.fromkeys(("created", "merged", "unchanged", "listings", "pages"), 0)
                for source, region in jobs:
                    report = await run_scrape(ctx, source, region, pages=100, fetch_config=config)
                    counts["created"] += report.created
                    counts["merged"] += report.merged
                    counts["unchanged"] += report.unchanged
                    counts["listings"] += report.listings
                    counts["pages"] += report.search_pages + report.detail_pages
                results.put(counts)
        except BaseException as exc:
            results.put({"error": repr(exc)})
            go.abort()  # the bench stops instead of waiting for this worker
            raise
        finally:
            await deps.aclose()

    asyncio.run(work())


def _collect(results: Any, processes: list[Any]) -> dict[str, int]:
    """Every worker's counts of one run, summed (a worker that failed or died fails the bench)."""
    totals: dict[str, int] = {}
    for _ in processes:
        while True:
            try:
                counts = results.get(timeout=1)
                break
            except queue.Empty:
                if any(p.exitcode not in (None, 0) for p in processes):
                    raise RuntimeError("a scrape worker died") from None
        if "error" in counts:
            raise RuntimeError(f"a scrape worker failed: {counts['error']}")
        for key, value in counts.items():
            totals[key] = totals.get(key, 0) + value
    return totals


async def _end_to_end(base: Settings, count: int, workers: int) -> dict[str, float]:
    samples = generate(count)
    spawn = multiprocessing.get_context("spawn")
    ready, stop = spawn.Queue(), spawn.Event()
    sites = spawn.Process(target=_serve_sites, args=(samples, ready, stop), name="bench-sites")
    sites.start()
    processes: list[Any] = []
    try:
        bases: dict[str, str] = await asyncio.to_thread(ready.get, True, 60)
        urls = {k: v + ("/{region}" if k == "craigslist" else "") for k, v in bases.items()}
        settings = base.replace(source_base_urls=urls)
        prefix = settings.es_index_prefix
        shares = _shares(samples, workers)
        go, results = spawn.Barrier(len(shares) + 1), spawn.Queue()
        for n, share in enumerate(shares):
            process = spawn.Process(
                target=_scrape_worker, args=(settings, share, go, results), name=f"bench-scrape-{n}"
            )
            process.start()
            processes.append(process)
        jobs = ", ".join(f"{len(share)} jobs" for share in shares)
        print(f"end to end: {len(processes)} scrape workers ({jobs}); the sites in a process of their own")
        listings_total = sum(len(s.sources) for s in samples)
        figures: dict[str, float] = {}
        for key, label in (("first_per_s", "first run"), ("rerun_per_s", "re-run (idempotent)")):
            await asyncio.to_thread(go.wait, 120)  # every worker has its clients: all start at once
            meter = CpuMeter(workers=[p.pid for p in processes], sites=[sites.pid])
            started = time.perf_counter()
            totals = await asyncio.to_thread(_collect, results, processes)
            elapsed = time.perf_counter() - started
            spent = meter.spent()
            listings = totals["listings"]
            figures[key] = listings / elapsed
            print(
                f"end to end, {label}: {listings} listings ({totals['pages']} pages fetched) in "
                f"{elapsed:.1f} s → {totals['created']} new leads, {totals['merged']} merged, "
                f"{totals['unchanged']} unchanged"
            )
            print(
                f"  listings ingested per second (fetch→parse→clean→dedup→score→store→index→announce): "
                f"{listings / elapsed:,.1f}"
            )
            cpu_total, ceiling, cpu_line = cpu_ceiling(spent, listings, "listing")
            print(cpu_line.replace("client", "this process"))
            figures[key.replace("_per_s", "_cpu_ms")] = cpu_total * 1000
            figures[key.replace("_per_s", "_ceiling_per_s")] = ceiling
        for process in processes:
            await asyncio.to_thread(process.join, 60)
        figures["workers"] = len(processes)
        deps = await bootstrap(settings, purpose="bench")
        try:
            async with deps.sessionmaker() as session:
                leads = await session.scalar(select(func.count()).select_from(Lead))
                sources = await session.scalar(select(func.count()).select_from(LeadSourceRecord))
            await deps.es.indices.refresh(index=f"{prefix}*")
            indexed = (await deps.es.count(index=f"{prefix}*"))["count"]
        finally:
            await deps.aclose()
        figures.update(await bench_bare_fetch(bases, samples, sites.pid))
        print(
            f"  check: {listings_total} listings generated, {leads} leads, {sources} lead sources, "
            f"{indexed} docs in ES"
        )
    finally:
        for process in processes:
            if process.is_alive():
                process.kill()
            process.join(15)
        stop.set()
        sites.join(30)
        if sites.is_alive():
            sites.kill()
    return figures


async def bench_bare_fetch(bases: dict[str, str], samples: list[Sample], sites_pid: int) -> dict[str, float]:
    """The fetch floor: every page of the sites once, one after another, on a bare aiohttp session
    (no robots, gate, policy or size bound): wall and CPU per page, client and site server."""
    pages = site_pages(samples, per_page=25)
    urls = [base + path for source, base in bases.items() for path in pages[source]]
    async with aiohttp.ClientSession() as session:
        for url in urls[:20]:  # warm: connections open, handlers hot
            async with session.get(url) as response:
                await response.text()
        meter = CpuMeter(sites=[sites_pid])
        started = time.perf_counter()
        for url in urls:
            async with session.get(url) as response:
                await response.text()
        elapsed = time.perf_counter() - started
        spent = meter.spent()
        cpu = spent["client"] + spent["sites"]
    print(
        f"fetch floor: {len(urls)} pages on a bare aiohttp session, one after another: "
        f"{elapsed / len(urls) * 1000:.2f} ms a page, {cpu / len(urls) * 1000:.2f} ms of CPU (client + site)"
    )
    return {"bare_fetch_ms": elapsed / len(urls) * 1000, "bare_fetch_cpu_ms": cpu / len(urls) * 1000}


def _line(label: str, rate: float, floor_label: str, floor: float) -> str:
    # the ratio is of times per listing: how many times the floor's cost one ingested listing takes
    return f"  {label:<32} {rate:>9,.1f}/s   {floor_label:<24} {floor:>9,.0f}/s   {floor / rate:6.2f}x"


async def run(listings: int = 600, clean: int = 5000, workers: int = 2) -> dict[str, float]:
    """Both parts; prints each end-to-end figure beside the floors measured in the same run."""
    figures = bench_cleaning(clean)
    figures.update(await bench_end_to_end(listings, workers))
    print("ingestion (listings/s, then the floor measured in the same run, and the time ratio):")
    fetch_per_s = 1000 / figures["bare_fetch_ms"]
    for key, label in (("first_per_s", "end to end, first run"), ("rerun_per_s", "end to end, re-run")):
        print(_line(label, figures[key], "floor: cleaning (rules)", figures["clean_per_s"]))
        print(_line("", figures[key], "floor: parse + clean", figures["parse_clean_per_s"]))
        print(_line("", figures[key], "floor: bare fetch (pages)", fetch_per_s))
        ceiling = figures[key.replace("_per_s", "_ceiling_per_s")]
        print(_line("", figures[key], "ceiling: CPU of the run", ceiling))
    return figures


def main(argv: list[str] | None = None) -> None:
    """Command line: --listings N (end to end), --clean N (the cleaning floor)."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--listings", type=int, default=600, help="listings for the end-to-end run")
    parser.add_argument("--clean", type=int, default=5000, help="listings for the cleaning run")
    parser.add_argument(
        "--workers", type=int, default=2, help="scrape worker processes (one per core, as deployed)"
    )
    args = parser.parse_args(argv)
    emit_figures("ingest", asyncio.run(run(args.listings, args.clean, args.workers)))


if __name__ == "__main__":
    main()
