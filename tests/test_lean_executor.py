"""The lean executor completes an object's plain leaf fields in one pass: its answers, errors and
their paths are those of graphql-core's own executor, on a small schema built to hit every way
out of the lean pass and on real lead pages (redacted titles, nullable fields, seats that need a
lookup)."""

from __future__ import annotations

import asyncio
import enum
import json
import uuid
from types import SimpleNamespace
from typing import Any

import graphql
import pytest
import strawberry
from starlette.applications import Starlette
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext
from strawberry.types import Info

from aiqleads.resolvers.context import Context
from aiqleads.schema.lean_fields import LeanExecutor, context_only
from aiqleads.schema.pipeline import GatedSchema
from aiqleads.schema.root import Mutation, Query, Subscription

# a lean pass that drops an awaitable it took leaves a coroutine never awaited: fail on it
pytestmark = pytest.mark.filterwarnings(
    "error::RuntimeWarning", "error::pytest.PytestUnraisableExceptionWarning"
)


@strawberry.enum
class Kind(enum.Enum):
    FLAT = "FLAT"
    HOUSE = "HOUSE"


@strawberry.type
class Item:
    name: str
    size: int | None
    kind: Kind

    @strawberry.field
    @context_only
    def label(self, info: Info[Any, None]) -> str:
        if self.name == "boom":
            raise ValueError("no label for boom")
        return f"{info.context['prefix']}{self.name}"

    @strawberry.field
    @context_only
    def later(self, info: Info[Any, None]) -> int:  # an awaitable for some items, as seats are
        if self.name == "b":

            async def slow() -> int:
                await asyncio.sleep(0)
                return 7

            return slow()  # type: ignore[return-value]
        return 1

    @strawberry.field
    @context_only
    def late_null(self, info: Info[Any, None]) -> int:  # an awaitable whose value is a null for item a
        async def slow() -> int | None:
            await asyncio.sleep(0)
            return None if self.name == "a" else 2

        return slow()  # type: ignore[return-value]

    @strawberry.field
    def tag(self, upper: bool = False) -> str:  # an argument: never lean
        if self.name == "boom":
            raise ValueError("no tag for boom")
        return self.name.upper() if upper else self.name


ITEMS = [
    Item(name="a", size=1, kind=Kind.FLAT),
    Item(name="b", size=None, kind=Kind.HOUSE),
    Item(name=None, size=3, kind=Kind.FLAT),  # type: ignore[arg-type]  # a null for a non-null field
    Item(name="boom", size=4, kind=Kind.HOUSE),
]


@strawberry.type
class ItemsQuery:
    @strawberry.field
    def items(self) -> list[Item | None]:
        return ITEMS

    @strawberry.field
    def shelf(self) -> Shelf | None:
        return Shelf()


@strawberry.type
class Shelf:
    """Objects and lists of objects from lean resolvers: completed inline by the lean pass."""

    @strawberry.field
    @context_only
    def items(self, info: Info[Any, None]) -> list[Item | None]:
        return ITEMS

    @strawberry.field
    @context_only
    def first(self, info: Info[Any, None]) -> Item:
        return ITEMS[0]

    @strawberry.field
    @context_only
    def nameless(self, info: Info[Any, None]) -> Item | None:  # its non-null name is null
        return ITEMS[2]

    @strawberry.field
    @context_only
    def strict_nameless(self, info: Info[Any, None]) -> Item:  # the null reaches the shelf
        return ITEMS[2]

    @strawberry.field
    @context_only
    def awaited(self, info: Info[Any, None]) -> Item:  # an awaitable object, whose fields await too
        async def slow() -> Item:
            await asyncio.sleep(0)
            return ITEMS[1]

        return slow()  # type: ignore[return-value]

    @strawberry.field
    @context_only
    def kinds(self, info: Info[Any, None]) -> list[Kind]:
        return [Kind.HOUSE, Kind.FLAT]

    @strawberry.field
    @context_only
    def wrong(self, info: Info[Any, None]) -> Item | None:  # Item-shaped, but the type check refuses it
        return SimpleNamespace(name="x", size=1, kind=Kind.FLAT)  # type: ignore[return-value]


SMALL = "{ items { __typename name size kind label later tag(upper: true) } }"


def _small_schema(executor: type) -> GatedSchema:
    return GatedSchema(query=ItemsQuery, max_tokens=1000, execution_context_class=executor)


