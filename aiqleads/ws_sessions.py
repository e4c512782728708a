"""Websocket lifetimes: close a connection when its token expires, and cap connections per user.

Each authenticated connection holds a lease in a Redis sorted set per user (member: the
connection, score: the lease's end), renewed by the connection's watchdog; a crashed process's
leases simply run out. The cap counts live leases across every API process.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime

from redis.asyncio import Redis
from starlette.websockets import WebSocket, WebSocketState

log = logging.getLogger("aiqleads.ws")

LEASE_SECONDS = 90
RENEW_SECONDS = 30
TOKEN_EXPIRED_CLOSE_CODE = 4401

# Drop expired leases, refuse past the cap, else take a lease (one round trip).
_ACQUIRE = """
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[3]) then return 0 end
redis.call('ZADD', KEYS[1], ARGV[2], ARGV[4])
redis.call('EXPIRE', KEYS[1], ARGV[5])
return 1
"""


def _key(principal: str) -> str:
    return f"aiq:ws:conn:{principal}"


@dataclass
class WebsocketSession:
    """One websocket: its connection lease (per user, API key or address) and its watchdog."""

    redis: Redis
    websocket: WebSocket
    principal: str
    expires_at: datetime | None
    connection_id: str = field(default_factory=lambda: uuid.uuid4().hex)
    _task: asyncio.Task[None] | None = None

    async def acquire(self, max_connections: int) -> bool:
        """Take a connection lease for the principal; False when it already holds ``max_connections``."""
        if max_connections <= 0:
            return True
        now = time.time()
        taken = await self.redis.eval(  # type: ignore[misc]
            _ACQUIRE,
            1,
            _key(self.principal),
            str(now),
            str(now + LEASE_SECONDS),
            str(max_connections),
            self.connection_id,
            str(LEASE_SECONDS * 2),
        )
        return bool(int(taken))

    def start(self) -> None:
        """Start the watchdog (token expiry and lease renewal)."""
        self._task = asyncio.create_task(self._watch())

    async def _watch(self) -> None:
        while self.websocket.application_state != WebSocketState.DISCONNECTED:
            now = datetime.now(UTC)
            if self.expires_at is not None and now >= self.expires_at:
                with contextlib.suppress(Exception):
                    await self.websocket.close(code=TOKEN_EXPIRED_CLOSE_CODE, reason="Token expired")
                return
            wait = float(RENEW_SECONDS)
            if self.expires_at is not None:
                wait = min(wait, max(0.05, (self.expires_at - now).total_seconds()))
            await asyncio.sleep(wait)
            with contextlib.suppress(Exception):  # a missed renewal only shortens the lease
                await self.redis.zadd(_key(self.principal), {self.connection_id: time.time() + LEASE_SECONDS})

    async def end(self) -> None:
        """Stop the watchdog and give the lease back (the connection is over)."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task
        try:
            await self.redis.zrem(_key(self.principal), self.connection_id)
        except Exception:  # the lease runs out by itself
            log.warning("could not release a websocket lease of %s", self.principal)
