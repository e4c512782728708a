"""Talk graphql-transport-ws to a real API process (see live_server.api_process) and watch its metrics."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

import httpx
import websockets


class Subscriber:
    """One graphql-transport-ws connection carrying one subscription."""

    def __init__(self, ws: Any) -> None:
        self.ws = ws

    @classmethod
    async def open(
        cls,
        base_url: str,
        query: str,
        variables: dict[str, Any],
        token: str | None = None,
        api_key: str | None = None,
    ) -> Subscriber:
        ws = await websockets.connect(
            base_url.replace("http://", "ws://") + "/graphql", subprotocols=["graphql-transport-ws"]
        )
        payload: dict[str, str] = {"authorization": f"Bearer {token}"} if token else {}
        if api_key:
            payload["x-api-key"] = api_key
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
