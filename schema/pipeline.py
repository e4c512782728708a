"""The one pipeline every operation runs through, on every transport.

Strawberry's ``Schema.execute`` and ``Schema.stream`` dispatch every hook of every extension around
each step (about thirty calls per operation, more than the execution of a small query, and a
handful of context managers kept alive for as long as a subscription lives). Here the steps run in
straight-line code, through the gate functions of ``schema.gate``: the token limit and parse
(cached), validation (cached), admission, execution, logging, masking and metrics. HTTP queries and
mutations come in through ``execute``; websocket operations (queries, mutations, subscriptions)
through ``stream`` (``open_stream`` from our graphql-transport-ws handler, which may hand a
subscription to ``schema.shared_subscriptions``), admitted the same way before they run.
"""

from __future__ import annotations

import contextlib
import time
import weakref
from collections import OrderedDict
from collections.abc import AsyncGenerator, Callable, Coroutine, Iterable, Sequence
from dataclasses import dataclass, field
from inspect import isawaitable
from typing import Any, Protocol

import strawberry
from graphql import (
    DocumentNode,
    Executor,
    GraphQLError,
    GraphQLSchema,
    OperationDefinitionNode,
    create_source_event_stream,
    execute,
    map_source_to_response_event,
    parse,
)
from graphql import ExecutionResult as GraphQLExecutionResult
from graphql.validation import specified_rules
from strawberry.exceptions import MissingQueryError
from strawberry.execution import optimized_is_awaitable
from strawberry.schema.exceptions import CannotGetOperationTypeError, InvalidOperationTypeError
from strawberry.schema.schema import (
    DEFAULT_ALLOWED_OPERATION_TYPES,
    _coerce_error,
    _coerce_pre_execution_error,
    validate_document,
)
from strawberry.types import ExecutionResult
from strawberry.types.execution import PreExecutionError
from strawberry.types.graphql import OperationType
from strawberry.utils.aio import aclosing
from strawberry.utils.operation import get_operation_type

from aiqleads.domain import log_context
from aiqleads.domain.events import EventHub
from aiqleads.resolvers.errors import is_dependency_failure
from aiqleads.resolvers.subscriptions import HubFeed
from aiqleads.schema.cost import OperationShape, operation_shape, page_key, page_variables, root_field_names
from aiqleads.schema.gate import (
    INTERNAL_MESSAGE,
    META_FIELDS,
    admission_refusal,
    code_request_errors,
    log,
    mask_errors,
    record_operation,
)
from aiqleads.schema.lean_fields import LeanExecutor, use_lean_fields
from aiqleads.schema.shared_subscriptions import SharedSubscriptions


@dataclass(frozen=True)
class PreparedDocument:
    """A query text parsed and validated: the document (None if it does not parse), its errors,
    and what admission measures of it, per operation name."""

    document: DocumentNode | None
    errors: tuple[GraphQLError, ...]
    _roots: dict[str | None, list[str]] = field(default_factory=dict, compare=False)
    _page_variables: dict[str | None, tuple[str, ...]] = field(default_factory=dict, compare=False)
    # by operation name and what the shape reads of the variables (cost.page_key)
    _shapes: dict[tuple[Any, ...], OperationShape] = field(default_factory=dict, compare=False)

    def root_fields(self, operation_name: str | None) -> list[str]:
        """The root fields the named operation selects."""
        roots = self._roots.get(operation_name)
        if roots is None and self.document is not None:
            roots = self._roots[operation_name] = root_field_names(self.document, operation_name)
        return roots or []

    def shape(self, operation_name: str | None, variables: dict[str, Any] | None) -> OperationShape | None:
        """The named operation's shape with these variables, measured once per value of the page
        sizes they set (the only part of them a shape reads: cost.page_variables)."""
        if self.document is None:
            return None
        names = self._page_variables.get(operation_name)
        if names is None:
            names = self._page_variables[operation_name] = page_variables(self.document, operation_name)
        key = (operation_name, *page_key(variables, names))
        shape = self._shapes.get(key)
        if shape is None:
            if len(self._shapes) >= _SHAPES_PER_DOCUMENT:  # page sizes sent by the thousand: start over
                self._shapes.clear()
            shape = self._shapes[key] = operation_shape(self.document, operation_name, variables)
        return shape


