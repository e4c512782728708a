"""Resolve simple fields without Strawberry's per-field wrapper.

Strawberry wraps every field resolver: per field and row it builds an ``Info``, converts arguments
and chains field extensions, about as costly as the resolver itself on a page of leads (20 rows ×
~17 fields). Two kinds of fields need none of that, and ``use_lean_fields`` hands them to
graphql-core directly:

- plain attribute fields (no resolver, no extension), read with ``getattr`` as Strawberry does;
- fields whose resolver is marked ``@context_only``: a function of ``(root, info)`` that reads only
  ``info.context`` and takes no arguments (graphql-core's own resolve info carries the same context).

``LeanExecutor`` then completes those fields in one pass (scalars, enums, and objects or lists of
objects whose selection is all lean). Fields whose resolver is marked ``@direct(fn)`` are resolved
by ``fn`` from graphql-core's coerced arguments, without Strawberry's argument conversion.
"""

from __future__ import annotations

import weakref
from asyncio import gather
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from inspect import isawaitable
from math import isfinite
from typing import Any, TypeVar, cast

from graphql import (
    Executor,
    GraphQLBoolean,
    GraphQLEnumType,
    GraphQLFloat,
    GraphQLID,
    GraphQLInt,
    GraphQLLeafType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLResolveInfo,
    GraphQLResolveInfoHelpers,
    GraphQLScalarType,
    GraphQLSchema,
    GraphQLString,
    Undefined,
)
from graphql.execution.collect_fields import DeferUsage, FragmentDetails, GroupedFieldSet
from graphql.pyutils import AwaitableOrValue, Path
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext
from strawberry.schema.schema_converter import GraphQLCoreConverter
from strawberry.types.field import StrawberryField

F = TypeVar("F", bound=Callable[..., Any])
_MARK = "__aiq_context_only__"
_DIRECT = "__aiq_direct__"  # graphql-core resolves the field with this function instead
_LEAN = "__aiq_lean__"  # a resolver use_lean_fields installed: (root, info) reading only info.context


def context_only(resolver: F) -> F:
    """Mark a ``(root, info)`` resolver that reads nothing of ``info`` but ``info.context``."""
    setattr(resolver, _MARK, True)
    return resolver


def direct(resolve: Callable[..., Any]) -> Callable[[F], F]:
    """Mark a Strawberry resolver whose field graphql-core resolves with ``resolve(root, info,
    **arguments)`` instead: graphql-core's resolve info and its coerced arguments (input objects
    as dicts under their GraphQL names, enums as members), without Strawberry converting every
    input object into its class first. Both must answer alike: tests run each."""

    def mark(resolver: F) -> F:
        setattr(resolver, _DIRECT, resolve)
        return resolver

    return mark


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
            elif resolver is not None and getattr(resolver.wrapped_func, _DIRECT, None) is not None:
                graphql_field.resolve = getattr(resolver.wrapped_func, _DIRECT)
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


# (container, key, awaitable, nullable, complete): a value a lean resolver returned as an awaitable
_Pending = tuple[Any, Any, Any, bool, "_Complete"]
_Complete = Callable[[Any, _ContextOnly, list[_Pending]], Any]
# types no resolver returns as an awaitable: skips inspect.isawaitable's three isinstance checks
_PLAIN = frozenset({str, int, float, bool, list, tuple, dict})
# the built-in scalars return values of exactly these classes as they are (Int within 32 bits,
# Float when finite), so the lean pass copies them without calling the scalar
_PASSES: dict[GraphQLScalarType, type] = {
    GraphQLString: str,
    GraphQLID: str,
    GraphQLBoolean: bool,
    GraphQLInt: int,
    GraphQLFloat: float,
}
_INT_MIN, _INT_MAX = -(2**31), 2**31 - 1


