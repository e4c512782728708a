"""Resolve simple fields without Strawberry's per-field wrapper.

Strawberry wraps every field resolver: per field and row it builds an ``Info``, converts arguments
and chains field extensions, about as costly as the resolver itself on a page of leads (20 rows ×
~17 fields). Two kinds of fields need none of that, and ``use_lean_fields`` hands them to
graphql-core directly:

- plain attribute fields (no resolver, no extension), read with ``getattr`` as Strawberry does;
- fields whose resolver is marked ``@context_only``: a function of ``(root, info)`` that reads only
  ``info.context`` and takes no arguments (graphql-core's own resolve info carries the same context).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from graphql import GraphQLObjectType, GraphQLResolveInfo, GraphQLSchema
from strawberry.schema.schema_converter import GraphQLCoreConverter
from strawberry.types.field import StrawberryField

F = TypeVar("F", bound=Callable[..., Any])
_MARK = "__aiq_context_only__"


def context_only(resolver: F) -> F:
    """Mark a ``(root, info)`` resolver that reads nothing of ``info`` but ``info.context``."""
    setattr(resolver, _MARK, True)
    return resolver


def _is_context_only(function: Any) -> bool:
    return bool(getattr(function, _MARK, False))


def _attribute(name: str) -> Callable[[Any, GraphQLResolveInfo], Any]:
    def resolve(source: Any, _info: GraphQLResolveInfo) -> Any:
        return getattr(source, name)

    return resolve


def use_lean_fields(schema: GraphQLSchema) -> int:
    """Rewire the lean fields of every object type; returns how many were rewired."""
    rewired = 0
    for graphql_type in schema.type_map.values():
        if not isinstance(graphql_type, GraphQLObjectType) or graphql_type.name.startswith("__"):
            continue
        for graphql_field in graphql_type.fields.values():
            field = (graphql_field.extensions or {}).get(GraphQLCoreConverter.DEFINITION_BACKREF)
            if not isinstance(field, StrawberryField) or field.extensions or field.is_subscription:
                continue
            resolver = field.base_resolver
            if resolver is None and getattr(graphql_field.resolve, "_is_default", False):
                graphql_field.resolve = _attribute(field.python_name)
                rewired += 1
            elif (
                resolver is not None and getattr(resolver.wrapped_func, _MARK, False) and not field.arguments
            ):
                graphql_field.resolve = resolver.wrapped_func
                rewired += 1
    return rewired
