"""Schema extensions: error masking and per-operation metrics."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator

from graphql import GraphQLError
from strawberry.extensions import MaskErrors, SchemaExtension

from aiqleads.resolvers.errors import PublicError

log = logging.getLogger("aiqleads.graphql")


def _should_mask(error: GraphQLError) -> bool:
    original = error.original_error
    if original is None or isinstance(original, (PublicError, GraphQLError)):
        return False  # our typed errors are meant for the client
    if error.path is None:
        return False  # raised while parsing/coercing the request (e.g. a bad enum value): the client's input
    log.error("unexpected error in %s", error.path, exc_info=original)
    return True


def _code_request_errors(errors: list[GraphQLError]) -> None:
    """Give syntax, validation and variable-coercion errors a stable extensions.code."""
    for error in errors:
        if error.path is None and not (error.extensions or {}).get("code"):
            error.extensions = {**(error.extensions or {}), "code": "INVALID_INPUT"}


class RequestErrorCodes(SchemaExtension):
    """Tag errors in the client's request (not in resolvers) with INVALID_INPUT."""

    def on_operation(self) -> Iterator[None]:
        """After the operation, code the errors that came from the request itself."""
        yield
        result = self.execution_context.result
        if result is not None and result.errors:
            _code_request_errors(result.errors)
        if self.execution_context.pre_execution_errors:
            _code_request_errors(self.execution_context.pre_execution_errors)


def masked_errors() -> MaskErrors:
    """Replace unexpected exceptions by a generic message (logged server-side)."""
    return MaskErrors(should_mask_error=_should_mask, error_message="Internal server error")


class OperationMetrics(SchemaExtension):
    """Record latency and error codes of every operation in the app's Prometheus registry."""

    def on_operation(self) -> Iterator[None]:
        """Time the operation and count its error codes (subscriptions are long-lived: no latency)."""
        start = time.perf_counter()
        yield
        ctx = self.execution_context
        metrics = getattr(getattr(ctx.context, "resources", None), "extras", {}).get("metrics")
        if metrics is None:
            return
        op_type = ctx.operation_type.value if ctx.operation_type else "unknown"
        name = ctx.operation_name or "anonymous"
        if op_type != "subscription":
            metrics.operation_latency.labels(name, op_type).observe(time.perf_counter() - start)
        result = ctx.result
        for error in (result.errors or []) if result is not None else []:
            code = (error.extensions or {}).get("code", "INTERNAL")
            metrics.operation_errors.labels(name, str(code)).inc()
