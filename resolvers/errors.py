"""Errors raised at the GraphQL edge that clients are meant to see (never masked)."""

from __future__ import annotations

from graphql import GraphQLError

from aiqleads.domain.errors import DomainError


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
