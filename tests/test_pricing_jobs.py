"""Repricing jobs against the real database and Redis: only changed inputs, history, events."""

from __future__ import annotations

import asyncio
import contextlib
import json
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import pytest_asyncio
from arq.connections import ArqRedis
from sqlalchemy import event, select, text
from sqlalchemy.ext.asyncio import AsyncEngine

from aiqleads.domain.core.lead import Lead, PriceHistory
from aiqleads.domain.events import PRICE_CHANNEL
from aiqleads.domain.jobs import JobName
from aiqleads.domain.pricing import service, signals
from aiqleads.domain.settings import Settings
from aiqleads.resolvers.ids import to_global_id
from aiqleads.workers import pricing_jobs
from aiqleads.workers.context import deps as ctx_deps
from aiqleads.workers.runtime import shutdown, startup

HIGH_BURST = signals.SignalPolicy(burst_threshold=1_000_000)


@pytest_asyncio.fixture(loop_scope="session")
async def worker_ctx(settings: Settings) -> AsyncIterator[dict[str, Any]]:
    """The context an arq worker gives jobs (built by the real startup hook)."""
    ctx: dict[str, Any] = {"settings": settings}
    await startup(ctx)
    yield ctx
    await shutdown(ctx)


@contextlib.contextmanager
def counting_sql(engine: AsyncEngine) -> Iterator[list[str]]:
    statements: list[str] = []

    def before(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        statements.append(statement)

    event.listen(engine.sync_engine, "before_cursor_execute", before)
    try:
        yield statements
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", before)


@contextlib.asynccontextmanager
async def price_events(redis: Any) -> AsyncIterator[list[dict[str, Any]]]:
    """Collect every payload published on PRICE_CHANNEL while active."""
    received: list[dict[str, Any]] = []
    pubsub = redis.pubsub()
    await pubsub.subscribe(PRICE_CHANNEL)
    await pubsub.get_message(timeout=1)  # subscribe confirmation

    async def pump() -> None:
        while True:
            message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=1)
            if message is not None:
                received.append(json.loads(message["data"]))

    task = asyncio.create_task(pump())
    try:
        yield received
    finally:
        await asyncio.sleep(0.2)
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        await pubsub.aclose()


async def _lead(ctx: dict[str, Any], lead_id: uuid.UUID) -> Lead:
    async with ctx_deps(ctx).sessionmaker() as session:
        row = await session.get(Lead, lead_id)
        assert row is not None
        return row


async def _history(ctx: dict[str, Any], lead_id: uuid.UUID) -> list[PriceHistory]:
    async with ctx_deps(ctx).sessionmaker() as session:
        return list(await session.scalars(select(PriceHistory).where(PriceHistory.lead_id == lead_id)))


async def _cart_adds(redis: Any, lead_id: uuid.UUID, n: int, queue: str) -> None:
    for _ in range(n):
        await signals.record_signal(redis, lead_id, "cart_add", queue_name=queue, policy=HIGH_BURST)


