"""End to end: a scrape job against local pages ends with leads searchable in Elasticsearch, visible
in leads(near:), and delivered to a newLeads websocket subscriber of a real `aiqleads serve`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from aiqtest_support.ingestkit import local_fetch_config, sample, serve_samples, variant, worker_ctx
from aiqtest_support.live_server import api_process
from aiqtest_support.pricing_server import Subscriber, wait_for_gauge

from aiqleads.workers.ingest_jobs import run_scrape

NEW_LEADS = """
subscription Alerts($filter: LeadFilter) {
  newLeads(filter: $filter) {
    id source title askingPrice bedrooms propertyType
    address { city state zip street }
    location { lat lng }
    qualityScore fraudScore fraudSignals price contact { phone }
  }
}
"""


async def test_scrape_to_search_to_near_query_to_websocket_alert(
    deps: Any, settings: Any, gql: Any, tmp_path: Path
) -> None:
    town = f"Testville{tmp_path.name[-6:]}"  # unique words for the full-text search below
    cheap = variant(sample("gaston"), sources=("craigslist",), price=140_000, title=f"{town} starter condo")
    homes = [
        variant(sample("velasco"), sources=("craigslist", "zillow"), title=f"{town} Lakewood bungalow"),
        variant(sample("palopinto"), sources=("craigslist",), title=f"{town} Greenville townhome"),
    ]
    server, urls = await serve_samples([cheap, *homes])
    ctx = worker_ctx(deps, settings.replace(source_base_urls=urls))
    fetch = local_fetch_config(settings)
    variables = {"filter": {"sources": ["CRAIGSLIST"], "city": "Dallas", "minPrice": 200_000}}
    try:
        with api_process(settings, tmp_path) as base:
            subscriber = await Subscriber.open(base, NEW_LEADS, variables)
            await wait_for_gauge(base, "aiq_graphql_active_subscriptions", 1)
            report = await run_scrape(ctx, "craigslist", "dallas", fetch_config=fetch)
            received = [await subscriber.next_message(within=15) for _ in homes]
            # the same house found again on Zillow merges into its lead: no second alert
            zillow = await run_scrape(ctx, "zillow", "dallas", fetch_config=fetch)
            with pytest.raises(TimeoutError):
                await subscriber.next_message(within=1.5)
            await subscriber.close()
    finally:
        await server.stop()
    assert report.created == 3 and report.announced == 3 and report.indexed == 3
    assert zillow.merged == 1 and zillow.created == 0

    # websocket: only the two matching leads (the cheap condo was announced first and filtered out)
    leads = [m["payload"]["data"]["newLeads"] for m in received]
    assert all(m["type"] == "next" for m in received)
    assert sorted(lead["title"] for lead in leads) == sorted(h.title for h in homes)
    for lead in leads:
        assert lead["source"] == "CRAIGSLIST" and lead["address"]["city"] == "Dallas"
        assert lead["askingPrice"] >= 200_000 and lead["price"] >= 1
        assert lead["address"]["street"] is None and lead["contact"] is None  # hidden until purchased
        assert 0 < lead["qualityScore"] <= 1

    # Elasticsearch: searchable by words from the scraped titles and descriptions
    found = await gql(
        """query($q: String!) {
             searchLeads(query: $q, first: 10) { totalCount edges { node { title source } } }
           }""",
        {"q": f"{town} bungalow"},
    )
    titles = [e["node"]["title"] for e in found["data"]["searchLeads"]["edges"]]
    assert titles[0] == homes[0].title

    # PostgreSQL/PostGIS: the leads query finds them by distance, nearest first
    centre = homes[0]
    near = await gql(
        """query($lat: Float!, $lng: Float!) {
             leads(
               filter: {near: {center: {lat: $lat, lng: $lng}, radiusMiles: 0.2}}, sort: DISTANCE, first: 50
             ) {
               edges { node { title distanceMiles source } }
             }
           }""",
        # geo filters run on the public (0.01° grid) point: centred on it, the lead is at distance 0
        {"lat": round(centre.lat, 2), "lng": round(centre.lng, 2)},
    )
    nodes = [e["node"] for e in near["data"]["leads"]["edges"]]
    distances = [n["distanceMiles"] for n in nodes]
    assert distances == sorted(distances) and distances[-1] <= 0.2
    mine = next(n for n in nodes if n["title"] == centre.title)  # other tests' leads may be close by
    assert mine["distanceMiles"] == 0.0
    assert mine["source"] == "CRAIGSLIST"  # the first source found stays the lead's source


async def test_new_leads_rejects_an_invalid_filter(settings: Any, tmp_path: Path) -> None:
    with api_process(settings, tmp_path) as base:
        subscriber = await Subscriber.open(
            base, NEW_LEADS, {"filter": {"near": {"center": {"lat": 95, "lng": 0}, "radiusMiles": 5}}}
        )
        message = await subscriber.next_message(within=10)
        await subscriber.close()
    # an execution error of a subscription arrives as a result with errors (graphql-transport-ws)
    assert message["type"] == "next", message
    [error] = message["payload"]["errors"]
    assert error["extensions"]["code"] == "INVALID_INPUT" and "near" in error["extensions"].get("field", "")