@dataclass(frozen=True, eq=False)
class _Plan:
    """How to complete one selection of an object type: its lean fields, then the rest."""

    grouped: GroupedFieldSet  # kept alive: plans are found by its identity
    order: tuple[str, ...]
    # (response name, resolve (None: __typename), complete, nullable, the class its values pass as)
    lean: tuple[tuple[str, Callable[..., Any] | None, _Complete, bool, type | None], ...]
    rest: GroupedFieldSet
    type_name: str
    lean_grouped: GroupedFieldSet  # the lean fields, for graphql-core when a lean value is unusual
    parent_type: GraphQLObjectType  # kept alive: shared plans are found by its identity


class _OperationPlans:
    """The plans an operation's requests share (LeanExecutor._shared_plan), kept as long as the
    operation's parsed document lives: they hold its field nodes, never the operation itself, so
    the document is freed when its cache lets it go, and this entry with it."""

    __slots__ = ("operation", "plans", "static")

    def __init__(self, operation: Any, static: bool) -> None:
        self.operation = weakref.ref(operation)
        self.static = static  # no directive anywhere: its selections cannot depend on the variables
        self.plans: dict[tuple[Any, ...], _Plan] = {}


# by the operation's identity; an entry leaves when its operation is freed (weakref.finalize)
_OPERATION_PLANS: dict[int, _OperationPlans] = {}


def _operation_plans(operation: Any, fragments: dict[str, FragmentDetails]) -> _OperationPlans:
    """The shared plans of this operation (made on its first request)."""
    entry = _OPERATION_PLANS.get(id(operation))
    if entry is not None and entry.operation() is operation:
        return entry
    entry = _OperationPlans(operation, _static_selections(operation, fragments))
    _OPERATION_PLANS[id(operation)] = entry
    weakref.finalize(operation, _forget_operation, id(operation), entry)
    return entry


def _forget_operation(key: int, entry: _OperationPlans) -> None:
    if _OPERATION_PLANS.get(key) is entry:
        del _OPERATION_PLANS[key]


def _static_selections(operation: Any, fragments: dict[str, FragmentDetails]) -> bool:
    """Whether no selection of the operation (or of its fragments) carries a directive, so the
    fields collected for it are the same whatever the variables."""
    return not _has_directives(operation.selection_set) and not any(
        # FragmentDetails: the definition, and the signatures of a fragment's own variables
        details.variable_signatures
        or details.definition.directives
        or _has_directives(details.definition.selection_set)
        for details in fragments.values()
    )


def _has_directives(selection_set: Any) -> bool:
    if selection_set is None:
        return False
    return any(
        selection.directives or _has_directives(getattr(selection, "selection_set", None))
        for selection in selection_set.selections
    )


def _settle(
    container: Any,
    key: Any,
    value: Any,
    nullable: bool,
    complete: _Complete,
    info: _ContextOnly,
    pending: list[_Pending],
) -> None:
    """Put a resolved value, completed, at container[key]; an awaitable waits in pending."""
    if value is None:
        if not nullable:
            raise _Fallback
        container[key] = None
    elif value.__class__ not in _PLAIN and isawaitable(value):
        container[key] = None  # keeps the key's place in the answer's order
        pending.append((container, key, value, nullable, complete))
    else:
        container[key] = complete(value, info, pending)


def _leaf(leaf: GraphQLLeafType) -> _Complete:
    coerce = leaf.coerce_output_value

    def complete(value: Any, _info: _ContextOnly, _pending: list[_Pending]) -> Any:
        coerced = coerce(value)
        if coerced is None or coerced is Undefined:
            raise _Fallback
        return coerced

    return complete


def _object(object_type: GraphQLObjectType, plan: _Plan) -> _Complete:
    is_type_of = object_type.is_type_of

    def complete(value: Any, info: _ContextOnly, pending: list[_Pending]) -> Any:
        if (
            is_type_of is not None and is_type_of(value, cast(Any, info)) is not True
        ):  # graphql-core words the error
            raise _Fallback
        return _complete_object(plan, value, info, pending)

    return complete


