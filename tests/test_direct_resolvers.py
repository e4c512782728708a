"""`leads` and `searchLeads` are resolved from graphql-core's own arguments (schema.lean_fields.
direct), without Strawberry converting the filter into its input classes: every answer and
every error is the one Strawberry's resolvers give, for good inputs and for each bad input the
input tests list."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import strawberry
from aiqtest_support.leads_data import LEADS_QUERY, SEARCH_QUERY, unique_city
from starlette.applications import Starlette
from test_leads_inputs import BAD_LEADS_INPUTS, BAD_SEARCH_INPUTS

from aiqleads.resolvers.context import Context
from aiqleads.schema.lean_fields import LeanExecutor
from aiqleads.schema.pipeline import GatedSchema
from aiqleads.schema.root import Mutation, Query, Subscription

RICH = {
    "sources": ["ZILLOW", "FSBO"],
    "propertyTypes": ["CONDO", "SINGLE_FAMILY"],
    "minPrice": 100_000,
    "maxPrice": 900_000,
    "minBedrooms": 1,
    "minBathrooms": 1.5,
    "minSqft": 500,
    "maxSqft": 5000,
    "state": "tx",
    "zipCodes": ["78701", "78702"],
    "minQuality": 0.1,
    "maxFraud": 0.9,
    "postedAfter": (datetime.now(UTC) - timedelta(days=30)).isoformat(),
    "near": {"center": {"lat": 30.27, "lng": -97.74}, "radiusMiles": 25},
    "availableOnly": False,
}
GOOD_LEADS: list[dict[str, Any]] = [
    {},
    {"filter": RICH, "sort": "DISTANCE", "first": 3},
    {"filter": {**RICH, "near": None, "within": {"south": 30, "west": -98, "north": 31, "east": -97}}},
    {
        "filter": {
            "polygon": {"type": "Polygon", "coordinates": [[[-98, 30], [-97, 30], [-97, 31], [-98, 30]]]}
        }
    },
    {"filter": {"availableOnly": None}, "sort": None, "first": None, "after": None},
    {"sort": "PRICE_DESC", "first": 0},
]


def _answer(result: Any) -> str:
    errors = [(e.message, e.path, e.extensions) for e in result.errors or []]
    return json.dumps({"data": result.data, "errors": errors}, default=str)


@pytest.fixture
def schemas(app: Starlette) -> tuple[GatedSchema, strawberry.Schema]:
    ours = app._graphql.schema  # type: ignore[attr-defined]
    assert isinstance(ours, GatedSchema) and ours.execution_context_class is LeanExecutor
    assert ours._schema.query_type.fields["leads"].resolve.__name__ == "_leads_direct"  # the direct path
    reference = strawberry.Schema(query=Query, mutation=Mutation, subscription=Subscription)
    return ours, reference


async def _both(
    schemas: tuple[GatedSchema, strawberry.Schema], app: Starlette, query: str, variables: dict[str, Any]
) -> tuple[str, str]:
    answers = []
    for schema in schemas:
        result = await schema.execute(query, variables, context_value=Context(deps=app.state.deps))
        answers.append(_answer(result))
    return answers[0], answers[1]


async def test_good_inputs_answer_as_strawberry(schemas: Any, app: Starlette, make_lead: Any) -> None:
    city = unique_city("Direct")
    for n in range(4):
        await make_lead(city=city, price_credits=10 + n, lat=30.27 + n * 0.01, zip="78701")
    cases = [*GOOD_LEADS, {"filter": {"city": city}, "sort": "PRICE_ASC", "first": 2}]
    for variables in cases:
        ours, reference = await _both(schemas, app, LEADS_QUERY, variables)
        assert ours == reference, variables
    ours, _ = await _both(schemas, app, LEADS_QUERY, cases[-1])
    assert json.loads(ours)["data"]["leads"]["totalCount"] == 4
    fragments = (
        "query($filter: LeadFilter) { leads(filter: $filter) { ...C edges { cursor } } }"
        " fragment C on LeadConnection { ... on LeadConnection { totalCount } }"
    )
    ours, reference = await _both(schemas, app, fragments, {"filter": {"city": city}})
    assert ours == reference and json.loads(ours)["data"]["leads"]["totalCount"] == 4
    for variables in ({"query": "condo", "filter": {"city": city}}, {"query": "condo", "filter": RICH}):
        ours, reference = await _both(schemas, app, SEARCH_QUERY, variables)
        assert ours == reference, variables


BAD_INPUTS = [(LEADS_QUERY, *case) for case in BAD_LEADS_INPUTS] + [
    (SEARCH_QUERY, *case) for case in BAD_SEARCH_INPUTS
]


@pytest.mark.parametrize(
    ("query", "case", "variables", "field"),
    BAD_INPUTS,
    ids=[f"{'leads' if q is LEADS_QUERY else 'search'}: {c}" for q, c, _, _ in BAD_INPUTS],
)
async def test_bad_inputs_fail_as_with_strawberry(
    schemas: Any, app: Starlette, query: str, case: str, variables: dict[str, Any], field: str
) -> None:
    ours, reference = await _both(schemas, app, query, variables)
    assert ours == reference
    assert field in ours  # the typed error names the field
