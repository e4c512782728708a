"""Who sees what: contact and street only for buyers, tier prices, partners and anonymous callers
see list data, seats net of other buyers' holds, node(id), price history."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest_asyncio
from aiqtest_support.leads_data import LEADS_QUERY, SEARCH_QUERY, global_id, unique_city
from sqlalchemy import text
from starlette.applications import Starlette

from aiqleads.domain.search.indexer import index_leads
from aiqleads.domain.search.repository import leads_for_index
from aiqleads.domain.users import service as user_service
from aiqleads.domain.users.service import create_api_key

LEAD_QUERY = """
query One($id: ID!) {
  lead(id: $id) {
    id price purchased availableSeats
    address { city street }
    contact { name phone email }
    priceHistory(first: 2) { price reason }
  }
}
"""
NODE_QUERY = """
query N($id: ID!) {
  node(id: $id) {
    __typename id
    ... on Lead { title contact { phone } }
    ... on User { email }
  }
}
"""


@dataclass
class Viewer:
    id: uuid.UUID
    email: str
    token: str


async def _register(app: Starlette, tier: str) -> Viewer:
    res = app.state.deps
    email = f"vis-{uuid.uuid4().hex[:10]}@example.com"
    async with res.sessionmaker() as session, session.begin():
        result = await user_service.register(
            session, res.settings, email=email, password="correct horse battery", name="Viewer"
        )
        result.user.tier = tier
        if tier != "FREE":  # a paid tier counts while its period is paid
            result.user.tier_paid_until = datetime.now(UTC) + timedelta(days=30)
    return Viewer(result.user.id, email, result.token)


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def world(app: Starlette) -> dict[str, Any]:
    res = app.state.deps
    city = unique_city("Vis")

    async def make_user(tier: str) -> Viewer:
        return await _register(app, tier)

    free = await make_user(tier="FREE")
    pro = await make_user(tier="PRO")
    enterprise = await make_user(tier="ENTERPRISE")
    buyer = await make_user(tier="PRO")
    returner = await make_user(tier="FREE")
    holder = await make_user(tier="FREE")
    lead_id = uuid.uuid4()
    now = datetime.now(UTC)
    async with res.sessionmaker() as session, session.begin():
        await session.execute(
            text(
                "INSERT INTO leads (id, source, property_type, title, street, city, state, zip, "
                "location, posted_at, contact_name, contact_phone, contact_email, price_credits, "
                "max_buyers, buyers_count, holds_count, status) "
                "VALUES (:id, 'FSBO', 'CONDO', 'Secret condo', '9 Hidden Lane', :city, 'TX', '78701', "
                "ST_GeogFromText('SRID=4326;POINT(-97.74 30.27)'), now(), 'Dana Seller', "
                "'+15125550199', 'dana@example.com', 50, 4, 2, 1, 'AVAILABLE')"
            ),
            {"id": lead_id, "city": city},
        )
        for user, returned in ((buyer, None), (returner, now)):
            await session.execute(
                text(
                    "INSERT INTO purchases (id, user_id, lead_id, price, purchased_at) "
                    "VALUES (:id, :u, :l, 45, now())"
                ),
                {"id": uuid.uuid4(), "u": user.id, "l": lead_id},
            )
            if returned is not None:
                await session.execute(
                    text("UPDATE purchases SET returned_at = :t WHERE user_id = :u AND lead_id = :l"),
                    {"t": returned, "u": user.id, "l": lead_id},
                )
        await session.execute(
            text("INSERT INTO carts (user_id, expires_at, started_at) VALUES (:u, :e, now())"),
            {"u": holder.id, "e": now + timedelta(minutes=15)},
        )
        await session.execute(
            text(
                "INSERT INTO holds (id, user_id, lead_id, price, held_until) VALUES (:id, :u, :l, 50, :until)"
            ),
            {"id": uuid.uuid4(), "u": holder.id, "l": lead_id, "until": now + timedelta(minutes=5)},
        )
        for i, price in enumerate((40, 45, 50)):
            await session.execute(
                text("INSERT INTO price_history (lead_id, price, reason, at) VALUES (:l, :p, :r, :at)"),
                {"l": lead_id, "p": price, "r": f"step {i}", "at": now - timedelta(hours=3 - i)},
            )
        _, partner_secret = await create_api_key(session, f"partner-{city}")
    async with res.sessionmaker() as session:
        await index_leads(res.es, res.settings, await leads_for_index(session, [lead_id]), refresh=True)
    return {
        "city": city,
        "lead": global_id("Lead", lead_id),
        "users": {
            "free": free,
            "pro": pro,
            "enterprise": enterprise,
            "buyer": buyer,
            "returner": returner,
            "holder": holder,
        },
        "partner": partner_secret,
    }


async def _lead(
    gql: Any, world: dict[str, Any], *, token: str | None = None, api_key: str | None = None
) -> Any:
    body = await gql(LEAD_QUERY, {"id": world["lead"]}, token=token, api_key=api_key)
    return body["data"]["lead"]


async def test_contact_and_street_only_for_the_buyer(gql: Any, world: dict[str, Any]) -> None:
    users = world["users"]
    bought = await _lead(gql, world, token=users["buyer"].token)
    assert bought["purchased"] is True
    assert bought["contact"] == {"name": "Dana Seller", "phone": "+15125550199", "email": "dana@example.com"}
    assert bought["address"] == {"city": world["city"], "street": "9 Hidden Lane"}
    for name in ("free", "pro", "enterprise", "returner", "holder"):
        seen = await _lead(gql, world, token=users[name].token)
        assert seen["purchased"] is False, name
        assert seen["contact"] is None, name
        assert seen["address"]["street"] is None, name


async def test_anonymous_and_partner_callers_see_list_data_only(gql: Any, world: dict[str, Any]) -> None:
    for kwargs in ({}, {"api_key": world["partner"]}):
        seen = await _lead(gql, world, **kwargs)
        assert seen["contact"] is None
        assert seen["address"]["street"] is None
        assert seen["purchased"] is False
        assert seen["price"] == 50


async def test_price_is_the_viewers_tier_price(gql: Any, world: dict[str, Any]) -> None:
    users = world["users"]
    prices = {
        name: (await _lead(gql, world, token=users[name].token))["price"]
        for name in ("free", "pro", "enterprise")
    }
    assert prices == {"free": 50, "pro": 45, "enterprise": 40}


async def test_available_seats_subtract_purchases_and_other_buyers_holds(
    gql: Any, world: dict[str, Any]
) -> None:
    users = world["users"]
    # max 4, bought by 2, held by `holder`: 1 seat left for others, 2 for the holder itself
    assert (await _lead(gql, world, token=users["free"].token))["availableSeats"] == 1
    assert (await _lead(gql, world))["availableSeats"] == 1
    assert (await _lead(gql, world, token=users["holder"].token))["availableSeats"] == 2


async def test_price_history_newest_first_and_limited(gql: Any, world: dict[str, Any]) -> None:
    seen = await _lead(gql, world)
    assert seen["priceHistory"] == [{"price": 50, "reason": "step 2"}, {"price": 45, "reason": "step 1"}]


async def test_rules_hold_in_lists_and_search_too(gql: Any, world: dict[str, Any]) -> None:
    users = world["users"]
    for token, contact in ((users["buyer"].token, True), (users["pro"].token, False), (None, False)):
        listed = await gql(LEADS_QUERY, {"filter": {"city": world["city"]}}, token=token)
        node = listed["data"]["leads"]["edges"][0]["node"]
        assert (node["contact"] is not None) is contact
        assert (node["address"]["street"] is not None) is contact
        found = await gql(
            SEARCH_QUERY, {"query": "secret condo", "filter": {"city": world["city"]}}, token=token
        )
        edges = found["data"]["searchLeads"]["edges"]
        assert [e["node"]["id"] for e in edges] == [world["lead"]]
        assert edges[0]["node"]["price"] == (45 if token else 50)


async def test_node_resolves_leads_and_only_your_own_user(gql: Any, world: dict[str, Any]) -> None:
    users = world["users"]
    lead = await gql(NODE_QUERY, {"id": world["lead"]}, token=users["buyer"].token)
    assert lead["data"]["node"]["__typename"] == "Lead"
    assert lead["data"]["node"]["contact"] == {"phone": "+15125550199"}
    anonymous_lead = await gql(NODE_QUERY, {"id": world["lead"]})
    assert anonymous_lead["data"]["node"]["contact"] is None
    me_id = global_id("User", users["pro"].id)
    me = await gql(NODE_QUERY, {"id": me_id}, token=users["pro"].token)
    assert me["data"]["node"] == {"__typename": "User", "id": me_id, "email": users["pro"].email}
    other = await gql(NODE_QUERY, {"id": me_id}, token=users["free"].token)
    assert other["data"]["node"] is None
    anonymous = await gql(NODE_QUERY, {"id": me_id})
    assert anonymous["data"]["node"] is None
    missing = await gql(NODE_QUERY, {"id": global_id("Lead", uuid.uuid4())})
    assert missing["data"]["node"] is None
