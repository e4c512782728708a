"""Operations metrics: HTTP traffic and readiness, checkouts, holds and credits on the API; the
worker's queue, business and ledger gauges; hold-expiry runs and lag; every job counted."""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

from aiqtest_support.cartkit import ADD, CHECKOUT, lead_gid
from prometheus_client import CollectorRegistry, generate_latest
from sqlalchemy import text
from starlette.applications import Starlette

from aiqleads.domain.bootstrap import Deps
from aiqleads.domain.cart.timer_loop import HoldTimerLoop
from aiqleads.domain.jobs import JobName, enqueue, queue_stats
from aiqleads.domain.telemetry import SharedMetrics
from aiqleads.workers.metrics import WorkerMetrics
from aiqleads.workers.ops_snapshot import OpsSnapshotLoop
from aiqleads.workers.settings import worker_settings

BUY = """mutation Buy($key: String!) { buyCredits(pack: STARTER, idempotencyKey: $key) {
  balance errors { code } } }"""


def _sample(registry: CollectorRegistry, name: str, labels: dict[str, str] | None = None) -> float:
    value = registry.get_sample_value(name, labels or {})
    return 0.0 if value is None else value


def _api_registry(app: Starlette) -> CollectorRegistry:
    return app.state.runtime.metrics.registry  # type: ignore[no-any-return]


async def test_http_requests_are_counted_by_handler_and_status(client: Any, app: Starlette) -> None:
    registry = _api_registry(app)
    ok = {"handler": "graphql", "status": "2xx"}
    missing = {"handler": "other", "status": "4xx"}
    before_ok, before_missing = (
        _sample(registry, "aiq_http_requests_total", ok),
        _sample(registry, "aiq_http_requests_total", missing),
    )
    before_timed = _sample(registry, "aiq_http_request_duration_seconds_count", {"handler": "graphql"})
    assert (await client.post("/graphql", json={"query": "{ __typename }"})).status_code == 200
    assert (await client.get("/no/such/path")).status_code == 404
    assert _sample(registry, "aiq_http_requests_total", ok) == before_ok + 1
    assert _sample(registry, "aiq_http_requests_total", missing) == before_missing + 1
    assert (
        _sample(registry, "aiq_http_request_duration_seconds_count", {"handler": "graphql"})
        == before_timed + 1
    )


async def test_metrics_scrape_reports_readiness_of_each_service(client: Any) -> None:
    body = (await client.get("/metrics")).text
    for check in ("postgres", "redis", "elasticsearch"):
        assert f'aiq_ready{{check="{check}"}} 1.0' in body


async def test_checkout_holds_and_credits_are_counted(
    gql: Any, buyers: Any, make_lead: Any, app: Starlette
) -> None:
    registry = _api_registry(app)
    user = await buyers(credits=100)
    lead = await make_lead(price_credits=30, max_buyers=1, city="Metricton", zip="73301")
    placed, refused = {"outcome": "placed"}, {"outcome": "refused"}
    completed, failed = {"outcome": "completed"}, {"outcome": "failed"}
    start = {
        "placed": _sample(registry, "aiq_holds_total", placed),
        "refused": _sample(registry, "aiq_holds_total", refused),
        "completed": _sample(registry, "aiq_checkouts_total", completed),
        "failed": _sample(registry, "aiq_checkouts_total", failed),
        "spent": _sample(registry, "aiq_credits_spent_total"),
        "bought": _sample(registry, "aiq_credits_granted_total", {"reason": "purchase"}),
    }
    await gql(ADD, {"id": lead_gid(lead.id)}, token=user.token)
    other = await buyers(credits=100)
    taken = (await gql(ADD, {"id": lead_gid(lead.id)}, token=other.token))["data"]["addToCart"]
    assert taken["errors"], taken  # the only seat is held
    empty = (await gql(CHECKOUT, {"key": "nothing"}, token=other.token))["data"]["checkout"]
    assert empty["errors"], empty
    bought = (await gql(CHECKOUT, {"key": "metrics-1"}, token=user.token))["data"]["checkout"]
    assert bought["errors"] == [] and bought["creditsSpent"] == 30
    replay = (await gql(CHECKOUT, {"key": "metrics-1"}, token=user.token))["data"]["checkout"]
    assert replay["errors"] == []
    pack = (await gql(BUY, {"key": f"pack-{uuid.uuid4()}"}, token=user.token))["data"]["buyCredits"]
    assert pack["errors"] == []
    assert _sample(registry, "aiq_holds_total", placed) == start["placed"] + 1
    assert _sample(registry, "aiq_holds_total", refused) == start["refused"] + 1
    assert _sample(registry, "aiq_checkouts_total", completed) == start["completed"] + 1
    assert _sample(registry, "aiq_checkouts_total", failed) == start["failed"] + 1
    assert _sample(registry, "aiq_credits_spent_total") == start["spent"] + 30
    granted = _sample(registry, "aiq_credits_granted_total", {"reason": "purchase"}) - start["bought"]
    assert granted == pack["balance"] - 70  # the pack's credits, once


