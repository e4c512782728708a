"""No inventory squatting: a hold needs funds for the whole cart, tier limits are re-checked at
checkout, and one account counts once per lead in the demand that drives prices."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

from aiqtest_support.cartkit import ADD, CART, CHECKOUT, REMOVE, TIER, lead_counts, lead_gid
from sqlalchemy import text
from starlette.applications import Starlette

from aiqleads.domain.pricing import signals

CITY = dict(city="Squatford", zip="73301")


async def test_a_free_account_with_no_credits_cannot_hold_anything(
    gql: Any, buyers: Any, make_lead: Any, app: Starlette
) -> None:
    broke = await buyers()
    lead = await make_lead(price_credits=15, **CITY)
    refused = (await gql(ADD, {"id": lead_gid(lead.id)}, token=broke.token))["data"]["addToCart"]
    assert [(e["code"], e["field"]) for e in refused["errors"]] == [("INSUFFICIENT_CREDITS", "leadId")]
    assert "15" in refused["errors"][0]["message"]
    counts = await lead_counts(app.state.deps.engine, lead.id)
    assert counts["holds_count"] == 0 and counts["hold_rows"] == 0  # the seat stays free for others
    assert (await gql(CART, token=broke.token))["data"]["cart"]["items"] == []


async def test_concurrent_adds_hold_no_more_than_the_balance_covers(
    gql: Any, buyers: Any, make_lead: Any, app: Starlette
) -> None:
    user = await buyers(credits=35)  # covers three leads at 10, not four
    leads = [await make_lead(price_credits=10, **CITY) for _ in range(5)]
    results = await asyncio.gather(*(gql(ADD, {"id": lead_gid(lead.id)}, token=user.token) for lead in leads))
    codes = [[e["code"] for e in r["data"]["addToCart"]["errors"]] for r in results]
    assert sorted(map(tuple, codes)) == [(), (), (), ("INSUFFICIENT_CREDITS",), ("INSUFFICIENT_CREDITS",)]
    cart = (await gql(CART, token=user.token))["data"]["cart"]
    assert len(cart["items"]) == 3 and cart["total"] == 30
    held = [await lead_counts(app.state.deps.engine, lead.id) for lead in leads]
    assert sum(c["holds_count"] for c in held) == 3 == sum(c["hold_rows"] for c in held)


async def test_upgrade_hold_downgrade_gains_nothing_at_checkout(
    gql: Any, buyers: Any, make_lead: Any
) -> None:
    # the discount: held at the PRO price, bought at the FREE price after the downgrade
    user = await buyers(tier="PRO", credits=100)
    lead = await make_lead(price_credits=20, **CITY)
    held = (await gql(ADD, {"id": lead_gid(lead.id)}, token=user.token))["data"]["addToCart"]
    assert held["cart"]["total"] == 18
    down = (await gql(TIER, {"tier": "FREE"}, token=user.token))["data"]["changeTier"]
    assert down["errors"] == [] and down["user"]["tier"] == "FREE"
    bought = (await gql(CHECKOUT, {"key": uuid.uuid4().hex}, token=user.token))["data"]["checkout"]
    assert bought["errors"] == []
    assert bought["creditsSpent"] == 20 and bought["balance"] == 80
    assert [p["price"] for p in bought["purchases"]] == [20]

    # the cart size: six holds on ENTERPRISE, then FREE (at most five) cannot check them out
    big = await buyers(tier="ENTERPRISE", credits=500)
    many = [await make_lead(price_credits=10, **CITY) for _ in range(6)]
    for row in many:
        added = (await gql(ADD, {"id": lead_gid(row.id)}, token=big.token))["data"]["addToCart"]
        assert added["errors"] == []
    assert (await gql(TIER, {"tier": "FREE"}, token=big.token))["data"]["changeTier"]["errors"] == []
    refused = (await gql(CHECKOUT, {"key": uuid.uuid4().hex}, token=big.token))["data"]["checkout"]
    assert [e["code"] for e in refused["errors"]] == ["CART_FULL"]
    assert refused["purchases"] == [] and refused["balance"] == 500
    await gql(REMOVE, {"id": lead_gid(many[0].id)}, token=big.token)
    done = (await gql(CHECKOUT, {"key": uuid.uuid4().hex}, token=big.token))["data"]["checkout"]
    assert done["errors"] == [] and len(done["purchases"]) == 5 and done["creditsSpent"] == 50


async def test_one_account_counts_once_per_lead_in_demand(
    gql: Any, buyers: Any, make_lead: Any, app: Starlette
) -> None:
    redis = app.state.deps.redis
    lead = await make_lead(price_credits=10, max_buyers=3, **CITY)
    gid = lead_gid(lead.id)
    pumper = await buyers(credits=100)
    for _ in range(6):  # add/remove cycles
        assert (await gql(ADD, {"id": gid}, token=pumper.token))["data"]["addToCart"]["errors"] == []
        assert (await gql(REMOVE, {"id": gid}, token=pumper.token))["data"]["removeFromCart"]["errors"] == []
    view = "query V($id: ID!) { lead(id: $id) { id } }"
    for _ in range(6):
        await gql(view, {"id": gid}, token=pumper.token)
        await gql(view, {"id": gid})  # anonymous, from one address
    demand = (await signals.read_demand(redis, [lead.id]))[lead.id]
    assert (demand.cart_adds, demand.views) == (1, 2)
    # another account is another vote
    other = await buyers(credits=100)
    assert (await gql(ADD, {"id": gid}, token=other.token))["data"]["addToCart"]["errors"] == []
    await gql(view, {"id": gid}, token=other.token)
    demand = (await signals.read_demand(redis, [lead.id]))[lead.id]
    assert (demand.cart_adds, demand.views) == (2, 3)
    # and one account's storm never triggers an immediate reprice on its own
    assert await redis.get(signals.debounce_key(lead.id)) is None


async def test_a_lapsed_paid_period_counts_as_free_everywhere(
    gql: Any, buyers: Any, make_lead: Any, app: Starlette
) -> None:
    user = await buyers(tier="PRO", credits=100)
    async with app.state.deps.engine.begin() as conn:
        await conn.execute(
            text("UPDATE users SET tier_paid_until = now() - interval '1 minute' WHERE id = :u"),
            {"u": user.id},
        )
    me = (await gql("query { me { tier } }", token=user.token))["data"]["me"]
    assert me["tier"] == "FREE"
    lead = await make_lead(price_credits=20, **CITY)
    shown = await gql(
        "query L($id: ID!) { lead(id: $id) { price } }", {"id": lead_gid(lead.id)}, token=user.token
    )
    assert shown["data"]["lead"]["price"] == 20  # no PRO discount
    held = (await gql(ADD, {"id": lead_gid(lead.id)}, token=user.token))["data"]["addToCart"]
    assert held["cart"]["total"] == 20 and held["cart"]["items"][0]["extensionsLeft"] == 0
    extend = "mutation E($id: ID!) { extendHold(leadId: $id) { errors { code } } }"
    refused = (await gql(extend, {"id": lead_gid(lead.id)}, token=user.token))["data"]["extendHold"]
    assert [e["code"] for e in refused["errors"]] == ["HOLD_EXTENSION_NOT_ALLOWED"]
