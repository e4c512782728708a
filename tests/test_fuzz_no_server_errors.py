"""No request of any shape yields a 500: a property-based fuzzer over every root field of the committed SDL.

For each root field of Query and Mutation, hypothesis-graphql generates operations from
schema/schema.graphql (arguments inlined as literals), and the same operations are also sent with
every argument lifted into a variable whose JSON value is drawn from hostile strategies (control
characters, huge and negative ints, NaN/Infinity floats, garbage and foreign ids, random GeoJSON).
Each is posted to the in-process app as anonymous, a signed-in user, an admin or a partner with an
API key. The response must be < 500, JSON, and carry no masked internal error. Subscriptions are
refused cleanly over HTTP and are subscribed in-process with a bounded wait for a first event.

The run is deterministic (derandomize=True) and bounded (MAX_EXAMPLES per field).
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import dataclasses
import math
import os
import uuid
from dataclasses import dataclass
from datetime import UTC
from pathlib import Path
from typing import Any

import graphql
import httpx
import pytest
import pytest_asyncio
from aiqtest_support.fuzzkit import assert_no_server_error, post_raw
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st
from hypothesis_graphql import from_schema, nodes
from starlette.applications import Starlette

from aiqleads.domain.bootstrap import Deps
from aiqleads.domain.users.service import create_api_key
from aiqleads.resolvers.context import Context
from aiqleads.resolvers.ids import to_global_id
from aiqleads.schema.root import build_schema

SDL = (Path(__file__).resolve().parents[1] / "schema" / "schema.graphql").read_text()
SCHEMA = graphql.build_schema(SDL)
assert SCHEMA.query_type and SCHEMA.mutation_type and SCHEMA.subscription_type
QUERY_FIELDS = sorted(SCHEMA.query_type.fields)
MUTATION_FIELDS = sorted(SCHEMA.mutation_type.fields)
SUBSCRIPTION_FIELDS = sorted(SCHEMA.subscription_type.fields)
ROOT_FIELDS = QUERY_FIELDS + MUTATION_FIELDS

# CI runs a bounded, fixed set; AIQ_FUZZ_EXAMPLES=500 digs deeper locally (still deterministic)
MAX_EXAMPLES = int(os.environ.get("AIQ_FUZZ_EXAMPLES", "20"))
FUZZ = hsettings(
    max_examples=MAX_EXAMPLES,
    derandomize=True,  # a fixed seed: CI replays the same examples on every run
    deadline=None,
    database=None,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
    ],
)
VIEWERS = ("anonymous", "user", "admin", "partner")
NODE_TYPES = ("Lead", "User", "Purchase", "LeadReturn", "CreditTransaction", "Payment", "Cart", "Nope")

# ----------------------------------------------------------------------------------- strategies

INT32 = 2**31 - 1
HOSTILE_INTS = [
    0,
    -1,
    1,
    INT32,
    -INT32 - 1,
    2**31,
    2**53 + 1,
    2**63 - 1,
    2**63,
    -(2**63) - 1,
    10**30,
    10**400,
]
HOSTILE_FLOATS = [0.0, -0.0, 1e308, -1e308, 5e-324, math.inf, -math.inf, math.nan, 90.0000001, 180.5, 1e-300]
HOSTILE_STRINGS = [
    "",
    " ",
    "\x00",
    "a\x00b",
    "\x1b[31m",
    "\u202e\u200b\ufeff",
    "\ud800",  # a lone surrogate: not encodable as UTF-8
    "x" * 10_000,
    "Zoë 👨‍👩‍👧 O'Neil",
    "'; DROP TABLE leads; --",
    "%_\\",
    '{"a": [1, 2]}',
    "9" * 40,
    "-1",
    "NaN",
    'AND OR NOT ( ) ~ * ? : \\ / [ ] { } ^ "',
    "/.*/",
    "a" * 200 + "~2",
]
# every character, controls and lone surrogates included, mostly printable ones
TEXT = st.one_of(st.text(max_size=30), st.text(st.characters(codec=None, exclude_categories=()), max_size=30))
STRINGS = st.one_of(TEXT, st.sampled_from(HOSTILE_STRINGS))
INTS = st.one_of(
    st.integers(0, 200), st.integers(-INT32 - 1, INT32), st.sampled_from(HOSTILE_INTS), st.integers()
)
FLOATS = st.one_of(st.floats(-90, 90), st.floats(0, 1), st.floats(), st.sampled_from(HOSTILE_FLOATS))


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


_CURSOR_KEYS = st.one_of(
    st.sampled_from(["1e400", "-1e400", str(10**400), str(2**63), "1e308", "0", "-1", "true", "null", '"x"']),
    st.sampled_from(
        [
            '"9999-12-31T23:59:59-14:00"',
            '"0001-01-01T00:00:00+14:00"',
            '"2024-01-01T00:00:00Z"',
            '"2024-02-30"',
        ]
    ),
    st.integers().map(str),
    st.floats(allow_nan=False, allow_infinity=False).map(repr),
)
CURSORS = st.one_of(
    st.builds(
        lambda kind, sort, key, lead: _b64(
            f'{{"v":1,"k":"{kind}","s":"{sort}","p":[{key},"{lead}"]}}'.encode()
        ),
        st.sampled_from(["sql", "es", "x"]),
        st.sampled_from(["NEWEST", "PRICE_ASC", "PRICE_DESC", "DISTANCE", "QUALITY", "RELEVANCE"]),
        _CURSOR_KEYS,
        st.one_of(st.uuids().map(str), st.just("nope")),
    ),
    st.binary(max_size=60).map(_b64),
    st.integers().map(str),
)


def id_values(known: list[str]) -> st.SearchStrategy[Any]:
    """Opaque ids: real ones, ones of other types, base64 of garbage, plain garbage, ints."""
    return st.one_of(
        st.sampled_from(known) if known else st.nothing(),
        st.builds(lambda t, u: to_global_id(t, u), st.sampled_from(NODE_TYPES), st.uuids()),
        st.builds(lambda t, s: to_global_id(t, s), st.sampled_from(NODE_TYPES), STRINGS),
        st.binary(max_size=40).map(_b64),
        st.sampled_from([_b64(b"Lead:" + b"9" * 5000), _b64(b"\xff\xfe"), "=" * 8, "a" * 20_000]),
        STRINGS,
        INTS,
    )


def _ring(points: list[tuple[float, float]]) -> list[list[float]]:
    return [[lng, lat] for lng, lat in points]


COORD = st.one_of(st.floats(-200, 200), st.sampled_from(HOSTILE_FLOATS))
POLYGONS: st.SearchStrategy[Any] = st.one_of(
    # valid-ish, closed
    st.lists(st.tuples(COORD, COORD), min_size=3, max_size=8).map(
        lambda pts: {"type": "Polygon", "coordinates": [_ring([*pts, pts[0]])]}
    ),
    # unclosed / too short / self-intersecting / many vertices
    st.lists(st.tuples(COORD, COORD), max_size=5).map(
        lambda pts: {"type": "Polygon", "coordinates": [_ring(pts)]}
    ),
    st.just({"type": "Polygon", "coordinates": [[[0, 0], [1, 1], [1, 0], [0, 1], [0, 0]]]}),
    st.just({"type": "Polygon", "coordinates": [[[0, 0], [0, 0], [0, 0], [0, 0]]]}),
    st.just({"type": "MultiPolygon", "coordinates": []}),
    st.just({"type": "Polygon"}),
    st.just({"type": "Polygon", "coordinates": "nope"}),
    st.just({"type": "Polygon", "coordinates": [[["a", "b"], [1], [None, 2], []]]}),
)
JSON_VALUES: st.SearchStrategy[Any] = st.recursive(
    st.one_of(st.none(), st.booleans(), INTS, FLOATS, STRINGS),
    lambda children: st.one_of(
        st.lists(children, max_size=4), st.dictionaries(STRINGS, children, max_size=4)
    ),
    max_leaves=10,
)
GEOJSON = st.one_of(POLYGONS, JSON_VALUES)
DATETIMES = st.one_of(
    st.datetimes().map(lambda d: d.isoformat()),
    st.datetimes(timezones=st.just(UTC)).map(lambda d: d.isoformat()),
    st.sampled_from(
        [
            "0001-01-01T00:00:00Z",
            "9999-12-31T23:59:59.999999+00:00",
            "9999-12-31T23:59:59-14:00",
            "0001-01-01T00:00:00+14:00",
            "+275760-09-13T00:00:00Z",
            "-0001-01-01T00:00:00Z",
            "2024-02-30T00:00:00Z",
            "1970-01-01T00:00:00+25:00",
            "2024-01-01",
            "now",
        ]
    ),
    STRINGS,
)


def _literal(value: Any) -> graphql.ValueNode:
    """A GraphQL literal for a JSON-like value (for the JSON scalar in inlined arguments)."""
    if value is None:
        return graphql.NullValueNode()
    if isinstance(value, bool):
        return nodes.Boolean(value)
    if isinstance(value, int):
        return nodes.Int(value)
    if isinstance(value, float):
        return nodes.Float(value) if math.isfinite(value) else nodes.Int(0)
    if isinstance(value, str):
        return graphql.StringValueNode(value=value)
    if isinstance(value, list):
        return nodes.List([_literal(v) for v in value])
    fields = [
        graphql.ObjectFieldNode(
            name=graphql.NameNode(value=key if key.isidentifier() and key.isascii() else f"k{index}"),
            value=_literal(item),
        )
        for index, (key, item) in enumerate(value.items())
    ]
    return nodes.Object(list({field.name.value: field for field in fields}.values()))


CUSTOM_SCALARS = {
    "DateTime": DATETIMES.filter(lambda s: "\ud800" not in s).map(nodes.String),
    "JSON": GEOJSON.map(_literal),
}


def variable_values(
    type_: graphql.GraphQLInputType, known: list[str], depth: int = 0, name: str = ""
) -> st.SearchStrategy[Any]:
    """JSON values for a variable of the given type: mostly well-typed, sometimes hostile or mistyped."""
    if isinstance(type_, graphql.GraphQLNonNull):
        inner = variable_values(type_.of_type, known, depth, name)
        return st.one_of(inner, st.none()) if depth == 0 else inner  # null for a non-null: a typed refusal
    if isinstance(type_, graphql.GraphQLList):
        inner_type = type_.of_type
        return st.one_of(st.none(), st.lists(variable_values(inner_type, known, depth + 1), max_size=4))
    named: Any = type_
    if isinstance(named, graphql.GraphQLEnumType):
        value: st.SearchStrategy[Any] = st.one_of(st.sampled_from(sorted(named.values)), STRINGS, INTS)
    elif isinstance(named, graphql.GraphQLInputObjectType):
        required = {n: f for n, f in named.fields.items() if graphql.is_required_input_field(f)}
        optional = {n: f for n, f in named.fields.items() if n not in required}
        value = st.fixed_dictionaries(
            {n: variable_values(f.type, known, depth + 1) for n, f in required.items()},
            optional={n: variable_values(f.type, known, depth + 1) for n, f in optional.items()},
        )
    elif named.name == "Int":
        value = INTS
    elif named.name == "Float":
        value = FLOATS
    elif named.name == "Boolean":
        value = st.one_of(st.booleans(), STRINGS)
    elif named.name == "ID":
        value = id_values(known)
    elif named.name == "String" and name == "after":
        value = st.one_of(CURSORS, id_values(known))
    elif named.name == "DateTime":
        value = DATETIMES
    elif named.name == "JSON":
        value = GEOJSON
    else:
        value = STRINGS
    return st.one_of(st.none(), value)


def lift_arguments(document: str, field_name: str) -> tuple[str, dict[str, graphql.GraphQLArgument]]:
    """The operation with every argument of the root field replaced by a variable (one set per occurrence)."""
    ast = graphql.parse(document)
    operation = ast.definitions[0]
    assert isinstance(operation, graphql.OperationDefinitionNode)
    root = SCHEMA.query_type if operation.operation is graphql.OperationType.QUERY else SCHEMA.mutation_type
    assert root is not None
    arguments = root.fields[field_name].args
    definitions: list[graphql.VariableDefinitionNode] = []
    declared: dict[str, graphql.GraphQLArgument] = {}
    selections: list[graphql.SelectionNode] = []
    for index, selection in enumerate(operation.selection_set.selections):
        if isinstance(selection, graphql.FieldNode) and selection.name.value == field_name:
            lifted = []
            for arg_name, arg in arguments.items():
                var = f"{arg_name}_{index}"
                declared[var] = arg
                variable = graphql.VariableNode(name=graphql.NameNode(value=var))
                definitions.append(
                    graphql.VariableDefinitionNode(variable=variable, type=graphql.parse_type(str(arg.type)))
                )
                lifted.append(graphql.ArgumentNode(name=graphql.NameNode(value=arg_name), value=variable))
            selection = dataclasses.replace(selection, arguments=tuple(lifted))
        selections.append(selection)
    operation = dataclasses.replace(
        operation,
        variable_definitions=tuple(definitions),
        selection_set=dataclasses.replace(operation.selection_set, selections=tuple(selections)),
    )
    return graphql.print_ast(graphql.DocumentNode(definitions=(operation,))), declared


# ------------------------------------------------------------------------------------- fixtures


@dataclass
class Viewers:
    """Credentials for each kind of viewer, and ids of real rows to aim at."""

    headers: dict[str, dict[str, str]]
    known_ids: list[str]


@pytest_asyncio.fixture(loop_scope="session")
async def viewers(app: Starlette, make_user: Any, make_lead: Any) -> Viewers:
    deps: Deps = app.state.deps
    user = await make_user(tier="PRO", credits=500)
    admin = await make_user(role="admin")
    async with deps.sessionmaker() as session, session.begin():
        _, secret = await create_api_key(session, f"fuzz-partner-{uuid.uuid4().hex[:6]}")
    lead = await make_lead()
    return Viewers(
        headers={
            "anonymous": {},
            "user": {"Authorization": f"Bearer {user.token}"},
            "admin": {"Authorization": f"Bearer {admin.token}"},
            "partner": {"X-API-Key": secret},
        },
        known_ids=[
            to_global_id("Lead", lead.id),
            to_global_id("User", user.id),
            to_global_id("User", admin.id),
        ],
    )


# ----------------------------------------------------------------------------------------- fuzz


@pytest.mark.parametrize("field", ROOT_FIELDS)
@FUZZ
@given(data=st.data())
async def test_fuzzed_root_field_never_yields_a_server_error(
    field: str, client: httpx.AsyncClient, viewers: Viewers, data: st.DataObject
) -> None:
    document = data.draw(from_schema(SDL, fields=[field], custom_scalars=CUSTOM_SCALARS), label="operation")
    viewer = data.draw(st.sampled_from(VIEWERS), label="viewer")
    variables: dict[str, Any] = {}
    if data.draw(st.booleans(), label="as variables"):
        document, declared = lift_arguments(document, field)
        for var, arg in declared.items():
            value = data.draw(
                variable_values(arg.type, viewers.known_ids, name=var.rsplit("_", 1)[0]), label=var
            )
            if value is not None or data.draw(st.booleans()):
                variables[var] = value
    response = await post_raw(client, viewers.headers[viewer], document, variables)
    assert_no_server_error(response, document, variables)


SUBSCRIPTIONS = {
    "cartEvents": "subscription { cartEvents { kind leadId heldUntil cartExpiresAt at } }",
    "priceChanged": (
        "subscription($ids: [ID!], $near: GeoRadiusInput) { priceChanged(leadIds: $ids, near: $near) "
        "{ leadId oldPrice newPrice at } }"
    ),
    "newLeads": "subscription($filter: LeadFilter) { newLeads(filter: $filter) { id title price } }",
}


def test_every_subscription_is_fuzzed() -> None:
    assert sorted(SUBSCRIPTIONS) == SUBSCRIPTION_FIELDS


@pytest.mark.parametrize("field", SUBSCRIPTION_FIELDS)
async def test_subscriptions_over_plain_http_are_refused_cleanly(
    field: str, client: httpx.AsyncClient, viewers: Viewers
) -> None:
    for viewer in VIEWERS:
        response = await post_raw(client, viewers.headers[viewer], SUBSCRIPTIONS[field], {})
        assert_no_server_error(response, SUBSCRIPTIONS[field], {})


@pytest.fixture(scope="module")
def schema() -> Any:
    return build_schema()


@pytest.mark.parametrize("field", SUBSCRIPTION_FIELDS)
@hsettings(FUZZ, max_examples=8)
@given(data=st.data())
async def test_fuzzed_subscription_arguments_never_yield_an_internal_error(
    field: str, app: Starlette, schema: Any, data: st.DataObject
) -> None:
    query = SUBSCRIPTIONS[field]
    operation = graphql.parse(query).definitions[0]
    assert isinstance(operation, graphql.OperationDefinitionNode)
    variables: dict[str, Any] = {}
    for definition in operation.variable_definitions or ():
        var_type = graphql.type_from_ast(SCHEMA, definition.type)
        assert var_type is not None
        name = definition.variable.name.value
        variables[name] = data.draw(variable_values(var_type, []), label=name)  # type: ignore[arg-type]
    ctx = Context(deps=app.state.deps)
    result = await schema.subscribe(query, variable_values=variables, context_value=ctx)
    if hasattr(result, "__anext__"):
        try:
            with contextlib.suppress(TimeoutError, StopAsyncIteration):
                first = await asyncio.wait_for(result.__anext__(), timeout=0.05)
                errors = first.errors or []
                for error in errors:
                    assert error.message != "Internal server error", (error, variables)
        finally:
            await result.aclose()
    else:
        for error in result.errors or []:
            assert error.message != "Internal server error", (error, variables)
