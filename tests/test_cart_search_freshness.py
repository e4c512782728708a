"""Seat changes made by the cart reach the search index through the worker queue."""

from __future__ import annotations

from typing import Any

from aiqtest_support.ingestkit import worker_ctx
from arq.connections import ArqRedis

from aiqleads.domain.bootstrap import Deps
from aiqleads.domain.jobs import JobName
from aiqleads.domain.search.indexer import index_leads
from aiqleads.domain.search.mapping import alias_name
from aiqleads.domain.settings import Settings
from aiqleads.resolvers.ids import to_global_id
from aiqleads.workers.index_jobs import index_leads_job

SEARCH = """
query($q: String!) {
  searchLeads(query: $q, filter: {city: "Freshvale"}) { totalCount edges { node { id } } }
}
"""
ADD = "mutation($id: ID!) { addToCart(leadId: $id) { errors { code } } }"


async def _queued_index_ids(deps: Deps, settings: Settings) -> set[str]:
    arq = ArqRedis(pool_or_conn=deps.redis.connection_pool)
    jobs = await arq.queued_jobs(queue_name=settings.arq_queue_name)
    return {lead_id for job in jobs if job.function == JobName.INDEX_LEADS for lead_id in job.args[0]}


async def test_hold_makes_an_exclusive_lead_leave_available_search_results(
    gql: Any, make_user: Any, make_lead: Any, deps: Deps, settings: Settings
) -> None:
    lead = await make_lead(city="Freshvale", title="Freshvale cottage", max_buyers=1)
    await index_leads(deps.es, settings, [lead], refresh=True)
    found = (await gql(SEARCH, {"q": "cottage"}))["data"]["searchLeads"]
    assert [e["node"]["id"] for e in found["edges"]] == [to_global_id("Lead", lead.id)]

    buyer = await make_user(credits=100)
    added = await gql(ADD, {"id": to_global_id("Lead", lead.id)}, token=buyer.token)
    assert added["data"]["addToCart"]["errors"] == []
    assert str(lead.id) in await _queued_index_ids(deps, settings)

    await index_leads_job(worker_ctx(deps, settings), [str(lead.id)])
    await deps.es.indices.refresh(index=alias_name(settings))
    after = (await gql(SEARCH, {"q": "cottage"}))["data"]["searchLeads"]
    assert after["totalCount"] == 0 and after["edges"] == []