async def test_snapshot_gauges_follow_the_database(
    deps: Deps, make_lead: Any, make_user: Any, app: Starlette
) -> None:
    metrics = WorkerMetrics.create()
    loop = OpsSnapshotLoop(deps, metrics)
    await loop.refresh()
    before = _sample(metrics.registry, "aiq_leads", {"source": "FSBO", "status": "WITHDRAWN"})
    assert _sample(metrics.registry, "aiq_job_runs_total", {"job": "ops_snapshot", "outcome": "success"}) == 1
    await make_lead(source="FSBO", status="WITHDRAWN")
    user = await make_user(credits=5)
    await loop.refresh()
    assert _sample(metrics.registry, "aiq_leads", {"source": "FSBO", "status": "WITHDRAWN"}) == before + 1
    assert _sample(metrics.registry, "aiq_dead_letters", {"job": "scrape_job"}) >= 0
    violations = _sample(metrics.registry, "aiq_ledger_invariant_violations")
    async with deps.engine.begin() as conn:  # a balance the ledger does not explain
        await conn.execute(text("UPDATE users SET credit_balance = 6 WHERE id = :u"), {"u": user.id})
    try:
        loop._next_ledger_check = 0.0  # due now
        await loop.refresh()
        assert _sample(metrics.registry, "aiq_ledger_invariant_violations") == violations + 1
        assert _sample(metrics.registry, "aiq_ledger_invariant_ok") == 0
        assert _sample(metrics.registry, "aiq_ledger_checked_timestamp_seconds") > 0
    finally:
        async with deps.engine.begin() as conn:
            await conn.execute(text("UPDATE users SET credit_balance = 5 WHERE id = :u"), {"u": user.id})
    loop._next_ledger_check = 0.0
    await loop.refresh()
    assert _sample(metrics.registry, "aiq_ledger_invariant_violations") == violations
    assert _sample(metrics.registry, "aiq_job_runs_total", {"job": "ledger_check", "outcome": "success"}) == 3


async def test_payments_awaiting_their_webhook_are_those_started_10_minutes_to_2_hours_ago(
    deps: Deps, make_user: Any
) -> None:
    metrics = WorkerMetrics.create()
    loop = OpsSnapshotLoop(deps, metrics)
    await loop.refresh()
    before = _sample(metrics.registry, "aiq_payments_awaiting_webhook")
    user = await make_user()
    now = datetime.now(UTC)
    rows = [  # (age, status): only the pending one of 30 minutes counts
        (timedelta(minutes=30), "PENDING"),
        (timedelta(minutes=2), "PENDING"),  # Stripe may still be delivering
        (timedelta(hours=5), "PENDING"),  # an abandoned checkout
        (timedelta(minutes=30), "SUCCEEDED"),
    ]
    async with deps.engine.begin() as conn:
        for age, status in rows:
            await conn.execute(
                text(
                    "INSERT INTO payments (id, user_id, purpose, product, credits, amount_cents, currency,"
                    " provider, idempotency_key, status, created_at, updated_at)"
                    " VALUES (:id, :u, 'CREDIT_PACK', 'STARTER', 50, 900, 'usd', 'stripe', :k, :s, :at, :at)"
                ),
                {"id": uuid.uuid4(), "u": user.id, "k": uuid.uuid4().hex, "s": status, "at": now - age},
            )
    await loop.refresh()
    assert _sample(metrics.registry, "aiq_payments_awaiting_webhook") == before + 1


