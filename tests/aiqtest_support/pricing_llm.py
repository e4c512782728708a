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
            self._send(200, json.dumps(_openai_answer(body, arguments, state.mode)).encode())
        elif self.path.endswith("/messages"):
            self._send(200, json.dumps(_anthropic_answer(body, arguments, state.mode)).encode())
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


def _openai_answer(request: dict[str, Any], arguments: dict[str, Any], mode: str) -> dict[str, Any]:
    args_text = "{not json" if mode == "bad_args" else json.dumps(arguments)
    message: dict[str, Any] = {"role": "assistant", "content": None}
    tools = request.get("tools") or []
    if tools:
        name = tools[0]["function"]["name"]
        message["tool_calls"] = [
            {"id": "call_pricing_1", "type": "function", "function": {"name": name, "arguments": args_text}}
        ]
        finish = "tool_calls"
    else:  # response_format json_schema / json_object
        message["content"] = args_text
        finish = "stop"
    return {
        "id": "chatcmpl-pricing-1",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": request.get("model", "gpt-4o-mini"),
        "choices": [{"index": 0, "message": message, "logprobs": None, "finish_reason": finish}],
        "usage": {"prompt_tokens": 42, "completion_tokens": 12, "total_tokens": 54},
    }


def _anthropic_answer(request: dict[str, Any], arguments: dict[str, Any], mode: str) -> dict[str, Any]:
    tools = request.get("tools") or []
    if tools and mode != "bad_args":
        content: list[dict[str, Any]] = [
            {"type": "tool_use", "id": "toolu_pricing_1", "name": tools[0]["name"], "input": arguments}
        ]
        stop = "tool_use"
    else:
        content = [{"type": "text", "text": "I would rather not say {"}]
        stop = "end_turn"
    return {
        "id": "msg_pricing_1",
        "type": "message",
        "role": "assistant",
        "model": request.get("model", "claude-haiku-4-5"),
        "content": content,
        "stop_reason": stop,
        "stop_sequence": None,
        "usage": {"input_tokens": 42, "output_tokens": 12},
    }


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
