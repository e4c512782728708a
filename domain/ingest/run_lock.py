"""One scrape at a time per source and region: a lease in Redis.

``SET key token NX PX ttl`` takes the lease; while the run lasts a background task renews it (only
if the key still holds our token) every third of its time to live; release deletes it, again only
if it still holds our token (a run whose lease lapsed never frees someone else's). A worker that
dies leaves a lease that lapses after ``ttl``. A renewal that finds the lease gone or taken marks
the lock lost: the run goes on (each page is idempotent), but it must not act as the only run
(``held`` is False, so it counts no listing as missing).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from types import TracebackType

from redis.asyncio import Redis

log = logging.getLogger(__name__)

DEFAULT_TTL_MS = 60_000

_RENEW = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return 0
"""
_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""


def scrape_lock_key(queue_name: str, source: str, region: str) -> str:
    """The lease of one source and region (per deployment: the queue name tells deployments apart)."""
    return f"aiq:scrape-lock:{queue_name}:{source.lower()}:{region.lower()}"


class RunLock:
    """A renewed lease on one key: ``async with lock:`` after ``await lock.acquire()`` returned True."""

    def __init__(self, redis: Redis, key: str, ttl_ms: int = DEFAULT_TTL_MS) -> None:
        self.redis = redis
        self.key = key
        self.ttl_ms = ttl_ms
        self.token = uuid.uuid4().hex
        self.lost = False
        self._acquired = False
        self._renewer: asyncio.Task[None] | None = None

    async def acquire(self) -> bool:
        """Take the lease if no one holds it; False when another run does."""
        self._acquired = bool(await self.redis.set(self.key, self.token, nx=True, px=self.ttl_ms))
        return self._acquired

    @property
    def held(self) -> bool:
        """Whether the lease was taken and never lapsed since."""
        return self._acquired and not self.lost

    async def renew(self) -> bool:
        """Extend the lease if it is still ours; False (and lost) when it lapsed or was taken."""
        renewed = bool(await self.redis.eval(_RENEW, 1, self.key, self.token, str(self.ttl_ms)))  # type: ignore[misc]
        if not renewed:
            self.lost = True
        return renewed

    async def release(self) -> bool:
        """Delete the lease if it is still ours (compare-and-delete)."""
        if not self._acquired:
            return False
        self._acquired = False
        return bool(await self.redis.eval(_RELEASE, 1, self.key, self.token))  # type: ignore[misc]

    async def _keep_renewing(self) -> None:
        interval = self.ttl_ms / 3000
        while True:
            await asyncio.sleep(interval)
            try:
                if not await self.renew():
                    log.warning("scrape lock %s lapsed or was taken; this run no longer owns it", self.key)
                    return
            except Exception:  # Redis unreachable: try again; the lease lasts ttl from the last renewal
                log.warning("could not renew scrape lock %s", self.key, exc_info=True)

    async def __aenter__(self) -> RunLock:
        if not self._acquired:
            raise RuntimeError("acquire() the lock before entering it")
        self._renewer = asyncio.create_task(self._keep_renewing())
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        renewer, self._renewer = self._renewer, None
        if renewer is not None:
            renewer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await renewer
        try:
            await self.release()
        except Exception:  # the lease lapses on its own after ttl
            log.warning("could not release scrape lock %s", self.key, exc_info=True)