async def test_queue_depth_and_age_of_the_oldest_due_job(deps: Deps) -> None:
    queue = f"aiqtest:queue-stats:{uuid.uuid4().hex}"
    try:
        assert await queue_stats(deps.redis, queue) == (0, 0.0)
        assert await enqueue(deps.redis, queue, JobName.PING)
        await asyncio.sleep(0.2)
        depth, age = await queue_stats(deps.redis, queue)
        assert depth == 1 and 0.2 <= age < 5
    finally:
        await deps.redis.delete(queue)


async def test_hold_timer_loop_reports_runs_and_release_lag(
    gql: Any, buyers: Any, make_lead: Any, app: Starlette
) -> None:
    registry = CollectorRegistry()
    shared = SharedMetrics.register(registry)
    deps: Deps = app.state.deps
    user = await buyers(credits=50)
    lead = await make_lead(price_credits=10, city="Lagton", zip="73302")
    await gql(ADD, {"id": lead_gid(lead.id)}, token=user.token)
    async with deps.engine.begin() as conn:  # the hold came due a moment ago
        await conn.execute(
            text("UPDATE holds SET held_until = :t WHERE user_id = :u"),
            {"t": datetime.now(UTC) - timedelta(milliseconds=300), "u": user.id},
        )
    # a timer set of its own (keyed by the database URL's text), so the app's loop claims nothing of it
    own = replace(deps, settings=deps.settings.replace(database_url=deps.settings.database_url + "#lag"))
    loop = HoldTimerLoop(own, observer=shared)
    await loop.reconcile()  # releases what is overdue (unless the app's own pass came first)
    assert _sample(registry, "aiq_job_runs_total", {"job": "hold_reconcile", "outcome": "success"}) == 1
    await loop.store.arm([(user.id, datetime.now(UTC) - timedelta(milliseconds=200))])
    await loop.tick()
    for _ in range(100):
        if _sample(registry, "aiq_job_runs_total", {"job": "hold_expiry", "outcome": "success"}):
            break
        await asyncio.sleep(0.05)
    assert _sample(registry, "aiq_job_runs_total", {"job": "hold_expiry", "outcome": "success"}) == 1
    lag_count = _sample(registry, "aiq_hold_expiry_lag_seconds_count")
    lag_sum = _sample(registry, "aiq_hold_expiry_lag_seconds_sum")
    assert lag_count == 1 and 0.2 <= lag_sum < 5


def test_every_job_and_cron_entry_is_counted(settings: Any) -> None:
    configured = worker_settings(settings)
    for function in configured["functions"]:
        coroutine = getattr(function, "coroutine", function)
        assert getattr(coroutine, "__aiq_measured__", False), coroutine
    for job in configured["cron_jobs"]:
        assert getattr(job.coroutine, "__aiq_measured__", False), job.name
    exposition = generate_latest(WorkerMetrics.create().registry).decode()
    assert "aiq_job_runs_total" in exposition and "aiq_queue_depth" in exposition


async def test_payment_webhook_deliveries_are_counted_by_outcome(deps: Deps) -> None:
    import hashlib
    import hmac
    import json
    import time

    from aiqleads.resolvers.metrics import ApiMetrics
    from aiqleads.resolvers.webhooks import handle_stripe_delivery

    secret = "whsec_metrics_test"
    keyed = replace(deps, settings=deps.settings.replace(stripe_webhook_secret=secret))
    metrics = ApiMetrics.create()
    refused = await handle_stripe_delivery(keyed, metrics, b"{}", "t=1,v1=00")
    assert refused.status == 400
    event = {"id": "evt_metrics", "type": "customer.created", "data": {"object": {"id": "cus_1"}}}
    payload = json.dumps(event).encode()
    stamp = int(time.time())
    mac = hmac.new(secret.encode(), f"{stamp}.".encode() + payload, hashlib.sha256).hexdigest()
    accepted = await handle_stripe_delivery(keyed, metrics, payload, f"t={stamp},v1={mac}")
    assert accepted.status == 200
    assert _sample(metrics.registry, "aiq_payment_webhooks_total", {"outcome": "invalid_signature"}) == 1
    assert _sample(metrics.registry, "aiq_payment_webhooks_total", {"outcome": "ignored"}) == 1