_SHAPES_PER_DOCUMENT = 64


class DocumentCache:
    """Parsed and validated documents by query text, least recently used first out."""

    def __init__(self, schema: GraphQLSchema, max_tokens: int, maxsize: int = 256) -> None:
        self._schema = schema
        self._max_tokens = max_tokens
        self._maxsize = maxsize
        self._entries: OrderedDict[str, PreparedDocument] = OrderedDict()

    def get(self, query: str) -> PreparedDocument:
        """The prepared document of this query text (parsed and validated on first sight)."""
        entry = self._entries.get(query)
        if entry is not None:
            self._entries.move_to_end(query)
            return entry
        entry = self._prepare(query)
        self._entries[query] = entry
        if len(self._entries) > self._maxsize:
            self._entries.popitem(last=False)
        return entry

    def _prepare(self, query: str) -> PreparedDocument:
        try:
            document = parse(query, max_tokens=self._max_tokens)
        except GraphQLError as error:
            return PreparedDocument(None, (error,))
        errors = validate_document(self._schema, document, tuple(specified_rules))
        return PreparedDocument(document, tuple(errors))


def _unexpected(exc: Exception) -> GraphQLError:
    """A path-less error for an exception raised outside the resolvers (logged unless a service is down)."""
    if is_dependency_failure(exc):
        return GraphQLError(str(exc), original_error=exc)  # mask_errors makes it SERVICE_UNAVAILABLE
    log.error("unexpected error running an operation", exc_info=exc)
    return GraphQLError(INTERNAL_MESSAGE, extensions={"code": "INTERNAL"})


@dataclass(frozen=True)
class SharedSink:
    """Where a shared subscription's frames go: the operation's id and its socket's text sender."""

    operation_id: str
    send_text: Callable[[str], Coroutine[Any, Any, None]]


@dataclass(frozen=True)
class _Joined:
    leave: Callable[[], None]


async def _prepended(first: Any, rest: AsyncGenerator[Any, None]) -> AsyncGenerator[Any, None]:
    """``rest`` with ``first`` in front again (None: ``rest`` was already over)."""
    async with aclosing(rest):
        if first is not None:
            yield first
        async for item in rest:
            yield item


def _sole_operation_name(document: DocumentNode) -> str | None:
    """The name of the document's one operation (None: it is anonymous, or there are several)."""
    found = None
    for definition in document.definitions:
        if isinstance(definition, OperationDefinitionNode):
            if found is not None:
                return None
            found = definition
    return found.name.value if found is not None and found.name is not None else None


class OperationSpan(Protocol):
    """The span of one operation, told how it ended."""

    def finished(self, errors: Sequence[GraphQLError] | None) -> None:
        """The operation ended with these errors (None or empty: none)."""


class OperationTracer(Protocol):
    """Opens an operation's span (``aiqleads.tracing`` provides one when tracing is on)."""

    def operation(
        self, operation_type: str, root_field: str, operation_name: str | None
    ) -> contextlib.AbstractContextManager[OperationSpan]:
        """A span around the operation, current while it runs."""


class _NoSpan:
    def finished(self, errors: Sequence[GraphQLError] | None) -> None:
        pass


_UNTRACED = contextlib.nullcontext(_NoSpan())  # reusable: entering it allocates nothing


