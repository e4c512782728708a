"""Stand-ins for the alert receivers on their real wire formats, and a TCP proxy a test can cut.

- ``SlackWebhook``: Slack's incoming webhook (POST JSON with ``text``/``attachments``, answers ``ok``).
- ``PagerDutyEvents``: PagerDuty's Events API v2 (POST /v2/enqueue; checks the fields the API
  requires and answers 202 with a ``dedup_key``, or 400 like PagerDuty for an invalid event).
- ``TcpProxy``: forwards a loopback port to a real service; ``close()`` refuses new connections and
  cuts the open ones (the service looks down to its client), ``open()`` restores it on the same port.

All of them run on a ``LoopThread``, an event loop of their own, so a test (or a helper) that blocks
its thread never stalls them.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

from aiohttp import web

from aiqtest_support.live_server import free_port
from aiqtest_support.local_http import LoopbackServer

T = TypeVar("T")
EVENT_ACTIONS = ("trigger", "acknowledge", "resolve")
PAGERDUTY_SEVERITIES = ("critical", "error", "warning", "info")


class LoopThread:
    """An asyncio event loop running in a daemon thread until ``stop()``."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, name="alert-wire", daemon=True)
        self._thread.start()

    def run(self, coro: Coroutine[Any, Any, T], timeout: float = 30.0) -> T:
        """Run ``coro`` on the loop and wait for its result."""
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def stop(self) -> None:
        """Stop the loop and its thread."""
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(timeout=10)
        self.loop.close()


class _Receiver:
    """Records every accepted delivery (thread-safe reads through ``received()``)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._received: list[dict[str, Any]] = []
        self.rejected: list[str] = []
        self._server = LoopbackServer()
        self.base_url = ""

    def _record(self, body: dict[str, Any]) -> None:
        with self._lock:
            self._received.append(body)

    def received(self) -> list[dict[str, Any]]:
        """The deliveries so far, oldest first."""
        with self._lock:
            return list(self._received)

    def wait_for(
        self, match: Callable[[dict[str, Any]], bool], timeout: float, what: str, since: int = 0
    ) -> dict[str, Any]:
        """The first delivery from the ``since``-th on that ``match``es, waiting up to ``timeout`` s."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for body in self.received()[since:]:
                if match(body):
                    return body
            time.sleep(0.1)
        raise AssertionError(f"no {what} within {timeout:.0f}s; received: {self.received()}")

    async def start(self, app: web.Application) -> None:
        """Serve on a free loopback port."""
        self.base_url = await self._server.serve(app)

    async def stop(self) -> None:
        """Stop serving."""
        await self._server.stop()


class SlackWebhook(_Receiver):
    """Slack's incoming webhook: POST /services/... with a JSON message."""

    PATH = "/services/T0AIQ/B0AIQ/aiqleads-test"

    @property
    def url(self) -> str:
        """The webhook URL to configure (AIQ_SLACK_WEBHOOK_URL)."""
        return self.base_url + self.PATH

    async def start(self) -> None:  # type: ignore[override]
        """Serve the webhook."""
        app = web.Application()
        app.router.add_post(self.PATH, self._post)
        await super().start(app)

    async def _post(self, request: web.Request) -> web.Response:
        try:
            body = await request.json()
        except ValueError:
            self.rejected.append("invalid JSON")
            return web.Response(status=400, text="invalid_payload")
        if not isinstance(body, dict) or not (body.get("text") or body.get("attachments")):
            self.rejected.append(f"no text or attachments: {body!r}")
            return web.Response(status=400, text="no_text")
        self._record(body)
        return web.Response(text="ok")


class PagerDutyEvents(_Receiver):
    """PagerDuty's Events API v2: POST /v2/enqueue."""

    def __init__(self, routing_key: str) -> None:
        super().__init__()
        self.routing_key = routing_key

    @property
    def url(self) -> str:
        """The events URL to configure (AIQ_PAGERDUTY_URL)."""
        return self.base_url + "/v2/enqueue"

    async def start(self) -> None:  # type: ignore[override]
        """Serve the events endpoint."""
        app = web.Application()
        app.router.add_post("/v2/enqueue", self._enqueue)
        await super().start(app)

    def _problems(self, event: Any) -> list[str]:
        if not isinstance(event, dict):
            return ["the event is not an object"]
        problems = []
        if event.get("routing_key") != self.routing_key:
            problems.append(f"routing_key {event.get('routing_key')!r} is not ours")
        action = event.get("event_action")
        if action not in EVENT_ACTIONS:
            problems.append(f"event_action {action!r}")
        if action != "trigger" and not event.get("dedup_key"):
            problems.append(f"{action} without a dedup_key")
        if action == "trigger":
            payload = event.get("payload")
            if not isinstance(payload, dict):
                return [*problems, "a trigger without a payload"]
            for name in ("summary", "source"):
                if not isinstance(payload.get(name), str) or not payload[name]:
                    problems.append(f"payload.{name} missing")
            if payload.get("severity") not in PAGERDUTY_SEVERITIES:
                problems.append(f"payload.severity {payload.get('severity')!r}")
        return problems

    async def _enqueue(self, request: web.Request) -> web.Response:
        try:
            event = await request.json()
        except ValueError:
            self.rejected.append("invalid JSON")
            return web.json_response(
                {"status": "invalid event", "message": "Event object is invalid"}, status=400
            )
        problems = self._problems(event)
        if problems:
            self.rejected.extend(problems)
            return web.json_response(
                {"status": "invalid event", "message": "Event object is invalid", "errors": problems},
                status=400,
            )
        self._record(event)
        return web.json_response(
            {"status": "success", "message": "Event processed", "dedup_key": event.get("dedup_key", "")},
            status=202,
        )


class TcpProxy:
    """Forwards 127.0.0.1:<port> to ``upstream`` (host, port) while open."""

    def __init__(self, upstream: tuple[str, int]) -> None:
        self.upstream = upstream
        self.port = free_port()
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()

    @property
    def url(self) -> str:
        """``http://127.0.0.1:<port>``."""
        return f"http://127.0.0.1:{self.port}"

    async def open(self) -> None:
        """Accept connections on the port again."""
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", self.port)

    async def close(self) -> None:
        """Refuse new connections and cut every open one."""
        if self._server is not None:
            self._server.close()
            self._server = None
        for writer in list(self._writers):
            writer.transport.abort()
        self._writers.clear()

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(OSError, asyncio.CancelledError):
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        writer.transport.abort()

    async def _serve(self, client_reader: asyncio.StreamReader, client_writer: asyncio.StreamWriter) -> None:
        try:
            up_reader, up_writer = await asyncio.open_connection(*self.upstream)
        except OSError:
            client_writer.transport.abort()
            return
        self._writers.update((client_writer, up_writer))
        try:
            await asyncio.gather(self._pipe(client_reader, up_writer), self._pipe(up_reader, client_writer))
        finally:
            self._writers.discard(client_writer)
            self._writers.discard(up_writer)
