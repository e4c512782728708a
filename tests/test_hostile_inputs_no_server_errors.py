"""Hand-written hostile requests: each one must be refused (or answered) without a server error.

Foreign and garbage ids, forged cursors, broken GeoJSON, absurd radii and boxes, dates at the edge
of the calendar, page sizes at the ends of Int, control characters and lone surrogates, megabytes of
text, unicode emails and nested fragments. The fuzzer (test_fuzz_no_server_errors.py) explores the
schema at random; these pin the cases that are known to be nasty.
"""

from __future__ import annotations

import base64
import json
import math
import uuid
from pathlib import Path
from typing import Any

import graphql
import httpx
import pytest
import pytest_asyncio
from aiqtest_support.fuzzkit import assert_no_server_error, has_lone_surrogate, post_raw
from starlette.applications import Starlette

from aiqleads.domain.bootstrap import Deps
from aiqleads.domain.users.service import create_api_key
from aiqleads.resolvers.ids import to_global_id

MB = 1024 * 1024
NAN, INF = math.nan, math.inf


def b64(raw: str | bytes) -> str:
    data = raw.encode("utf-8", "surrogatepass") if isinstance(raw, str) else raw
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def cursor(kind: str, sort: str, key: str, lead: str | None = None) -> str:
    """A forged cursor whose key is given as raw JSON text (so 1e400 and 10**400 go through as such)."""
    return b64(f'{{"v":1,"k":"{kind}","s":"{sort}","p":[{key},"{lead or uuid.uuid4()}"]}}')


def ring(points: list[tuple[float, float]]) -> dict[str, Any]:
    return {"type": "Polygon", "coordinates": [[list(p) for p in points]]}


def circle(n: int) -> list[tuple[float, float]]:
    pts = [
        (-97.7 + 0.1 * math.cos(2 * math.pi * i / n), 30.2 + 0.1 * math.sin(2 * math.pi * i / n))
        for i in range(n)
    ]
    return [*pts, pts[0]]


