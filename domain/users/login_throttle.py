"""Throttles on the paths that guess passwords or mint accounts: login failures and registrations.

Every attempt is counted as a failure before the password is checked, atomically, per (account,
client address) and per account across addresses, in a window that starts with the first
failure; a successful login takes its count back and clears the pair. Past ``max_failures`` for
the pair, attempts are refused — even with the right password — until the window passes. Past
the higher ``max_failures_per_account`` the same holds, except from addresses the account signed
in from before, so guessing from elsewhere cannot lock the owner out. Registrations are
counted per client address per hour. Accounts are keyed by a hash of the normalised e-mail, so
Redis never holds the addresses themselves.
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass

from redis.asyncio import Redis

from aiqleads.domain.errors import DomainError, ErrorCode

REGISTRATION_WINDOW_SECONDS = 3600
KNOWN_ADDRESS_SECONDS = 90 * 24 * 3600

# Count the attempt for the pair and the account first (window from the first failure), then
# report both counts with their remaining windows and whether the address is known to the account.
_BEGIN = """
local pair = redis.call('INCR', KEYS[1])
redis.call('EXPIRE', KEYS[1], ARGV[1], 'NX')
local account = redis.call('INCR', KEYS[2])
redis.call('EXPIRE', KEYS[2], ARGV[1], 'NX')
return {pair, redis.call('TTL', KEYS[1]), account, redis.call('TTL', KEYS[2]), redis.call('EXISTS', KEYS[3])}
"""


class Throttled(DomainError):
    """RATE_LIMITED with the seconds after which the same attempt may be made again."""

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(ErrorCode.RATE_LIMITED, f"{message} Retry in {retry_after} s.")
        self.retry_after = retry_after


@dataclass(frozen=True)
class LoginLimits:
    """The throttle settings (see Settings: AIQ_LOGIN_*, AIQ_REGISTRATIONS_PER_IP_PER_HOUR)."""

    max_failures: int = 10
    max_failures_per_account: int = 100
    window_seconds: int = 900
    registrations_per_ip_per_hour: int = 20


def _account(email: str) -> str:
    return hashlib.sha256(email.strip().lower().encode()).hexdigest()[:32]


@dataclass(frozen=True)
class LoginThrottle:
    """The throttle of one client address (what a resolver builds from the request)."""

    redis: Redis
    limits: LoginLimits
    client: str

    def _pair_key(self, email: str) -> str:
        return f"aiq:login:fail:{_account(email)}:{self.client}"

    def _account_key(self, email: str) -> str:
        return f"aiq:login:fail:{_account(email)}"

    def _known_key(self, email: str) -> str:
        return f"aiq:login:known:{_account(email)}:{self.client}"

    async def begin_attempt(self, email: str) -> None:
        """Count this attempt as a failure *before* the password is checked (atomically), and refuse
        (Throttled) when it is over a limit — so parallel guesses cannot all slip through.

        An address this account signed in from before is exempt from the account-wide ceiling,
        so guessing from elsewhere can never lock the owner out of their usual address.
        """
        window = self.limits.window_seconds
        pair, pair_ttl, account, account_ttl, known = await self.redis.eval(  # type: ignore[misc]
            _BEGIN,
            3,
            self._pair_key(email),
            self._account_key(email),
            self._known_key(email),
            str(window),
        )
        if self.limits.max_failures > 0 and int(pair) > self.limits.max_failures:
            raise Throttled(
                "Too many failed sign-ins for this account from your address.", max(1, int(pair_ttl))
            )
        ceiling = self.limits.max_failures_per_account
        if ceiling > 0 and int(account) > ceiling and not int(known):
            raise Throttled("Too many failed sign-ins for this account.", max(1, int(account_ttl)))

    async def record_success(self, email: str) -> None:
        """The attempt was right: forget this address's failures, un-count it from the account's,
        and remember the address as one the owner uses."""
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.delete(self._pair_key(email))
            pipe.decr(self._account_key(email))
            pipe.set(self._known_key(email), b"1", ex=KNOWN_ADDRESS_SECONDS)
            await pipe.execute()

    async def check_registration(self, now: float | None = None) -> None:
        """Count one registration from this address; Throttled past the hourly limit."""
        limit = self.limits.registrations_per_ip_per_hour
        if limit <= 0:
            return
        moment = time.time() if now is None else now
        window = int(moment // REGISTRATION_WINDOW_SECONDS)
        key = f"aiq:register:{self.client}:{window}"
        async with self.redis.pipeline(transaction=False) as pipe:
            pipe.incr(key)
            pipe.expire(key, REGISTRATION_WINDOW_SECONDS * 2)
            count, _ = await pipe.execute()
        if int(count) > limit:
            retry = max(1, int((window + 1) * REGISTRATION_WINDOW_SECONDS - moment + 0.999))
            raise Throttled("Too many accounts were registered from your address.", retry)