async def _run(
    schema: GatedSchema, query: str | graphql.DocumentNode, context: Any, variables: Any = None
) -> Any:
    result = graphql.execute(
        schema._schema,
        graphql.parse(query) if isinstance(query, str) else query,
        context_value=context,
        variable_values=variables,
        executor_class=schema.execution_context_class,
    )
    if not isinstance(result, graphql.ExecutionResult):
        result = await result
    return result.data, sorted((e.message, tuple(e.path or ())) for e in result.errors or [])


async def test_every_way_out_of_the_lean_pass_answers_as_graphql_core() -> None:
    lean, reference = _small_schema(LeanExecutor), _small_schema(StrawberryGraphQLCoreExecutionContext)
    assert lean.execution_context_class is LeanExecutor
    context = {"prefix": "#"}
    got, expected = await _run(lean, SMALL, context), await _run(reference, SMALL, context)
    assert got == expected
    data, errors = got
    assert data["items"][0] == {
        "__typename": "Item",
        "name": "a",
        "size": 1,
        "kind": "FLAT",
        "label": "#a",
        "later": 1,
        "tag": "A",
    }
    assert data["items"][1]["later"] == 7 and data["items"][1]["size"] is None
    # a null for a non-null field, and a raising non-null field: each nulls its (nullable) item
    assert data["items"][2] is None and data["items"][3] is None
    assert [path for _, path in errors] == [("items", 2, "name"), ("items", 3, "label")]


async def test_a_selection_of_lean_leaves_only_keeps_the_query_order() -> None:
    lean, reference = _small_schema(LeanExecutor), _small_schema(StrawberryGraphQLCoreExecutionContext)
    query = "{ items { size kind name } }"
    got, expected = await _run(lean, query, {}), await _run(reference, query, {})
    assert got == expected
    assert list(got[0]["items"][0]) == ["size", "kind", "name"]


async def test_a_long_subscription_keeps_no_cache_per_event() -> None:
    schema = graphql.build_schema("type Query { a: Int } type P { x: Int } type Subscription { p: P }")
    executor = LeanExecutor.build(schema, graphql.parse("subscription { p { x } }"))
    assert isinstance(executor, LeanExecutor)
    for n in range(50):
        result = graphql.execute_subscription_event(executor.build_per_event_executor({"p": {"x": n}}))
        assert isinstance(result, graphql.ExecutionResult) and result.data == {"p": {"x": n}}
    # graphql-core's own per-event copy would have kept one memo entry per event
    assert len(executor._relevant_sub_fields) == 0 and getattr(executor, "_aiq_plans", None) is None


async def test_requests_of_one_document_share_its_plans(monkeypatch: pytest.MonkeyPatch) -> None:
    lean, reference = _small_schema(LeanExecutor), _small_schema(StrawberryGraphQLCoreExecutionContext)
    made: list[str] = []
    real = LeanExecutor._make_plan

    def counting(self: LeanExecutor, parent_type: Any, grouped: Any) -> Any:
        made.append(parent_type.name)
        return real(self, parent_type, grouped)

    monkeypatch.setattr(LeanExecutor, "_make_plan", counting)
    document = graphql.parse(NESTED[0])  # parsed once, as the schema's document cache does
    first = await _run(lean, document, {"prefix": "#"})
    planned = len(made)
    assert planned > 0
    for prefix in ("#", "!"):  # later requests: the same answers as graphql-core's, no new plan
        context = {"prefix": prefix}
        assert await _run(lean, document, context) == await _run(reference, document, context)
    assert len(made) == planned
    assert first == await _run(reference, document, {"prefix": "#"})
    await _run(lean, NESTED[0], {"prefix": "#"})  # the same text parsed again: other nodes, own plans
    assert len(made) == 2 * planned
    other = _small_schema(LeanExecutor)  # the same type names in another schema: its own plans
    await _run(other, document, {"prefix": "#"})
    assert len(made) == 3 * planned


async def test_shared_plans_are_freed_with_their_document() -> None:
    import gc
    import weakref

    from aiqleads.schema import lean_fields

    lean = _small_schema(LeanExecutor)
    kept = []
    for n in range(30):  # distinct documents, as a client varying a comment sends them
        document = graphql.parse(f"# {n}\n{NESTED[0]}")
        await _run(lean, document, {"prefix": "#"})
        kept.append(weakref.ref(document.definitions[0]))
        assert lean_fields._OPERATION_PLANS[id(document.definitions[0])].plans  # planned, and shared
        del document
    gc.collect()
    assert all(ref() is None for ref in kept)  # nothing but their cache held them
    live = [entry.operation() for entry in lean_fields._OPERATION_PLANS.values()]
    assert None not in live  # the entries of freed operations left with them


