"""The request id: taken from a sane ``X-Request-ID`` header, else made here; echoed in the answer.

Called once per HTTP request or websocket connection by ``ApiApp.__call__`` (pure ASGI: a header
scan, at most one random id, and a ``send`` wrapper that adds one header to the response start).
"""

from __future__ import annotations

import re
from random import getrandbits

from starlette.types import Message, Scope, Send

HEADER = b"x-request-id"
# what a proxy or client may pass on: bounded, and nothing a log line or a header would mangle
_SANE = re.compile(rb"[A-Za-z0-9._:+=/-]{1,128}")


def request_id_of(scope: Scope) -> str:
    """The request's id: a sane ``X-Request-ID`` as sent, or 32 fresh hex digits (an id, not a
    secret: the process's PRNG, reseeded in each forked worker, is a fraction of a urandom call)."""
    for name, value in scope["headers"]:
        if name == HEADER:
            if _SANE.fullmatch(value):
                return value.decode("ascii")
            break
    return f"{getrandbits(128):032x}"


def echoing(send: Send, request_id: str) -> Send:
    """``send`` with ``X-Request-ID`` added to the response's start."""
    header = (HEADER, request_id.encode("ascii"))

    async def send_with_id(message: Message) -> None:
        if message["type"] == "http.response.start":
            message["headers"] = [*message.get("headers", ()), header]
        await send(message)

    return send_with_id
