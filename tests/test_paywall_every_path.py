"""The paywall on every path: a scraped lead whose text carries a phone, an e-mail and a street.

Anonymous callers, partners (API key) and signed-in users who have not bought the lead see the
redacted text, no source URL, no street, no contact, a point snapped to the 0.01° grid and
distances rounded to 0.1 mi — on `lead`, `leads`, `searchLeads`, `node`, cart items, `newLeads`
and `priceChanged` (over a real websocket to a real `aiqleads serve`). The buyer sees the
originals. The search index holds only public text: searching for the seller's phone or e-mail
finds nothing.
"""

from __future__ import annotations

import asyncio
import json
import re
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest_asyncio
from aiqtest_support.leads_data import global_id, unique_city
from aiqtest_support.live_server import api_process
from aiqtest_support.pricing_server import Subscriber
from sqlalchemy import text
from starlette.applications import Starlette

from aiqleads.domain.core.geo import point
from aiqleads.domain.core.lead import Lead
from aiqleads.domain.credits import ledger
from aiqleads.domain.events import NEW_LEADS_CHANNEL, PRICE_CHANNEL, publish
from aiqleads.domain.ingest.events import new_lead_event
from aiqleads.domain.leads.repository import get_lead
from aiqleads.domain.search.indexer import index_leads
from aiqleads.domain.search.mapping import alias_name
from aiqleads.domain.search.repository import leads_for_index
from aiqleads.domain.settings import Settings
from aiqleads.domain.users import service as user_service
from aiqleads.domain.users.service import create_api_key

EXACT_LAT, EXACT_LNG = 32.781234, -96.804567
PHONE_WRITTEN = "214-555-0143"
EMAIL = "maria.lopez@gmail.com"
STREET = "4521 Oak Hollow Dr"
SOURCE_URL = "https://fsbo.example.com/listing/4521-oak-hollow"
DESCRIPTION = (
    f"Sunny 3 bed condo, new roof. Text Maria at {PHONE_WRITTEN} or email {EMAIL}. "
    f"Open house at {STREET} on Sunday, see {SOURCE_URL} for photos."
)
TITLE = f"FSBO condo, call {PHONE_WRITTEN}"

PHOTOS = ["https://fsbo.example.com/photos/4521-oak-hollow/1.jpg", "https://fsbo.example.com/photos/2.jpg"]
HINT = f"AI review: the seller asks buyers to text {PHONE_WRITTEN} before any viewing"
REASON = f"base 30 × demand 1.1 (LLM hint: listing says call {PHONE_WRITTEN})"
LEAD_FIELDS = """
  id title description sourceUrl location { lat lng } address { city street }
  contact { name phone email } purchased fraudSignals priceHistory(first: 5) { reason }
  photos photoCount
"""
LEAD = f"query L($id: ID!) {{ lead(id: $id) {{ {LEAD_FIELDS} }} }}"
NODE = f"query N($id: ID!) {{ node(id: $id) {{ ... on Lead {{ {LEAD_FIELDS} }} }} }}"
LEADS = f"""query Ls($city: String!, $lat: Float!, $lng: Float!) {{
  leads(filter: {{ city: $city, near: {{ center: {{ lat: $lat, lng: $lng }}, radiusMiles: 20 }} }},
        sort: DISTANCE, first: 20) {{
    edges {{ node {{ {LEAD_FIELDS} distanceMiles }} }}
  }}
}}"""
SEARCH = f"""query S($q: String!, $city: String!) {{
  searchLeads(query: $q, filter: {{ city: $city }}) {{ totalCount edges {{ node {{ {LEAD_FIELDS} }} }} }}
}}"""
SIMILAR = f"""query Sim($id: ID!, $city: String!) {{
  similarLeads(leadId: $id, filter: {{ city: $city }}, first: 10) {{ {LEAD_FIELDS} recommendationReason }}
}}"""
RECOMMENDED = f"""query Rec($city: String!) {{
  recommendedLeads(filter: {{ city: $city }}, first: 10) {{ {LEAD_FIELDS} recommendationReason }}
}}"""
CART = f"query {{ cart {{ items {{ lead {{ {LEAD_FIELDS} }} }} }} }}"
PURCHASES = f"query {{ purchases {{ lead {{ {LEAD_FIELDS} }} }} }}"
ADD = "mutation A($id: ID!) { addToCart(leadId: $id) { errors { code message } } }"
NEW_LEADS = f"subscription N($city: String!) {{ newLeads(filter: {{ city: $city }}) {{ {LEAD_FIELDS} }} }}"
PRICE_CHANGED = f"""subscription P($ids: [ID!]) {{
  priceChanged(leadIds: $ids) {{ leadId newPrice location {{ lat lng }} lead {{ {LEAD_FIELDS} }} }}
}}"""


