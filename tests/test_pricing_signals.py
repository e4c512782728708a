"""Demand signals: sliding-window counters, dirty marks and burst-triggered repricing in Redis."""

from __future__ import annotations

import time
import uuid
from typing import Any

from arq.connections import ArqRedis
from redis.asyncio import Redis

from aiqleads.domain.pricing import signals
from aiqleads.domain.pricing.signals import DirtyEntry, SignalPolicy
from aiqleads.resolvers.ids import to_global_id


def _queue() -> str:
    return f"aiqtest:pricing-signals:{uuid.uuid4().hex[:8]}"


def _redis(app: Any) -> Redis:
    return app.state.deps.redis


async def _queued(redis: Redis, queue: str) -> list[Any]:
    return await ArqRedis(pool_or_conn=redis.connection_pool).queued_jobs(queue_name=queue)


async def test_counts_each_kind_over_the_sliding_window(app: Any) -> None:
    redis, queue, lead = _redis(app), _queue(), uuid.uuid4()
    policy = SignalPolicy(window_seconds=600, bucket_seconds=60, burst_threshold=10_000)
    now = time.time()
    old = now - 900  # outside the 10-minute window
    for _ in range(3):
        await signals.record_signal(redis, lead, "view", queue_name=queue, now=old, policy=policy)
    for kind, n in (("view", 4), ("cart_add", 2), ("purchase", 1)):
        for _ in range(n):
            await signals.record_signal(redis, lead, kind, queue_name=queue, now=now - 30, policy=policy)  # type: ignore[arg-type]
    demand = (await signals.read_demand(redis, [lead], now=now, policy=policy))[lead]
    assert (demand.views, demand.cart_adds, demand.purchases) == (4, 2, 1)
    # the stale bucket was pruned from the hash; the fresh ones stay
    fields = {f.decode() for f in await redis.hkeys(signals.demand_key(lead))}
    assert fields and all(int(f.split(":")[1]) >= int(now // 60) - 9 for f in fields)
    assert 0 < await redis.ttl(signals.demand_key(lead)) <= 660
    # ten minutes later everything slid out of the window
    later = (await signals.read_demand(redis, [lead], now=now + 700, policy=policy))[lead]
    assert later.total == 0
    await redis.delete(signals.dirty_key(queue), signals.demand_key(lead), signals.burst_key(lead))


async def test_unknown_leads_have_no_demand_and_bad_kind_is_rejected(app: Any) -> None:
    redis, lead = _redis(app), uuid.uuid4()
    assert (await signals.read_demand(redis, [lead]))[lead].total == 0
    try:
        await signals.record_signal(redis, lead, "like")  # type: ignore[arg-type]
    except ValueError as exc:
        assert "like" in str(exc)
    else:
        raise AssertionError("an unknown kind must be rejected")


async def test_hot_path_is_one_redis_round_trip_and_no_sql(app: Any, count_statements: Any) -> None:
    redis, queue, lead = _redis(app), _queue(), uuid.uuid4()
    pool = redis.connection_pool
    original = pool.get_connection
    calls = 0

    async def counting(*args: Any, **kwargs: Any) -> Any:
        nonlocal calls
        calls += 1
        return await original(*args, **kwargs)

    pool.get_connection = counting  # type: ignore[method-assign]
    try:
        with count_statements() as sql:
            enqueued = await signals.record_signal(redis, lead, "view", queue_name=queue)
    finally:
        pool.get_connection = original  # type: ignore[method-assign]
    assert enqueued is False
    assert calls == 1
    assert sql.count == 0
    await redis.delete(signals.dirty_key(queue), signals.demand_key(lead), signals.burst_key(lead))


async def test_signal_marks_lead_dirty_and_clear_keeps_newer_marks(app: Any) -> None:
    redis, queue = _redis(app), _queue()
    a, b = uuid.uuid4(), uuid.uuid4()
    t0 = time.time()
    await signals.record_signal(redis, a, "view", queue_name=queue, now=t0)
    await signals.record_signal(redis, b, "view", queue_name=queue, now=t0 + 1)
    assert await signals.dirty_count(redis, queue_name=queue) == 2
    assert await signals.dirty_count(redis, queue_name=_queue()) == 0  # namespaced per queue

    batch = await signals.dirty_batch(redis, queue_name=queue, limit=10, up_to_ms=int((t0 + 5) * 1000))
    assert [e.lead_id for e in batch] == [a, b]  # oldest first
    # b is signalled again while the batch is processed: its mark must survive the clear
    await signals.record_signal(redis, b, "view", queue_name=queue, now=t0 + 2)
    assert await signals.clear_dirty(redis, batch, queue_name=queue) == 1
    left = await signals.dirty_batch(redis, queue_name=queue, limit=10, up_to_ms=int((t0 + 5) * 1000))
    assert [e.lead_id for e in left] == [b]
    # up_to_ms excludes marks newer than the run's start
    assert await signals.dirty_batch(redis, queue_name=queue, limit=10, up_to_ms=int(t0 * 1000)) == []
    assert await signals.clear_dirty(redis, [DirtyEntry(b, int((t0 + 2) * 1000))], queue_name=queue) == 1
    await redis.delete(signals.dirty_key(queue))


async def test_burst_of_cart_adds_enqueues_one_debounced_reprice(app: Any) -> None:
    redis, queue, lead = _redis(app), _queue(), uuid.uuid4()
    policy = SignalPolicy(burst_threshold=15, cart_add_burst_weight=5, debounce_ms=5000)
    results = [
        await signals.record_signal(redis, lead, "cart_add", queue_name=queue, policy=policy)
        for _ in range(6)
    ]
    assert results == [False, False, True, False, False, False]  # 3rd crosses 15; later ones debounced
    jobs = await _queued(redis, queue)
    assert [(j.function, j.args) for j in jobs] == [("reprice_lead_job", (str(lead),))]
    await redis.delete(queue, signals.debounce_key(lead), signals.dirty_key(queue))


async def test_views_alone_need_more_to_burst_and_a_purchase_reprices_at_once(app: Any) -> None:
    redis, queue = _redis(app), _queue()
    viewed, bought = uuid.uuid4(), uuid.uuid4()
    policy = SignalPolicy(burst_threshold=15)
    views = [
        await signals.record_signal(redis, viewed, "view", queue_name=queue, policy=policy) for _ in range(15)
    ]
    assert views == [False] * 14 + [True]
    assert await signals.record_signal(redis, bought, "purchase", queue_name=queue, policy=policy) is True
    jobs = await _queued(redis, queue)
    assert sorted(j.args[0] for j in jobs) == sorted([str(viewed), str(bought)])
    await redis.delete(
        queue, signals.dirty_key(queue), signals.debounce_key(viewed), signals.debounce_key(bought)
    )


async def test_redis_failure_is_logged_not_raised() -> None:
    broken = Redis.from_url("redis://127.0.0.1:1/0", socket_connect_timeout=0.2)
    try:
        assert await signals.record_signal(broken, uuid.uuid4(), "view") is False
    finally:
        await broken.aclose()


async def test_lead_query_records_a_view(
    app: Any, gql: Any, make_lead: Any, settings: Any, make_user: Any
) -> None:
    lead = await make_lead(city="Viewville")
    redis = _redis(app)
    query = "query($id: ID!) { lead(id: $id) { id price } }"
    body = await gql(query, {"id": to_global_id("Lead", lead.id)})
    assert body["data"]["lead"]["price"] == 20
    await gql(query, {"id": to_global_id("Lead", lead.id)})  # the same anonymous client: counted once
    assert (await signals.read_demand(redis, [lead.id]))[lead.id].views == 1
    viewer = await make_user()
    for _ in range(3):  # a signed-in viewer is a second viewer, also counted once
        await gql(query, {"id": to_global_id("Lead", lead.id)}, token=viewer.token)
    demand = (await signals.read_demand(redis, [lead.id]))[lead.id]
    assert demand.views == 2
    assert await redis.zscore(signals.dirty_key(settings.arq_queue_name), str(lead.id)) is not None
    # a missing lead records nothing
    missing = uuid.uuid4()
    assert (await gql(query, {"id": to_global_id("Lead", missing)}))["data"]["lead"] is None
    assert (await signals.read_demand(redis, [missing]))[missing].total == 0
    await redis.zrem(signals.dirty_key(settings.arq_queue_name), str(lead.id))
