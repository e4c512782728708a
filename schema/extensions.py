"""Schema extensions: admission (cost and budget), error masking, and per-operation metrics."""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator, Iterator

from graphql import GraphQLError
from graphql import OperationType as CoreOperationType
from strawberry.extensions import MaskErrors, SchemaExtension
from strawberry.types import ExecutionContext
from strawberry.types.graphql import OperationType

from aiqleads.resolvers import limits
from aiqleads.resolvers.errors import PublicError, is_dependency_failure, service_unavailable
from aiqleads.schema.common import ErrorCode
from aiqleads.schema.cost import operation_shape, root_field_names

log = logging.getLogger("aiqleads.graphql")
META_FIELDS = frozenset({"__typename", "__schema", "__type"})
ERROR_CODES = frozenset(code.value for code in ErrorCode)


def _should_mask(error: GraphQLError) -> bool:
    original = error.original_error
    if original is None or isinstance(original, (PublicError, GraphQLError)):
        return False  # our typed errors are meant for the client
    if error.path is None and not is_dependency_failure(original):
        return False  # raised while parsing/coercing the request (e.g. a bad enum value): the client's input
    if is_dependency_failure(original):
        log.warning("a backing service failed in %s: %r", error.path, original)
    else:
        log.error("unexpected error in %s", error.path, exc_info=original)
    return True


def _code_request_errors(errors: list[GraphQLError]) -> None:
    """Give syntax, validation and variable-coercion errors a stable extensions.code."""
    for error in errors:
        if error.path is None and not (error.extensions or {}).get("code"):
            error.extensions = {**(error.extensions or {}), "code": "INVALID_INPUT"}


class DependencyAwareMaskErrors(MaskErrors):
    """Mask unexpected exceptions; a backing service that is down becomes SERVICE_UNAVAILABLE (503)."""

    def anonymise_error(self, error: GraphQLError) -> GraphQLError:
        """The client's view of an unexpected error (the original is logged, never sent)."""
        if is_dependency_failure(error.original_error):
            ctx = self.execution_context.context
            limits.set_http_status(ctx, 503, limits.DEPENDENCY_RETRY_AFTER)
            public = service_unavailable(limits.DEPENDENCY_RETRY_AFTER)
            return GraphQLError(
                public.message,
                nodes=error.nodes,
                source=error.source,
                positions=error.positions,
                path=error.path,
                extensions=public.extensions,
            )
        masked = super().anonymise_error(error)
        masked.extensions = {"code": "INTERNAL"}
        return masked


def masked_errors() -> MaskErrors:
    """Replace unexpected exceptions by a generic message (logged server-side)."""
    return DependencyAwareMaskErrors(should_mask_error=_should_mask, error_message="Internal server error")


def _is_subscription(ec: ExecutionContext) -> bool:
    try:
        return ec.operation_type is OperationType.SUBSCRIPTION
    except RuntimeError:  # no operation can be chosen: execution reports it
        return False


class OperationBudget(SchemaExtension):
    """Admit each operation (HTTP or websocket) before it runs: input hygiene, cost with the
    variables sent, one sign-in field at most, and the principal's cost-weighted budget.

    It runs in the validation step, after the (cached) validation, so a refusal is a
    pre-execution error: an ``error`` message over websockets, 429/503 with Retry-After over HTTP.
    """

    async def on_validate(self) -> AsyncIterator[None]:
        """Refuse the operation by setting it a pre-execution error (or charge its budget)."""
        ec = self.execution_context
        document = ec.graphql_document
        if document is not None and ec.pre_execution_errors:
            # an invalid operation is cheap to refuse, but not free: it spends one unit
            await limits.charge_refused(ec.context)
        elif document is not None:
            shape = operation_shape(document, ec.operation_name, ec.variables)
            refusal = await limits.admit(
                ec.context,
                ec.query,
                ec.variables,
                shape.cost,
                root_field_names(document, ec.operation_name),
                subscription=_is_subscription(ec),
                depth=shape.depth,
                aliases=shape.aliases,
            )
            if refusal is not None:
                ec.pre_execution_errors = [refusal]
        yield


def operation_label(root_fields: list[str], known: frozenset[str]) -> str:
    """A metric label from a closed set: the root field's name, `multiple`, or `other`."""
    names = set(root_fields)
    if len(names) > 1:
        return "multiple"
    if not names:
        return "other"
    (name,) = names
    return name if name in known or name in META_FIELDS else "other"


class OperationMetrics(SchemaExtension):
    """Tag errors in the client's request (not in resolvers) with INVALID_INPUT, and record the
    latency and error codes of every operation in the app's Prometheus registry.

    One extension rather than two: every hook of every extension costs each operation.

    Labels come from closed sets only (operation type, the schema's root field names, the
    ErrorCode values): nothing a client sends becomes a label value verbatim.
    """

    def on_operation(self) -> Iterator[None]:
        """Time the operation and count its error codes (subscriptions are long-lived: no latency)."""
        start = time.perf_counter()
        yield
        ctx = self.execution_context
        result = ctx.result
        errors = (result.errors or []) if result is not None else []
        errors = errors + (ctx.pre_execution_errors or [])
        _code_request_errors(errors)
        metrics = getattr(ctx.context, "metrics", None)
        if metrics is None:
            return
        try:
            op_type = ctx.operation_type.value
        except RuntimeError:  # no operation could be chosen (e.g. a syntax error)
            op_type = "unknown"
        document = ctx.graphql_document
        roots = root_field_names(document, ctx.operation_name) if document is not None else []
        root_type = (
            ctx.schema._schema.get_root_type(CoreOperationType(op_type)) if op_type != "unknown" else None
        )
        known = frozenset(root_type.fields) if root_type is not None else frozenset()
        label = operation_label(roots, known)
        if op_type != "subscription":
            metrics.operation_latency.labels(label, op_type).observe(time.perf_counter() - start)
        counted = (result.errors or []) if result is not None else (ctx.pre_execution_errors or [])
        for error in counted:
            code = str((error.extensions or {}).get("code", "INTERNAL"))
            metrics.operation_errors.labels(label, code if code in ERROR_CODES else "other").inc()
