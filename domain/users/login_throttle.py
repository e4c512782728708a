"""Throttles on the paths that guess passwords or mint accounts: login failures and registrations.

Failed logins are counted per (account, client address) and per account across addresses, in a
window that starts with the first failure. Past ``max_failures`` for the pair (or the higher
``max_failures_per_account`` for the account), attempts are refused — even with the right
password — until the window passes; a successful login clears the pair. Registrations are
counted per client address per hour. Accounts are keyed by a hash of the normalised e-mail, so
Redis never holds the addresses themselves.
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass

from redis.asyncio import Redis

from aiqleads.domain.errors import DomainError

REGISTRATION_WINDOW_SECONDS = 3600


class Throttled(DomainError):
    """RATE_LIMITED with the seconds after which the same attempt may be made again."""

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__("RATE_LIMITED", f"{message} Retry in {retry_after} s.")
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

    async def check_login(self, email: str) -> None:
        """Refuse (Throttled) while this account has too many recent failures from here or overall."""
        async with self.redis.pipeline(transaction=False) as pipe:
            pipe.get(self._pair_key(email))
            pipe.ttl(self._pair_key(email))
            pipe.get(self._account_key(email))
            pipe.ttl(self._account_key(email))
            pair, pair_ttl, account, account_ttl = await pipe.execute()
        if self.limits.max_failures > 0 and int(pair or 0) >= self.limits.max_failures:
            raise Throttled(
                "Too many failed sign-ins for this account from your address.", max(1, int(pair_ttl))
            )
        ceiling = self.limits.max_failures_per_account
        if ceiling > 0 and int(account or 0) >= ceiling:
            raise Throttled("Too many failed sign-ins for this account.", max(1, int(account_ttl)))

    async def record_failure(self, email: str) -> None:
        """Count one failed sign-in for the pair and the account."""
        window = self.limits.window_seconds
        async with self.redis.pipeline(transaction=False) as pipe:
            for key in (self._pair_key(email), self._account_key(email)):
                pipe.incr(key)
                pipe.expire(key, window, nx=True)
            await pipe.execute()

    async def record_success(self, email: str) -> None:
        """A successful sign-in clears the failures of this pair (not the account's total)."""
        await self.redis.delete(self._pair_key(email))

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
