"""Error codes exist once: the domain's ErrorCode is the GraphQL enum, and every code the code base
sends (domain errors, public GraphQL errors, HTTP and websocket refusals) is one of its members."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from graphql import GraphQLEnumType

from aiqleads.domain.errors import DomainError, ErrorCode, invalid_input, not_found
from aiqleads.schema import common
from aiqleads.schema.root import build_schema

REPO = Path(__file__).resolve().parents[1]
RUNTIME = ("aiqleads", "domain", "resolvers", "schema", "workers")
# callables whose argument at this position is an error code
CODE_ARGUMENT = {"DomainError": 0, "PublicError": 0, "_json_error": 1}


def _codes_in_source() -> list[tuple[str, str]]:
    """(file:line, code) for every literal error code in the runtime sources."""
    found: list[tuple[str, str]] = []
    for folder in RUNTIME:
        for path in sorted((REPO / folder).rglob("*.py")):
            tree = ast.parse(path.read_text(), str(path))
            for node in ast.walk(tree):
                literal: ast.expr | None = None
                if isinstance(node, ast.Call):
                    name = node.func.id if isinstance(node.func, ast.Name) else getattr(node.func, "attr", "")
                    position = CODE_ARGUMENT.get(name)
                    if position is not None and len(node.args) > position:
                        literal = node.args[position]
                elif isinstance(node, ast.Dict):  # {"code": "..."}: extensions and websocket refusals
                    for key, value in zip(node.keys, node.values, strict=True):
                        if isinstance(key, ast.Constant) and key.value == "code":
                            literal = value
                if isinstance(literal, ast.Constant) and isinstance(literal.value, str):
                    found.append((f"{path.relative_to(REPO)}:{node.lineno}", literal.value))
    return found


def test_the_graphql_enum_is_the_domain_enum_in_the_same_order() -> None:
    assert common.ErrorCode is ErrorCode
    published = build_schema()._schema.type_map["ErrorCode"]
    assert isinstance(published, GraphQLEnumType)
    assert list(published.values) == [code.value for code in ErrorCode]


def test_every_literal_error_code_in_the_code_base_is_a_member() -> None:
    found = _codes_in_source()
    assert found  # the public errors and refusals at the edge still spell their codes as strings
    unknown = [(where, code) for where, code in found if code not in ErrorCode.__members__]
    assert not unknown, unknown


def test_a_domain_error_carries_a_member_and_refuses_an_unknown_code() -> None:
    assert invalid_input("bad", "field").code is ErrorCode.INVALID_INPUT
    assert not_found("gone").code is ErrorCode.NOT_FOUND
    assert DomainError("CART_FULL", "full").code is ErrorCode.CART_FULL  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="NOT_A_CODE"):
        DomainError("NOT_A_CODE", "typo")  # type: ignore[arg-type]
