"""Hold expiry on time with two real API processes, and after losing the timer mechanism."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
import pytest_asyncio
from aiqtest_support.cartkit import (
    ADD,
    CART_EVENTS,
    hub_events,
    lead_counts,
    lead_gid,
    wait_for,
)
from aiqtest_support.live_server import ApiProcess, api_processes, start_api
from aiqtest_support.ws import GraphQLWebSocket
from sqlalchemy import text
from starlette.applications import Starlette

from aiqleads.domain.bootstrap import Deps
from aiqleads.domain.cart import holds
from aiqleads.domain.cart.timers import TimerStore, timer_key
from aiqleads.domain.events import cart_channel
from aiqleads.domain.settings import Settings
from aiqleads.workers.cart_jobs import HoldTimerLoop
from aiqleads.workers.context import hold_timers as ctx_hold_timers
from aiqleads.workers.runtime import shutdown as worker_shutdown
from aiqleads.workers.runtime import startup as worker_startup
from aiqleads.workers.settings import worker_settings

CITY = dict(city="Timerton", zip="73377")


def _deps(app: Starlette) -> Deps:
    return app.state.deps  # type: ignore[no-any-return]


@pytest.fixture(scope="module")
def short_settings(settings: Settings) -> Settings:
    """Item holds of 2 s and carts of 4 s."""
    return settings.replace(item_hold_seconds=2, cart_hold_seconds=4)


class EventLog:
    """Cart events received over a websocket, with the local time each one arrived."""

    def __init__(self, ws: GraphQLWebSocket) -> None:
        self.ws = ws
        self.items: list[tuple[dict[str, Any], float]] = []
        self._task = asyncio.create_task(self._read())

    async def _read(self) -> None:
        while True:
            message = await self.ws.receive()
            if message.get("type") == "next":
                self.items.append((message["payload"]["data"]["cartEvents"], time.time()))

    def find(self, kind: str, lead: str | None = None) -> tuple[dict[str, Any], float] | None:
        for event, at in self.items:
            if event["kind"] == kind and (lead is None or event["leadId"] == lead):
                return event, at
        return None

    async def close(self) -> None:
        self._task.cancel()
        await asyncio.gather(self._task, return_exceptions=True)
        await self.ws.close()


async def _subscribe(api: ApiProcess, token: str) -> EventLog:
    ws = await GraphQLWebSocket.connect(api.base_url, {"authorization": f"Bearer {token}"})
    before = await asyncio.to_thread(api.gauge, "aiq_graphql_active_subscriptions")
    await ws.subscribe(CART_EVENTS)
    assert await wait_for(lambda: _gauge_above(api, before), 5), "the subscription never became active"
    return EventLog(ws)


async def _gauge_above(api: ApiProcess, value: float) -> bool:
    return await asyncio.to_thread(api.gauge, "aiq_graphql_active_subscriptions") > value


async def _add(api: ApiProcess, token: str, lead_id: uuid.UUID) -> dict[str, Any]:
    async with httpx.AsyncClient(base_url=api.base_url, timeout=10) as http:
        response = await http.post(
            "/graphql",
            json={"query": ADD, "variables": {"id": lead_gid(lead_id)}},
            headers={"Authorization": f"Bearer {token}"},
        )
    payload = response.json()["data"]["addToCart"]
    assert payload["errors"] == [], payload
    return payload["cart"]  # type: ignore[no-any-return]


def _lateness(found: tuple[dict[str, Any], float], deadline_field: str) -> float:
    event, received_at = found
    return received_at - datetime.fromisoformat(event[deadline_field]).timestamp()


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def two_apis(short_settings: Settings, tmp_path_factory: Any) -> AsyncIterator[list[ApiProcess]]:
    """Two `aiqleads serve` processes with short hold timers."""
    with api_processes(short_settings, Path(tmp_path_factory.mktemp("apis")), 2) as apis:
        yield apis


async def test_expiry_reaches_a_subscriber_on_the_other_process_on_time(
    two_apis: list[ApiProcess], app: Starlette, buyers: Any, make_lead: Any
) -> None:
    api_a, api_b = two_apis
    user = await buyers(credits=500)
    leads = [await make_lead(**CITY) for _ in range(3)]
    first, second, third = leads
    log = await _subscribe(api_b, user.token)
    try:
        cart = await _add(api_a, user.token, first.id)  # held for 2 s, cart for 4 s
        started = datetime.fromisoformat(cart["expiresAt"]).timestamp() - 4
        await asyncio.sleep(max(0.0, started + 1.0 - time.time()))
        await _add(api_a, user.token, second.id)  # held until started + 3 s
        await asyncio.sleep(max(0.0, started + 2.5 - time.time()))
        cart = await _add(api_a, user.token, third.id)  # 2 s would outlive the cart: capped at 4 s
        item = next(i for i in cart["items"] if i["lead"]["id"] == lead_gid(third.id))
        assert item["heldUntil"] == cart["expiresAt"]
        assert datetime.fromisoformat(cart["expiresAt"]).timestamp() - started == 4
        assert await wait_for(lambda: log.find("CART_EXPIRED") is not None, 8), log.items

        expired_first = log.find("HOLD_EXPIRED", lead_gid(first.id))
        expired_second = log.find("HOLD_EXPIRED", lead_gid(second.id))
        cart_expired = log.find("CART_EXPIRED")
        assert expired_first and expired_second and cart_expired, log.items
        assert log.find("HOLD_CREATED", lead_gid(first.id)) is not None
        for found in (expired_first, expired_second):
            assert -0.05 <= _lateness(found, "heldUntil") < 1.0, log.items
            assert found[0]["cartExpiresAt"] is not None
        assert -0.05 <= _lateness(cart_expired, "cartExpiresAt") < 1.0, log.items
        assert cart_expired[0]["cartExpiresAt"] == cart["expiresAt"] and cart_expired[0]["leadId"] is None
        for lead in leads:
            counts = await lead_counts(_deps(app).engine, lead.id)
            assert counts["holds_count"] == 0 and counts["hold_rows"] == 0
    finally:
        await log.close()


async def test_killing_the_process_that_made_the_hold_does_not_delay_expiry(
    short_settings: Settings, tmp_path: Path, app: Starlette, buyers: Any, make_lead: Any
) -> None:
    victim = start_api(short_settings, tmp_path)
    with api_processes(short_settings, tmp_path, 1) as (survivor,):
        user, rival = await buyers(credits=500), await buyers(credits=500)
        lead = await make_lead(max_buyers=1, **CITY)
        log = await _subscribe(survivor, user.token)
        try:
            cart = await _add(victim, user.token, lead.id)
            victim.kill()  # SIGKILL: no shutdown hooks, its timer loop is gone mid-hold
            assert await wait_for(lambda: log.find("HOLD_EXPIRED") is not None, 5), log.items
            found = log.find("HOLD_EXPIRED")
            assert found is not None and found[0]["heldUntil"] == cart["items"][0]["heldUntil"]
            assert -0.05 <= _lateness(found, "heldUntil") < 1.0
            assert (await _add(survivor, rival.token, lead.id))["items"]  # the seat is free again
        finally:
            await log.close()
            victim.kill()


async def test_wiped_timer_store_is_repaired_by_reconciliation(
    two_apis: list[ApiProcess], app: Starlette, buyers: Any, make_lead: Any, short_settings: Settings
) -> None:
    api_a, api_b = two_apis
    user = await buyers(credits=500)
    lead = await make_lead(max_buyers=1, **CITY)
    store = TimerStore(_deps(app).redis, timer_key(short_settings))
    log = await _subscribe(api_b, user.token)
    try:
        cart = await _add(api_a, user.token, lead.id)
        await store.clear()  # every armed deadline is lost
        deadline = datetime.fromisoformat(cart["items"][0]["heldUntil"]).timestamp()
        assert await wait_for(lambda: log.find("HOLD_EXPIRED") is not None, 10), log.items
        found = log.find("HOLD_EXPIRED")
        assert found is not None
        # periodic reconciliation (every 5 s in each process) re-arms or releases it
        assert found[1] - deadline < 5.0 + 1.0
        counts = await lead_counts(_deps(app).engine, lead.id)
        assert counts["holds_count"] == 0 and counts["hold_rows"] == 0
    finally:
        await log.close()


async def test_abandoned_claim_fires_again_after_its_lease(
    app: Starlette, buyers: Any, make_lead: Any, settings: Settings
) -> None:
    res = _deps(app)
    user = await buyers(credits=500)
    lead = await make_lead(max_buyers=1, **CITY)
    short = settings.replace(item_hold_seconds=1, cart_hold_seconds=4)
    store = TimerStore(res.redis, timer_key(settings))
    async with hub_events(res.hub, cart_channel(user.id)) as events:
        async with res.sessionmaker() as session, session.begin():
            outcome = await holds.add_to_cart(session, short, user.id, lead.id, datetime.now(UTC))
        held_until = outcome.cart.items[0].hold.held_until
        await store.arm([(user.id, held_until)])
        # a process claims the deadline and dies before handling it: the lease runs out and it fires again
        claims, _ = await store.claim_due(int(held_until.timestamp() * 1000) + 1, lease_ms=1500)
        assert [c.user_id for c in claims] == [user.id]
        assert await wait_for(lambda: any(e["kind"] == "HOLD_EXPIRED" for e in events), 8), events
        assert (await lead_counts(res.engine, lead.id))["holds_count"] == 0


async def _overdue_hold_without_timer(app: Starlette, user_id: uuid.UUID, lead_id: uuid.UUID) -> None:
    async with _deps(app).engine.begin() as conn:
        await conn.execute(
            text(
                "INSERT INTO carts (user_id, started_at, expires_at) VALUES (:u, now(), now())"
                " ON CONFLICT DO NOTHING"
            ),
            {"u": user_id},
        )
        await conn.execute(
            text(
                "INSERT INTO holds (id, user_id, lead_id, price, held_until)"
                " VALUES (:id, :u, :l, 10, now() - interval '1 minute')"
            ),
            {"id": uuid.uuid4(), "u": user_id, "l": lead_id},
        )
        await conn.execute(text("UPDATE leads SET holds_count = 1 WHERE id = :l"), {"l": lead_id})


async def test_worker_startup_reconciles_and_runs_the_timers(
    app: Starlette, buyers: Any, make_lead: Any, settings: Settings
) -> None:
    user = await buyers(credits=500)
    stale = await make_lead(max_buyers=1, **CITY)
    await _overdue_hold_without_timer(app, user.id, stale.id)  # a hold whose timer was lost entirely
    ctx: dict[str, Any] = {"settings": settings}
    await worker_startup(ctx)  # what `aiqleads worker` runs first
    try:
        counts = await lead_counts(_deps(app).engine, stale.id)
        assert counts["holds_count"] == 0 and counts["hold_rows"] == 0
        loop = ctx_hold_timers(ctx)
        assert loop is not None and loop.running
    finally:
        await worker_shutdown(ctx)
    assert ctx_hold_timers(ctx) is None
    config = worker_settings(settings)
    names = {getattr(f, "__name__", "") for f in config["functions"]}
    assert {"expire_cart_holds", "reconcile_holds", "grant_monthly_allowances"} <= names
    assert {"cron:reconcile_holds", "cron:grant_monthly_allowances"} <= {c.name for c in config["cron_jobs"]}


async def test_periodic_reconciliation_releases_a_lost_hold(
    app: Starlette, buyers: Any, make_lead: Any, settings: Settings
) -> None:
    res = _deps(app)
    user = await buyers(credits=500)
    stale = await make_lead(max_buyers=1, **CITY)
    loop = HoldTimerLoop(replace(res, settings=settings), reconcile_interval=0.5)
    await loop.start()
    try:
        async with hub_events(res.hub, cart_channel(user.id)) as events:
            await _overdue_hold_without_timer(app, user.id, stale.id)
            assert await wait_for(lambda: any(e["kind"] == "HOLD_EXPIRED" for e in events), 3), events
        counts = await lead_counts(res.engine, stale.id)
        assert counts["holds_count"] == 0 and counts["hold_rows"] == 0
    finally:
        await loop.stop()
    assert not loop.running
