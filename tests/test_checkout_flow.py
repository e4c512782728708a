"""Checkout: all or nothing, idempotent, typed failures, and no oversell under races."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from aiqtest_support.cartkit import (
    ADD,
    CART,
    CHECKOUT,
    ME,
    hub_events,
    lead_counts,
    lead_gid,
    wait_for,
)
from sqlalchemy import text
from starlette.applications import Starlette

from aiqleads.domain.bootstrap import Deps
from aiqleads.domain.cart import checkout as checkout_service
from aiqleads.domain.cart import holds
from aiqleads.domain.cart.checkout import HoldExpiredError
from aiqleads.domain.events import cart_channel
from aiqleads.domain.pricing.signals import demand_key
from aiqleads.resolvers.cart import public_error

CITY = dict(city="Checkoutville", zip="73344")


def _deps(app: Starlette) -> Deps:
    return app.state.deps  # type: ignore[no-any-return]


async def _ledger(app: Starlette, user_id: uuid.UUID) -> list[tuple[int, int, str, str | None]]:
    async with _deps(app).engine.connect() as conn:
        rows = await conn.execute(
            text("SELECT amount, balance_after, kind, ref FROM credit_ledger WHERE user_id = :u ORDER BY id"),
            {"u": user_id},
        )
        return [tuple(r) for r in rows]  # type: ignore[misc]


async def test_checkout_buys_every_held_lead(gql: Any, buyers: Any, make_lead: Any, app: Starlette) -> None:
    user = await buyers(credits=100)
    exclusive = await make_lead(price_credits=20, max_buyers=1, **CITY)
    shared = await make_lead(price_credits=30, max_buyers=3, **CITY)
    for lead in (exclusive, shared):
        assert (await gql(ADD, {"id": lead_gid(lead.id)}, token=user.token))["data"]["addToCart"][
            "errors"
        ] == []
    hub = _deps(app).hub
    async with hub_events(hub, cart_channel(user.id)) as events:
        result = (await gql(CHECKOUT, {"key": "order-1"}, token=user.token))["data"]["checkout"]
        assert await wait_for(lambda: any(e["kind"] == "CHECKED_OUT" for e in events), 5)
    assert result["errors"] == []
    assert result["creditsSpent"] == 50 and result["balance"] == 50
    bought = {p["lead"]["id"]: p for p in result["purchases"]}
    assert set(bought) == {lead_gid(exclusive.id), lead_gid(shared.id)}
    for purchase in bought.values():
        assert purchase["lead"]["purchased"] is True and purchase["returned"] is False
        assert purchase["lead"]["contact"] == {
            "name": "Pat Owner",
            "phone": "+15125550100",
            "email": "pat@example.com",
        }
        assert purchase["lead"]["address"]["street"] == "100 Congress Ave"
    assert bought[lead_gid(exclusive.id)]["lead"]["status"] == "SOLD_OUT"
    assert bought[lead_gid(shared.id)]["lead"]["status"] == "AVAILABLE"
    assert bought[lead_gid(shared.id)]["lead"]["buyersCount"] == 1

    cart = (await gql(CART, token=user.token))["data"]["cart"]
    assert cart["items"] == [] and cart["expiresAt"] is None and cart["total"] == 0
    assert (await gql(ME, token=user.token))["data"]["me"]["credits"] == 50
    assert await _ledger(app, user.id) == [(100, 100, "GRANT", None), (-50, 50, "SPEND", "checkout:order-1")]
    for lead in (exclusive, shared):
        counts = await lead_counts(_deps(app).engine, lead.id)
        assert counts["holds_count"] == 0 and counts["buyers_count"] == 1 and counts["hold_rows"] == 0
        signals = {field.split(b":")[0] for field in await _deps(app).redis.hkeys(demand_key(lead.id))}
        assert {b"cart_add", b"purchase"} <= signals  # demand recorded for the pricing engine


async def test_same_key_replays_and_other_cart_conflicts(
    gql: Any, buyers: Any, make_lead: Any, app: Starlette
) -> None:
    user = await buyers(credits=100)
    first, later = await make_lead(price_credits=10, **CITY), await make_lead(price_credits=15, **CITY)
    await gql(ADD, {"id": lead_gid(first.id)}, token=user.token)
    original = (await gql(CHECKOUT, {"key": "same"}, token=user.token))["data"]["checkout"]
    replay = (await gql(CHECKOUT, {"key": "same"}, token=user.token))["data"]["checkout"]
    assert replay == original and original["errors"] == [] and original["balance"] == 90

    await gql(ADD, {"id": lead_gid(later.id)}, token=user.token)
    conflict = (await gql(CHECKOUT, {"key": "same"}, token=user.token))["data"]["checkout"]
    assert [(e["code"], e["field"]) for e in conflict["errors"]] == [
        ("IDEMPOTENCY_CONFLICT", "idempotencyKey")
    ]
    assert conflict["purchases"] == [] and conflict["creditsSpent"] == 0
    fresh = (await gql(CHECKOUT, {"key": "other"}, token=user.token))["data"]["checkout"]
    assert fresh["errors"] == [] and fresh["creditsSpent"] == 15 and fresh["balance"] == 75
    assert [row[0] for row in await _ledger(app, user.id)] == [100, -10, -15]


async def test_empty_cart_bad_key_and_short_balance(
    gql: Any, buyers: Any, make_lead: Any, app: Starlette
) -> None:
    user = await buyers(credits=22)
    empty = (await gql(CHECKOUT, {"key": "k1"}, token=user.token))["data"]["checkout"]
    assert [e["code"] for e in empty["errors"]] == ["CART_EMPTY"] and empty["balance"] == 22
    blank = (await gql(CHECKOUT, {"key": "   "}, token=user.token))["data"]["checkout"]
    assert [(e["code"], e["field"]) for e in blank["errors"]] == [("INVALID_INPUT", "idempotencyKey")]

    cheap, dear = await make_lead(price_credits=4, **CITY), await make_lead(price_credits=20, **CITY)
    assert (await gql(ADD, {"id": lead_gid(cheap.id)}, token=user.token))["data"]["addToCart"]["errors"] == []
    # a hold needs a balance covering the whole cart: 4 held + 20 > 22
    refused = (await gql(ADD, {"id": lead_gid(dear.id)}, token=user.token))["data"]["addToCart"]
    assert [(e["code"], e["field"]) for e in refused["errors"]] == [("INSUFFICIENT_CREDITS", "leadId")]
    assert (await lead_counts(_deps(app).engine, dear.id))["holds_count"] == 0
    # the balance can still fall short at checkout: on PRO the cart fits (4 + 18 = 22), but the PRO
    # period lapses before checkout and the tier's discount goes with it (4 + 20 > 22)
    async with _deps(app).engine.begin() as conn:
        await conn.execute(
            text("UPDATE users SET tier = 'PRO', tier_paid_until = now() + interval '1 day' WHERE id = :u"),
            {"u": user.id},
        )
    assert (await gql(ADD, {"id": lead_gid(dear.id)}, token=user.token))["data"]["addToCart"]["errors"] == []
    async with _deps(app).engine.begin() as conn:
        await conn.execute(text("UPDATE users SET tier_paid_until = now() WHERE id = :u"), {"u": user.id})
    short = (await gql(CHECKOUT, {"key": "k2"}, token=user.token))["data"]["checkout"]
    assert [e["code"] for e in short["errors"]] == ["INSUFFICIENT_CREDITS"]
    assert short["purchases"] == [] and short["balance"] == 22
    cart = (await gql(CART, token=user.token))["data"]["cart"]
    assert len(cart["items"]) == 2 and cart["total"] == 22  # all or nothing: the holds are still there
    for lead in (cheap, dear):
        counts = await lead_counts(_deps(app).engine, lead.id)
        assert counts["buyers_count"] == 0 and counts["holds_count"] == 1 and counts["purchase_rows"] == 0
    assert len(await _ledger(app, user.id)) == 1


async def test_expired_hold_fails_checkout_naming_the_lead(
    app: Starlette, buyers: Any, make_lead: Any, settings: Any
) -> None:
    res = _deps(app)
    user = await buyers(credits=100)
    fresh, stale = await make_lead(title="Fresh flat", **CITY), await make_lead(title="Stale loft", **CITY)
    t0 = datetime.now(UTC) + timedelta(hours=1)
    async with res.sessionmaker() as session, session.begin():
        await holds.add_to_cart(session, settings, user.id, stale.id, t0)
    async with res.sessionmaker() as session, session.begin():
        await holds.add_to_cart(session, settings, user.id, fresh.id, t0 + timedelta(seconds=100))
    try:
        async with res.sessionmaker() as session, session.begin():
            await checkout_service.checkout(session, user.id, "late", t0 + timedelta(seconds=300))
        raise AssertionError("checkout should fail")
    except HoldExpiredError as error:
        assert error.code == "HOLD_EXPIRED" and error.lead_id == stale.id
        assert "Stale loft" in error.message
        public = public_error(error)
        assert public.field == lead_gid(stale.id) and "Stale loft" in public.message
    counts = await lead_counts(res.engine, fresh.id)
    assert counts["buyers_count"] == 0 and counts["holds_count"] == 1
    async with res.sessionmaker() as session, session.begin():
        result = await checkout_service.checkout(session, user.id, "in-time", t0 + timedelta(seconds=299))
    assert sorted(p.lead.id for p in result.purchases) == sorted([fresh.id, stale.id])


async def test_twenty_parallel_checkouts_with_one_key_debit_once(
    gql: Any, buyers: Any, make_lead: Any, app: Starlette
) -> None:
    user = await buyers(credits=100)
    leads = [await make_lead(price_credits=12, **CITY) for _ in range(2)]
    for lead in leads:
        await gql(ADD, {"id": lead_gid(lead.id)}, token=user.token)
    results = await asyncio.gather(*(gql(CHECKOUT, {"key": "burst"}, token=user.token) for _ in range(20)))
    payloads = [r["data"]["checkout"] for r in results]
    assert all(p["errors"] == [] for p in payloads)
    assert len({tuple(sorted(x["id"] for x in p["purchases"])) for p in payloads}) == 1
    assert {(p["creditsSpent"], p["balance"]) for p in payloads} == {(24, 76)}
    assert [row[:3] for row in await _ledger(app, user.id)] == [(100, 100, "GRANT"), (-24, 76, "SPEND")]
    async with _deps(app).engine.connect() as conn:
        bought = await conn.scalar(text("SELECT count(*) FROM purchases WHERE user_id = :u"), {"u": user.id})
    assert bought == 2


async def test_three_seat_lead_sells_exactly_three(
    gql: Any, buyers: Any, make_lead: Any, app: Starlette
) -> None:
    users = [await buyers(credits=50) for _ in range(12)]
    lead = await make_lead(price_credits=10, max_buyers=3, **CITY)

    async def buy(user: Any) -> bool:
        added = (await gql(ADD, {"id": lead_gid(lead.id)}, token=user.token))["data"]["addToCart"]
        if added["errors"]:
            assert added["errors"][0]["code"] == "LEAD_UNAVAILABLE"
            return False
        done = (await gql(CHECKOUT, {"key": uuid.uuid4().hex}, token=user.token))["data"]["checkout"]
        assert done["errors"] == [], done
        return True

    outcomes = await asyncio.gather(*(buy(u) for u in users))
    assert sum(outcomes) == 3
    counts = await lead_counts(_deps(app).engine, lead.id)
    assert counts == {
        "holds_count": 0,
        "buyers_count": 3,
        "status": "SOLD_OUT",
        "max_buyers": 3,
        "hold_rows": 0,
        "purchase_rows": 3,
    }
    late = (await gql(ADD, {"id": lead_gid(lead.id)}, token=users[-1].token))["data"]["addToCart"]
    assert [e["code"] for e in late["errors"]] in (["LEAD_UNAVAILABLE"], ["ALREADY_PURCHASED"])


async def test_a_checkout_request_runs_five_statements_whatever_the_cart_size(
    gql: Any, buyers: Any, make_lead: Any, count_statements: Any
) -> None:
    """The bearer token's user; then the checkout's 3: lock cart; lock user with the holds, the
    idempotency record and the cart timer cleared (one statement); and the sale: leads locked,
    seats, holds deleted, ledger entry with its balance, purchases and the idempotency save (one
    statement; BEGIN/COMMIT apart); and one purchase lookup for the answer's lead fields (the
    viewer's purchases decide what each lead shows)."""
    counts = []
    for size in (1, 3):
        user = await buyers(credits=100)
        for _ in range(size):
            lead = await make_lead(price_credits=5, max_buyers=2, **CITY)
            added = await gql(ADD, {"id": lead_gid(lead.id)}, token=user.token)
            assert added["data"]["addToCart"]["errors"] == []
        best = None
        for attempt in range(3):  # the shared engine's reconciliation may add a statement to one window
            with count_statements() as counter:
                result = await gql(CHECKOUT, {"key": f"count-{size}-{attempt}"}, token=user.token)
            if attempt == 0:
                assert result["data"]["checkout"]["errors"] == []
            executed = [s for s in counter.statements if "credit_ledger" in s or "purchases" in s]
            if attempt == 0:
                best = counter.count
                assert executed, counter.statements
        counts.append(best)
    assert counts == [5, 5], counts
