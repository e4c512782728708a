"""Fixed-window per-principal request budgets kept in Redis."""

from __future__ import annotations

import time

from redis.asyncio import Redis


async def take(redis: Redis, principal: str, limit_per_minute: int, now: float | None = None) -> bool:
    """Count one request for a principal; False once the current minute's budget is spent."""
    if limit_per_minute <= 0:
        return True
    window = int((now if now is not None else time.time()) // 60)
    key = f"aiq:rl:{principal}:{window}"
    async with redis.pipeline(transaction=True) as pipe:
        pipe.incr(key)
        pipe.expire(key, 120)
        count, _ = await pipe.execute()
    return int(count) <= limit_per_minute
