"""Fixed-window, cost-weighted budgets per principal, kept in Redis (one round trip per charge)."""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass

from redis.asyncio import Redis
from redis.exceptions import NoScriptError

WINDOW_SECONDS = 60

# Add the cost to this window's counter; the first charge of a window sets its expiry.
_CHARGE = """
local used = redis.call('INCRBY', KEYS[1], ARGV[1])
if used == tonumber(ARGV[1]) then redis.call('EXPIRE', KEYS[1], ARGV[2]) end
return used
"""


_CHARGE_SHA = hashlib.sha1(_CHARGE.encode()).hexdigest()


@dataclass(frozen=True)
class Decision:
    """Whether a charge fits the budget, and when to retry when it does not."""

    allowed: bool
    used: int
    limit: int
    retry_after: int  # seconds until the window resets (0 when allowed)


async def charge(
    redis: Redis, principal: str, limit_per_minute: int, cost: int = 1, now: float | None = None
) -> Decision:
    """Spend ``cost`` units of the principal's budget for the current minute.

    Refused charges still count: a client hammering past its budget keeps it spent.
    A limit of 0 or less disables the budget.
    """
    if limit_per_minute <= 0:
        return Decision(True, 0, limit_per_minute, 0)
    moment = time.time() if now is None else now
    window = int(moment // WINDOW_SECONDS)
    key = f"aiq:rl:{principal}:{window}"
    args = (key, str(max(1, cost)), str(2 * WINDOW_SECONDS))
    try:  # by digest: the script's body is sent only when the server does not know it yet
        used = int(await redis.evalsha(_CHARGE_SHA, 1, *args))  # type: ignore[misc]
    except NoScriptError:
        used = int(await redis.eval(_CHARGE, 1, *args))  # type: ignore[misc]
    if used <= limit_per_minute:
        return Decision(True, used, limit_per_minute, 0)
    retry_after = max(1, int((window + 1) * WINDOW_SECONDS - moment + 0.999))
    return Decision(False, used, limit_per_minute, retry_after)


async def take(redis: Redis, principal: str, limit_per_minute: int, now: float | None = None) -> bool:
    """Count one request for a principal; False once the current minute's budget is spent."""
    return (await charge(redis, principal, limit_per_minute, 1, now)).allowed
