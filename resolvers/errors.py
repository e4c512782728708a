"""Errors raised at the GraphQL edge that clients are meant to see (never masked)."""

from __future__ import annotations

import functools
import inspect
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, ParamSpec, TypeVar, overload

from graphql import GraphQLError

from aiqleads.domain.errors import DomainError

P = ParamSpec("P")
T = TypeVar("T")


class PublicError(GraphQLError):
    """A GraphQL error with a stable extensions.code, shown to clients as is."""

    def __init__(self, code: str, message: str, field: str | None = None) -> None:
        extensions: dict[str, object] = {"code": code}
        if field:
            extensions["field"] = field
        super().__init__(message, extensions=extensions)


def unauthenticated() -> PublicError:
    """The error for viewer-only fields called without a valid token."""
    return PublicError("UNAUTHENTICATED", "Sign in first: this field needs a valid bearer token.")


def from_domain(error: DomainError) -> PublicError:
    """Turn a domain failure into a public GraphQL error (for queries, which have no payload)."""
    return PublicError(error.code, error.message, error.field)


@dataclass(frozen=True)
class Outcomes:
    """An API counter a mutation counts itself on: the metric's attribute on ApiMetrics, and the
    outcome labels of an answer and of a payload error."""

    counter: str
    ok: str
    refused: str
    repeat: Callable[[Any], bool] | None = None  # an answer that repeats an earlier one is not counted

    def count(self, ctx: Any, ok: bool) -> None:
        """Count one call on the context's metrics (none: nothing)."""
        metrics = getattr(ctx, "metrics", None)
        if metrics is not None:
            getattr(metrics, self.counter).labels(self.ok if ok else self.refused).inc()


def mutation_errors(
    public: Callable[[DomainError], DomainError] | None = None,
    *,
    outcomes: Outcomes | None = None,
) -> Callable[[Callable[P, Awaitable[T]]], Callable[P, Awaitable[T | DomainError]]]:
    """Decorate a mutation resolver: a DomainError it raises is RETURNED (after ``public``, which
    may rename ids for clients), and the schema puts it in the payload's ``errors`` list.

    This is the one place mutations turn expected failures into payload errors, so resolvers
    carry no try/except of their own; any other exception propagates (masked and logged). With
    ``outcomes``, each call is counted as answered or refused (the resolver's first argument is
    its Context).
    """

    def decorate(fn: Callable[P, Awaitable[T]]) -> Callable[P, Awaitable[T | DomainError]]:
        @functools.wraps(fn)
        async def resolver(*args: P.args, **kwargs: P.kwargs) -> T | DomainError:
            try:
                answer = await fn(*args, **kwargs)
            except DomainError as error:
                if outcomes is not None and args:
                    outcomes.count(args[0], ok=False)
                return public(error) if public is not None else error
            if outcomes is not None and args and not (outcomes.repeat and outcomes.repeat(answer)):
                outcomes.count(args[0], ok=True)
            return answer

        return resolver

    return decorate


@overload
def query_errors(fn: Callable[P, Awaitable[T]]) -> Callable[P, Awaitable[T]]: ...


@overload
def query_errors(fn: Callable[P, T]) -> Callable[P, T]: ...


def query_errors(fn: Callable[P, Any]) -> Callable[P, Any]:
    """Decorate a query resolver or argument parser (no payload): a DomainError becomes a PublicError.

    It wraps coroutine functions and plain functions alike (a subscription parses its arguments in a
    plain function before its stream starts).
    """
    if inspect.iscoroutinefunction(fn):

        @functools.wraps(fn)
        async def resolver(*args: P.args, **kwargs: P.kwargs) -> Any:
            try:
                return await fn(*args, **kwargs)
            except DomainError as error:
                raise from_domain(error) from error

        return resolver

    @functools.wraps(fn)
    def parser(*args: P.args, **kwargs: P.kwargs) -> Any:
        try:
            return fn(*args, **kwargs)
        except DomainError as error:
            raise from_domain(error) from error

    return parser


def service_unavailable(retry_after: int) -> PublicError:
    """The error for a request that failed because a backing service (database, Redis, search) is down."""
    error = PublicError("SERVICE_UNAVAILABLE", f"A backing service is unavailable; retry in {retry_after} s.")
    error.extensions = {**(error.extensions or {}), "retryAfter": retry_after}
    return error


def is_dependency_failure(error: BaseException | None) -> bool:
    """Whether an exception means a backing service is down or unreachable (not a bug of ours)."""
    from elasticsearch import ConnectionError as EsConnectionError
    from elasticsearch import ConnectionTimeout
    from redis.exceptions import ConnectionError as RedisConnectionError
    from redis.exceptions import TimeoutError as RedisTimeoutError
    from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
    from sqlalchemy.exc import TimeoutError as PoolTimeout

    seen = 0
    while error is not None and seen < 10:
        if isinstance(
            error,
            (
                ConnectionError,  # includes ConnectionRefusedError and asyncpg's connection failures
                TimeoutError,
                RedisConnectionError,
                RedisTimeoutError,
                EsConnectionError,
                ConnectionTimeout,
                OperationalError,
                InterfaceError,
                PoolTimeout,
            ),
        ):
            return True
        if isinstance(error, DBAPIError) and error.connection_invalidated:
            return True
        if isinstance(error, OSError) and error.errno is not None:
            return True
        error = error.__cause__ or error.__context__
        seen += 1
    return False
