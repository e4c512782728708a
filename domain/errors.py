"""Expected, typed failures of domain services (mapped to payload errors at the edge)."""

from __future__ import annotations


class DomainError(Exception):
    """An expected failure with a stable code from the public ErrorCode enum."""

    def __init__(self, code: str, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.field = field

    def __repr__(self) -> str:
        return f"DomainError({self.code!r}, {self.message!r}, field={self.field!r})"


def invalid_input(message: str, field: str | None = None) -> DomainError:
    """Build an INVALID_INPUT error naming the offending field."""
    return DomainError("INVALID_INPUT", message, field)


def not_found(message: str, field: str | None = None) -> DomainError:
    """Build a NOT_FOUND error."""
    return DomainError("NOT_FOUND", message, field)
