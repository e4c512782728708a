"""The lean pipeline that runs queries and mutations sent over HTTP.

Strawberry's ``Schema.execute`` dispatches every hook of every extension around each step (about
thirty calls per operation, more than the execution of a small query). Over HTTP the same steps run
here in straight-line code, in the same order and through the same functions as the extensions
that websocket operations still pass through (``schema.extensions``): the token limit and parse
(cached), validation (cached), admission, execution, logging, masking and metrics.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import strawberry
from graphql import DocumentNode, GraphQLError, GraphQLSchema, execute, parse
from graphql import ExecutionResult as GraphQLExecutionResult
from graphql.validation import specified_rules
from strawberry.exceptions import MissingQueryError
from strawberry.execution import optimized_is_awaitable
from strawberry.schema.exceptions import CannotGetOperationTypeError, InvalidOperationTypeError
from strawberry.schema.schema import DEFAULT_ALLOWED_OPERATION_TYPES, validate_document
from strawberry.types import ExecutionResult
from strawberry.types.graphql import OperationType
from strawberry.utils.operation import get_operation_type

from aiqleads.resolvers.errors import is_dependency_failure
from aiqleads.schema.cost import OperationShape, operation_shape, root_field_names
from aiqleads.schema.extensions import (
    INTERNAL_MESSAGE,
    admission_refusal,
    code_request_errors,
    log,
    mask_errors,
    record_operation,
)
from aiqleads.schema.lean_fields import use_lean_fields


@dataclass(frozen=True)
class PreparedDocument:
    """A query text parsed and validated: the document (None if it does not parse), its errors,
    and what admission measures of it, per operation name (the shape only without variables)."""

    document: DocumentNode | None
    errors: tuple[GraphQLError, ...]
    _roots: dict[str | None, list[str]] = field(default_factory=dict, compare=False)
    _shapes: dict[str | None, OperationShape] = field(default_factory=dict, compare=False)

    def root_fields(self, operation_name: str | None) -> list[str]:
        """The root fields the named operation selects."""
        roots = self._roots.get(operation_name)
        if roots is None and self.document is not None:
            roots = self._roots[operation_name] = root_field_names(self.document, operation_name)
        return roots or []

    def shape(self, operation_name: str | None, variables: dict[str, Any] | None) -> OperationShape | None:
        """The named operation's shape, when no variables change it (None: measure it per request)."""
        if variables or self.document is None:
            return None
        shape = self._shapes.get(operation_name)
        if shape is None:
            shape = self._shapes[operation_name] = operation_shape(self.document, operation_name, None)
        return shape


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


class GatedSchema(strawberry.Schema):
    """The schema; ``execute`` (HTTP queries and mutations) runs the gate without extension hooks."""

    def __init__(self, *args: Any, max_tokens: int, document_cache_size: int = 256, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.documents = DocumentCache(self._schema, max_tokens, document_cache_size)
        self.lean_fields = use_lean_fields(self._schema)

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
        if not query:
            raise MissingQueryError
        prepared = self.documents.get(query)
        document = prepared.document
        if document is None:  # a syntax error (or too many tokens): refused before any charge
            errors = list(prepared.errors)
            return self._finish(context_value, prepared, operation_name, "unknown", errors, started)
        try:
            op_type = get_operation_type(document, operation_name)
        except RuntimeError as error:
            raise CannotGetOperationTypeError(operation_name) from error
        if op_type not in (allowed_operation_types or DEFAULT_ALLOWED_OPERATION_TYPES):
            raise InvalidOperationTypeError(op_type)
        data: Any = None
        try:
            refusal = await admission_refusal(
                context_value,
                document,
                query,
                operation_name,
                variable_values,
                invalid=bool(prepared.errors),
                subscription=op_type is OperationType.SUBSCRIPTION,
                shape=prepared.shape(operation_name, variable_values),
                root_fields=prepared.root_fields(operation_name),
            )
            if prepared.errors:
                errors = list(prepared.errors)
            elif refusal is not None:
                errors = [refusal]
            else:
                outcome = execute(
                    self._schema,
                    document,
                    root_value=root_value,
                    variable_values=variable_values,
                    operation_name=operation_name,
                    context_value=context_value,
                    is_awaitable=optimized_is_awaitable,  # type: ignore[arg-type]  # a bool predicate
                    executor_class=self.execution_context_class,
                )
                if not isinstance(outcome, GraphQLExecutionResult):  # an awaitable (async resolvers)
                    outcome = await outcome
                data, errors = outcome.data, list(outcome.errors or [])
        except Exception as exc:  # outside the resolvers: a service down is a 503 (masked in _finish)
            errors = [_unexpected(exc)]
        return self._finish(context_value, prepared, operation_name, op_type.value, errors, started, data)

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
