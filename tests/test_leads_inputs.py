"""Bad inputs to lead queries give typed errors naming the field: never a 500, never masked."""

from __future__ import annotations

import base64
import json
import uuid
from typing import Any

import pytest
from aiqtest_support.leads_data import LEADS_QUERY, SEARCH_QUERY, global_id

from aiqleads.domain.core.filters.cursors import decode_cursor
from aiqleads.domain.core.filters.parse import parse_filter
from aiqleads.domain.errors import DomainError
from aiqleads.domain.text_input import reject_control_characters

NEAR = {"center": {"lat": 30.27, "lng": -97.74}, "radiusMiles": 10}
BOWTIE = {"type": "Polygon", "coordinates": [[[0, 0], [2, 2], [2, 0], [0, 2], [0, 0]]]}


def _cursor(payload: Any) -> str:
    return base64.urlsafe_b64encode(json.dumps(payload).encode()).decode().rstrip("=")


BAD_LEADS_INPUTS: list[tuple[str, dict[str, Any], str]] = [
    (
        "latitude out of range",
        {"filter": {"near": {**NEAR, "center": {"lat": 91, "lng": 0}}}},
        "filter.near.center.lat",
    ),
    (
        "longitude out of range",
        {"filter": {"near": {**NEAR, "center": {"lat": 0, "lng": -180.5}}}},
        "filter.near.center.lng",
    ),
    ("negative radius", {"filter": {"near": {**NEAR, "radiusMiles": -1}}}, "filter.near.radiusMiles"),
    ("zero radius", {"filter": {"near": {**NEAR, "radiusMiles": 0}}}, "filter.near.radiusMiles"),
    (
        "radius over the maximum",
        {"filter": {"near": {**NEAR, "radiusMiles": 501}}},
        "filter.near.radiusMiles",
    ),
    (
        "bbox south above north",
        {"filter": {"within": {"south": 31, "west": -98, "north": 30, "east": -97}}},
        "filter.within.south",
    ),
    (
        "bbox latitude out of range",
        {"filter": {"within": {"south": 30, "west": -98, "north": 95, "east": -97}}},
        "filter.within.north",
    ),
    ("self-intersecting polygon", {"filter": {"polygon": BOWTIE}}, "filter.polygon"),
    (
        "unclosed polygon",
        {"filter": {"polygon": {"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [1, 1], [0, 1]]]}}},
        "filter.polygon",
    ),
    ("not a polygon", {"filter": {"polygon": {"type": "Point", "coordinates": [0, 0]}}}, "filter.polygon"),
    ("polygon garbage", {"filter": {"polygon": "not json"}}, "filter.polygon"),
    (
        "polygon out of range",
        {"filter": {"polygon": {"type": "Polygon", "coordinates": [[[0, 0], [200, 0], [1, 1], [0, 0]]]}}},
        "filter.polygon",
    ),
    ("min price above max price", {"filter": {"minPrice": 500_000, "maxPrice": 100_000}}, "filter.minPrice"),
    ("negative bedrooms", {"filter": {"minBedrooms": -1}}, "filter.minBedrooms"),
    ("quality above 1", {"filter": {"minQuality": 1.5}}, "filter.minQuality"),
    ("fraud below 0", {"filter": {"maxFraud": -0.1}}, "filter.maxFraud"),
    ("state not a code", {"filter": {"state": "Texas"}}, "filter.state"),
    ("zip not a zip", {"filter": {"zipCodes": ["abc"]}}, "filter.zipCodes"),
    ("first over 100", {"first": 101}, "first"),
    ("negative first", {"first": -1}, "first"),
    ("cursor not base64 json", {"after": "%%%not-a-cursor"}, "after"),
    ("cursor with wrong shape", {"after": _cursor({"v": 1})}, "after"),
    (
        "cursor with wrong key type",
        {"after": _cursor({"v": 1, "k": "sql", "s": "NEWEST", "p": [5, str(uuid.uuid4())]})},
        "after",
    ),
    (
        "cursor with a bad id",
        {"after": _cursor({"v": 1, "k": "sql", "s": "NEWEST", "p": ["2024-01-01T00:00:00+00:00", "x"]})},
        "after",
    ),
    (
        "cursor of another sort",
        {
            "sort": "PRICE_ASC",
            "after": _cursor(
                {"v": 1, "k": "sql", "s": "NEWEST", "p": ["2024-01-01T00:00:00+00:00", str(uuid.uuid4())]}
            ),
        },
        "after",
    ),
    ("distance sort without near", {"sort": "DISTANCE"}, "sort"),
    ("relevance sort outside search", {"sort": "RELEVANCE"}, "sort"),
    # found by the fuzzer's hostile cases: these reached PostgreSQL (or float()) and were masked
    (
        "cursor price beyond BIGINT",
        {
            "sort": "PRICE_ASC",
            "after": _cursor({"v": 1, "k": "sql", "s": "PRICE_ASC", "p": [10**30, str(uuid.uuid4())]}),
        },
        "after",
    ),
    (
        "cursor quality overflowing a float",
        {
            "sort": "QUALITY",
            "after": _cursor({"v": 1, "k": "sql", "s": "QUALITY", "p": [10**400, str(uuid.uuid4())]}),
        },
        "after",
    ),
    (
        "cursor date past year 9999 in UTC",
        {
            "after": _cursor(
                {"v": 1, "k": "sql", "s": "NEWEST", "p": ["9999-12-31T23:59:59-14:00", str(uuid.uuid4())]}
            )
        },
        "after",
    ),
    (
        "posted after past year 9999 in UTC",
        {"filter": {"postedAfter": "9999-12-31T23:59:59-14:00"}},
        "filter.postedAfter",
    ),
    (
        "posted after before year 1 in UTC",
        {"filter": {"postedAfter": "0001-01-01T00:00:00+14:00"}},
        "filter.postedAfter",
    ),
    (
        "polygon coordinate overflowing a float",
        {
            "filter": {
                "polygon": {"type": "Polygon", "coordinates": [[[10**400, 0], [1, 0], [1, 1], [10**400, 0]]]}
            }
        },
        "filter.polygon",
    ),
]


def _assert_typed(response_body: dict[str, Any], field: str | None) -> None:
    errors = response_body["errors"]
    assert response_body["data"] is None
    assert len(errors) == 1, errors
    assert errors[0]["message"] != "Internal server error"
    assert errors[0]["extensions"]["code"] == "INVALID_INPUT", errors
    if field is not None:
        assert errors[0]["extensions"].get("field") == field, errors


@pytest.mark.parametrize(
    ("case", "variables", "field"), BAD_LEADS_INPUTS, ids=[c[0] for c in BAD_LEADS_INPUTS]
)
async def test_bad_leads_inputs_are_typed_errors(
    client: Any, case: str, variables: dict[str, Any], field: str
) -> None:
    response = await client.post("/graphql", json={"query": LEADS_QUERY, "variables": variables})
    assert response.status_code == 200
    _assert_typed(response.json(), field)


BAD_SEARCH_INPUTS: list[tuple[str, dict[str, Any], str]] = [
    ("query too long", {"query": "condo " * 100}, "query"),
    (
        "radius zero",
        {"query": "condo", "filter": {"near": {**NEAR, "radiusMiles": 0}}},
        "filter.near.radiusMiles",
    ),
    ("distance sort without near", {"query": "condo", "sort": "DISTANCE"}, "sort"),
    ("first over 100", {"query": "condo", "first": 1000}, "first"),
    ("malformed cursor", {"query": "condo", "after": "abc"}, "after"),
    (
        "sql cursor in search",
        {
            "query": "condo",
            "sort": "NEWEST",
            "after": _cursor(
                {"v": 1, "k": "sql", "s": "NEWEST", "p": ["2024-01-01T00:00:00+00:00", str(uuid.uuid4())]}
            ),
        },
        "after",
    ),
    ("bowtie polygon", {"query": "", "filter": {"polygon": BOWTIE}}, "filter.polygon"),
    (
        "cursor score overflowing a float",
        {
            "query": "condo",
            "after": _cursor({"v": 1, "k": "es", "s": "RELEVANCE", "p": [10**400, str(uuid.uuid4())]}),
        },
        "after",
    ),
    (
        "cursor price beyond a long",
        {
            "query": "condo",
            "sort": "PRICE_ASC",
            "after": _cursor({"v": 1, "k": "es", "s": "PRICE_ASC", "p": [2**64, str(uuid.uuid4())]}),
        },
        "after",
    ),
    (
        "posted after past year 9999 in UTC",
        {"query": "condo", "filter": {"postedAfter": "9999-12-31T23:59:59-14:00"}},
        "filter.postedAfter",
    ),
]


@pytest.mark.parametrize(
    ("case", "variables", "field"), BAD_SEARCH_INPUTS, ids=[c[0] for c in BAD_SEARCH_INPUTS]
)
async def test_bad_search_inputs_are_typed_errors(
    client: Any, case: str, variables: dict[str, Any], field: str
) -> None:
    response = await client.post("/graphql", json={"query": SEARCH_QUERY, "variables": variables})
    assert response.status_code == 200
    _assert_typed(response.json(), field)


@pytest.mark.parametrize(
    "bad_id",
    [
        "nonsense",
        "%%%",
        global_id("User", uuid.uuid4()),
        base64.urlsafe_b64encode(b"Lead:not-a-uuid").decode(),
    ],
)
async def test_bad_lead_ids_are_typed_errors(client: Any, bad_id: str) -> None:
    response = await client.post(
        "/graphql", json={"query": "query($id: ID!){ lead(id: $id) { id } }", "variables": {"id": bad_id}}
    )
    assert response.status_code == 200
    body = response.json()
    assert body["data"] == {"lead": None}
    assert body["errors"][0]["extensions"]["code"] == "INVALID_INPUT"


async def test_malformed_node_id_is_a_typed_error_and_unknown_types_are_null(client: Any) -> None:
    query = "query($id: ID!){ node(id: $id) { id } }"
    bad = (await client.post("/graphql", json={"query": query, "variables": {"id": "%%%"}})).json()
    assert bad["errors"][0]["extensions"]["code"] == "INVALID_INPUT"
    other = (
        await client.post(
            "/graphql", json={"query": query, "variables": {"id": global_id("Spaceship", uuid.uuid4())}}
        )
    ).json()
    assert other == {"data": {"node": None}}


@pytest.mark.parametrize(
    "variables",
    [
        {"filter": {"sources": ["MYSPACE"]}},
        {"filter": {"propertyTypes": ["CASTLE"]}},
        {"sort": "SHUFFLE"},
        {"filter": {"near": {"center": {"lat": 1}, "radiusMiles": 3}}},
        {"first": 10**12},
    ],
)
async def test_values_graphql_rejects_never_cause_a_500(client: Any, variables: dict[str, Any]) -> None:
    response = await client.post("/graphql", json={"query": LEADS_QUERY, "variables": variables})
    assert response.status_code == 200
    body = response.json()
    assert body["data"] is None
    assert body["errors"]
    for error in body["errors"]:
        assert error["message"] != "Internal server error", error
        assert error["extensions"]["code"] == "INVALID_INPUT", error


async def test_valid_edge_values_are_accepted(gql: Any) -> None:
    ok = await gql(
        LEADS_QUERY,
        {
            "filter": {
                "near": {"center": {"lat": 90, "lng": 180}, "radiusMiles": 500},
                "within": {"south": -90, "west": 170, "north": 90, "east": -170},
                "state": "tx",
                "zipCodes": ["78701-1234"],
                "minQuality": 0,
                "maxFraud": 1,
            },
            "first": 100,
        },
    )
    assert ok["data"]["leads"]["totalCount"] == 0
    zero = await gql(LEADS_QUERY, {"first": 0})
    assert zero["data"]["leads"]["edges"] == []


def test_text_filters_refuse_lone_surrogates_before_the_database() -> None:
    """A lone surrogate cannot be encoded for PostgreSQL: a typed error, not a masked UnicodeEncodeError."""
    for city in ("\ud800", "Austin\udfff"):
        with pytest.raises(DomainError) as caught:
            parse_filter({"city": city})
        assert (caught.value.code, caught.value.field) == ("INVALID_INPUT", "filter.city")
    with pytest.raises(DomainError):
        reject_control_characters("\udc80", "note", multiline=True)
    assert reject_control_characters("Zoë 👨‍👩‍👧", "name") == "Zoë 👨‍👩‍👧"  # paired surrogates are fine


@pytest.mark.parametrize(
    ("kind", "sort", "key"),
    [
        ("sql", "PRICE_ASC", 2**63),
        ("sql", "PRICE_DESC", -(2**63) - 1),
        ("sql", "DISTANCE", 10**400),
        ("sql", "NEWEST", "0001-01-01T00:00:00+14:00"),
        ("es", "RELEVANCE", 10**400),
        ("es", "NEWEST", -(2**64)),
    ],
)
def test_cursor_keys_out_of_range_are_malformed_cursors(kind: str, sort: str, key: Any) -> None:
    with pytest.raises(DomainError) as caught:
        decode_cursor(_cursor({"v": 1, "k": kind, "s": sort, "p": [key, str(uuid.uuid4())]}), kind, sort)
    assert (caught.value.code, caught.value.field) == ("INVALID_INPUT", "after")


def test_cursor_keys_at_the_edge_of_range_are_accepted() -> None:
    lead = str(uuid.uuid4())
    assert decode_cursor(
        _cursor({"v": 1, "k": "sql", "s": "PRICE_ASC", "p": [2**63 - 1, lead]}), "sql", "PRICE_ASC"
    )
    assert decode_cursor(
        _cursor({"v": 1, "k": "es", "s": "RELEVANCE", "p": [1e308, lead]}), "es", "RELEVANCE"
    )
    when = decode_cursor(
        _cursor({"v": 1, "k": "sql", "s": "NEWEST", "p": ["9999-12-31T09:59:59-14:00", lead]}),
        "sql",
        "NEWEST",
    )
    assert when is not None and when[0].year == 9999
