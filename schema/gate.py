"""The operation gate: admission (cost and budget), error masking, and per-operation metrics.

Each step is a function, called in the same order by ``schema.pipeline`` for every operation on
every transport (``GatedSchema.execute`` over HTTP, ``GatedSchema.stream`` over websockets).
"""

from __future__ import annotations

import functools
import logging
import time
from typing import Any

from graphql import DocumentNode, GraphQLError, GraphQLSchema
from graphql import OperationType as CoreOperationType

from aiqleads.resolvers import limits
from aiqleads.resolvers.errors import PublicError, is_dependency_failure, service_unavailable
from aiqleads.schema.common import ErrorCode
from aiqleads.schema.cost import OperationShape, operation_shape, root_field_names

log = logging.getLogger("aiqleads.graphql")
META_FIELDS = frozenset({"__typename", "__schema", "__type"})
ERROR_CODES = frozenset(code.value for code in ErrorCode)
INTERNAL_MESSAGE = "Internal server error"


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


def _anonymise(error: GraphQLError, context: Any) -> GraphQLError:
    """What the client sees of a masked error: SERVICE_UNAVAILABLE (503) or INTERNAL."""
    if is_dependency_failure(error.original_error):
        limits.set_http_status(context, 503, limits.DEPENDENCY_RETRY_AFTER)
        public = service_unavailable(limits.DEPENDENCY_RETRY_AFTER)
        message, extensions = public.message, public.extensions
    else:
        message, extensions = INTERNAL_MESSAGE, {"code": "INTERNAL"}
    return GraphQLError(
        message,
        nodes=error.nodes,
        source=error.source,
        positions=error.positions,
        path=error.path,
        extensions=extensions,
    )


def mask_errors(errors: list[GraphQLError], context: Any) -> list[GraphQLError]:
    """Typed errors as they are; unexpected exceptions replaced by a generic error (logged)."""
    return [_anonymise(error, context) if _should_mask(error) else error for error in errors]


def code_request_errors(errors: list[GraphQLError]) -> None:
    """Give syntax, validation and variable-coercion errors a stable extensions.code."""
    for error in errors:
        if error.path is None and not (error.extensions or {}).get("code"):
            error.extensions = {**(error.extensions or {}), "code": "INVALID_INPUT"}


async def admission_refusal(
    context: Any,
    document: DocumentNode,
    query: str | None,
    operation_name: str | None,
    variables: dict[str, Any] | None,
    *,
    invalid: bool,
    subscription: bool,
    shape: OperationShape | None = None,
    root_fields: list[str] | None = None,
) -> GraphQLError | None:
    """Why the operation may not run (None: it may, and its budget is charged).

    An invalid operation is cheap to refuse, but not free: it spends one unit. ``shape`` and
    ``root_fields``, when the caller has them cached, are those of this document and operation.
    """
    if invalid:
        await limits.charge_refused(context)
        return None
    shape = shape or operation_shape(document, operation_name, variables)
    return await limits.admit(
        context,
        query,
        variables,
        shape.cost,
        root_fields if root_fields is not None else root_field_names(document, operation_name),
        subscription=subscription,
        depth=shape.depth,
        aliases=shape.aliases,
    )


def operation_label(root_fields: list[str], known: frozenset[str]) -> str:
    """A metric label from a closed set: the root field's name, `multiple`, or `other`."""
    names = set(root_fields)
    if len(names) > 1:
        return "multiple"
    if not names:
        return "other"
    (name,) = names
    return name if name in known or name in META_FIELDS else "other"


@functools.lru_cache(maxsize=16)
def _root_type_fields(schema: GraphQLSchema, op_type: str) -> frozenset[str]:
    root_type = schema.get_root_type(CoreOperationType(op_type)) if op_type != "unknown" else None
    return frozenset(root_type.fields) if root_type is not None else frozenset()


def record_operation(
    context: Any,
    schema: GraphQLSchema,
    document: DocumentNode | None,
    operation_name: str | None,
    op_type: str,
    errors: list[GraphQLError],
    started: float,
    root_fields: list[str] | None = None,
) -> None:
    """Count the operation's error codes and, unless it is a subscription, its latency.

    Labels come from closed sets only (operation type, the schema's root field names, the
    ErrorCode values): nothing a client sends becomes a label value verbatim.
    """
    metrics = getattr(context, "metrics", None)
    if metrics is None:
        return
    if root_fields is None:
        root_fields = root_field_names(document, operation_name) if document is not None else []
    label = operation_label(root_fields, _root_type_fields(schema, op_type))
    if op_type != "subscription":
        metrics.operation_latency.labels(label, op_type).observe(time.perf_counter() - started)
    for error in errors:
        code = str((error.extensions or {}).get("code", "INTERNAL"))
        metrics.operation_errors.labels(label, code if code in ERROR_CODES else "other").inc()
