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

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from inspect import isawaitable
from typing import Any, TypeVar

from graphql import (
    Executor,
    GraphQLEnumType,
    GraphQLLeafType,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLResolveInfo,
    GraphQLScalarType,
    GraphQLSchema,
    Undefined,
)
from graphql.execution.collect_fields import DeferUsage, GroupedFieldSet
from graphql.pyutils import AwaitableOrValue, Path
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext
from strawberry.schema.schema_converter import GraphQLCoreConverter
from strawberry.types.field import StrawberryField

F = TypeVar("F", bound=Callable[..., Any])
_MARK = "__aiq_context_only__"
_LEAN = "__aiq_lean__"  # a resolver use_lean_fields installed: (root, info) reading only info.context


def context_only(resolver: F) -> F:
    """Mark a ``(root, info)`` resolver that reads nothing of ``info`` but ``info.context``."""
    setattr(resolver, _MARK, True)
    return resolver


def _is_context_only(function: Any) -> bool:
    return bool(getattr(function, _MARK, False))


def _attribute(name: str) -> Callable[[Any, GraphQLResolveInfo], Any]:
    def resolve(source: Any, _info: GraphQLResolveInfo) -> Any:
        return getattr(source, name)

    setattr(resolve, _LEAN, True)
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
                setattr(resolver.wrapped_func, _LEAN, True)
                rewired += 1
    return rewired


class _ContextOnly:
    """The resolve info a lean resolver reads: only the context."""

    __slots__ = ("context",)

    def __init__(self, context: Any) -> None:
        self.context = context


class _Fallback(Exception):
    """This object's fields go through graphql-core's own completion."""


@dataclass(frozen=True, eq=False)
class _Plan:
    """How to complete one selection of an object type: its lean leaves, then the rest."""

    grouped: GroupedFieldSet  # kept alive: plans are found by its identity
    order: tuple[str, ...]
    leaves: tuple[tuple[str, Callable[..., Any], GraphQLLeafType, bool], ...]
    rest: GroupedFieldSet


def _plan(parent_type: GraphQLObjectType, grouped: GroupedFieldSet) -> _Plan:
    leaves: list[tuple[str, Callable[..., Any], GraphQLLeafType, bool]] = []
    rest: GroupedFieldSet = {}
    for response_name, details in grouped.items():
        field_def = parent_type.fields.get(details[0].node.name.value)  # None: __typename
        resolve = field_def.resolve if field_def is not None else None
        if field_def is None or field_def.args or not getattr(resolve, _LEAN, False):
            rest[response_name] = details
            continue
        nullable = not isinstance(field_def.type, GraphQLNonNull)
        leaf = field_def.type if nullable else field_def.type.of_type
        if not isinstance(leaf, (GraphQLScalarType, GraphQLEnumType)):
            rest[response_name] = details
            continue
        leaves.append((response_name, resolve, leaf, nullable))  # type: ignore[arg-type]
    return _Plan(grouped, tuple(grouped), tuple(leaves), rest)


class LeanExecutor(StrawberryGraphQLCoreExecutionContext):
    """graphql-core's executor, but an object's lean leaf fields (plain attributes and
    ``@context_only`` resolvers returning scalars or enums, without arguments) are read and
    coerced in one pass, without a path, a resolve info and a completion per field.

    Anything unusual (a null for a non-null field, an awaitable, an exception, a value the
    scalar refuses) sends the whole object back to graphql-core, which reports it as it would have.
    """

    def execute_collected_subfields(
        self,
        parent_type: GraphQLObjectType,
        source_value: Any,
        path: Path,
        grouped_field_set: GroupedFieldSet,
        new_defer_usages: Sequence[DeferUsage],
        position_context: Any,
    ) -> AwaitableOrValue[dict[str, Any]]:
        """Complete one object: its lean leaves here, the other fields as graphql-core does."""
        plans: dict[int, _Plan] | None = getattr(self, "_aiq_plans", None)  # one executor per request
        if plans is None:
            plans = {}
            self._aiq_plans = plans
            self._aiq_info = _ContextOnly(self.context_value)
        plan = plans.get(id(grouped_field_set))
        if plan is None:
            plan = plans[id(grouped_field_set)] = _plan(parent_type, grouped_field_set)
        if not plan.leaves:
            return super().execute_collected_subfields(
                parent_type, source_value, path, grouped_field_set, new_defer_usages, position_context
            )
        try:
            values = self._lean_leaves(plan, source_value)
        except Exception:  # _Fallback, or a resolver's error: graphql-core reports it with its path
            return super().execute_collected_subfields(
                parent_type, source_value, path, grouped_field_set, new_defer_usages, position_context
            )
        if not plan.rest:
            return values
        rest = self.execute_fields(parent_type, source_value, path, plan.rest, position_context)
        if self.is_awaitable(rest):

            async def merged() -> dict[str, Any]:
                return _merge(plan, values, await rest)

            return merged()
        return _merge(plan, values, rest)  # type: ignore[arg-type]

    def build_per_event_executor(self, payload: Any) -> Executor:
        """The executor of one subscription event, with caches of its own: graphql-core's copy
        shares the subscription's memo of sub-selections, which then grows by an entry per event
        (and this executor's plans with it) for as long as the subscription lives."""
        executor = super().build_per_event_executor(payload)
        executor._relevant_sub_fields = {}
        executor._aiq_plans = None  # type: ignore[attr-defined]
        return executor

    def _lean_leaves(self, plan: _Plan, source: Any) -> dict[str, Any]:
        info = self._aiq_info
        values: dict[str, Any] = {}
        for response_name, resolve, leaf, nullable in plan.leaves:
            value = resolve(source, info)
            if value is None:
                if not nullable:
                    raise _Fallback
                values[response_name] = None
                continue
            if isawaitable(value):
                close = getattr(value, "close", None)
                if close is not None:
                    close()  # never started: graphql-core resolves the field again
                raise _Fallback
            coerced = leaf.coerce_output_value(value)
            if coerced is None or coerced is Undefined:
                raise _Fallback
            values[response_name] = coerced
        return values


def _merge(plan: _Plan, leaves: dict[str, Any], rest: dict[str, Any]) -> dict[str, Any]:
    """The object's fields in the order the query asked for them."""
    merged: dict[str, Any] = {}
    for name in plan.order:
        if name in leaves:
            merged[name] = leaves[name]
        elif name in rest:
            merged[name] = rest[name]
    return merged