def _list(item: _Complete, item_nullable: bool) -> _Complete:
    def complete(value: Any, info: _ContextOnly, pending: list[_Pending]) -> Any:
        if not isinstance(value, (list, tuple)):
            raise _Fallback  # other iterables, and the error for a non-iterable, are graphql-core's
        items: list[Any] = [None] * len(value)
        for index, element in enumerate(value):
            _settle(items, index, element, item_nullable, item, info, pending)
        return items

    return complete


def _complete_object(plan: _Plan, source: Any, info: _ContextOnly, pending: list[_Pending]) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for response_name, resolve, complete, nullable, passes in plan.lean:
        value: Any = resolve(source, info) if resolve is not None else plan.type_name
        kind = value.__class__
        if kind is passes:  # a str, bool, int or float the scalar would return as it is
            if (kind is int and not _INT_MIN <= value <= _INT_MAX) or (kind is float and not isfinite(value)):
                raise _Fallback  # graphql-core reports the value the scalar refuses
            values[response_name] = value
        elif value is None:
            if not nullable:
                raise _Fallback
            values[response_name] = None
        elif kind not in _PLAIN and isawaitable(value):
            values[response_name] = None  # keeps the key's place in the answer's order
            pending.append((values, response_name, value, nullable, complete))
        else:
            values[response_name] = complete(value, info, pending)
    return values


async def _settle_pending(pending: list[_Pending], info: _ContextOnly) -> None:
    """Await every pending value at once (so DataLoaders batch them), then complete them; values
    those completions leave pending are awaited in the next round."""
    while pending:
        batch = pending[:]
        pending.clear()
        results = await gather(*(awaitable for _, _, awaitable, _, _ in batch), return_exceptions=True)
        for (container, key, _, nullable, complete), value in zip(batch, results, strict=True):
            if isinstance(value, BaseException):
                if not isinstance(value, Exception):
                    raise value  # cancellation
                raise _Fallback
            _settle(container, key, value, nullable, complete, info, pending)


def _discard(pending: list[_Pending]) -> None:
    """Close awaitables that will never be awaited (graphql-core resolves those fields again)."""
    for _, _, awaitable, _, _ in pending:
        close = getattr(awaitable, "close", None)
        if close is not None:
            close()
    pending.clear()


