"""A loopback server speaking the OpenAI chat-completions and Anthropic messages wire formats, so the
real langchain-openai / langchain-anthropic clients can be exercised without the real services."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from aiqtest_support.local_http import LoopbackServer

Answer = Callable[[dict[str, Any]], dict[str, Any]]


@dataclass
class LlmWireServer:
    """Answers every request with answer(request_json) as the tool call's arguments.

    mode: "ok", "http_500", "bad_arguments" (unparseable tool arguments), "no_tool" (plain text),
    or "slow" (sleeps `delay` seconds first).
    """

    answer: Answer
    mode: str = "ok"
    delay: float = 5.0
    requests: list[dict[str, Any]] = field(default_factory=list)
    headers: list[dict[str, str]] = field(default_factory=list)
    base_url: str = ""
    _server: LoopbackServer = field(default_factory=LoopbackServer)

    async def start(self) -> str:
        """Bind to a free loopback port; returns the base URL (no /v1)."""
        app = web.Application()
        app.router.add_post("/v1/chat/completions", self._openai)
        app.router.add_post("/v1/messages", self._anthropic)
        self.base_url = await self._server.serve(app)
        return self.base_url

    async def stop(self) -> None:
        """Stop the server."""
        await self._server.stop()

    async def _common(self, request: web.Request) -> dict[str, Any] | web.Response:
        body = await request.json()
        self.requests.append(body)
        self.headers.append({k.lower(): v for k, v in request.headers.items()})
        if self.mode == "slow":
            await asyncio.sleep(self.delay)
        if self.mode == "http_500":
            return web.json_response({"error": {"message": "overloaded", "type": "server_error"}}, status=500)
        return body

    async def _openai(self, request: web.Request) -> web.Response:
        body = await self._common(request)
        if isinstance(body, web.Response):
            return body
        arguments = "{not json" if self.mode == "bad_arguments" else json.dumps(self.answer(body))
        tool_arguments = None if self.mode == "no_tool" else arguments
        return web.json_response(openai_completion(body, tool_arguments, "I cannot help with that."))

    async def _anthropic(self, request: web.Request) -> web.Response:
        body = await self._common(request)
        if isinstance(body, web.Response):
            return body
        tool_input = None if self.mode in ("no_tool", "bad_arguments") else self.answer(body)
        return web.json_response(anthropic_message(body, tool_input, "Sorry, I cannot produce that {"))


def openai_completion(request: dict[str, Any], tool_arguments: str | None, text: str) -> dict[str, Any]:
    """A chat.completion answering `request`: a call of its first tool with `tool_arguments` (JSON
    text, possibly broken on purpose), or the plain `text` when there is no tool or no arguments."""
    message: dict[str, Any] = {"role": "assistant", "content": None, "refusal": None}
    tools = request.get("tools") or []
    if tools and tool_arguments is not None:
        name = tools[0]["function"]["name"]
        message["tool_calls"] = [
            {"id": "call_wire_1", "type": "function", "function": {"name": name, "arguments": tool_arguments}}
        ]
        finish = "tool_calls"
    else:
        message["content"] = text
        finish = "stop"
    return {
        "id": "chatcmpl-wire-1",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": request.get("model", "gpt-4o-mini"),
        "choices": [{"index": 0, "message": message, "logprobs": None, "finish_reason": finish}],
        "usage": {"prompt_tokens": 120, "completion_tokens": 40, "total_tokens": 160},
    }


def anthropic_message(
    request: dict[str, Any], tool_input: dict[str, Any] | None, text: str
) -> dict[str, Any]:
    """A messages-API answer to `request`: a tool_use of its first tool with `tool_input`, or the
    plain `text` when there is no tool or no input."""
    tools = request.get("tools") or []
    if tools and tool_input is not None:
        content: list[dict[str, Any]] = [
            {"type": "tool_use", "id": "toolu_wire_1", "name": tools[0]["name"], "input": tool_input}
        ]
        stop = "tool_use"
    else:
        content = [{"type": "text", "text": text}]
        stop = "end_turn"
    return {
        "id": "msg_wire_1",
        "type": "message",
        "role": "assistant",
        "model": request.get("model", "claude-haiku-4-5"),
        "content": content,
        "stop_reason": stop,
        "stop_sequence": None,
        "usage": {"input_tokens": 120, "output_tokens": 40},
    }


def prompt_text(body: dict[str, Any]) -> str:
    """All message text of a request (either provider), for assertions on the prompt."""
    parts: list[str] = []
    if isinstance(body.get("system"), str):
        parts.append(body["system"])
    for message in body.get("messages", []):
        content = message.get("content")
        if isinstance(content, str):
            parts.append(content)
        elif isinstance(content, list):
            parts += [c.get("text", "") for c in content if isinstance(c, dict)]
    return "\n".join(parts)
