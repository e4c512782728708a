"""Benchmark of dynamic pricing at scale, against the real services.

1. Creates a private database, migrates it and seeds N synthetic leads (default 100,000) with
   ``aiqleads_dev.seeding.seed_synthetic``, which prices them with the pricing engine and
   schedules their next freshness tick (``reprice_due_at``) 6 hours ahead, like ingestion does.
2. Repricing throughput of the cron job (``reprice_dirty_job``) in leads/second:
   a) every lead's freshness tick due (the ``reprice_due_at`` path), with the listings aged by one
      tick interval first, as the cron finds them when their ticks come due,
   b) every lead marked dirty by a real demand signal (the Redis dirty-set path; no tick due),
   c) a run with nothing changed, and one with 1,000 dirty leads: the cost follows what changed.
3. End-to-end latency from a burst of cart-add signals to the event delivered to a real
   websocket subscriber (``aiqleads serve`` subprocess, graphql-transport-ws, ``priceChanged``
   with a radius), through an in-process arq worker configured exactly like ``aiqleads worker``.

Run: ``.venv/bin/python bench/bench_pricing.py [--leads 100000] [--samples 20]``.
Everything it creates (database, Redis keys, queue) is removed at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import time
import uuid
from contextlib import suppress
from datetime import UTC, datetime
from typing import Any

import websockets
from _support import api_process, private_environment
from arq.worker import Worker
from sqlalchemy import text

from aiqleads.domain.pricing import signals
from aiqleads.domain.pricing.engine import DEFAULT_POLICY
from aiqleads.domain.settings import Settings
from aiqleads.resolvers.ids import to_global_id
from aiqleads.workers import pricing_jobs
from aiqleads.workers.context import deps, find_deps
from aiqleads.workers.runtime import shutdown, startup
from aiqleads.workers.settings import worker_settings

SUBSCRIPTION = (
    "subscription($near: GeoRadiusInput) { priceChanged(near: $near) { leadId oldPrice newPrice } }"
)


async def _reprice_until_done(ctx: dict[str, Any]) -> tuple[int, int, float]:
    """Run the cron job until nothing is left; returns (leads processed, changed, seconds)."""
    processed = changed = 0
    started = time.perf_counter()
    while True:
        stats = await pricing_jobs.reprice_dirty_job(ctx)
        processed += stats["dirty"] + stats["due"]
        changed += stats["changed"]
        if stats["dirty"] + stats["due"] == 0:
            break
    return processed, changed, time.perf_counter() - started


async def _signal_all(redis: Any, lead_ids: list[uuid.UUID], queue: str) -> float:
    """Record one real view signal per lead (64 concurrent callers); returns signals/second."""
    started = time.perf_counter()
    policy = signals.SignalPolicy(burst_threshold=1_000_000)  # throughput of the counters only
    sem = asyncio.Semaphore(64)

    async def one(lead_id: uuid.UUID) -> None:
        async with sem:
            await signals.record_signal(redis, lead_id, "view", queue_name=queue, policy=policy)

    for i in range(0, len(lead_ids), 5000):
        await asyncio.gather(*(one(lead_id) for lead_id in lead_ids[i : i + 5000]))
    return len(lead_ids) / (time.perf_counter() - started)


async def _latency(
    settings: Settings, ctx: dict[str, Any], samples: int, poll_delay: float | None
) -> list[float]:
    """Signal burst → delivered websocket event, for `samples` leads around one city centre."""
    async with deps(ctx).engine.connect() as conn:
        center = (
            await conn.execute(
                text(
                    "SELECT ST_Y(location::geometry), ST_X(location::geometry) FROM leads "
                    "WHERE status = 'AVAILABLE' ORDER BY id LIMIT 1"
                )
            )
        ).one()
        rows = (
            await conn.execute(
                text(
                    "SELECT id FROM leads WHERE status = 'AVAILABLE' AND price_credits >= 8 "
                    "AND ST_DWithin(location, ST_MakePoint(:lng, :lat)::geography, 7242) "
                    "ORDER BY id LIMIT :n OFFSET :off"
                ),
                {
                    "lat": center[0],
                    "lng": center[1],
                    "n": samples,
                    "off": 0 if poll_delay is None else samples,
                },
            )
        ).all()
    lead_ids = [row[0] for row in rows]
    redis = deps(ctx).redis
    config = worker_settings(settings) | {"handle_signals": False}  # the `aiqleads worker` configuration
    if poll_delay is not None:
        config["poll_delay"] = poll_delay
    worker = Worker(**config)
    worker_task = asyncio.create_task(worker.async_run())
    latencies: list[float] = []
    try:
        with api_process(settings) as base:
            ws = await websockets.connect(
                base.replace("http", "ws") + "/graphql", subprotocols=["graphql-transport-ws"]
            )
            await ws.send(json.dumps({"type": "connection_init", "payload": {}}))
            await ws.recv()
            near = {"near": {"center": {"lat": center[0], "lng": center[1]}, "radiusMiles": 5}}
            await ws.send(
                json.dumps(
                    {"id": "1", "type": "subscribe", "payload": {"query": SUBSCRIPTION, "variables": near}}
                )
            )
            await asyncio.sleep(
                0.5
            )  # let the subscription register (it watches 5 miles; samples lie within 4.5)
            for lead_id in lead_ids:
                started = time.perf_counter()
                for _ in range(5):
                    await signals.record_signal(
                        redis, lead_id, "cart_add", queue_name=settings.arq_queue_name
                    )
                while True:
                    try:
                        message = json.loads(await asyncio.wait_for(ws.recv(), 5))
                    except TimeoutError:
                        print(f"  no event for {lead_id} within 5 s (price did not move)")
                        break
                    if message.get("type") != "next":
                        continue
                    change = message["payload"]["data"]["priceChanged"]
                    if change["leadId"] == to_global_id("Lead", lead_id):
                        latencies.append(time.perf_counter() - started)
                        break
                await asyncio.sleep(0.05)
            await ws.close()
    finally:
        worker_task.cancel()
        with suppress(asyncio.CancelledError):
            await worker_task
        with suppress(asyncio.CancelledError):  # close() gathers the job tasks cancelled above
            await worker.close()
    return latencies


async def main(n: int, samples: int) -> None:
    async with private_environment("pricing") as settings:
        await _run(settings, n, samples)


async def _run(settings: Settings, n: int, samples: int) -> None:
    ctx: dict[str, Any] = {"settings": settings}
    try:
        from aiqleads_dev.seeding import seed_synthetic

        t = time.perf_counter()
        await seed_synthetic(settings, n, 42, progress=lambda msg: None, embed=False)
        print(f"seeded {n:,} leads in {time.perf_counter() - t:.1f}s")

        await startup(ctx)
        engine, redis = deps(ctx).engine, deps(ctx).redis
        async with engine.begin() as conn:
            await conn.execute(text("ANALYZE leads"))

        # a) every freshness tick due. Seeding priced the leads with the engine just now and scheduled
        # their ticks one interval ahead (none for fully decayed ones): age the listings by that
        # interval, as the cron finds them when the ticks come due, and make every lead's tick due.
        async with engine.begin() as conn:
            await conn.execute(
                text(
                    "UPDATE leads SET posted_at = posted_at - make_interval(secs => :tick), "
                    "reprice_due_at = now() - interval '1 minute'"
                ),
                {"tick": DEFAULT_POLICY.decay_recheck_seconds},
            )
        done, changed, secs = await _reprice_until_done(ctx)
        print(f"cron, due path:   {done:,} leads repriced in {secs:.1f}s = {done / secs:,.0f} leads/s "
              f"({changed:,} prices changed)")  # fmt: skip

        # b) every lead dirty through a real signal; the ticks scheduled by run a) are cleared so the
        # due path takes no part in this measurement
        async with engine.connect() as conn:
            ids = [row[0] for row in await conn.execute(text("SELECT id FROM leads"))]
        async with engine.begin() as conn:
            await conn.execute(text("UPDATE leads SET reprice_due_at = NULL"))
        rate = await _signal_all(redis, ids, settings.arq_queue_name)
        print(f"signals:          {len(ids):,} view signals recorded at {rate:,.0f} signals/s (64 callers)")
        done, changed, secs = await _reprice_until_done(ctx)
        print(f"cron, dirty path: {done:,} leads repriced in {secs:.1f}s = {done / secs:,.0f} leads/s "
              f"({changed:,} prices changed)")  # fmt: skip

        # c) the cost follows what changed, not the table size
        async with engine.begin() as conn:
            await conn.execute(text("UPDATE leads SET reprice_due_at = NULL"))
        t = time.perf_counter()
        await pricing_jobs.reprice_dirty_job(ctx)
        print(f"cron, nothing changed among {n:,} leads: {(time.perf_counter() - t) * 1000:.1f} ms")
        await signals.mark_dirty(redis, ids[:1000], queue_name=settings.arq_queue_name)
        t = time.perf_counter()
        stats = await pricing_jobs.reprice_dirty_job(ctx)
        print(f"cron, {stats['dirty']:,} dirty among {n:,} leads: {(time.perf_counter() - t) * 1000:.1f} ms")

        # 3) latency signal → delivered websocket event. The bulk runs above queued search re-index
        # jobs for every changed price; drop them so the worker below measures the signal path only.
        dropped = await redis.zcard(settings.arq_queue_name)
        await redis.delete(settings.arq_queue_name)
        print(f"(dropped {dropped} queued search re-index jobs of the bulk runs)")
        configured = worker_settings(settings).get("poll_delay", 0.5)  # arq's default when unset
        for poll_delay in (None, 0.05):
            latencies = await _latency(settings, ctx, samples, poll_delay)
            if latencies:
                ms = sorted(x * 1000 for x in latencies)
                p95 = ms[min(len(ms) - 1, round(0.95 * (len(ms) - 1)))]
                print(
                    f"signal -> delivered event ({len(ms)} samples, arq poll delay "
                    f"{configured if poll_delay is None else poll_delay}s"
                    f"{' as configured' if poll_delay is None else ''}): "
                    f"p50 {statistics.median(ms):.0f} ms, p95 {p95:.0f} ms, max {ms[-1]:.0f} ms"
                )
    finally:
        started = find_deps(ctx)
        if started is not None:
            redis = started.redis
            async with started.engine.connect() as conn:
                all_ids = [row[0] for row in await conn.execute(text("SELECT id FROM leads"))]
            async with redis.pipeline(transaction=False) as pipe:
                for lead_id in all_ids:
                    pipe.delete(
                        signals.demand_key(lead_id), signals.burst_key(lead_id), signals.debounce_key(lead_id)
                    )
                pipe.delete(signals.dirty_key(settings.arq_queue_name))
                await pipe.execute()
            await shutdown(ctx)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--leads", type=int, default=100_000)
    parser.add_argument("--samples", type=int, default=20)
    args = parser.parse_args()
    asyncio.run(main(args.leads, args.samples))
    print(f"finished at {datetime.now(UTC):%H:%M:%S}")