@pytest.mark.parametrize(
    "query",
    [
        "query($on: Boolean!) { shelf { first { name kind @include(if: $on) } kinds } }",
        "query($on: Boolean!) { shelf { first { ...F @skip(if: $on) name } } } fragment F on Item { kind }",
        "query($on: Boolean!) { shelf { first { ...F } } } fragment F on Item { kind @include(if: $on) }",
        "query($on: Boolean!) { items { name ... @include(if: $on) { size } } }",
    ],
)
async def test_selections_that_depend_on_variables_are_planned_per_request(query: str) -> None:
    lean, reference = _small_schema(LeanExecutor), _small_schema(StrawberryGraphQLCoreExecutionContext)
    document = graphql.parse(query)
    answers = []
    for on in (True, False, True):
        got = await _run(lean, document, {"prefix": "#"}, {"on": on})
        assert got == await _run(reference, document, {"prefix": "#"}, {"on": on})
        answers.append(got)
    assert answers[0] != answers[1] and answers[0] == answers[2]


NESTED = [
    "{ shelf { __typename first { __typename name kind label } kinds items { name size later } } }",
    "{ shelf { items { name label } } }",  # a raising label nulls its item, inside an inlined list
    "{ shelf { first { name } nameless { name } } }",
    "{ shelf { first { name } strictNameless { name } } }",
    "{ shelf { awaited { name later kind } first { later } } }",
    "{ shelf { wrong { name } first { name } } }",
    "{ shelf { first { name tag } items { tag(upper: true) } } }",  # a field with arguments inside
    "{ items { name later lateNull tag } }",  # awaited lean values, one unusual, beside the rest
    "{ shelf { first { later tag(upper: true) lateNull } items { later tag } } }",
    "{ shelf { awaited { lateNull name } } }",
    "{ shelf { ...F first { ... on Item { kind } } } } fragment F on Shelf { first { name } }",
]


@pytest.mark.parametrize("query", NESTED)
async def test_inlined_objects_and_lists_answer_as_graphql_core(query: str) -> None:
    lean, reference = _small_schema(LeanExecutor), _small_schema(StrawberryGraphQLCoreExecutionContext)
    context = {"prefix": "#"}
    got, expected = await _run(lean, query, context), await _run(reference, query, context)
    assert got == expected
    assert json.dumps(got[0]) == json.dumps(expected[0])  # in the same order too


async def test_inlined_lists_keep_the_query_order_and_values() -> None:
    data, errors = await _run(
        _small_schema(LeanExecutor), "{ shelf { kinds first { size name } awaited { later name } } }", {}
    )
    assert errors == []
    assert data == {
        "shelf": {
            "kinds": ["HOUSE", "FLAT"],
            "first": {"size": 1, "name": "a"},
            "awaited": {"later": 7, "name": "b"},
        }
    }


PAGE = """query($city: String!) { leads(filter: { city: $city }, first: 10) {
  totalCount edges { cursor node {
    id title description propertyType askingPrice bedrooms bathrooms sqft price availableSeats
    distanceMiles status address { city zip street } location { lat lng } __typename
  } } pageInfo { hasNextPage endCursor } } }"""


async def test_lead_pages_answer_as_graphql_core(app: Starlette, make_lead: Any) -> None:
    city = f"Lean-{uuid.uuid4().hex[:8]}"
    await make_lead(city=city, title="Call Pat at 512-555-0100 today")  # redacted for the anonymous
    await make_lead(city=city, bedrooms=None, sqft=None)
    await make_lead(city=city, max_buyers=3, holds_count=1)  # seats need a lookup: an awaitable field
    lean = app._graphql.schema  # type: ignore[attr-defined]
    assert isinstance(lean, GatedSchema) and lean.execution_context_class is LeanExecutor
    reference = GatedSchema(
        query=Query,
        mutation=Mutation,
        subscription=Subscription,
        max_tokens=app.state.deps.settings.max_query_tokens,
        execution_context_class=StrawberryGraphQLCoreExecutionContext,
    )
    answers = []
    for schema in (lean, reference):
        result = await schema.execute(PAGE, {"city": city}, context_value=Context(deps=app.state.deps))
        answers.append((result.data, result.errors))
    assert answers[0] == answers[1]
    data, errors = answers[0]
    assert errors is None and data["leads"]["totalCount"] == 3
    titles = [edge["node"]["title"] for edge in data["leads"]["edges"]]
    assert not any("555-0100" in title for title in titles)
