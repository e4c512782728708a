"""Hold deadlines in a Redis sorted set, shared by every API process and worker.

Each deadline is its own member (``<user_id>|<deadline ms>``, score = deadline ms), so arming is
idempotent and never overwrites another deadline. Pollers claim due members atomically with a
Lua script that moves them to a short lease score: exactly one process handles each deadline,
and if that process dies mid-way the member comes due again when the lease runs out.
PostgreSQL stays the record; a lost timer is found again by reconciliation.
"""

from __future__ import annotations

import hashlib
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, cast

from redis.asyncio import Redis
from redis.asyncio.client import Pipeline

from aiqleads.domain.settings import Settings

_CLAIM = """
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, tonumber(ARGV[3]))
for _, member in ipairs(due) do
  redis.call('ZADD', KEYS[1], ARGV[2], member)
end
local upcoming = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
return {due, upcoming[2]}
"""

_DONE = """
local score = redis.call('ZSCORE', KEYS[1], ARGV[1])
if score and tonumber(score) == tonumber(ARGV[2]) then
  return redis.call('ZREM', KEYS[1], ARGV[1])
end
return 0
"""


def timer_key(settings: Settings) -> str:
    """The sorted set of one deployment (one database), so test sessions never share timers."""
    digest = hashlib.sha1(settings.database_url.encode()).hexdigest()[:16]
    return f"aiq:holdtimers:{digest}"


def to_ms(moment: datetime) -> int:
    """Epoch milliseconds of a deadline (rounded up so a timer never fires early)."""
    micros = int(moment.timestamp() * 1_000_000)
    return -(-micros // 1000)


def now_ms() -> int:
    """Epoch milliseconds of the present, rounded down (a deadline is due once it is <= this)."""
    return time.time_ns() // 1_000_000


def from_ms(ms: int) -> datetime:
    """The aware UTC datetime of epoch milliseconds."""
    return datetime.fromtimestamp(ms / 1000, tz=UTC)


@dataclass(frozen=True)
class Claim:
    """A deadline this process now owns until ``lease_ms``."""

    member: str
    user_id: uuid.UUID
    deadline_ms: int
    lease_ms: int


class TimerStore:
    """Arm, claim and complete hold deadlines."""

    def __init__(self, redis: Redis, key: str, ttl_seconds: int = 6 * 3600) -> None:
        self.redis = redis
        self.key = key
        self.ttl_seconds = ttl_seconds  # an idle deployment's set disappears once every deadline passed
        self._claim: Any = redis.register_script(_CLAIM)
        self._done: Any = redis.register_script(_DONE)

    @classmethod
    def for_settings(cls, redis: Redis, settings: Settings) -> TimerStore:
        """The timer set of the deployment these settings describe."""
        longest = settings.cart_extension_cap_seconds + settings.item_hold_seconds
        return cls(redis, timer_key(settings), max(6 * 3600, 2 * longest))

    @staticmethod
    def member(user_id: uuid.UUID, deadline: datetime) -> str:
        """The member naming one user's deadline."""
        return f"{user_id}|{to_ms(deadline)}"

    async def arm(self, items: list[tuple[uuid.UUID, datetime]]) -> None:
        """Schedule deadlines (already-armed ones, even leased, are left alone)."""
        if not items:
            return
        async with self.redis.pipeline(transaction=False) as pipe:
            self.queue_arm(pipe, items)
            await pipe.execute()

    def queue_arm(self, pipe: Pipeline, items: list[tuple[uuid.UUID, datetime]]) -> None:
        """``arm``'s commands on a pipeline (sent with other effects of one commit)."""
        mapping: dict[str, float] = {self.member(u, d): float(to_ms(d)) for u, d in items}
        pipe.zadd(self.key, mapping, nx=True)
        pipe.expire(self.key, self.ttl_seconds)

    async def claim_due(self, now_ms: int, lease_ms: int, limit: int = 100) -> tuple[list[Claim], int | None]:
        """Atomically take up to ``limit`` deadlines due at now_ms (each goes to exactly one caller).

        Also returns the earliest score left in the set, so pollers can sleep until then.
        """
        lease = now_ms + lease_ms
        reply = cast(list[Any], await self._claim(keys=[self.key], args=[now_ms, lease, limit]))
        raw = cast(list[bytes | str], reply[0]) if reply else []
        upcoming = int(float(reply[1])) if len(reply) > 1 and reply[1] is not None else None
        claims = []
        for item in raw:
            member = item.decode() if isinstance(item, bytes) else item
            user_part, _, deadline_part = member.partition("|")
            try:
                claims.append(Claim(member, uuid.UUID(user_part), int(deadline_part), lease))
            except ValueError:
                await self.redis.zrem(self.key, member)  # not ours: drop it rather than retry forever
        return claims, upcoming

    async def done(self, claim: Claim) -> None:
        """Forget a handled deadline (unless another process re-claimed it after our lease ran out)."""
        await self._done(keys=[self.key], args=[claim.member, claim.lease_ms])

    async def pending(self) -> int:
        """How many deadlines are armed (for metrics and tests)."""
        return int(await self.redis.zcard(self.key))

    async def clear(self) -> None:
        """Drop every armed deadline (operators and tests simulating a lost timer store)."""
        await self.redis.delete(self.key)
