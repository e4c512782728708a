"""One decorator turns a raised DomainError into what a mutation payload lists as ``errors``, and
one turns it into a public GraphQL error for queries; nothing else is swallowed."""

from __future__ import annotations

import pytest

from aiqleads.domain.errors import DomainError, ErrorCode
from aiqleads.resolvers.errors import PublicError, mutation_errors, query_errors

pytestmark = pytest.mark.unit


@mutation_errors()
async def hold(lead_id: str) -> str:
    if lead_id == "taken":
        raise DomainError(ErrorCode.LEAD_UNAVAILABLE, "This lead has no free seat.", "leadId")
    if lead_id == "bug":
        raise KeyError("a bug, not an expected failure")
    return f"held {lead_id}"


def renamed(error: DomainError) -> DomainError:
    return DomainError(error.code, error.message, "publicId")


@mutation_errors(renamed)
async def checkout() -> str:
    raise DomainError(ErrorCode.HOLD_EXPIRED, "A hold expired.", "leadId")


@query_errors
async def purchases(after: str | None) -> list[str]:
    if after == "garbage":
        raise DomainError(ErrorCode.INVALID_INPUT, "Not a purchase id.", "after")
    return []


async def test_a_domain_error_is_returned_for_the_payload() -> None:
    assert await hold("lead-1") == "held lead-1"
    error = await hold("taken")
    assert isinstance(error, DomainError)
    assert (error.code, error.field) == (ErrorCode.LEAD_UNAVAILABLE, "leadId")


async def test_the_public_mapping_is_applied_to_the_returned_error() -> None:
    error = await checkout()
    assert (
        isinstance(error, DomainError) and error.field == "publicId" and error.code == ErrorCode.HOLD_EXPIRED
    )


async def test_unexpected_exceptions_are_not_turned_into_payload_errors() -> None:
    with pytest.raises(KeyError):
        await hold("bug")


async def test_a_query_raises_a_public_error_with_code_and_field() -> None:
    assert await purchases(None) == []
    with pytest.raises(PublicError) as raised:
        await purchases("garbage")
    assert raised.value.extensions == {"code": ErrorCode.INVALID_INPUT, "field": "after"}
    assert raised.value.message == "Not a purchase id."
