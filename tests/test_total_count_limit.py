"""totalCount is exact up to AIQ_EXACT_COUNT_LIMIT matches; past it, the count stops early and says so."""

from __future__ import annotations

import uuid
from typing import Any

from aiqtest_support.leads_data import leads_in_a_new_city
from starlette.applications import Starlette

from aiqleads.domain.bootstrap import Deps
from aiqleads.domain.core.filters.parse import parse_filter
from aiqleads.domain.leads.query import count_leads, list_leads
from aiqleads.domain.unit_of_work import read_only

PAGE = """
query($filter: LeadFilter) {
  leads(filter: $filter, first: 2) { totalCount totalCountIsExact edges { node { id } } }
}
"""


async def test_count_is_exact_up_to_the_limit_and_a_lower_bound_past_it(
    app: Starlette, make_lead: Any
) -> None:
    deps: Deps = app.state.deps
    city = await leads_in_a_new_city(make_lead, 5)
    spec = parse_filter({"city": city})
    async with read_only(deps) as session:
        assert await count_leads(session, spec) == (5, True)
        assert await count_leads(session, spec, limit=5) == (5, True)
        assert await count_leads(session, spec, limit=6) == (5, True)
        assert await count_leads(session, spec, limit=4) == (4, False)
        assert await count_leads(session, spec, limit=1) == (1, False)
        page = await list_leads(session, spec, "NEWEST", 2, None, count_limit=3)
    assert (page.total_count, page.total_count_is_exact, len(page.hits)) == (3, False, 2)
    assert page.has_next_page


async def test_graphql_reports_whether_total_count_is_exact(gql: Any, make_lead: Any) -> None:
    city = await leads_in_a_new_city(make_lead, 3)
    data = (await gql(PAGE, {"filter": {"city": city}}))["data"]["leads"]
    assert (data["totalCount"], data["totalCountIsExact"], len(data["edges"])) == (3, True, 2)
    empty = (await gql(PAGE, {"filter": {"city": f"Nowhere {uuid.uuid4().hex}"}}))["data"]["leads"]
    assert (empty["totalCount"], empty["totalCountIsExact"]) == (0, True)