def _digits(value: str) -> str:
    return re.sub(r"\D", "", value)


def assert_public(node: dict[str, Any]) -> None:
    """What a non-buyer may see of the scraped lead, and nothing more."""
    shown = json.dumps(node)
    for secret in (PHONE_WRITTEN, EMAIL, STREET, SOURCE_URL, "Maria", "fsbo.example.com"):
        assert secret not in shown, (secret, node)
    assert "2145550143" not in _digits(shown.replace(node["id"], ""))
    assert "[contact hidden]" in node["description"]
    assert "[contact hidden]" in node["title"]
    assert "new roof" in node["description"]  # the rest of the listing still reads
    assert node["sourceUrl"] is None
    assert node["photos"] == [] and node["photoCount"] == 2  # photo URLs lead back to the listing
    assert node["address"]["street"] is None
    assert node["contact"] is None
    assert node["purchased"] is False
    assert node["location"] == {"lat": 32.78, "lng": -96.8}
    assert node["fraudSignals"] == [
        "AI review: the seller asks buyers to text [contact hidden] before any viewing"
    ]
    assert [p["reason"] for p in node["priceHistory"]] == [REASON.replace(PHONE_WRITTEN, "[contact hidden]")]


def assert_original(node: dict[str, Any]) -> None:
    """What the buyer sees: every original."""
    assert node["description"] == DESCRIPTION
    assert node["title"] == TITLE
    assert node["sourceUrl"] == SOURCE_URL
    assert node["photos"] == PHOTOS and node["photoCount"] == 2
    assert node["address"]["street"] == STREET
    assert node["contact"] == {"name": "Maria Lopez", "phone": "+12145550143", "email": EMAIL}
    assert node["location"] == {"lat": EXACT_LAT, "lng": EXACT_LNG}
    assert node["purchased"] is True
    assert node["fraudSignals"] == [HINT]
    assert [p["reason"] for p in node["priceHistory"]] == [REASON]


@dataclass
class Viewer:
    id: uuid.UUID
    token: str


async def _user(app: Starlette, credits: int = 0, role: str = "user") -> Viewer:
    res = app.state.deps
    async with res.sessionmaker() as session, session.begin():
        result = await user_service.register(
            session,
            res.settings,
            email=f"paywall-{uuid.uuid4().hex[:10]}@example.com",
            password="correct horse battery",
            name="Viewer",
        )
        result.user.role = role
        if credits:
            await ledger.post(session, result.user.id, credits, "GRANT", "test grant")
    return Viewer(result.user.id, result.token)


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def world(app: Starlette) -> dict[str, Any]:
    res = app.state.deps
    city = unique_city("Paywall")
    lead = Lead(
        id=uuid.uuid4(),
        source="FSBO",
        source_url=SOURCE_URL,
        property_type="CONDO",
        title=TITLE,
        description=DESCRIPTION,
        street=STREET,
        city=city,
        state="TX",
        zip="75201",
        location=point(EXACT_LAT, EXACT_LNG),
        asking_price=310_000,
        bedrooms=3,
        bathrooms=2.0,
        posted_at=datetime.now(UTC) - timedelta(hours=2),
        contact_name="Maria Lopez",
        contact_phone="+12145550143",
        contact_email=EMAIL,
        fraud_signals=[HINT],
        photos=PHOTOS,
        price_credits=30,
        max_buyers=3,
        buyers_count=1,
        holds_count=0,
        status="AVAILABLE",
    )
    # three more leads further out, so a DISTANCE sort has something to order
    others = [
        Lead(
            id=uuid.uuid4(),
            source="ZILLOW",
            property_type="CONDO",
            title=f"Condo {i}",
            description="Plain listing.",
            city=city,
            state="TX",
            zip="75201",
            location=point(EXACT_LAT + 0.013 * i, EXACT_LNG - 0.011 * i),
            posted_at=datetime.now(UTC) - timedelta(hours=3),
            price_credits=20,
        )
        for i in range(1, 4)
    ]
    buyer = await _user(app)
    nonbuyer = await _user(app, credits=500)
    admin = await _user(app, role="admin")
    async with res.sessionmaker() as session, session.begin():
        session.add_all([lead, *others])
        await session.flush()
        await session.execute(
            text("INSERT INTO purchases (id, user_id, lead_id, price) VALUES (:id, :u, :l, 30)"),
            {"id": uuid.uuid4(), "u": buyer.id, "l": lead.id},
        )
        await session.execute(
            text("INSERT INTO price_history (lead_id, price, reason) VALUES (:l, 30, :r)"),
            {"l": lead.id, "r": REASON},
        )
        _, partner = await create_api_key(session, f"partner-{city}")
    async with res.sessionmaker() as session:
        rows = await leads_for_index(session, [lead.id, *(o.id for o in others)])
        await index_leads(res.es, res.settings, rows, refresh=True)
    from aiqleads.domain.recommendations.embedding import embed_leads
    from aiqleads.domain.recommendations.local_minilm import LocalMiniLM

    embedder = LocalMiniLM(res.settings)
    await embed_leads(res, embedder, [lead.id, *(o.id for o in others)])
    await embedder.aclose()
    return {
        "city": city,
        "lead_id": lead.id,
        "neighbour_gid": global_id("Lead", others[0].id),
        "gid": global_id("Lead", lead.id),
        "buyer": buyer,
        "nonbuyer": nonbuyer,
        "admin": admin,
        "partner": partner,
    }


