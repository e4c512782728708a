"""A local HTTP server speaking the OpenAI chat-completions and Anthropic messages wire formats.

Tests point the real langchain-openai / langchain-anthropic clients at it (base_url) to exercise
the pricing-hint path end to end. ``mode`` selects the behaviour of the next answers:
``ok`` (a structured answer with ``multiplier``), ``slow`` (answer after ``delay`` seconds),
``garbage`` (HTTP 200 with a body that is not JSON), ``bad_args`` (a tool call whose arguments
are not JSON) and ``error`` (HTTP 500 with a provider-style error body).
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from aiqtest_support.llm_wire import anthropic_message, openai_completion


@dataclass
class FakeLlmState:
    """Behaviour and a record of requests (path, lower-cased headers, JSON body)."""

    mode: str = "ok"
    multiplier: float = 1.08
    reason: str = "Three cart adds in an hour for a fresh condo."
    delay: float = 0.0
    requests: list[dict[str, Any]] = field(default_factory=list)


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:  # quiet
        return

    def do_POST(self) -> None:
        length = int(self.headers.get("content-length") or 0)
        body = json.loads(self.rfile.read(length) or b"{}")
        state = self.server.state
        state.requests.append(
            {"path": self.path, "headers": {k.lower(): v for k, v in self.headers.items()}, "body": body}
        )
        if state.mode == "slow":
            time.sleep(state.delay)
        if state.mode == "garbage":
            self._send(200, b"<html>definitely not json", "text/html")
            return
        if state.mode == "error":
            self._send(500, json.dumps({"error": {"message": "boom", "type": "server_error"}}).encode())
            return
        arguments = {"multiplier": state.multiplier, "reason": state.reason}
        if self.path.endswith("/chat/completions"):
            # no tools: answered as JSON content (response_format json_schema / json_object)
            args_text = "{not json" if state.mode == "bad_args" else json.dumps(arguments)
            self._send(200, json.dumps(openai_completion(body, args_text, args_text)).encode())
        elif self.path.endswith("/messages"):
            tool_input = None if state.mode == "bad_args" else arguments
            answer = anthropic_message(body, tool_input, "I would rather not say {")
            self._send(200, json.dumps(answer).encode())
        else:
            self._send(404, b'{"error": {"message": "unknown path"}}')

    def _send(self, status: int, payload: bytes, content_type: str = "application/json") -> None:
        try:
            self.send_response(status)
            self.send_header("content-type", content_type)
            self.send_header("content-length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)
        except (BrokenPipeError, ConnectionResetError):  # the client gave up (timeout tests)
            pass


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    state: FakeLlmState


@contextmanager
def llm_server() -> Iterator[tuple[str, FakeLlmState]]:
    """Run the server on a free loopback port; yields (base URL without /v1, state)."""
    server = _Server(("127.0.0.1", 0), _Handler)
    server.state = FakeLlmState()
    thread = threading.Thread(target=server.serve_forever, name="fake-llm", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", server.state
    finally:
        server.shutdown()
        server.server_close()
