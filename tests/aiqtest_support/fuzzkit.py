"""Posting arbitrary GraphQL requests and checking that none of them is a server error."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest


async def post_raw(
    client: httpx.AsyncClient, headers: dict[str, str], query: str, variables: Any = None
) -> httpx.Response:
    """POST an operation as is: NaN/Infinity are sent as such (the app's JSON parser accepts them)."""
    body = json.dumps({"query": query, "variables": variables or {}}, allow_nan=True)
    return await client.post(
        "/graphql", content=body, headers={**headers, "Content-Type": "application/json"}
    )


def has_lone_surrogate(value: Any) -> bool:
    """Whether a lone surrogate is anywhere in the value (as JSON text, keys included)."""
    return any("\ud800" <= char <= "\udfff" for char in json.dumps(value, ensure_ascii=False))


def server_error(response: httpx.Response) -> str | None:
    """Why the response is a server error (5xx, not JSON, a masked internal error), or None."""
    if response.status_code >= 500:
        return f"HTTP {response.status_code}: {response.text[:500]}"
    try:
        body = response.json()
    except ValueError:
        return f"non-JSON body ({response.status_code}): {response.text[:300]}"
    if not isinstance(body, dict):
        return f"body is not a JSON object: {body!r:.300}"
    for error in body.get("errors") or []:
        code = (error.get("extensions") or {}).get("code")
        if code == "INTERNAL" or error.get("message") == "Internal server error":
            return f"masked internal error: {error}"
    return None


def assert_no_server_error(response: httpx.Response, query: str, variables: Any = None) -> None:
    """Fail with the request when the response is a server error.

    A request holding a lone surrogate only has to stay < 500: the HTTP edge refuses such bodies
    with 400 before any resolver runs, which the resolvers cannot be held to here.
    """
    if has_lone_surrogate([query, variables]):
        problem = (
            f"HTTP {response.status_code}: {response.text[:500]}" if response.status_code >= 500 else None
        )
    else:
        problem = server_error(response)
    if problem is not None:
        sent = json.dumps(variables, allow_nan=True)[:2000]
        pytest.fail(f"{problem}\nquery: {query[:2000]}\nvariables: {sent}", pytrace=False)