def _viewers(world: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {
        "anonymous": {},
        "partner": {"api_key": world["partner"]},
        "non-buyer": {"token": world["nonbuyer"].token},
    }


async def test_lead_and_node_hide_the_paid_fields_from_every_non_buyer(
    gql: Any, world: dict[str, Any]
) -> None:
    for name, auth in _viewers(world).items():
        for query, field in ((LEAD, "lead"), (NODE, "node")):
            node = (await gql(query, {"id": world["gid"]}, **auth))["data"][field]
            assert node is not None, name
            assert_public(node)
    buyer = world["buyer"].token
    assert_original((await gql(LEAD, {"id": world["gid"]}, token=buyer))["data"]["lead"])
    assert_original((await gql(NODE, {"id": world["gid"]}, token=buyer))["data"]["node"])
    # an operator sees the originals too (returns are reviewed against them)
    admin = (await gql(LEAD, {"id": world["gid"]}, token=world["admin"].token))["data"]["lead"]
    assert admin["contact"]["phone"] == "+12145550143" and admin["sourceUrl"] == SOURCE_URL


async def test_similar_and_recommended_leads_apply_the_same_policy(gql: Any, world: dict[str, Any]) -> None:
    """Suggestions are leads like any other: redacted for non-buyers, the originals for the buyer."""
    similar_vars = {"id": world["neighbour_gid"], "city": world["city"]}
    for name, auth in _viewers(world).items():
        for query, field, variables in (
            (SIMILAR, "similarLeads", similar_vars),
            (RECOMMENDED, "recommendedLeads", {"city": world["city"]}),
        ):
            found = (await gql(query, variables, **auth))["data"][field]
            node = next((n for n in found if n["id"] == world["gid"]), None)
            assert node is not None, (name, field, found)
            assert_public(node)
            assert node["recommendationReason"]
    buyer = world["buyer"].token
    found = (await gql(SIMILAR, similar_vars, token=buyer))["data"]["similarLeads"]
    assert_original(next(n for n in found if n["id"] == world["gid"]))
    # the buyer's own purchase is never recommended back to them
    mine = (await gql(RECOMMENDED, {"city": world["city"]}, token=buyer))["data"]["recommendedLeads"]
    assert world["gid"] not in {n["id"] for n in mine} and len(mine) == 3


async def test_distance_sorted_lists_show_rounded_distances_in_order(gql: Any, world: dict[str, Any]) -> None:
    # the centre is 0.4 mi from the lead: the snapped point is ~0.3 mi from the exact one
    centre = {"lat": EXACT_LAT + 0.004, "lng": EXACT_LNG + 0.004, "city": world["city"]}
    for name, auth in _viewers(world).items():
        edges = (await gql(LEADS, centre, **auth))["data"]["leads"]["edges"]
        assert len(edges) == 4, name
        distances = [e["node"]["distanceMiles"] for e in edges]
        assert distances == sorted(distances), distances
        assert all(d == round(d, 1) for d in distances), distances
        assert edges[0]["node"]["id"] == world["gid"]  # sorted on the exact point
        assert_public(edges[0]["node"])
        for edge in edges:  # every point on the grid
            lat, lng = edge["node"]["location"]["lat"], edge["node"]["location"]["lng"]
            assert (lat, lng) == (round(lat, 2), round(lng, 2))
    edges = (await gql(LEADS, centre, token=world["buyer"].token))["data"]["leads"]["edges"]
    assert_original(edges[0]["node"])
    assert edges[0]["node"]["distanceMiles"] != round(edges[0]["node"]["distanceMiles"], 1)


async def test_search_results_and_the_index_hold_only_public_text(
    gql: Any, world: dict[str, Any], app: Starlette
) -> None:
    city = world["city"]
    for name, auth in _viewers(world).items():
        found = (await gql(SEARCH, {"q": "sunny condo roof", "city": city}, **auth))["data"]["searchLeads"]
        ours = [e["node"] for e in found["edges"] if e["node"]["id"] == world["gid"]]
        assert len(ours) == 1, name
        assert_public(ours[0])
    found = (await gql(SEARCH, {"q": "sunny condo roof", "city": city}, token=world["buyer"].token))["data"]
    assert_original(next(e["node"] for e in found["searchLeads"]["edges"] if e["node"]["id"] == world["gid"]))
    # the seller's phone, e-mail, name and street find nothing, even for the buyer
    for secret in (PHONE_WRITTEN, "2145550143", EMAIL, "maria", "Oak Hollow", "4521 oak"):
        result = (await gql(SEARCH, {"q": secret, "city": city}, token=world["buyer"].token))["data"]
        assert world["gid"] not in [e["node"]["id"] for e in result["searchLeads"]["edges"]], secret
    es = app.state.deps.es
    document = (await es.get(index=alias_name(app.state.deps.settings), id=str(world["lead_id"])))["_source"]
    indexed = json.dumps(document).lower()
    for secret in ("0143", "maria", "lopez", "gmail", "oak", "hollow", "fsbo.example"):
        assert secret not in indexed, (secret, document)
    assert "roof" in indexed


async def test_cart_items_are_shown_like_any_non_buyer_view(gql: Any, world: dict[str, Any]) -> None:
    token = world["nonbuyer"].token
    added = (await gql(ADD, {"id": world["gid"]}, token=token))["data"]["addToCart"]
    assert added["errors"] == []
    items = (await gql(CART, token=token))["data"]["cart"]["items"]
    assert [i["lead"]["id"] for i in items] == [world["gid"]]
    assert_public(items[0]["lead"])
    bought = (await gql(PURCHASES, token=world["buyer"].token))["data"]["purchases"]
    assert_original(next(p["lead"] for p in bought if p["lead"]["id"] == world["gid"]))
    await gql(
        "mutation R($id: ID!) { removeFromCart(leadId: $id) { errors { code } } }",
        {"id": world["gid"]},
        token=token,
    )


async def test_subscriptions_over_websockets_apply_the_same_policy(
    settings: Settings, world: dict[str, Any], app: Starlette
) -> None:
    res = app.state.deps
    async with res.sessionmaker() as session:
        lead = await get_lead(session, world["lead_id"])
    assert lead is not None
    viewers: dict[str, dict[str, Any]] = {
        "anonymous": {},
        "partner": {"api_key": world["partner"]},
        "non-buyer": {"token": world["nonbuyer"].token},
        "buyer": {"token": world["buyer"].token},
    }
    with api_process(settings) as base:
        new_subs = {
            name: await Subscriber.open(base, NEW_LEADS, {"city": world["city"]}, **auth)
            for name, auth in viewers.items()
        }
        price_subs = {
            name: await Subscriber.open(base, PRICE_CHANGED, {"ids": [world["gid"]]}, **auth)
            for name, auth in viewers.items()
        }
        try:
            await asyncio.sleep(0.5)  # let every subscription reach the hub before publishing
            await publish(res.redis, NEW_LEADS_CHANNEL, new_lead_event(lead))
            change = {
                "lead_id": str(lead.id),
                "old_price": 30,
                "new_price": 33,
                "at": datetime.now(UTC).isoformat(),
                "lat": EXACT_LAT,
                "lng": EXACT_LNG,
            }
            await publish(res.redis, PRICE_CHANNEL, change)
            for name in viewers:
                new_lead = (await new_subs[name].next_message(10))["payload"]["data"]["newLeads"]
                priced = (await price_subs[name].next_message(10))["payload"]["data"]["priceChanged"]
                if name == "buyer":
                    assert_original(new_lead)
                    assert_original(priced["lead"])
                    assert priced["location"] == {"lat": EXACT_LAT, "lng": EXACT_LNG}
                else:
                    assert_public(new_lead)
                    assert_public(priced["lead"])
                    assert priced["location"] == {"lat": 32.78, "lng": -96.8}, name
        finally:
            for sub in [*new_subs.values(), *price_subs.values()]:
                await sub.close()