class LeanExecutor(StrawberryGraphQLCoreExecutionContext):
    """graphql-core's executor, but an object's lean fields are completed in one pass, without a
    path, a resolve info and a completion per field: plain attributes and ``@context_only``
    resolvers without arguments that return a scalar, an enum, an object whose selection is all
    lean, or a list of those. Values they return as awaitables are awaited together.

    Anything unusual (a null for a non-null field, an exception, a value the scalar or the type
    check refuses) sends the whole object back to graphql-core, which reports it as it would
    have: the lean pass records no error and its resolvers read only the context, so running them
    again changes nothing.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # graphql-core's resolver helpers are bound methods of the executor, which holds them: a
        # reference cycle through which the request's context, loaders, views and rows all waited
        # for the cyclic collector (about 560 objects a listing page, 0.7 ms of collections per
        # request: bench/README.md). Through a weak reference, the request frees them as it ends.
        executor = weakref.ref(self)
        self.async_helpers = GraphQLResolveInfoHelpers(
            gather=lambda values: _live(executor).gather_async_work(values),
            track=lambda values: _live(executor).track_async_work(values),
        )

    def execute_collected_subfields(
        self,
        parent_type: GraphQLObjectType,
        source_value: Any,
        path: Path,
        grouped_field_set: GroupedFieldSet,
        new_defer_usages: Sequence[DeferUsage],
        position_context: Any,
    ) -> AwaitableOrValue[dict[str, Any]]:
        """Complete one object: its lean fields here, the other fields as graphql-core does."""
        plan = self._plan(parent_type, grouped_field_set)
        if not plan.lean:
            return super().execute_collected_subfields(
                parent_type, source_value, path, grouped_field_set, new_defer_usages, position_context
            )
        info = self._aiq_info
        pending: list[_Pending] = []
        try:
            values = _complete_object(plan, source_value, info, pending)
        except Exception:  # _Fallback, or a resolver's error: graphql-core reports it with its path
            _discard(pending)
            return super().execute_collected_subfields(
                parent_type, source_value, path, grouped_field_set, new_defer_usages, position_context
            )
        if not pending and not plan.rest:
            return values
        rest = None
        if plan.rest:
            try:
                rest = self.execute_fields(parent_type, source_value, path, plan.rest, position_context)
            except BaseException:  # a null for a non-null field of the rest nulls this object
                _discard(pending)
                raise
        if pending:
            return self._settle(
                plan, values, pending, rest, parent_type, source_value, path, position_context
            )
        if self.is_awaitable(rest):

            async def merged() -> dict[str, Any]:
                return _merge(plan, values, await rest)

            return merged()
        return _merge(plan, values, rest)  # type: ignore[arg-type]

    async def _settle(
        self,
        plan: _Plan,
        values: dict[str, Any],
        pending: list[_Pending],
        rest: Any,
        parent_type: GraphQLObjectType,
        source_value: Any,
        path: Path,
        position_context: Any,
    ) -> dict[str, Any]:
        """Await the lean fields' awaitables and the rest together, so their DataLoaders batch
        across the page's objects. If a lean value turns out unusual, graphql-core completes the
        lean fields again on their own (their resolvers read only the context, and the lean pass
        recorded nothing); the rest stands as it ran."""
        settling = _settle_pending(pending, self._aiq_info)
        failed: BaseException | None = None
        if self.is_awaitable(rest):
            settled, rest = await gather(settling, rest, return_exceptions=True)
            if isinstance(rest, BaseException):
                _discard(pending)
                raise rest  # a null for a non-null field of the rest: as graphql-core propagates it
            failed = settled if isinstance(settled, BaseException) else None
        else:
            try:
                await settling
            except _Fallback as exc:
                failed = exc
        if failed is not None:
            if not isinstance(failed, _Fallback):
                raise failed  # cancelled
            _discard(pending)
            lean = self.execute_fields(parent_type, source_value, path, plan.lean_grouped, position_context)
            values = await _awaited(lean)
        return _merge(plan, values, rest) if plan.rest else values

    def _plan(self, parent_type: GraphQLObjectType, grouped: GroupedFieldSet) -> _Plan:
        """The plan of a selection, found once per request (selections are memoised by graphql-core)
        and shared by the requests of one document when its selections cannot vary (_shared_plan)."""
        # one executor per request; each grouped set is kept alive with its plan, so its id is not
        # reused within the request
        plans: dict[int, tuple[GroupedFieldSet, _Plan]] | None = getattr(self, "_aiq_plans", None)
        if plans is None:
            plans = {}
            self._aiq_plans = plans
            self._aiq_info = _ContextOnly(self.context_value)
        found = plans.get(id(grouped))
        if found is None:
            found = plans[id(grouped)] = (grouped, self._shared_plan(parent_type, grouped))
        return found[1]

    def _shared_plan(self, parent_type: GraphQLObjectType, grouped: GroupedFieldSet) -> _Plan:
        """The plan of this selection made by an earlier request of the same document, else a new one.

        Making a page's plans cost 0.6 ms a search request in the read benchmark (bench/README.md).
        A plan depends only on the parent type and the field nodes of the selection, its nested
        plans on the nodes under them, unless ``@skip``/``@include`` make the selections depend on
        the variables: such documents get plans of their own per request. The nodes come from
        the parsed document (cached by the schema); a shared plan keeps them and the type alive,
        so the ids in its key cannot be reused by other nodes while it exists, and it is dropped
        with its operation (_OperationPlans).
        """
        shared = _operation_plans(self.operation, self.fragments)
        if not shared.static:
            return self._make_plan(parent_type, grouped)
        fields = ((name, *(id(detail.node) for detail in details)) for name, details in grouped.items())
        key = (id(parent_type), *fields)
        plan = shared.plans.get(key)
        if plan is None:
            plan = shared.plans[key] = self._make_plan(parent_type, grouped)
        return plan

    def _make_plan(self, parent_type: GraphQLObjectType, grouped: GroupedFieldSet) -> _Plan:
        lean: list[tuple[str, Callable[..., Any] | None, _Complete, bool, type | None]] = []
        rest: GroupedFieldSet = {}
        for response_name, details in grouped.items():
            name = details[0].node.name.value
            if name == "__typename":
                lean.append((response_name, None, _typename, True, str))
                continue
            field_def = parent_type.fields.get(name)
            resolve = field_def.resolve if field_def is not None else None
            complete = None
            if field_def is not None and not field_def.args and getattr(resolve, _LEAN, False):
                complete = self._completer(field_def.type, details)
            if complete is None:
                rest[response_name] = details
                continue
            nullable = not isinstance(field_def.type, GraphQLNonNull)
            named = field_def.type.of_type if not nullable else field_def.type
            lean.append((response_name, resolve, complete, nullable, _PASSES.get(named)))
        lean_grouped = {name: details for name, details in grouped.items() if name not in rest}
        return _Plan(grouped, tuple(grouped), tuple(lean), rest, parent_type.name, lean_grouped, parent_type)

    def _completer(self, field_type: Any, details: Any) -> _Complete | None:
        """How to complete a lean field's value of this type, or None if graphql-core must."""
        if isinstance(field_type, GraphQLNonNull):
            field_type = field_type.of_type
        if isinstance(field_type, (GraphQLScalarType, GraphQLEnumType)):
            return _leaf(field_type)
        if isinstance(field_type, GraphQLList):
            if any(d.node.directives for d in details):  # @stream, or any other: graphql-core's
                return None
            item_type = field_type.of_type
            item = self._completer(item_type, details)
            return None if item is None else _list(item, not isinstance(item_type, GraphQLNonNull))
        if isinstance(field_type, GraphQLObjectType):
            grouped, new_defer_usages, _ = self.collect_subfields(field_type, details)
            if new_defer_usages:
                return None
            plan = self._plan(field_type, grouped)
            return _object(field_type, plan) if not plan.rest else None
        return None  # interfaces and unions: graphql-core resolves the runtime type

    def build_per_event_executor(self, payload: Any) -> Executor:
        """The executor of one subscription event, with caches of its own: graphql-core's copy
        shares the subscription's memo of sub-selections, which then grows by an entry per event
        (and this executor's plans with it) for as long as the subscription lives."""
        executor = super().build_per_event_executor(payload)
        executor._relevant_sub_fields = {}
        executor._aiq_plans = None  # type: ignore[attr-defined]
        return executor


def _live(executor: weakref.ReferenceType[LeanExecutor]) -> LeanExecutor:
    """The executor a resolver's helper belongs to (alive for as long as its resolvers run)."""
    alive = executor()
    if alive is None:
        raise RuntimeError("the operation's execution has ended")
    return alive


async def _awaited(result: AwaitableOrValue[dict[str, Any]]) -> dict[str, Any]:
    return await result if isawaitable(result) else result


def _typename(value: Any, _info: _ContextOnly, _pending: list[_Pending]) -> Any:
    return value  # never called: __typename is the plan's type name


def _merge(plan: _Plan, lean: dict[str, Any], rest: dict[str, Any]) -> dict[str, Any]:
    """The object's fields in the order the query asked for them."""
    merged: dict[str, Any] = {}
    for name in plan.order:
        if name in lean:
            merged[name] = lean[name]
        elif name in rest:
            merged[name] = rest[name]
    return merged
