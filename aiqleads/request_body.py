"""Reading and checking a GraphQL request body before Strawberry sees it: size, JSON, depth, Unicode."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from starlette.types import Receive, Scope

from aiqleads.domain.text_input import has_lone_surrogates


class BodyTooLarge(Exception):
    """The body is over the limit (detected from Content-Length or while streaming it)."""


@dataclass(frozen=True)
class BadBody(Exception):
    """A body that is not a usable GraphQL request (answered with 400 INVALID_INPUT)."""

    message: str


def declared_length(scope: Scope) -> int | None:
    """The Content-Length header, when present and well-formed."""
    for name, value in scope.get("headers", ()):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


async def read_limited(scope: Scope, receive: Receive, max_bytes: int) -> bytes:
    """The whole body, refusing (BodyTooLarge) as soon as it is known to exceed ``max_bytes``.

    A declared Content-Length over the limit is refused without reading anything; a chunked
    body is read chunk by chunk and abandoned at the first byte past the limit.
    """
    length = declared_length(scope)
    if length is not None and length > max_bytes:
        raise BodyTooLarge
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            break
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > max_bytes:
            raise BodyTooLarge
        chunks.append(chunk)
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


def _depth_and_surrogates(value: Any, max_depth: int) -> None:
    """Walk the parsed JSON iteratively: too deep, or a lone surrogate anywhere → BadBody."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, str):
            if has_lone_surrogates(item):
                raise BadBody("Strings must be valid Unicode (the body holds a lone surrogate).")
            continue
        if isinstance(item, (dict, list)):
            if depth > max_depth:
                raise BadBody(f"The JSON body is nested deeper than {max_depth} levels.")
            children = [*item.keys(), *item.values()] if isinstance(item, dict) else item
            stack.extend((child, depth + 1) for child in children)


def decode_bounded_json(data: str | bytes, max_depth: int) -> Any:
    """JSON from a GET parameter or a websocket frame: too deep (or lone surrogates) is a decode error.

    Strawberry turns a decode error into a 400 (HTTP) or a 4400 close (websocket); a RecursionError
    would have been a 500 or a crashed connection.
    """
    text = data.decode("utf-8", "replace") if isinstance(data, bytes) else data
    try:
        value = json.loads(text)
        _depth_and_surrogates(value, max_depth)
    except RecursionError as exc:
        raise json.JSONDecodeError(f"nested deeper than {max_depth} levels", text, 0) from exc
    except BadBody as exc:
        raise json.JSONDecodeError(exc.message, text, 0) from exc
    return value


def parse_request(body: bytes, max_depth: int) -> Any:
    """The decoded JSON request (an object or a batch list), or BadBody saying what is wrong."""
    if not body:
        raise BadBody("The request body is empty: send a JSON object with a 'query' string.")
    try:
        parsed = json.loads(body)
    except RecursionError as exc:
        raise BadBody(f"The JSON body is nested deeper than {max_depth} levels.") from exc
    except (ValueError, UnicodeDecodeError) as exc:
        raise BadBody("Request body is not valid JSON.") from exc
    if isinstance(parsed, list):
        raise BadBody("Batched requests are not supported: send one operation per request.")
    if not isinstance(parsed, dict):
        raise BadBody("Request body must be a JSON object with a 'query' string.")
    _depth_and_surrogates(parsed, max_depth)
    _check_shape(parsed)
    return parsed


def _check_shape(request: dict[str, Any]) -> None:
    """The GraphQL-over-HTTP request fields, each of the right type (else a JSON 400, not text)."""
    query = request.get("query")
    if not isinstance(query, str) or not query.strip():
        raise BadBody("The request needs a non-empty 'query' string.")
    if request.get("variables") is not None and not isinstance(request["variables"], dict):
        raise BadBody("'variables' must be a JSON object.")
    if request.get("operationName") is not None and not isinstance(request["operationName"], str):
        raise BadBody("'operationName' must be a string.")
    if request.get("extensions") is not None and not isinstance(request["extensions"], dict):
        raise BadBody("'extensions' must be a JSON object.")
