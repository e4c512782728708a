"""Cart use cases: each runs one domain change in a unit of work and records its effects there.

Resolvers, jobs and the timer loop call these; none of them opens a transaction or publishes.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Protocol, TypeVar

from sqlalchemy.ext.asyncio import AsyncSession

from aiqleads.domain.cart import checkout as checkout_rules
from aiqleads.domain.cart import expiry, holds, returns
from aiqleads.domain.cart.checkout import CheckoutResult
from aiqleads.domain.cart.events import Effects
from aiqleads.domain.cart.expiry import ExpiryOutcome
from aiqleads.domain.cart.holds import CartOutcome
from aiqleads.domain.cart.publishing import record_cart_effects
from aiqleads.domain.cart.returns import ReturnResult
from aiqleads.domain.unit_of_work import Backends, UnitOfWork


class HasEffects(Protocol):
    """A domain outcome carrying the effects its transaction leaves to run after the commit."""

    @property
    def effects(self) -> Effects: ...


R = TypeVar("R", bound=HasEffects)


async def run_cart_change(deps: Backends, change: Callable[[AsyncSession], Awaitable[R]]) -> R:
    """Run one cart change in its own unit of work; its effects run after the commit (at once:
    deadlines, events, demand, profile and index depend on none of the others)."""
    async with UnitOfWork(deps, concurrent_effects=True) as uow:
        outcome = await change(uow.session)
        record_cart_effects(uow, outcome.effects)
    return outcome


async def add_to_cart(deps: Backends, user_id: uuid.UUID, lead_id: uuid.UUID, now: datetime) -> CartOutcome:
    """Hold a seat of a lead for a buyer."""
    return await run_cart_change(
        deps, lambda s: holds.add_to_cart(s, deps.settings, user_id=user_id, lead_id=lead_id, now=now)
    )


async def remove_from_cart(
    deps: Backends, user_id: uuid.UUID, lead_id: uuid.UUID, now: datetime
) -> CartOutcome:
    """Release a buyer's hold on a lead."""
    return await run_cart_change(
        deps, lambda s: holds.remove_from_cart(s, user_id=user_id, lead_id=lead_id, now=now)
    )


async def extend_hold(deps: Backends, user_id: uuid.UUID, lead_id: uuid.UUID, now: datetime) -> CartOutcome:
    """Extend a buyer's hold on a lead (tier permitting)."""
    return await run_cart_change(
        deps, lambda s: holds.extend_hold(s, deps.settings, user_id=user_id, lead_id=lead_id, now=now)
    )


async def checkout(deps: Backends, user_id: uuid.UUID, key: str, now: datetime) -> CheckoutResult:
    """Buy every held lead of a cart once per idempotency key; a replay has no effects."""
    async with UnitOfWork(deps, concurrent_effects=True) as uow:
        result = await checkout_rules.checkout(uow.session, user_id, key, now)
        if not result.replayed:
            record_cart_effects(uow, result.effects)
    return result


async def return_lead(
    deps: Backends, user_id: uuid.UUID, purchase_id: uuid.UUID, reason: str, note: str | None, now: datetime
) -> ReturnResult:
    """Request the return of a purchased lead."""
    return await run_cart_change(
        deps, lambda s: returns.return_lead(s, deps.settings, user_id, purchase_id, reason, note, now)
    )


async def review_return(
    deps: Backends,
    reviewer_id: uuid.UUID,
    reviewer_role: str,
    return_id: uuid.UUID,
    approve: bool,
    note: str | None,
    now: datetime,
) -> ReturnResult:
    """An admin approves or rejects a pending return."""
    return await run_cart_change(
        deps, lambda s: returns.review_return(s, reviewer_id, reviewer_role, return_id, approve, note, now)
    )


async def expire_due(
    deps: Backends, user_id: uuid.UUID, now: datetime, *, after: Callable[[UnitOfWork, ExpiryOutcome], None]
) -> ExpiryOutcome:
    """Release what is due in one cart; ``after`` records the caller's own follow-up effects."""
    async with UnitOfWork(deps) as uow:
        outcome = await expiry.expire_due(uow.session, user_id, now)
        record_cart_effects(uow, Effects(events=outcome.events, changed_leads=outcome.expired_lead_ids))
        after(uow, outcome)
    return outcome
