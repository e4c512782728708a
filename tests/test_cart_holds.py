"""Holds: adding, removing, extending, frozen prices, tier limits, typed refusals and races."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from aiqtest_support.cartkit import (
    ADD,
    CART,
    CHECKOUT,
    EXTEND,
    REMOVE,
    Buyers,
    cart_lead_ids,
    lead_counts,
    lead_gid,
)
from sqlalchemy import text
from starlette.applications import Starlette

from aiqleads.domain.bootstrap import Deps
from aiqleads.domain.cart import expiry, holds
from aiqleads.domain.errors import DomainError
from aiqleads.resolvers.ids import to_global_id

CITY = dict(city="Holdsworth", zip="73301")


def _dt(value: str) -> datetime:
    return datetime.fromisoformat(value)


def _deps(app: Starlette) -> Deps:
    return app.state.deps  # type: ignore[no-any-return]


async def test_add_and_remove_round_trip(gql: Any, buyers: Any, make_lead: Any, app: Starlette) -> None:
    alice, bob = await buyers(credits=500), await buyers(credits=500)
    lead = await make_lead(price_credits=20, max_buyers=1, **CITY)
    before = datetime.now(UTC)
    body = await gql(ADD, {"id": lead_gid(lead.id)}, token=alice.token)
    payload = body["data"]["addToCart"]
    assert payload["errors"] == []
    cart = payload["cart"]
    assert cart_lead_ids(cart) == [lead_gid(lead.id)]
    item = cart["items"][0]
    assert item["price"] == 20 and cart["total"] == 20
    assert item["extensionsUsed"] == 0 and item["extensionsLeft"] == 0
    held_until, expires_at, server_time = (
        _dt(item["heldUntil"]),
        _dt(cart["expiresAt"]),
        _dt(cart["serverTime"]),
    )
    assert abs((held_until - before).total_seconds() - 300) < 5
    assert abs((expires_at - before).total_seconds() - 900) < 5
    assert abs((server_time - before).total_seconds()) < 5
    assert item["lead"]["availableSeats"] == 1  # the holder's own hold does not count against them

    seen_by_bob = await gql(
        "query($id: ID!) { lead(id: $id) { availableSeats } }", {"id": lead_gid(lead.id)}, token=bob.token
    )
    assert seen_by_bob["data"]["lead"]["availableSeats"] == 0

    refused = (await gql(ADD, {"id": lead_gid(lead.id)}, token=bob.token))["data"]["addToCart"]
    assert refused["cart"] is None
    assert [(e["code"], e["field"]) for e in refused["errors"]] == [("LEAD_UNAVAILABLE", "leadId")]

    removed = (await gql(REMOVE, {"id": lead_gid(lead.id)}, token=alice.token))["data"]["removeFromCart"]
    assert removed["errors"] == [] and removed["cart"]["items"] == [] and removed["cart"]["expiresAt"] is None
    assert (await lead_counts(_deps(app).engine, lead.id))["holds_count"] == 0

    taken = (await gql(ADD, {"id": lead_gid(lead.id)}, token=bob.token))["data"]["addToCart"]
    assert taken["errors"] == [] and cart_lead_ids(taken["cart"]) == [lead_gid(lead.id)]
    again = (await gql(REMOVE, {"id": lead_gid(lead.id)}, token=alice.token))["data"]["removeFromCart"]
    assert [e["code"] for e in again["errors"]] == ["NOT_FOUND"]


async def test_price_is_frozen_with_tier_discount(
    gql: Any, buyers: Any, make_lead: Any, app: Starlette
) -> None:
    pro = await buyers(tier="PRO", credits=100)
    lead = await make_lead(price_credits=20, **CITY)
    cart = (await gql(ADD, {"id": lead_gid(lead.id)}, token=pro.token))["data"]["addToCart"]["cart"]
    assert cart["items"][0]["price"] == 18  # 10 % off for PRO
    async with _deps(app).engine.begin() as conn:
        await conn.execute(text("UPDATE leads SET price_credits = 40 WHERE id = :id"), {"id": lead.id})
    cart = (await gql(CART, token=pro.token))["data"]["cart"]
    assert cart["items"][0]["price"] == 18 and cart["total"] == 18
    done = (await gql(CHECKOUT, {"key": uuid.uuid4().hex}, token=pro.token))["data"]["checkout"]
    assert done["errors"] == [] and done["creditsSpent"] == 18 and done["balance"] == 82


async def test_typed_refusals(gql: Any, buyers: Any, make_lead: Any, app: Starlette) -> None:
    user = await buyers(credits=200)  # one purchase of 20, then five holds of 20 each
    lead = await make_lead(max_buyers=2, **CITY)

    async def add(lead_id: str) -> list[tuple[str, str | None]]:
        payload = (await gql(ADD, {"id": lead_id}, token=user.token))["data"]["addToCart"]
        return [(e["code"], e["field"]) for e in payload["errors"]]

    assert await add(lead_gid(lead.id)) == []
    assert await add(lead_gid(lead.id)) == [("ALREADY_IN_CART", "leadId")]
    assert await add(lead_gid(uuid.uuid4())) == [("NOT_FOUND", "leadId")]
    assert await add("not-an-id") == [("INVALID_INPUT", "leadId")]
    assert await add(to_global_id("User", user.id)) == [("INVALID_INPUT", "leadId")]
    withdrawn = await make_lead(status="WITHDRAWN", **CITY)
    assert await add(lead_gid(withdrawn.id)) == [("LEAD_UNAVAILABLE", "leadId")]

    bought = (await gql(CHECKOUT, {"key": "k-" + uuid.uuid4().hex}, token=user.token))["data"]["checkout"]
    assert bought["errors"] == []
    assert await add(lead_gid(lead.id)) == [
        ("ALREADY_PURCHASED", "leadId")
    ]  # a seat is left, but not for them

    extra = [await make_lead(**CITY) for _ in range(6)]
    for row in extra[:5]:
        assert await add(lead_gid(row.id)) == []
    assert await add(lead_gid(extra[5].id)) == [("CART_FULL", "leadId")]  # FREE carts hold 5
    assert (await lead_counts(_deps(app).engine, extra[5].id))["holds_count"] == 0

    anonymous = await gql(CART, expect_errors=True)
    assert anonymous["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    anonymous_add = await gql(ADD, {"id": lead_gid(extra[5].id)}, expect_errors=True)
    assert anonymous_add["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


async def test_extensions_follow_the_tier(gql: Any, buyers: Any, make_lead: Any) -> None:
    free, pro, ent = (
        await buyers(credits=500),
        await buyers(tier="PRO", credits=500),
        await buyers(tier="ENTERPRISE", credits=500),
    )
    leads = [await make_lead(**CITY) for _ in range(3)]

    async def extend(user: Any, lead_id: uuid.UUID) -> dict[str, Any]:
        return (await gql(EXTEND, {"id": lead_gid(lead_id)}, token=user.token))["data"]["extendHold"]  # type: ignore[no-any-return]

    await gql(ADD, {"id": lead_gid(leads[0].id)}, token=free.token)
    refused = await extend(free, leads[0].id)
    assert [e["code"] for e in refused["errors"]] == ["HOLD_EXTENSION_NOT_ALLOWED"]

    first = (await gql(ADD, {"id": lead_gid(leads[1].id)}, token=pro.token))["data"]["addToCart"]["cart"]
    extended = await extend(pro, leads[1].id)
    assert extended["errors"] == []
    item = extended["cart"]["items"][0]
    delta = _dt(item["heldUntil"]) - _dt(first["items"][0]["heldUntil"])
    assert delta == timedelta(seconds=300)
    assert item["extensionsUsed"] == 1 and item["extensionsLeft"] == 0
    assert [e["code"] for e in (await extend(pro, leads[1].id))["errors"]] == ["HOLD_EXTENSION_NOT_ALLOWED"]

    start = (await gql(ADD, {"id": lead_gid(leads[2].id)}, token=ent.token))["data"]["addToCart"]["cart"]
    cart_start = _dt(start["expiresAt"]) - timedelta(seconds=900)
    for n in range(3):
        result = await extend(ent, leads[2].id)
        assert result["errors"] == [], result
        assert result["cart"]["items"][0]["extensionsUsed"] == n + 1
    final = result["cart"]
    held_until = _dt(final["items"][0]["heldUntil"])
    assert held_until - cart_start == timedelta(seconds=1200)  # 300 + 3 × 300
    assert _dt(final["expiresAt"]) == held_until  # the cart timer was pushed so the item still fits
    assert [e["code"] for e in (await extend(ent, leads[2].id))["errors"]] == ["HOLD_EXTENSION_NOT_ALLOWED"]
    missing = await extend(ent, leads[0].id)
    assert [e["code"] for e in missing["errors"]] == ["NOT_FOUND"]


async def test_extension_cap_limits_the_cart(
    app: Starlette, buyers: Any, make_lead: Any, settings: Any
) -> None:
    res = _deps(app)
    capped = settings.replace(cart_extension_cap_seconds=1000)
    ent = await buyers(tier="ENTERPRISE", credits=500)
    lead = await make_lead(**CITY)
    t0 = datetime.now(UTC) + timedelta(hours=1)  # domain calls take the clock as an argument
    async with res.sessionmaker() as session, session.begin():
        await holds.add_to_cart(session, capped, ent.id, lead.id, t0)
    deadlines = []
    for _ in range(3):
        async with res.sessionmaker() as session, session.begin():
            outcome = await holds.extend_hold(session, capped, ent.id, lead.id, t0)
            deadlines.append((outcome.cart.items[0].hold.held_until, outcome.cart.expires_at))
    assert [(h - t0).total_seconds() for h, _ in deadlines] == [600, 900, 1000]
    assert [(c - t0).total_seconds() for _, c in deadlines] == [900, 900, 1000]

    tight = settings.replace(cart_extension_cap_seconds=900)
    other = await make_lead(**CITY)
    ent2 = await buyers(tier="ENTERPRISE", credits=500)
    async with res.sessionmaker() as session, session.begin():
        await holds.add_to_cart(session, tight, ent2.id, other.id, t0)
    for _ in range(2):
        async with res.sessionmaker() as session, session.begin():
            await holds.extend_hold(session, tight, ent2.id, other.id, t0)
    try:
        async with res.sessionmaker() as session, session.begin():
            await holds.extend_hold(session, tight, ent2.id, other.id, t0)
        raise AssertionError("the cap should refuse a third extension")
    except DomainError as error:
        assert error.code == "HOLD_EXTENSION_NOT_ALLOWED"


async def test_item_hold_never_outlives_cart_and_cart_expires(
    app: Starlette, buyers: Any, make_lead: Any, settings: Any
) -> None:
    res = _deps(app)
    short_cart = settings.replace(item_hold_seconds=300, cart_hold_seconds=400)
    user = await buyers(credits=500)
    first, second = await make_lead(**CITY), await make_lead(**CITY)
    t0 = datetime.now(UTC) + timedelta(hours=2)
    async with res.sessionmaker() as session, session.begin():
        await holds.add_to_cart(session, short_cart, user.id, first.id, t0)
    async with res.sessionmaker() as session, session.begin():
        outcome = await holds.add_to_cart(
            session, short_cart, user.id, second.id, t0 + timedelta(seconds=200)
        )
    by_lead = {item.lead.id: item.hold.held_until for item in outcome.cart.items}
    assert by_lead[first.id] == t0 + timedelta(seconds=300)
    assert by_lead[second.id] == t0 + timedelta(seconds=400) == outcome.cart.expires_at  # capped by the cart

    async with res.sessionmaker() as session, session.begin():
        expired = await expiry.expire_due(session, user.id, t0 + timedelta(seconds=301))
    assert [(e.kind, e.lead_id) for e in expired.events] == [("HOLD_EXPIRED", first.id)]
    assert expired.events[0].cart_expires_at == t0 + timedelta(seconds=400)
    assert expired.next_deadline == t0 + timedelta(seconds=400)

    async with res.sessionmaker() as session, session.begin():
        expired = await expiry.expire_due(session, user.id, t0 + timedelta(seconds=400))
    assert [(e.kind, e.lead_id, e.cart_expires_at) for e in expired.events] == [
        ("CART_EXPIRED", None, t0 + timedelta(seconds=400))
    ]
    for lead in (first, second):
        counts = await lead_counts(res.engine, lead.id)
        assert counts["holds_count"] == 0 and counts["hold_rows"] == 0
    async with res.sessionmaker() as session:
        view = await holds.view_cart(session, user.id, t0)
    assert view.items == [] and view.expires_at is None

    # a new hold after the cart emptied starts a fresh cart timer
    async with res.sessionmaker() as session, session.begin():
        fresh = await holds.add_to_cart(session, short_cart, user.id, first.id, t0 + timedelta(seconds=500))
    assert fresh.cart.expires_at == t0 + timedelta(seconds=900)


async def test_expired_seat_is_free_for_others_immediately(
    app: Starlette, buyers: Any, make_lead: Any, settings: Any
) -> None:
    res = _deps(app)
    alice, bob = await buyers(credits=500), await buyers(credits=500)
    lead = await make_lead(max_buyers=1, **CITY)
    t0 = datetime.now(UTC) + timedelta(hours=3)
    async with res.sessionmaker() as session, session.begin():
        await holds.add_to_cart(session, settings, alice.id, lead.id, t0)
    try:
        async with res.sessionmaker() as session, session.begin():
            await holds.add_to_cart(session, settings, bob.id, lead.id, t0 + timedelta(seconds=299))
        raise AssertionError("the seat is still held")
    except DomainError as error:
        assert error.code == "LEAD_UNAVAILABLE"
    async with res.sessionmaker() as session, session.begin():
        outcome = await holds.add_to_cart(session, settings, bob.id, lead.id, t0 + timedelta(seconds=300))
    kinds = {(e.user_id, e.kind) for e in outcome.effects.events}
    assert (alice.id, "HOLD_EXPIRED") in kinds and (bob.id, "HOLD_CREATED") in kinds
    counts = await lead_counts(res.engine, lead.id)
    assert counts["holds_count"] == 1 and counts["hold_rows"] == 1


async def test_fifty_buyers_race_for_one_exclusive_lead(
    gql: Any, buyers: Any, make_lead: Any, app: Starlette
) -> None:
    users = [await buyers(credits=500) for _ in range(50)]
    lead = await make_lead(max_buyers=1, **CITY)
    results = await asyncio.gather(*(gql(ADD, {"id": lead_gid(lead.id)}, token=u.token) for u in users))
    payloads = [r["data"]["addToCart"] for r in results]
    winners = [p for p in payloads if not p["errors"]]
    assert len(winners) == 1
    assert {e["code"] for p in payloads if p["errors"] for e in p["errors"]} == {"LEAD_UNAVAILABLE"}
    counts = await lead_counts(_deps(app).engine, lead.id)
    assert counts["holds_count"] == 1 and counts["hold_rows"] == 1


async def test_shared_lead_gives_out_exactly_its_seats(
    app: Starlette, buyers: Any, make_lead: Any, settings: Any
) -> None:
    res = _deps(app)
    users = [await buyers(credits=500) for _ in range(12)]
    lead = await make_lead(max_buyers=3, **CITY)
    now = datetime.now(UTC)

    async def attempt(user_id: uuid.UUID) -> bool:
        try:
            async with res.sessionmaker() as session, session.begin():
                await holds.add_to_cart(session, settings, user_id, lead.id, now)
            return True
        except DomainError as error:
            assert error.code == "LEAD_UNAVAILABLE"
            return False

    outcomes = await asyncio.gather(*(attempt(u.id) for u in users))
    assert sum(outcomes) == 3
    counts = await lead_counts(res.engine, lead.id)
    assert counts["holds_count"] == 3 and counts["hold_rows"] == 3


async def test_late_expiry_still_reports_each_deadline(
    app: Starlette, buyers: Buyers, make_lead: Any, settings: Any
) -> None:
    res = _deps(app)
    short_cart = settings.replace(item_hold_seconds=300, cart_hold_seconds=400)
    user = await buyers(credits=500)
    first, second = await make_lead(**CITY), await make_lead(**CITY)
    t0 = datetime.now(UTC) + timedelta(hours=4)
    async with res.sessionmaker() as session, session.begin():
        await holds.add_to_cart(session, short_cart, user.id, first.id, t0)
    async with res.sessionmaker() as session, session.begin():
        await holds.add_to_cart(session, short_cart, user.id, second.id, t0 + timedelta(seconds=200))
    async with (
        res.sessionmaker() as session,
        session.begin(),
    ):  # nobody looked until long after both deadlines
        late = await expiry.expire_due(session, user.id, t0 + timedelta(seconds=900))
    assert [(e.kind, e.lead_id) for e in late.events] == [("HOLD_EXPIRED", first.id), ("CART_EXPIRED", None)]
    assert late.events[0].held_until == t0 + timedelta(seconds=300)
    assert late.events[1].cart_expires_at == t0 + timedelta(seconds=400)
    assert late.next_deadline is None
