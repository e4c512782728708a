"""Admission of one GraphQL operation, on any transport: input hygiene, cost, and the budget.

Called by the schema's gate for every operation, whether it arrived over HTTP (``GatedSchema.execute``)
or a websocket (``GatedSchema.stream`` / ``open_stream``), so no transport is a cheaper path than another.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Iterable
from typing import Any

from graphql import GraphQLError
from redis.exceptions import RedisError
from starlette.websockets import WebSocket

from aiqleads.domain.text_input import has_lone_surrogates
from aiqleads.domain.users import rate_limit
from aiqleads.resolvers.context import Context
from aiqleads.resolvers.errors import PublicError, service_unavailable

AUTH_FIELDS = frozenset({"login", "register"})
DEPENDENCY_RETRY_AFTER = 5


def _has_lone_surrogate(value: Any, depth: int = 0) -> bool:
    if isinstance(value, str):
        return has_lone_surrogates(value)
    if depth > 100:
        return False  # deeper input is refused by the JSON depth limit before it gets here
    if isinstance(value, dict):
        return any(
            _has_lone_surrogate(k, depth + 1) or _has_lone_surrogate(v, depth + 1) for k, v in value.items()
        )
    if isinstance(value, list):
        return any(_has_lone_surrogate(v, depth + 1) for v in value)
    return False


def set_http_status(ctx: Context, status: int, retry_after: int | None = None) -> None:
    """Give the HTTP response this status (and Retry-After); websockets have no status to set."""
    response = ctx.response
    if response is None or not hasattr(response, "status_code") or not hasattr(response, "headers"):
        return
    response.status_code = status
    if retry_after is not None:
        response.headers["Retry-After"] = str(retry_after)


def rate_limited(decision: rate_limit.Decision, units: int) -> PublicError:
    """The refusal of an operation over budget, with when to retry."""
    error = PublicError(
        "RATE_LIMITED",
        f"Too many requests: this operation costs {units} of your {decision.limit} units per minute; "
        f"retry in {decision.retry_after} s.",
    )
    error.extensions = {**(error.extensions or {}), "retryAfter": decision.retry_after}
    return error


def cost_refusal(cost: int, limit: int) -> PublicError:
    """The refusal of an operation whose cost, with the variables sent, exceeds the limit."""
    error = PublicError(
        "COST_LIMIT_EXCEEDED",
        f"Query cost {cost} exceeds the limit of {limit}: ask for smaller pages or fewer nested lists.",
    )
    error.extensions = {**(error.extensions or {}), "cost": cost, "limit": limit}
    return error


def over_websocket(ctx: Context) -> bool:
    """Whether the operation arrived over a websocket (subscriptions can only run there)."""
    return isinstance(ctx.request, WebSocket)


async def _charge(ctx: Context, units: int, root_fields: list[str]) -> rate_limit.Decision | GraphQLError:
    """Spend units of the caller's budget; a Redis failure is SERVICE_UNAVAILABLE (503)."""
    try:
        return await rate_limit.charge(
            ctx.deps.redis,
            budget_principal(ctx, root_fields),
            ctx.settings.rate_limit_per_minute,
            units,
            leases=ctx.deps.budgets,
        )
    except (RedisError, OSError):
        set_http_status(ctx, 503, DEPENDENCY_RETRY_AFTER)
        return service_unavailable(DEPENDENCY_RETRY_AFTER)


def budget_principal(ctx: Context, root_fields: Iterable[str] = ()) -> str:
    """Whose budget pays: the caller's principal, but always the address for sign-ins and sign-ups
    (a token in hand must not move password guessing off the address's budget)."""
    if any(name in AUTH_FIELDS for name in root_fields):
        return f"ip:{ctx.client_address}"
    return ctx.principal


async def charge_refused(ctx: Context) -> None:
    """Charge one unit for an operation refused by validation (best effort: never raises)."""
    with contextlib.suppress(RedisError, OSError):
        await rate_limit.charge(
            ctx.deps.redis, ctx.principal, ctx.settings.rate_limit_per_minute, 1, leases=ctx.deps.budgets
        )


async def admit(
    ctx: Context,
    query: str | None,
    variables: Any,
    cost: int,
    root_fields: Iterable[str],
    *,
    subscription: bool = False,
    depth: int = 0,
    aliases: int = 0,
) -> GraphQLError | None:
    """The reason to refuse this operation before it runs, or None to run it (budget charged)."""
    root_fields = list(root_fields)
    if subscription and not over_websocket(ctx):
        return PublicError(
            "INVALID_INPUT",
            "Subscriptions run over a websocket at /graphql (graphql-transport-ws or graphql-ws), "
            "not over HTTP.",
        )
    if _has_lone_surrogate(query) or _has_lone_surrogate(variables):
        return PublicError("INVALID_INPUT", "Strings must be valid Unicode (a lone surrogate was sent).")
    if sum(1 for name in root_fields if name in AUTH_FIELDS) > 1:
        return PublicError("INVALID_INPUT", "At most one login or register field may be sent per operation.")
    max_aliases = ctx.settings.max_query_aliases
    if max_aliases > 0 and aliases > max_aliases:
        return PublicError(
            "INVALID_INPUT", f"{aliases} aliases exceed the limit of {max_aliases} per operation."
        )
    max_depth = ctx.settings.max_query_depth
    if max_depth > 0 and depth > max_depth:
        return PublicError("INVALID_INPUT", f"Query depth {depth} exceeds the limit of {max_depth}.")
    limit = ctx.settings.max_query_cost
    over = limit > 0 and cost > limit
    # refusals are not free: an over-cost operation is charged a tenth of the largest one allowed
    units = max(1, math.ceil((limit / 10 if over else cost) / ctx.settings.rate_limit_cost_unit))
    decision = await _charge(ctx, units, root_fields)
    if isinstance(decision, GraphQLError):
        return decision
    if not decision.allowed:
        set_http_status(ctx, 429, decision.retry_after)
        return rate_limited(decision, units)
    if over:
        return cost_refusal(cost, limit)
    return None
