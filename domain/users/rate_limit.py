"""Fixed-window, cost-weighted budgets per principal, kept in Redis.

A process takes units from a principal's shared counter a few at a time (a lease) and spends
them locally, so most operations are admitted without a round trip. No more than the limit is
ever admitted across processes: every unit spent was counted in Redis first. What a process holds
unspent when the minute ends is lost: a principal spread over P processes may be refused up to
(P - 1) × (lease - 1) units early, never admitted late. Small budgets lease one unit at a time,
so their counts are exact.
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass, field

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


MAX_LEASE = 20  # units taken at once, at most
LEASES_PER_BUDGET = 50  # a lease is at most 1/50 of the budget (so at most 2% is ever stranded)


def lease_size(limit_per_minute: int) -> int:
    """How many units beyond the cost a charge takes from Redis when the process holds too few."""
    return max(1, min(MAX_LEASE, limit_per_minute // LEASES_PER_BUDGET))


@dataclass
class BudgetLeases:
    """Units this process took from the shared budgets and has not spent, in the current window."""

    window: int = -1
    held: dict[str, int] = field(default_factory=dict)

    def spend(self, principal: str, window: int, cost: int) -> bool:
        """Spend cost units held for the principal in this window (False: too few held)."""
        if window != self.window:
            self.window, self.held = window, {}  # last minute's leases are void
            return False
        units = self.held.get(principal, 0)
        if units < cost:
            return False
        self.held[principal] = units - cost
        return True

    def keep(self, principal: str, window: int, units: int) -> None:
        """Hold units granted by Redis for the principal (dropped if the window already ended)."""
        if window != self.window:
            self.window, self.held = window, {}
        self.held[principal] = self.held.get(principal, 0) + units


@dataclass(frozen=True)
class Decision:
    """Whether a charge fits the budget, and when to retry when it does not."""

    allowed: bool
    used: int
    limit: int
    retry_after: int  # seconds until the window resets (0 when allowed)


async def charge(
    redis: Redis,
    principal: str,
    limit_per_minute: int,
    cost: int = 1,
    now: float | None = None,
    leases: BudgetLeases | None = None,
) -> Decision:
    """Spend ``cost`` units of the principal's budget for the current minute.

    With ``leases`` the process spends units it already holds, and otherwise takes the missing
    units plus a lease in one round trip. Refused charges still count: a client hammering past
    its budget keeps it spent. A limit of 0 or less disables the budget.
    """
    if limit_per_minute <= 0:
        return Decision(True, 0, limit_per_minute, 0)
    cost = max(1, cost)
    moment = time.time() if now is None else now
    window = int(moment // WINDOW_SECONDS)
    if leases is not None and leases.spend(principal, window, cost):
        return Decision(True, 0, limit_per_minute, 0)
    held = leases.held.get(principal, 0) if leases is not None else 0
    ask = cost - held + (lease_size(limit_per_minute) - 1 if leases is not None else 0)
    key = f"aiq:rl:{principal}:{window}"
    args = (key, str(ask), str(2 * WINDOW_SECONDS))
    try:  # by digest: the script's body is sent only when the server does not know it yet
        used = int(await redis.evalsha(_CHARGE_SHA, 1, *args))  # type: ignore[misc]
    except NoScriptError:
        used = int(await redis.eval(_CHARGE, 1, *args))  # type: ignore[misc]
    granted = min(ask, max(0, limit_per_minute - (used - ask)))  # the part of ask under the limit
    if leases is not None:
        leases.keep(principal, window, granted)
        allowed = leases.spend(principal, window, cost)
    else:
        allowed = granted == ask
    if allowed:
        return Decision(True, used, limit_per_minute, 0)
    retry_after = max(1, int((window + 1) * WINDOW_SECONDS - moment + 0.999))
    return Decision(False, used, limit_per_minute, retry_after)


async def take(redis: Redis, principal: str, limit_per_minute: int, now: float | None = None) -> bool:
    """Count one request for a principal; False once the current minute's budget is spent."""
    return (await charge(redis, principal, limit_per_minute, 1, now)).allowed