async def test_cron_reprices_only_dirty_and_due_leads(
    worker_ctx: dict[str, Any], make_lead: Any, gql: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    redis, queue = ctx_deps(worker_ctx).redis, ctx_deps(worker_ctx).settings.arq_queue_name
    now = datetime.now(UTC)
    dirty = await make_lead(city="Dirtyville", price_credits=20)
    quiet = await make_lead(city="Quietville", price_credits=20)
    due = await make_lead(city="Dueville", price_credits=100, reprice_due_at=now - timedelta(minutes=1))
    not_yet = await make_lead(city="Laterville", price_credits=100, reprice_due_at=now + timedelta(hours=1))
    await _cart_adds(redis, dirty.id, 5, queue)  # demand: 5 cart adds → target 25, one run moves 20 → 23

    committed_at_publish: list[bool] = []
    original = service.publish_changes

    async def checking_publish(redis_: Any, changes: Any) -> None:
        # Published only after the commit: a separate connection already sees the new prices.
        async with ctx_deps(worker_ctx).engine.connect() as conn:
            for change in changes:
                price = await conn.scalar(
                    text("SELECT price_credits FROM leads WHERE id = :id"), {"id": change.lead_id}
                )
                committed_at_publish.append(price == change.new_price)
        await original(redis_, changes)

    monkeypatch.setattr(service, "publish_changes", checking_publish)
    async with price_events(redis) as events:
        stats = await pricing_jobs.reprice_dirty_job(worker_ctx)
    assert stats["dirty"] >= 1 and stats["due"] >= 1

    assert (await _lead(worker_ctx, dirty.id)).price_credits == 23
    assert (await _lead(worker_ctx, due.id)).price_credits == 85  # bounded: 100 − 15%
    untouched = await _lead(worker_ctx, quiet.id)
    assert untouched.price_credits == 20 and untouched.priced_at is None
    later = await _lead(worker_ctx, not_yet.id)
    assert later.price_credits == 100 and later.priced_at is None

    due_row = await _lead(worker_ctx, due.id)
    assert due_row.reprice_due_at is not None and due_row.reprice_due_at > now  # next tick scheduled

    history = await _history(worker_ctx, dirty.id)
    assert [h.price for h in history] == [23]
    assert "demand 0v/5c/0p" in history[0].reason and "bounded" in history[0].reason
    assert await _history(worker_ctx, quiet.id) == []

    mine = {e["lead_id"]: e for e in events if e["lead_id"] in {str(dirty.id), str(due.id)}}
    assert mine[str(dirty.id)]["old_price"] == 20 and mine[str(dirty.id)]["new_price"] == 23
    assert mine[str(due.id)]["new_price"] == 85
    assert set(mine[str(dirty.id)]) == {"lead_id", "old_price", "new_price", "at", "lat", "lng"}
    where = (mine[str(dirty.id)]["lat"], mine[str(dirty.id)]["lng"])
    assert where == (pytest.approx(30.2672), pytest.approx(-97.7431))
    assert not any(e["lead_id"] in {str(quiet.id), str(not_yet.id)} for e in events)
    assert committed_at_publish and all(committed_at_publish)
    assert await redis.zscore(signals.dirty_key(queue), str(dirty.id)) is None

    # a second run with nothing new touches none of these leads and scans nothing
    with counting_sql(ctx_deps(worker_ctx).engine) as statements:
        await pricing_jobs.reprice_dirty_job(worker_ctx)
    assert (await _lead(worker_ctx, quiet.id)).priced_at is None
    assert len(await _history(worker_ctx, dirty.id)) == 1
    assert len(statements) <= 4

    # the API shows the engine's price (tier discount applied) and the history with its reason
    body = await gql(
        "query($id: ID!) { lead(id: $id) { price priceHistory { price reason } } }",
        {"id": to_global_id("Lead", dirty.id)},
    )
    assert body["data"]["lead"]["price"] == 23
    assert body["data"]["lead"]["priceHistory"][0]["price"] == 23
    # ... and viewing the lead is itself a demand signal: it is dirty again
    assert await redis.zscore(signals.dirty_key(queue), str(dirty.id)) is not None


async def test_statements_do_not_grow_with_the_batch(worker_ctx: dict[str, Any], make_lead: Any) -> None:
    redis, queue = ctx_deps(worker_ctx).redis, ctx_deps(worker_ctx).settings.arq_queue_name
    await pricing_jobs.reprice_dirty_job(worker_ctx)  # drain whatever other tests left

    async def run_with(n: int) -> int:
        leads = [await make_lead(city="Batchville", price_credits=40) for _ in range(n)]
        await signals.mark_dirty(redis, [lead.id for lead in leads], queue_name=queue)
        with counting_sql(ctx_deps(worker_ctx).engine) as statements:
            stats = await pricing_jobs.reprice_dirty_job(worker_ctx)
        assert stats["dirty"] == n and stats["changed"] == n
        return len(statements)

    assert await run_with(1) == await run_with(40)


async def test_locked_leads_stay_dirty_and_sold_out_leads_are_not_priced(
    worker_ctx: dict[str, Any], make_lead: Any
) -> None:
    redis, queue = ctx_deps(worker_ctx).redis, ctx_deps(worker_ctx).settings.arq_queue_name
    locked = await make_lead(city="Lockville", price_credits=60)
    sold = await make_lead(city="Soldville", price_credits=60, status="SOLD_OUT", buyers_count=1)
    await signals.mark_dirty(redis, [locked.id, sold.id, uuid.uuid4()], queue_name=queue)

    async with ctx_deps(worker_ctx).engine.connect() as conn, conn.begin():
        await conn.execute(text("SELECT 1 FROM leads WHERE id = :id FOR UPDATE"), {"id": locked.id})
        stats = await pricing_jobs.reprice_dirty_job(worker_ctx)
    assert stats["locked"] == 1
    assert (await _lead(worker_ctx, locked.id)).price_credits == 60
    assert await redis.zscore(signals.dirty_key(queue), str(locked.id)) is not None

    sold_row = await _lead(worker_ctx, sold.id)
    assert sold_row.price_credits == 60 and sold_row.reprice_due_at is None
    assert await _history(worker_ctx, sold.id) == []

    await pricing_jobs.reprice_dirty_job(worker_ctx)  # lock released: now it is repriced
    assert (await _lead(worker_ctx, locked.id)).price_credits == 51
    assert await redis.zscore(signals.dirty_key(queue), str(locked.id)) is None
    assert await signals.dirty_count(redis, queue_name=queue) == 0  # unknown ids were dropped too


async def test_purchase_triggers_immediate_reprice_job(worker_ctx: dict[str, Any], make_lead: Any) -> None:
    redis, queue = ctx_deps(worker_ctx).redis, ctx_deps(worker_ctx).settings.arq_queue_name
    lead = await make_lead(city="Sharedville", price_credits=12, max_buyers=4, buyers_count=3)
    assert await signals.record_signal(redis, lead.id, "purchase", queue_name=queue) is True

    async with price_events(redis) as events:
        result = await pricing_jobs.reprice_lead_job(worker_ctx, str(lead.id))
    # shared lead, 1 of 4 seats left: scarcity 0.6 + 0.5 × 0.75; one purchase of demand; bounded step
    assert result["changed"] == 1
    row = await _lead(worker_ctx, lead.id)
    assert row.price_credits == result["price"] == 13
    assert row.priced_at is not None
    history = await _history(worker_ctx, lead.id)
    assert len(history) == 1 and "scarcity shared 1/4 seats left" in history[0].reason
    assert any(e["lead_id"] == str(lead.id) and e["new_price"] == 13 for e in events)
    assert await redis.zscore(signals.dirty_key(queue), str(lead.id)) is None
    # the search index is asked to pick up the new price
    queued = await ArqRedis(pool_or_conn=redis.connection_pool).queued_jobs(queue_name=queue)
    assert (JobName.INDEX_LEADS, ([str(lead.id)],)) in [(j.function, j.args) for j in queued]


def test_cron_is_registered() -> None:
    from aiqleads.workers.settings import JOB_MODULES, worker_settings

    assert pricing_jobs in JOB_MODULES
    config = worker_settings(Settings())
    names = {getattr(f, "__name__", None) for f in config["functions"]}
    assert {"reprice_lead_job", "reprice_dirty_job"} <= names
    crons = [c for c in config["cron_jobs"] if c.name == "cron:reprice_dirty"]
    assert len(crons) == 1 and crons[0].second == 5 and crons[0].minute is None
