"""Retiring leads (WITHDRAWN, EXPIRED): holds released with a cartEvents event to the holder, the
lead gone from search and listings for everyone else, and kept by the buyer who bought it."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from aiqtest_support.cartkit import (
    ADD,
    CART,
    CART_EVENTS,
    CHECKOUT,
    lead_counts,
    lead_gid,
    next_cart_event,
    wait_for,
)
from aiqtest_support.ingestkit import worker_ctx
from aiqtest_support.ws import GraphQLWebSocket
from arq.connections import ArqRedis
from starlette.applications import Starlette

from aiqleads.domain.core.vocabulary import RETIRED_STATUSES
from aiqleads.domain.jobs import JobName
from aiqleads.domain.leads.retirement import RETIRABLE_FROM, retire
from aiqleads.domain.search.indexer import index_leads
from aiqleads.domain.search.mapping import alias_name
from aiqleads.workers.index_jobs import index_leads_job

CITY = "Retireville"
SEARCH = """query($q: String!) {
  searchLeads(query: $q, filter: {city: "Retireville"}) { totalCount edges { node { id } } }
}"""
LEADS = '{ leads(filter: {city: "Retireville"}) { totalCount edges { node { id } } } }'
MY_PURCHASES = "{ purchases(first: 20) { id lead { id status contact { phone } } } }"


def test_every_retired_status_says_what_it_retires_from() -> None:
    assert set(RETIRABLE_FROM) == set(RETIRED_STATUSES) == {"WITHDRAWN", "EXPIRED"}
    assert "EXPIRED" in RETIRABLE_FROM["WITHDRAWN"] and "WITHDRAWN" not in RETIRABLE_FROM["EXPIRED"]


async def test_a_retired_held_lead_tells_its_holder_leaves_search_and_stays_with_its_buyer(
    live_url: str, app: Starlette, gql: Any, buyers: Any, make_lead: Any, deps: Any, settings: Any
) -> None:
    lead = await make_lead(city=CITY, title=f"{CITY} bungalow {uuid.uuid4().hex[:6]}", max_buyers=2)
    gid = lead_gid(lead.id)
    await index_leads(deps.es, settings, [lead], refresh=True)
    assert [
        e["node"]["id"] for e in (await gql(SEARCH, {"q": "bungalow"}))["data"]["searchLeads"]["edges"]
    ] == [gid]
    buyer, holder, latecomer = [await buyers(credits=100) for _ in range(3)]
    assert (await gql(ADD, {"id": gid}, token=buyer.token))["data"]["addToCart"]["errors"] == []
    bought = await gql(CHECKOUT, {"key": uuid.uuid4().hex}, token=buyer.token)
    assert bought["data"]["checkout"]["errors"] == []

    hub = app.state.deps.hub
    baseline = hub.subscriber_count
    ws = await GraphQLWebSocket.connect(live_url, {"authorization": f"Bearer {holder.token}"})
    try:
        await ws.subscribe(CART_EVENTS)
        assert await wait_for(lambda: hub.subscriber_count == baseline + 1, 5)
        assert (await gql(ADD, {"id": gid}, token=holder.token))["data"]["addToCart"]["errors"] == []
        assert (await next_cart_event(ws))["kind"] == "HOLD_CREATED"

        retired = await retire(deps, [lead.id, lead.id, uuid.uuid4()], "EXPIRED", "missing")
        assert retired == [lead.id]  # an unknown id is skipped
        event = await next_cart_event(ws)
    finally:
        await ws.close()
    assert event["kind"] == "LEAD_WITHDRAWN" and event["leadId"] == gid
    assert event["heldUntil"] is not None and event["cartExpiresAt"] is None  # the cart is empty now

    counts = await lead_counts(deps.engine, lead.id)
    assert counts["status"] == "EXPIRED" and counts["holds_count"] == 0 and counts["hold_rows"] == 0
    assert counts["buyers_count"] == 1 and counts["purchase_rows"] == 1
    cart = (await gql(CART, token=holder.token))["data"]["cart"]
    assert cart["items"] == [] and cart["expiresAt"] is None

    # after the commit the index job follows the lead: it leaves search and listings
    arq = ArqRedis(pool_or_conn=deps.redis.connection_pool)
    queued = await arq.queued_jobs(queue_name=settings.arq_queue_name)
    assert any(job.function == JobName.INDEX_LEADS and str(lead.id) in job.args[0] for job in queued)
    await index_leads_job(worker_ctx(deps, settings), [str(lead.id)])
    await deps.es.indices.refresh(index=alias_name(settings))
    found = (await gql(SEARCH, {"q": "bungalow"}))["data"]["searchLeads"]
    assert found["totalCount"] == 0 and found["edges"] == []
    listed = (await gql(LEADS, token=latecomer.token))["data"]["leads"]
    assert listed["totalCount"] == 0 and listed["edges"] == []
    refused = (await gql(ADD, {"id": gid}, token=latecomer.token))["data"]["addToCart"]["errors"]
    assert refused[0]["code"] == "LEAD_UNAVAILABLE" and "expired" in refused[0]["message"]

    # the buyer keeps the lead and its contact
    purchases = (await gql(MY_PURCHASES, token=buyer.token))["data"]["purchases"]
    mine = [p["lead"] for p in purchases if p["lead"]["id"] == gid]
    assert mine == [{"id": gid, "status": "EXPIRED", "contact": {"phone": lead.contact_phone}}]

    # an expired lead may still be withdrawn by an operator; nothing turns a withdrawn lead expired
    assert await retire(deps, [lead.id], "EXPIRED", "missing") == []
    assert await retire(deps, [lead.id], "WITHDRAWN", "operator") == [lead.id]
    assert await retire(deps, [lead.id], "EXPIRED", "max_age") == []
    assert (await lead_counts(deps.engine, lead.id))["status"] == "WITHDRAWN"
    with pytest.raises(ValueError, match="not 'SOLD_OUT'"):
        await retire(deps, [lead.id], "SOLD_OUT", "typo")
