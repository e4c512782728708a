"""Run the real API (`aiqleads serve`) in a subprocess and talk graphql-transport-ws to it."""

from __future__ import annotations

import asyncio
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import websockets

from aiqleads.domain.settings import Settings

REPO = Path(__file__).resolve().parents[2]


def free_port() -> int:
    """A TCP port free on loopback right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def api_server(settings: Settings, timeout: float = 60.0) -> Iterator[str]:
    """Start `aiqleads serve` on a free port against the test database; yields its base URL."""
    port = free_port()
    env = dict(os.environ)
    env.update(
        DATABASE_URL=settings.database_url,
        REDIS_URL=settings.redis_url,
        ELASTICSEARCH_URL=settings.elasticsearch_url,
        AIQ_ES_INDEX_PREFIX=settings.es_index_prefix,
        AIQ_ARQ_QUEUE=settings.arq_queue_name,
        AIQ_JWT_SECRET=settings.jwt_secret,
    )
    exe = Path(sys.executable).with_name("aiqleads")
    log = tempfile.NamedTemporaryFile(prefix="aiq-serve-", suffix=".log", delete=False)  # noqa: SIM115
    proc = subprocess.Popen(
        [str(exe), "serve", "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning"],
        cwd=REPO,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + timeout
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"aiqleads serve exited: {Path(log.name).read_text()[-3000:]}")
            try:
                if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"aiqleads serve did not start: {Path(log.name).read_text()[-3000:]}")
            time.sleep(0.1)
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)
        log.close()
        os.unlink(log.name)


class Subscriber:
    """One graphql-transport-ws connection carrying one subscription."""

    def __init__(self, ws: Any) -> None:
        self.ws = ws

    @classmethod
    async def open(
        cls, base_url: str, query: str, variables: dict[str, Any], token: str | None = None
    ) -> Subscriber:
        ws = await websockets.connect(
            base_url.replace("http://", "ws://") + "/graphql", subprotocols=["graphql-transport-ws"]
        )
        payload = {"authorization": f"Bearer {token}"} if token else {}
        await ws.send(json.dumps({"type": "connection_init", "payload": payload}))
        ack = json.loads(await asyncio.wait_for(ws.recv(), 10))
        assert ack["type"] == "connection_ack", ack
        await ws.send(
            json.dumps({"id": "1", "type": "subscribe", "payload": {"query": query, "variables": variables}})
        )
        return cls(ws)

    async def next_message(self, within: float) -> dict[str, Any]:
        """The next non-ping message (raises TimeoutError when none arrives within `within` s)."""
        deadline = time.monotonic() + within
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError
            message = json.loads(await asyncio.wait_for(self.ws.recv(), remaining))
            if message["type"] == "ping":
                await self.ws.send(json.dumps({"type": "pong"}))
                continue
            if message["type"] != "pong":
                return message

    async def close(self) -> None:
        """Close the connection."""
        await self.ws.close()


async def wait_for_gauge(base_url: str, name: str, value: float, within: float = 10.0) -> None:
    """Poll /metrics until a gauge reaches a value (TimeoutError after `within` seconds)."""
    deadline = time.monotonic() + within
    async with httpx.AsyncClient(base_url=base_url, timeout=5) as client:
        while True:
            text = (await client.get("/metrics")).text
            for line in text.splitlines():
                if line.startswith(name + " ") and float(line.split()[1]) >= value:
                    return
            if time.monotonic() > deadline:
                raise TimeoutError(f"{name} never reached {value}")
            await asyncio.sleep(0.05)