class GatedSchema(strawberry.Schema):
    """The schema; ``execute`` (HTTP) and ``stream`` (websockets) run the gate without extension hooks."""

    def __init__(self, *args: Any, max_tokens: int, document_cache_size: int = 256, **kwargs: Any) -> None:
        kwargs.setdefault("execution_context_class", LeanExecutor)
        super().__init__(*args, **kwargs)
        self.documents = DocumentCache(self._schema, max_tokens, document_cache_size)
        self.lean_fields = use_lean_fields(self._schema)
        self._shared: weakref.WeakKeyDictionary[EventHub, SharedSubscriptions] = weakref.WeakKeyDictionary()
        self.tracer: OperationTracer | None = None  # set by aiqleads.tracing when tracing is on
        self._root_names = {
            kind: frozenset(root.fields)
            for kind, root in (
                ("query", self._schema.query_type),
                ("mutation", self._schema.mutation_type),
                ("subscription", self._schema.subscription_type),
            )
            if root is not None
        }

    def _note_operation(
        self, prepared: PreparedDocument, op_type: str, operation_name: str | None
    ) -> tuple[str, str | None]:
        """The operation's root field(s), from the schema's names only (anything else is ``other``),
        and its name (as sent, else as written in the query), noted on the request's log lines."""
        known = self._root_names.get(op_type, frozenset())
        names = prepared.root_fields(operation_name)
        if len(names) == 1:  # the common case: no join
            root = names[0] if names[0] in known or names[0] in META_FIELDS else "other"
        else:
            labels = (name if name in known or name in META_FIELDS else "other" for name in names)
            root = ",".join(dict.fromkeys(labels)) or "other"
        if operation_name is None and prepared.document is not None:  # the name written in the query
            operation_name = _sole_operation_name(prepared.document)
        log_context.note_operation(op_type, root, operation_name)
        return root, operation_name

    def _span(
        self, op_type: str, root: str, operation_name: str | None
    ) -> contextlib.AbstractContextManager[OperationSpan]:
        tracer = self.tracer
        return _UNTRACED if tracer is None else tracer.operation(op_type, root, operation_name)

    def _choose(
        self,
        query: str | None,
        operation_name: str | None,
        allowed_operation_types: Iterable[OperationType] | None,
    ) -> tuple[PreparedDocument, OperationType | None]:
        """The prepared document and the type of the operation to run (None: it does not parse)."""
        if not query:
            raise MissingQueryError
        prepared = self.documents.get(query)
        if prepared.document is None:
            return prepared, None
        try:
            op_type = get_operation_type(prepared.document, operation_name)
        except RuntimeError as error:
            raise CannotGetOperationTypeError(operation_name) from error
        if op_type not in (allowed_operation_types or DEFAULT_ALLOWED_OPERATION_TYPES):
            raise InvalidOperationTypeError(op_type)
        return prepared, op_type

    async def _refusals(
        self,
        prepared: PreparedDocument,
        op_type: OperationType,
        query: str | None,
        context_value: Any,
        variable_values: dict[str, Any] | None,
        operation_name: str | None,
    ) -> list[GraphQLError]:
        """Admit the operation (its budget is charged): the errors that stop it, none if it may run.

        A failure of admission itself (the budget's Redis down, say) is one of those errors: masked
        later, it becomes SERVICE_UNAVAILABLE."""
        assert prepared.document is not None
        try:
            refusal = await self._admit(
                prepared, query, context_value, variable_values, operation_name, op_type
            )
        except Exception as exc:
            return [_unexpected(exc)]
        if prepared.errors:
            return list(prepared.errors)
        return [refusal] if refusal is not None else []

    async def _admit(
        self,
        prepared: PreparedDocument,
        query: str | None,
        context_value: Any,
        variable_values: dict[str, Any] | None,
        operation_name: str | None,
        op_type: OperationType,
    ) -> GraphQLError | None:
        assert prepared.document is not None
        return await admission_refusal(
            context_value,
            prepared.document,
            query,
            operation_name,
            variable_values,
            invalid=bool(prepared.errors),
            subscription=op_type is OperationType.SUBSCRIPTION,
            shape=prepared.shape(operation_name, variable_values),
            root_fields=prepared.root_fields(operation_name),
        )

    async def execute(
        self,
        query: str | None,
        variable_values: dict[str, Any] | None = None,
        context_value: Any | None = None,
        root_value: Any | None = None,
        operation_name: str | None = None,
        allowed_operation_types: Iterable[OperationType] | None = None,
        operation_extensions: dict[str, Any] | None = None,
    ) -> ExecutionResult:
        """Run one operation: parse, validate, admit, execute, mask and record it."""
        started = time.perf_counter()
        prepared, op_type = self._choose(query, operation_name, allowed_operation_types)
        if op_type is None:  # a syntax error (or too many tokens): refused before any charge
            errors = list(prepared.errors)
            return self._finish(context_value, prepared, operation_name, "unknown", errors, started)
        root, named = self._note_operation(prepared, op_type.value, operation_name)
        with self._span(op_type.value, root, named) as span:
            errors = await self._refusals(
                prepared, op_type, query, context_value, variable_values, operation_name
            )
            data = None
            if not errors:
                data, errors = await self._run(
                    prepared, variable_values, context_value, root_value, operation_name
                )
            result = self._finish(
                context_value, prepared, operation_name, op_type.value, errors, started, data
            )
            span.finished(result.errors)
            return result

    async def _run(
        self,
        prepared: PreparedDocument,
        variable_values: dict[str, Any] | None,
        context_value: Any,
        root_value: Any,
        operation_name: str | None,
    ) -> tuple[Any, list[GraphQLError]]:
        """Execute an admitted query or mutation: its data and errors (not yet masked)."""
        try:
            outcome = execute(
                self._schema,
                prepared.document,  # type: ignore[arg-type]  # admitted: it parsed
                root_value=root_value,
                variable_values=variable_values,
                operation_name=operation_name,
                context_value=context_value,
                is_awaitable=optimized_is_awaitable,  # type: ignore[arg-type]  # a bool predicate
                executor_class=self.execution_context_class,
            )
            if not isinstance(outcome, GraphQLExecutionResult):  # an awaitable (async resolvers)
                outcome = await outcome
            return outcome.data, list(outcome.errors or [])
        except Exception as exc:  # outside the resolvers: a service down is a 503 (masked in _finish)
            return None, [_unexpected(exc)]

    async def stream(  # a coroutine returning the stream, as Strawberry's
        self,
        query: str | None,
        variable_values: dict[str, Any] | None = None,
        context_value: Any | None = None,
        root_value: Any | None = None,
        operation_name: str | None = None,
        operation_extensions: dict[str, Any] | None = None,
        allowed_operation_types: Iterable[OperationType] | None = None,
    ) -> AsyncGenerator[ExecutionResult, None]:
        """Run a websocket operation: its results (one for a query or mutation, a stream for a
        subscription); an error that stops it before it runs is a ``PreExecutionError``."""
        return self._stream_results(
            query, variable_values, context_value, root_value, operation_name, allowed_operation_types
        )

    async def open_stream(
        self,
        query: str | None,
        variable_values: dict[str, Any] | None,
        context_value: Any,
        operation_name: str | None,
        share: SharedSink,
    ) -> AsyncGenerator[ExecutionResult, None] | Callable[[], None]:
        """Like ``stream``, except that a subscription to a hub feed joins the process's shared
        subscriptions (``schema.shared_subscriptions``) after the same gate: then the function
        that ends it is returned, and its events go to ``share``'s socket."""
        results = self._stream_results(
            query, variable_values, context_value, None, operation_name, None, share
        )
        first = await anext(results, None)
        if isinstance(first, _Joined):
            await results.aclose()
            return first.leave
        return _prepended(first, results)

    async def _stream_results(
        self,
        query: str | None,
        variable_values: dict[str, Any] | None,
        context_value: Any,
        root_value: Any,
        operation_name: str | None,
        allowed_operation_types: Iterable[OperationType] | None,
        share: SharedSink | None = None,
    ) -> AsyncGenerator[Any, None]:
        started = time.perf_counter()
        try:
            prepared, op_type = self._choose(query, operation_name, allowed_operation_types)
        except (MissingQueryError, CannotGetOperationTypeError, InvalidOperationTypeError) as error:
            errors = [_coerce_pre_execution_error(error)]
            yield self._refused(context_value, None, operation_name, "unknown", errors, started)
            return
        if op_type is None:  # the websocket handler closes the connection on a syntax error
            yield self._refused(
                context_value, prepared, operation_name, "unknown", list(prepared.errors), started
            )
            return
        root, named = self._note_operation(prepared, op_type.value, operation_name)
        log.info("websocket %s %s", op_type.value, root)
        # the span covers admission and a query's or mutation's execution, never a yield (a
        # subscription's events are not one span)
        with self._span(op_type.value, root, named) as span:
            refusals = await self._refusals(
                prepared, op_type, query, context_value, variable_values, operation_name
            )
            data, errors = None, refusals
            if not refusals and op_type is not OperationType.SUBSCRIPTION:
                data, errors = await self._run(
                    prepared, variable_values, context_value, root_value, operation_name
                )
            span.finished(errors)
        if refusals:  # an ``error`` message, as for a refusal over HTTP before anything runs
            yield self._refused(context_value, prepared, operation_name, op_type.value, refusals, started)
            return
        if op_type is not OperationType.SUBSCRIPTION:
            yield self._finish(context_value, prepared, operation_name, op_type.value, errors, started, data)
            return
        if share is not None and query is not None:
            shared = self.shared_subscriptions(context_value.deps.event_hub)
            joined = shared.join_existing(
                query, operation_name, variable_values, context_value, share.operation_id, share.send_text
            )
            if joined is not None:
                yield _Joined(joined)
                return
        try:
            executor = (self.execution_context_class or Executor).build(
                self._schema,
                prepared.document,  # type: ignore[arg-type]  # parsed: op_type is not None
                root_value=root_value,
                context_value=context_value,
                raw_variable_values=variable_values,
                operation_name=operation_name,
            )
            if isinstance(executor, list):  # the variables do not fit the operation
                yield self._refused(
                    context_value, prepared, operation_name, "subscription", executor, started
                )
                return
            source = create_source_event_stream(executor)
            if isawaitable(source):
                source = await source
        except Exception as exc:  # making the source stream failed outside its resolver: masked
            yield self._refused(
                context_value, prepared, operation_name, "subscription", [_unexpected(exc)], started
            )
            return
        if isinstance(source, GraphQLExecutionResult):  # the field's resolver refused: a result, as
            errors = list(source.errors or [])  # the reference server (graphql-ws) sends one
            yield self._finish(context_value, prepared, operation_name, "subscription", errors, started)
            return
        if share is not None and isinstance(source, HubFeed):
            assert query is not None
            shared = self.shared_subscriptions(source.ctx.deps.event_hub)
            leave = shared.join(
                query,
                prepared,
                operation_name,
                variable_values,
                executor,
                source,
                share.operation_id,
                share.send_text,
            )
            yield _Joined(leave)
            return
        responses = map_source_to_response_event(executor, source)
        async with aclosing(responses):
            try:
                async for event in responses:
                    if not event.errors:  # the common case: nothing to log, mask or count
                        yield ExecutionResult(data=event.data, errors=None)
                        continue
                    errors = list(event.errors)
                    yield self._finish(
                        context_value, prepared, operation_name, "subscription", errors, started, event.data
                    )
            except Exception as exc:  # graphql-core lets an error of the source stream through
                errors = [_coerce_error(exc)]
                yield self._finish(context_value, prepared, operation_name, "subscription", errors, started)

    def shared_subscriptions(self, hub: EventHub) -> SharedSubscriptions:
        """The shared subscriptions of this event hub (made on first use)."""
        shared = self._shared.get(hub)
        if shared is None:
            shared = self._shared[hub] = SharedSubscriptions(self, hub)
        return shared

    def finish_subscription_event(
        self,
        context: Any,
        prepared: PreparedDocument,
        operation_name: str | None,
        errors: list[GraphQLError],
        started: float,
    ) -> ExecutionResult:
        """A shared subscription's event with errors: logged, masked and counted like any other."""
        return self._finish(context, prepared, operation_name, "subscription", errors, started)

    def _refused(
        self,
        context: Any,
        prepared: PreparedDocument | None,
        operation_name: str | None,
        op_type: str,
        errors: list[GraphQLError],
        started: float,
    ) -> PreExecutionError:
        """The operation stopped before it ran, as the websocket handler expects it."""
        if prepared is None:
            prepared = PreparedDocument(None, ())
        result = self._finish(context, prepared, operation_name, op_type, errors, started)
        return PreExecutionError(data=None, errors=result.errors)

    def _finish(
        self,
        context: Any,
        prepared: PreparedDocument,
        operation_name: str | None,
        op_type: str,
        errors: list[GraphQLError],
        started: float,
        data: Any = None,
    ) -> ExecutionResult:
        if errors:
            self._process_errors(errors)  # Strawberry's logging of every error, as in its execute
            errors = mask_errors(errors, context)
            code_request_errors(errors)
        document, roots = prepared.document, prepared.root_fields(operation_name)
        record_operation(context, self._schema, document, operation_name, op_type, errors, started, roots)
        return ExecutionResult(data=data, errors=errors or None)
