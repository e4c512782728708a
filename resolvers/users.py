"""Resolvers for registration, login, the viewer and plans."""

from __future__ import annotations

from datetime import UTC, datetime

from aiqleads.domain.core.plans import PLANS, Plan, effective_tier
from aiqleads.domain.core.user import User
from aiqleads.domain.unit_of_work import UnitOfWork
from aiqleads.domain.users import service as users
from aiqleads.domain.users.login_throttle import LoginLimits, LoginThrottle
from aiqleads.domain.users.service import AuthResult
from aiqleads.resolvers.context import Context
from aiqleads.resolvers.errors import mutation_errors


def login_throttle(ctx: Context) -> LoginThrottle:
    """The sign-in and registration throttle of the caller's address."""
    s = ctx.settings
    limits = LoginLimits(
        max_failures=s.login_max_failures,
        max_failures_per_account=s.login_max_failures_per_account,
        window_seconds=s.login_failure_window_seconds,
        registrations_per_ip_per_hour=s.registrations_per_ip_per_hour,
    )
    return LoginThrottle(ctx.deps.redis, limits, ctx.client_address)


@mutation_errors()
async def register(ctx: Context, *, email: str, password: str, name: str) -> AuthResult:
    """Create an account; returns the signed-in result (the expected failure goes to the payload)."""
    async with UnitOfWork(ctx.deps) as uow:
        return await users.register(
            uow.session, ctx.settings, email=email, password=password, name=name, throttle=login_throttle(ctx)
        )


@mutation_errors()
async def login(ctx: Context, *, email: str, password: str) -> AuthResult:
    """Sign in; returns the token and user (INVALID_CREDENTIALS or RATE_LIMITED go to the payload)."""
    async with ctx.read_session() as session:
        return await users.login(
            session, ctx.settings, email=email, password=password, throttle=login_throttle(ctx)
        )


def me(ctx: Context) -> User | None:
    """The signed-in user, or None for anonymous and partner callers."""
    return ctx.viewer


def plans() -> list[Plan]:
    """Every tier's plan."""
    return list(PLANS.values())


def tier_in_effect(user: User) -> str:
    """The tier whose prices and limits apply to the user now (a lapsed paid period is FREE)."""
    return effective_tier(user.tier, user.tier_paid_until, datetime.now(UTC))
