"""The lean HTTP pipeline's pieces: the document cache, the lean fields, and what it may skip."""

from __future__ import annotations

from typing import Any

import pytest
from graphql import GraphQLObjectType

from aiqleads.domain.settings import Settings
from aiqleads.schema import leads as lead_types
from aiqleads.schema.pipeline import DocumentCache, GatedSchema
from aiqleads.schema.root import build_schema


def _schema() -> GatedSchema:
    return build_schema(Settings())


def _field(schema: GatedSchema, type_name: str, field_name: str) -> Any:
    graphql_type = schema._schema.type_map[type_name]
    assert isinstance(graphql_type, GraphQLObjectType)
    return graphql_type.fields[field_name]


def test_prepared_documents_are_kept_by_query_text_and_the_oldest_leaves_first() -> None:
    schema = _schema()
    cache = DocumentCache(schema._schema, max_tokens=2000, maxsize=2)
    first = cache.get("{ __typename }")
    assert cache.get("{ __typename }") is first and first.errors == ()
    cache.get("{ a: __typename }")
    cache.get("{ __typename }")  # used again: now the most recent
    cache.get("{ b: __typename }")  # evicts "{ a: __typename }"
    assert cache.get("{ __typename }") is first
    assert cache.get("{ a: __typename }") is not None and len(cache._entries) == 2


def test_syntax_validation_and_token_errors_are_prepared_once() -> None:
    schema = _schema()
    cache = DocumentCache(schema._schema, max_tokens=10)
    broken = cache.get("{ leads(")
    assert broken.document is None and "Syntax Error" in broken.errors[0].message
    unknown = cache.get("{ noSuchField }")
    assert unknown.document is not None and "noSuchField" in unknown.errors[0].message
    long = cache.get("{ " + " ".join(f"a{i}: __typename" for i in range(20)) + " }")
    assert long.document is None and "more than 10 tokens" in long.errors[0].message


SHAPED = [
    "query Q($n: Int) { leads(first: $n) { totalCount } }",
    "query Q($n: Int = 5, $c: String) { leads(first: $n, filter: {city: $c}) { edges { node { id } } } }",
    "query Q($n: Int, $m: Int) { leads(first: $n) { edges { node { id ...F } } } }"
    " fragment F on Lead { priceHistory(first: $m) { price } }",
    "query Q($c: String) { leads(filter: {city: $c}, first: 7) { edges { cursor } } }",
]
SENT: list[dict[str, Any] | None] = [
    None,
    {},
    {"n": 50},
    {"n": 50, "c": "Austin"},
    {"n": 3, "m": 9},
    {"n": None},
    {"n": "many"},
    {"n": True},
    {"n": 2**40},
    {"c": "Dallas"},
]


@pytest.mark.parametrize("query", SHAPED)
def test_the_shape_is_remembered_per_page_size_and_equals_a_fresh_measure(query: str) -> None:
    from aiqleads.schema.cost import operation_shape

    prepared = DocumentCache(_schema()._schema, max_tokens=2000).get(query)
    assert prepared.document is not None and not prepared.errors
    assert prepared.root_fields("Q") == ["leads"]
    for _ in range(2):  # measured, then remembered: the same answers
        for variables in SENT:
            assert prepared.shape("Q", variables) == operation_shape(prepared.document, "Q", variables)
    assert prepared.shape("Q", {"n": 50, "c": "x"}) is prepared.shape("Q", {"n": 50, "c": "y"})
    costs = {prepared.shape("Q", {"n": n}).cost for n in (1, 2, 3)}  # type: ignore[union-attr]
    assert len(costs) == (1 if "$n)" not in query and "first: $n" not in query else 3)


def test_lead_fields_resolve_without_strawberrys_wrapper() -> None:
    schema = _schema()
    assert schema.lean_fields > 50
    assert _field(schema, "Lead", "title").resolve is lead_types._title  # visibility, context only
    assert _field(schema, "Lead", "price").resolve is lead_types._price

    class Row:
        asking_price = 123

    assert _field(schema, "Lead", "askingPrice").resolve(Row(), None) == 123  # a plain attribute


def test_fields_with_arguments_keep_strawberrys_resolver() -> None:
    schema = _schema()
    history = _field(schema, "Lead", "priceHistory")
    assert history.resolve is not None and history.resolve.__module__.startswith("strawberry")


def test_no_schema_extension_is_registered() -> None:
    """The pipeline runs no extension hooks or field middleware: right only while none is registered
    (the gate is ``schema.gate``, called by ``execute`` and ``stream`` alike)."""
    schema = _schema()
    assert list(schema.extensions) == [] and schema.get_extensions() == []
