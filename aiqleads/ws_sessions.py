"""Websocket lifetimes: close a connection when its token expires, and cap connections per user.

Each authenticated connection holds a lease in a Redis sorted set per user (member: the
connection, score: the lease's end); a crashed process's leases simply run out. The cap counts
live leases across every API process.

An idle connection costs no task of its own: one renewer per process and Redis client renews
every live lease in pipelined round trips, and a token's expiry is a timer handle on the loop
that starts the close only when it fires (10k connections: one task and 10k timers, not 10k
sleeping tasks each renewing on its own).
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


class _LeaseRenewer:
    """Renews the leases of every live session of one event loop and Redis client."""

    def __init__(self, redis: Redis, key: tuple[int, int]) -> None:
        self.redis = redis
        self.key = key
        self.sessions: set[WebsocketSession] = set()
        self.task: asyncio.Task[None] | None = None

    def add(self, session: WebsocketSession) -> None:
        """Renew this session's lease from now on."""
        self.sessions.add(session)
        if self.task is None:
            self.task = asyncio.create_task(self._run(), name="ws-lease-renewer")

    def discard(self, session: WebsocketSession) -> None:
        """Stop renewing this session's lease; the last one out stops the renewer."""
        self.sessions.discard(session)
        if not self.sessions:
            if self.task is not None:
                self.task.cancel()
                self.task = None
            if _renewers.get(self.key) is self:
                del _renewers[self.key]

    async def _run(self) -> None:
        try:
            while self.sessions:
                await asyncio.sleep(RENEW_SECONDS)
                live = list(self.sessions)
                for start in range(0, len(live), RENEW_BATCH):
                    with contextlib.suppress(Exception):  # a missed renewal only shortens the lease
                        await self._renew(live[start : start + RENEW_BATCH])
        finally:
            if self.task is asyncio.current_task():
                self.task = None
            if not self.sessions and _renewers.get(self.key) is self:
                del _renewers[self.key]

    async def _renew(self, sessions: list[WebsocketSession]) -> None:
        until = time.time() + LEASE_SECONDS
        async with self.redis.pipeline(transaction=False) as pipe:
            for key in {_key(session.principal) for session in sessions}:
                pipe.expire(key, LEASE_SECONDS * 2)  # the set outlives its newest lease
            for session in sessions:
                pipe.zadd(_key(session.principal), {session.connection_id: until})
            await pipe.execute()


_renewers: dict[tuple[int, int], _LeaseRenewer] = {}
RENEW_BATCH = 500  # leases per pipelined round trip (bounds one renewal's time on the loop)


def _renewer(redis: Redis) -> _LeaseRenewer:
    key = (id(asyncio.get_running_loop()), id(redis))  # a live renewer keeps both alive: ids stay unique
    renewer = _renewers.get(key)
    if renewer is None:
        renewer = _renewers[key] = _LeaseRenewer(redis, key)
    return renewer


@dataclass(eq=False)
class WebsocketSession:
    """One websocket: its connection lease (per user, API key or address) and its token-expiry close."""

    redis: Redis
    websocket: WebSocket
    principal: str
    expires_at: datetime | None
    connection_id: str = field(default_factory=lambda: uuid.uuid4().hex)
    _expiry: asyncio.TimerHandle | None = None
    _closing: asyncio.Task[None] | None = None
    _renewed_by: _LeaseRenewer | None = None

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
        """Arm the token-expiry close and start renewing the lease."""
        self._renewed_by = _renewer(self.redis)
        self._renewed_by.add(self)
        if self.expires_at is not None:
            delay = (self.expires_at - datetime.now(UTC)).total_seconds()
            self._expiry = asyncio.get_running_loop().call_later(max(0.0, delay), self._expired)

    def _expired(self) -> None:
        self._expiry = None
        if self.websocket.application_state != WebSocketState.DISCONNECTED:
            self._closing = asyncio.create_task(self._close_expired())

    async def _close_expired(self) -> None:
        with contextlib.suppress(Exception):
            await self.websocket.close(code=TOKEN_EXPIRED_CLOSE_CODE, reason="Token expired")

    async def end(self) -> None:
        """Disarm the expiry, stop renewing and give the lease back (the connection is over)."""
        if self._expiry is not None:
            self._expiry.cancel()
            self._expiry = None
        if self._renewed_by is not None:
            self._renewed_by.discard(self)
            self._renewed_by = None
        if self._closing is not None and not self._closing.done():
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._closing
        try:
            await self.redis.zrem(_key(self.principal), self.connection_id)
        except Exception:  # the lease runs out by itself
            log.warning("could not release a websocket lease of %s", self.principal)
