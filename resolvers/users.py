"""Resolvers for registration, login, the viewer and plans."""

from __future__ import annotations

from datetime import UTC, datetime

from aiqleads.domain.errors import DomainError
from aiqleads.domain.users import service as users
from aiqleads.domain.users.login_throttle import LoginLimits, LoginThrottle
from aiqleads.domain.users.models import User
from aiqleads.domain.users.plans import PLANS, Plan, effective_tier
from aiqleads.domain.users.service import AuthResult
from aiqleads.resolvers.context import Context


def login_throttle(ctx: Context) -> LoginThrottle:
    """The sign-in and registration throttle of the caller's address."""
    s = ctx.settings
    limits = LoginLimits(
        max_failures=s.login_max_failures,
        max_failures_per_account=s.login_max_failures_per_account,
        window_seconds=s.login_failure_window_seconds,
        registrations_per_ip_per_hour=s.registrations_per_ip_per_hour,
    )
    return LoginThrottle(ctx.resources.redis, limits, ctx.client_address)


async def register(ctx: Context, *, email: str, password: str, name: str) -> AuthResult | DomainError:
    """Create an account; returns the signed-in result or the expected failure."""
    try:
        async with ctx.unit_of_work() as session:
            return await users.register(
                session, ctx.settings, email=email, password=password, name=name, throttle=login_throttle(ctx)
            )
    except DomainError as error:
        return error


async def login(ctx: Context, *, email: str, password: str) -> AuthResult | DomainError:
    """Sign in; returns the token and user, INVALID_CREDENTIALS or RATE_LIMITED."""
    try:
        async with ctx.read_session() as session:
            return await users.login(
                session, ctx.settings, email=email, password=password, throttle=login_throttle(ctx)
            )
    except DomainError as error:
        return error


def me(ctx: Context) -> User | None:
    """The signed-in user, or None for anonymous and partner callers."""
    return ctx.viewer


def plans() -> list[Plan]:
    """Every tier's plan."""
    return list(PLANS.values())


def tier_in_effect(user: User) -> str:
    """The tier whose prices and limits apply to the user now (a lapsed paid period is FREE)."""
    return effective_tier(user.tier, user.tier_paid_until, datetime.now(UTC))
