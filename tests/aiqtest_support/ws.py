"""A small graphql-transport-ws client on the real `websockets` library."""

from __future__ import annotations

import json
from typing import Any

import websockets


class GraphQLWebSocket:
    """One graphql-transport-ws connection: init, subscribe, read next messages."""

    def __init__(self, connection: Any) -> None:
        self.connection = connection
        self._next_id = 0

    @classmethod
    async def connect(cls, base_url: str, params: dict[str, Any] | None = None) -> GraphQLWebSocket:
        """Open the socket and complete connection_init (raises if refused)."""
        url = base_url.replace("http://", "ws://") + "/graphql"
        conn = await websockets.connect(url, subprotocols=["graphql-transport-ws"])
        await conn.send(json.dumps({"type": "connection_init", "payload": params or {}}))
        ack = json.loads(await conn.recv())
        if ack.get("type") != "connection_ack":
            raise RuntimeError(f"connection refused: {ack}")
        return cls(conn)

    async def subscribe(self, query: str, variables: dict[str, Any] | None = None) -> str:
        """Start a subscription and return its id."""
        self._next_id += 1
        op_id = str(self._next_id)
        payload = {"query": query, "variables": variables or {}}
        await self.connection.send(json.dumps({"id": op_id, "type": "subscribe", "payload": payload}))
        return op_id

    async def receive(self) -> dict[str, Any]:
        """The next protocol message (pings are answered and skipped)."""
        while True:
            message = json.loads(await self.connection.recv())
            if message.get("type") == "ping":
                await self.connection.send(json.dumps({"type": "pong"}))
                continue
            if message.get("type") == "pong":
                continue
            return message

    async def close(self) -> None:
        """Close the socket."""
        await self.connection.close()