RANDOM_UUID = uuid.UUID("00000000-0000-4000-8000-000000000000")
HOSTILE_IDS = [
    "",
    "=",
    "====",
    "!!!not base64!!!",
    "a" * 20_000,
    b64("Lead:" + "9" * 10_000),
    b64("Lead:not-a-uuid"),
    b64("Lead:"),
    b64(":" + str(RANDOM_UUID)),
    b64(b"\xff\xfe\xfd"),
    b64("Lead:" + str(RANDOM_UUID) + "\x00"),
    b64("Lead:\ud800"),
    to_global_id("User", RANDOM_UUID),
    to_global_id("Payment", RANDOM_UUID),
    to_global_id("Purchase", RANDOM_UUID),
    to_global_id("LeadReturn", RANDOM_UUID),
    to_global_id("CreditTransaction", "99999999999999999999999"),
    to_global_id("CreditTransaction", "-1"),
    to_global_id("Lead", RANDOM_UUID),
    to_global_id("Nope", RANDOM_UUID),
    "\x00",
    "\ud800",
]
HOSTILE_CURSORS = [
    "",
    "garbage",
    "9" * 999,
    "9" * 5000,
    b64("null"),
    b64("[]"),
    b64('{"v":1}'),
    b64('{"v":1,"k":"sql","s":"NEWEST","p":"x"}'),
    *(
        cursor("sql", s, k)
        for s in ("PRICE_ASC", "PRICE_DESC")
        for k in ("1e400", str(10**30), str(-(2**63) - 1))
    ),
    *(
        cursor("sql", s, k)
        for s in ("QUALITY", "DISTANCE")
        for k in ("1e400", str(10**400), "1e308", "-1e308")
    ),
    *(
        cursor("sql", "NEWEST", f'"{d}"')
        for d in ("9999-12-31T23:59:59-14:00", "0001-01-01T00:00:00+14:00", "2024-02-30T00:00:00Z", "x")
    ),
    cursor("sql", "NEWEST", '"2024-01-01T00:00:00Z"', "nope"),
]
ES_CURSORS = [
    *(
        cursor("es", s, k)
        for s in ("RELEVANCE", "NEWEST", "PRICE_ASC", "QUALITY")
        for k in ("1e400", str(10**400))
    ),
    *(
        cursor("es", s, k)
        for s in ("RELEVANCE", "PRICE_ASC", "NEWEST")
        for k in ("1e308", str(2**63), "-1e308")
    ),
    cursor("es", "RELEVANCE", '"x"'),
]
FAR_DATES = [
    "9999-12-31T23:59:59-14:00",
    "9999-12-31T23:59:59.999999+00:00",
    "0001-01-01T00:00:00+14:00",
    "0001-01-01T00:00:00Z",
    "+275760-09-13T00:00:00Z",
    "2024-02-30T00:00:00Z",
    "1970-01-01T00:00:00+25:00",
]
POLYGONS = [
    ring([(0, 0), (1, 1), (1, 0), (0, 1), (0, 0)]),  # bow tie: self-intersecting
    ring([(0, 0), (1, 0), (1, 1), (0, 1)]),  # not closed
    ring([(0, 0), (1, 0), (0, 0)]),  # too short
    ring([(0, 0), (0, 0), (0, 0), (0, 0)]),  # no area
    ring([(0, 0), (1e-300, 0), (1e-300, 1e-300), (0, 0)]),  # an area that underflows
    ring(circle(10_000)),  # 10k vertices
    ring(circle(4_999)),  # just under the vertex cap, valid
    ring([(NAN, 0), (1, 0), (1, 1), (NAN, 0)]),
    ring([(INF, 0), (1, 0), (1, 1), (INF, 0)]),
    ring([(1e308, 0), (1, 0), (1, 1), (1e308, 0)]),
    ring([(-180, -90), (180, -90), (180, 90), (-180, 90), (-180, -90)]),  # the whole world
    {"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [1, 1], [0, 0]], [[5, 5], [6, 5], [6, 6], [5, 5]]]},
    {"type": "Polygon", "coordinates": [[["a", "b"], [None, 1], [True, False], []]]},
    {"type": "Polygon", "coordinates": [[[0, 0, 0, 0, 0], [1, 0, 9], [1, 1, 9], [0, 0, 0]]]},
    {"type": "Polygon", "coordinates": [[]]},
    {"type": "Polygon", "coordinates": []},
    {"type": "Polygon", "coordinates": "nope"},
    {"type": "Polygon"},
    {"type": "MultiPolygon", "coordinates": [[[[0, 0], [1, 0], [1, 1], [0, 0]]]]},
    {"type": "Feature", "geometry": None},
    {"type": "Feature", "geometry": ring([(0, 0), (1, 0), (1, 1), (0, 0)])},
    "not json",
    json.dumps(ring([(0, 0), (1, 0), (1, 1), (0, 0)])),
    "\x00",
    [],
    12,
    True,
]
NEARS = [
    {"center": {"lat": 30.27, "lng": -97.74}, "radiusMiles": r}
    for r in (0, -1, 1e308, 5e-324, 1e-300, 1e-9, NAN, INF, -INF, 500, 500.0000001)
] + [
    {"center": {"lat": lat, "lng": lng}, "radiusMiles": 10}
    for lat, lng in ((90, 180), (-90, -180), (90.0001, 0), (NAN, 0), (0, INF), (1e308, -1e308))
]
BOXES = [
    {"south": 31, "west": -97, "north": 30, "east": -98},  # inverted both ways
    {"south": 30, "west": 170, "north": 31, "east": -170},  # crosses the antimeridian
    {"south": 30, "west": -97, "north": 30, "east": -97},  # a point
    {"south": -90, "west": -180, "north": 90, "east": 180},
    {"south": NAN, "west": 0, "north": 1, "east": 1},
    {"south": -1e308, "west": -1e308, "north": 1e308, "east": 1e308},
]
TEXTS = [
    "\x00",
    "a\x00b",
    "\ud800",
    "\udfff\ud800",
    "\x1b[2J",
    "\u202e",
    "x" * 100_000,
    "x" * MB,
    "💥" * 1000,
]

LEADS = (
    "query($f: LeadFilter, $s: LeadSort, $n: Int, $a: String) { leads(filter: $f, sort: $s, first: $n, "
    "after: $a) { totalCount edges { cursor node { id } } } }"
)
SEARCH = (
    "query($q: String!, $f: LeadFilter, $s: LeadSort, $n: Int, $a: String) { searchLeads(query: $q, "
    "filter: $f, sort: $s, first: $n, after: $a) { totalCount edges { cursor node { id } } "
    "facets { propertyTypes { value count } } } }"
)
NODE = "query($id: ID!) { node(id: $id) { id } }"
LEAD = "query($id: ID!, $n: Int) { lead(id: $id) { id priceHistory(first: $n) { price } } }"
PAYMENT = "query($id: ID!) { payment(id: $id) { id status } }"
PURCHASES = "query($n: Int, $a: String) { purchases(first: $n, after: $a) { id } }"
RETURNS = "query($n: Int, $a: String) { returnsToReview(first: $n, after: $a) { id } }"
LEDGER = "query($n: Int, $a: String) { creditTransactions(first: $n, after: $a) { totalCount } }"
ERRORS = "errors { code field message }"
REGISTER = f"mutation($i: RegisterInput!) {{ register(input: $i) {{ token {ERRORS} }} }}"
ADD = f"mutation($id: ID!) {{ addToCart(leadId: $id) {{ {ERRORS} }} }}"
REMOVE = f"mutation($id: ID!) {{ removeFromCart(leadId: $id) {{ {ERRORS} }} }}"
EXTEND = f"mutation($id: ID!) {{ extendHold(leadId: $id) {{ {ERRORS} }} }}"
CHECKOUT = f"mutation($k: String!) {{ checkout(idempotencyKey: $k) {{ creditsSpent {ERRORS} }} }}"
BUY = f"mutation($k: String!) {{ buyCredits(pack: STARTER, idempotencyKey: $k) {{ balance {ERRORS} }} }}"
TIER = f"mutation($k: String) {{ changeTier(tier: ENTERPRISE, idempotencyKey: $k) {{ {ERRORS} }} }}"
RETURN = (
    "mutation($id: ID!, $note: String) { returnLead(purchaseId: $id, reason: ALREADY_SOLD, note: $note) "
    f"{{ {ERRORS} }} }}"
)
REVIEW = (
    "mutation($id: ID!, $note: String) { reviewReturn(returnId: $id, approve: true, note: $note) "
    f"{{ {ERRORS} }} }}"
)


OPERATIONS = [LEADS, SEARCH, NODE, LEAD, PAYMENT, PURCHASES, RETURNS, LEDGER, REGISTER, ADD, REMOVE, EXTEND]
OPERATIONS += [CHECKOUT, BUY, TIER, RETURN, REVIEW]


def test_hostile_operations_are_valid_documents() -> None:
    """The hostile values must reach the resolvers, not stop at validation of a mistyped operation."""
    schema = graphql.build_schema(
        (Path(__file__).resolve().parents[1] / "schema" / "schema.graphql").read_text()
    )
    for operation in OPERATIONS:
        assert graphql.validate(schema, graphql.parse(operation)) == [], operation


@pytest_asyncio.fixture(loop_scope="session")
async def who(app: Starlette, make_user: Any) -> dict[str, dict[str, str]]:
    """Headers of each kind of viewer."""
    deps: Deps = app.state.deps
    user = await make_user(tier="PRO", credits=100)
    admin = await make_user(role="admin")
    async with deps.sessionmaker() as session, session.begin():
        _, secret = await create_api_key(session, f"hostile-{uuid.uuid4().hex[:6]}")
    return {
        "anonymous": {},
        "user": {"Authorization": f"Bearer {user.token}"},
        "admin": {"Authorization": f"Bearer {admin.token}"},
        "partner": {"X-API-Key": secret},
    }


async def send_all(
    client: httpx.AsyncClient, headers: dict[str, str], query: str, cases: list[dict[str, Any]]
) -> None:
    """Post every case and fail listing all the ones that were server errors."""
    failures = []
    for variables in cases:
        response = await post_raw(client, headers, query, variables)
        try:
            assert_no_server_error(response, query, variables)
        except pytest.fail.Exception as failure:
            failures.append(str(failure)[:1500])
    assert not failures, f"{len(failures)} of {len(cases)} cases were server errors:\n\n" + "\n\n".join(
        failures
    )


# ------------------------------------------------------------------------------------------ ids


@pytest.mark.parametrize("query", [NODE, LEAD, PAYMENT, ADD, REMOVE, EXTEND, RETURN, REVIEW])
async def test_hostile_ids(client: httpx.AsyncClient, who: dict[str, dict[str, str]], query: str) -> None:
    for viewer in ("anonymous", "user", "admin", "partner"):
        await send_all(client, who[viewer], query, [{"id": i} for i in [*HOSTILE_IDS, 0, -1, 2**63, 10**30]])


# ------------------------------------------------------------------------------- pages, cursors


@pytest.mark.parametrize("query", [LEADS, PURCHASES, RETURNS, LEDGER])
async def test_hostile_page_sizes_and_cursors(
    client: httpx.AsyncClient, who: dict[str, dict[str, str]], query: str
) -> None:
    cases: list[dict[str, Any]] = [
        {"n": n} for n in (-1, 0, 101, 2147483647, -2147483648, 2**31, 2**63, 1.5, "1")
    ]
    cases += [{"a": a} for a in [*HOSTILE_CURSORS, *HOSTILE_IDS]]
    for viewer in ("user", "admin"):
        await send_all(client, who[viewer], query, cases)


async def test_forged_sql_cursors_for_every_sort(client: httpx.AsyncClient) -> None:
    cases = [
        {"s": sort, "a": a, "f": {"near": NEARS[-12]} if sort == "DISTANCE" else None}
        for sort in ("NEWEST", "PRICE_ASC", "PRICE_DESC", "QUALITY", "DISTANCE")
        for a in HOSTILE_CURSORS
    ]
    await send_all(client, {}, LEADS, cases)


async def test_forged_search_cursors(client: httpx.AsyncClient) -> None:
    cases = [
        {"q": q, "s": sort, "a": a}
        for q in ("condo", "")
        for sort in ("RELEVANCE", "NEWEST", "PRICE_ASC", "QUALITY")
        for a in [*ES_CURSORS, *HOSTILE_CURSORS[:8]]
    ]
    await send_all(client, {}, SEARCH, cases)


async def test_price_history_page_sizes(client: httpx.AsyncClient, make_lead: Any) -> None:
    lead = await make_lead()
    lead_id = to_global_id("Lead", lead.id)
    await send_all(
        client, {}, LEAD, [{"id": lead_id, "n": n} for n in (-1, 0, 2147483647, -2147483648, 2**31)]
    )


# ---------------------------------------------------------------------------------------- filters


@pytest.mark.parametrize("query", [LEADS, SEARCH])
async def test_hostile_geo_filters(client: httpx.AsyncClient, query: str) -> None:
    filters: list[dict[str, Any]] = [{"polygon": p} for p in POLYGONS]
    filters += [{"near": n} for n in NEARS] + [{"within": b} for b in BOXES]
    cases = [{"q": "condo", "f": f} for f in filters]
    cases += [{"q": "", "f": {"near": n}, "s": "DISTANCE"} for n in NEARS]
    await send_all(client, {}, query, cases)


@pytest.mark.parametrize("query", [LEADS, SEARCH])
async def test_hostile_scalar_filters(client: httpx.AsyncClient, query: str) -> None:
    filters: list[dict[str, Any]] = [{"postedAfter": d} for d in FAR_DATES]
    filters += [{"city": t} for t in TEXTS] + [{"state": t} for t in ("\x00\x00", "\ud800x", "ÄÖ", "t x")]
    filters += [{"zipCodes": [t]} for t in ("\x00" * 5, "١٢٣٤٥", "12345-\x00", "1" * 10_000)]
    filters += [{"zipCodes": ["78701"] * 101}, {"zipCodes": []}, {"sources": []}, {"propertyTypes": []}]
    for name in ("minPrice", "maxPrice", "minBedrooms", "minSqft", "maxSqft"):
        filters += [{name: v} for v in (-1, 2147483647, -2147483648, 2**31, 2**63, 1e308, NAN)]
    for name in ("minBathrooms", "minQuality", "maxFraud"):
        filters += [{name: v} for v in (-1, 1e308, 5e-324, NAN, INF, -0.0, 1.0000001)]
    filters += [{"minPrice": 10, "maxPrice": 5}, {"minSqft": 10, "maxSqft": 5}]
    await send_all(client, {}, query, [{"q": "x", "f": f} for f in filters])


async def test_hostile_search_text(client: httpx.AsyncClient) -> None:
    queries = [
        *TEXTS,
        "x" * 500,
        "~" * 500,
        "*" * 500,
        "?" * 500,
        "/.*/",
        "(" * 250 + ")" * 250,
        '"' * 501,
        "condo~999",
        "title:condo AND _exists_:contact_phone",
        "a " * 250,
        "\\" * 500,
        "🏠" * 500,
        "‮condo",
        "\u0301" * 500,
        "x" * 499 + "\ud800",
    ]
    await send_all(client, {}, SEARCH, [{"q": q} for q in queries])


# -------------------------------------------------------------------------------------- mutations


@pytest.mark.parametrize("query", [CHECKOUT, BUY, TIER])
async def test_hostile_idempotency_keys(
    client: httpx.AsyncClient, who: dict[str, dict[str, str]], query: str
) -> None:
    keys = [
        "",
        " ",
        "\x00",
        "k\x00",
        "\x07bell",
        "\ud800",
        "ключ-🔑",
        "k" * 200,
        "k" * 201,
        "k" * 10_000,
        "k" * MB,
    ]
    await send_all(client, who["user"], query, [{"k": k} for k in keys])


async def test_hostile_registrations(client: httpx.AsyncClient) -> None:
    emails = [
        f"zoë-{uuid.uuid4().hex[:6]}@exämple.com",
        f"用户{uuid.uuid4().hex[:6]}@例子.测试",
        f"{uuid.uuid4().hex[:6]}@[127.0.0.1]",
        '"quoted@local"@example.com',
        "a@b",
        "@example.com",
        "x" * MB + "@example.com",
        "nul\x00@example.com",
        "\ud800@example.com",
        "a@" + "b" * 300 + ".com",
        " ",
    ]
    cases = [{"i": {"email": e, "password": "correct horse battery", "name": "Pat"}} for e in emails]
    names = ["", " ", "\x00", "\ud800", "x" * MB, "Zoë 👨‍👩‍👧 O'Neil", "\u202e"]
    cases += [
        {
            "i": {
                "email": f"n{uuid.uuid4().hex[:8]}@example.com",
                "password": "correct horse battery",
                "name": n,
            }
        }
        for n in names
    ]
    passwords = ["", "\x00" * 10, "\ud800" * 10, "p" * 257, "p" * MB]
    cases += [
        {"i": {"email": f"p{uuid.uuid4().hex[:8]}@example.com", "password": p, "name": "Pat"}}
        for p in passwords
    ]
    await send_all(client, {}, REGISTER, cases)


@pytest.mark.parametrize("query", [RETURN, REVIEW])
async def test_hostile_notes(client: httpx.AsyncClient, who: dict[str, dict[str, str]], query: str) -> None:
    target = to_global_id("Purchase" if query is RETURN else "LeadReturn", RANDOM_UUID)
    await send_all(client, who["admin"], query, [{"id": target, "note": n} for n in TEXTS])


# -------------------------------------------------------------------------------------- documents


DOCUMENTS = [
    # fragments nested on fragments, on interfaces and unions
    "fragment A on Lead { id ...B } fragment B on Lead { title ...C } fragment C on Lead { price } "
    "query { leads(first: 1) { edges { node { ...A } } } }",
    'query { node(id: "x") { ... on Node { ... on Lead { ... on Lead { id } } } } }',
    # cycles and unknowns: validation refuses them
    'fragment A on Lead { ...B } fragment B on Lead { ...A } query { lead(id: "x") { ...A } }',
    'fragment A on Lead { ...A } query { lead(id: "x") { ...A } }',
    'query { lead(id: "x") { ...Missing } }',
    "query { nope }",
    "query Q { me { id } } query Q { me { id } }",
    'query { me { id } } mutation { checkout(idempotencyKey: "k") { creditsSpent } }',
    'query($v: Int = "x") { leads(first: $v) { totalCount } }',
    "query($v: Int) { leads(first: $v, first: 1) { totalCount } }",
    "query { leads(first: 99999999999999999999) { totalCount } }",
    "query { leads(filter: {minQuality: 1e999}) { totalCount } }",
    'query { searchLeads(query: "\\u0000\\uD800") { totalCount } }',
    "query { __schema { types { name fields { name args { name } } } } }",
    'query { __type(name: "Lead") { fields { name } } }',
    "{ me { id } }" * 200,
    "query { " + "leads { edges { node { id } } } " * 1 + "}",
    "{",
    "\x00",
    "query { me { id } } # " + "x" * 100_000,
    "query { plans { tier } } " + " ".join(f"fragment F{i} on Plan {{ name }}" for i in range(300)),
]


async def test_hostile_documents(client: httpx.AsyncClient, who: dict[str, dict[str, str]]) -> None:
    failures = []
    for document in DOCUMENTS:
        for viewer in ("anonymous", "user"):
            response = await post_raw(client, who[viewer], document)
            try:
                assert_no_server_error(response, document)
            except pytest.fail.Exception as failure:
                failures.append(str(failure)[:1500])
    assert not failures, "\n\n".join(failures)


async def test_lone_surrogates_anywhere_are_never_5xx(
    client: httpx.AsyncClient, who: dict[str, dict[str, str]]
) -> None:
    """The edge may refuse such bodies with 400 soon; until then each resolver must not fail on them."""
    cases = [
        (LEADS, {"f": {"city": "\ud800"}}),
        (SEARCH, {"q": "\udfff"}),
        (NODE, {"id": "\ud800"}),
        (CHECKOUT, {"k": "\ud800"}),
        (REGISTER, {"i": {"email": "\ud800@example.com", "password": "\ud800" * 9, "name": "\ud800"}}),
    ]
    for query, variables in cases:
        assert has_lone_surrogate(variables)
        response = await post_raw(client, who["user"], query, variables)
        assert response.status_code < 500, response.text


EDGE_REFUSALS = [
    '{"query": ""}',
    "{}",
    '{"query": 5}',
    "[]",
    '[{"query": "{ __typename }"}]',
    '{"query": "{ me { id } }", "variables": []}',
    '{"query": "{ me { id } }", "operationName": 5}',
    '{"query": "{ me { id } }", "extensions": 5}',
]


async def test_requests_strawberry_refuses_get_json_error_bodies(client: httpx.AsyncClient) -> None:
    for body in EDGE_REFUSALS:
        response = await client.post("/graphql", content=body, headers={"Content-Type": "application/json"})
        assert response.status_code == 400, (body, response.text)
        assert response.json()["errors"][0]["extensions"]["code"] == "INVALID_INPUT", (body, response.text)
