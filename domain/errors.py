"""Expected, typed failures of domain services (mapped to payload errors at the edge)."""

from __future__ import annotations

from enum import StrEnum, unique


@unique
class ErrorCode(StrEnum):
    """Machine-readable reason of an expected failure; the GraphQL ``ErrorCode`` enum is built from it."""

    # The order is the order of the published enum (schema/schema.graphql).
    INVALID_INPUT = "INVALID_INPUT"
    NOT_FOUND = "NOT_FOUND"
    UNAUTHENTICATED = "UNAUTHENTICATED"
    FORBIDDEN = "FORBIDDEN"
    RATE_LIMITED = "RATE_LIMITED"
    LEAD_UNAVAILABLE = "LEAD_UNAVAILABLE"
    ALREADY_IN_CART = "ALREADY_IN_CART"
    ALREADY_PURCHASED = "ALREADY_PURCHASED"
    CART_FULL = "CART_FULL"
    CART_EMPTY = "CART_EMPTY"
    HOLD_EXPIRED = "HOLD_EXPIRED"
    HOLD_EXTENSION_NOT_ALLOWED = "HOLD_EXTENSION_NOT_ALLOWED"
    INSUFFICIENT_CREDITS = "INSUFFICIENT_CREDITS"
    IDEMPOTENCY_CONFLICT = "IDEMPOTENCY_CONFLICT"
    RETURN_WINDOW_CLOSED = "RETURN_WINDOW_CLOSED"
    EMAIL_TAKEN = "EMAIL_TAKEN"
    INVALID_CREDENTIALS = "INVALID_CREDENTIALS"
    ALREADY_RETURNED = "ALREADY_RETURNED"
    PAYMENT_DECLINED = "PAYMENT_DECLINED"
    PAYMENT_UNAVAILABLE = "PAYMENT_UNAVAILABLE"
    RETURN_LIMIT = "RETURN_LIMIT"
    ALREADY_REVIEWED = "ALREADY_REVIEWED"
    ALREADY_ON_TIER = "ALREADY_ON_TIER"
    COST_LIMIT_EXCEEDED = "COST_LIMIT_EXCEEDED"
    SERVICE_UNAVAILABLE = "SERVICE_UNAVAILABLE"
    INTERNAL = "INTERNAL"
    ALREADY_REPLAYED = "ALREADY_REPLAYED"


class DomainError(Exception):
    """An expected failure with a stable code from the public ErrorCode enum."""

    def __init__(self, code: ErrorCode, message: str, field: str | None = None) -> None:
        super().__init__(message)
        # untyped callers (tests, scripts) may pass a plain string: a code outside the enum fails here,
        # where it is raised, rather than at the edge when the payload is built
        self.code: ErrorCode = ErrorCode(code)
        self.message = message
        self.field = field

    def __repr__(self) -> str:
        return f"DomainError({self.code.value!r}, {self.message!r}, field={self.field!r})"


def invalid_input(message: str, field: str | None = None) -> DomainError:
    """Build an INVALID_INPUT error naming the offending field."""
    return DomainError(ErrorCode.INVALID_INPUT, message, field)


def not_found(message: str, field: str | None = None) -> DomainError:
    """Build a NOT_FOUND error."""
    return DomainError(ErrorCode.NOT_FOUND, message, field)
