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
