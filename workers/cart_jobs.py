"""Cart jobs: hold expiry and reconciliation (the timer loop is domain/cart/timer_loop.py) and the
monthly allowance."""

from __future__ import annotations

import logging
import uuid
from datetime import UTC, datetime
from typing import Any

from arq import cron

from aiqleads.domain.cart.timer_loop import HoldTimerLoop, start_hold_timers
from aiqleads.domain.credits import use_cases as credit_use_cases
from aiqleads.domain.jobs import JobName
from aiqleads.workers import context as wctx

__all__ = ["HoldTimerLoop", "start_hold_timers"]

log = logging.getLogger(__name__)


async def on_worker_startup(ctx: wctx.WorkerCtx) -> None:
    """Worker startup hook: reconcile and start firing hold deadlines."""
    observer = wctx.metrics(ctx).shared  # runs of the loop and each release's lag
    wctx.set_hold_timers(ctx, await start_hold_timers(wctx.deps(ctx), observer))


async def on_worker_shutdown(ctx: wctx.WorkerCtx) -> None:
    """Worker shutdown hook: stop the timer loop."""
    loop = wctx.pop_hold_timers(ctx)
    if loop is not None:
        await loop.stop()


def _timers(ctx: wctx.WorkerCtx) -> HoldTimerLoop:
    return wctx.hold_timers(ctx) or HoldTimerLoop(wctx.deps(ctx), observer=wctx.metrics(ctx).shared)


async def expire_cart_holds(ctx: wctx.WorkerCtx, user_id: str) -> int:
    """Job: release whatever is due in one user's cart now; returns the number of events."""
    return len(await _timers(ctx).expire_user(uuid.UUID(user_id)))


async def reconcile_holds(ctx: wctx.WorkerCtx) -> int:
    """Job: release overdue holds missed by timers and re-arm every active deadline."""
    return await _timers(ctx).reconcile(full=True)


async def grant_monthly_allowances(ctx: wctx.WorkerCtx, batch_size: int = 200) -> int:
    """Job: grant each user on a paid period the tier allowance of that period, once per period
    (see domain/credits/use_cases.grant_due_allowances)."""
    granted = await credit_use_cases.grant_due_allowances(wctx.deps(ctx), datetime.now(UTC), batch_size)
    if granted:
        log.info("granted %d monthly allowance(s)", granted)
    return granted


FUNCTIONS: dict[JobName, Any] = {
    JobName.EXPIRE_CART_HOLDS: expire_cart_holds,
    JobName.RECONCILE_HOLDS: reconcile_holds,
    JobName.GRANT_MONTHLY_ALLOWANCES: grant_monthly_allowances,
}
CRON_JOBS: list[Any] = [
    cron(reconcile_holds, second={15, 45}, run_at_startup=True, unique=True),
    cron(grant_monthly_allowances, minute={7, 37}, second=0, run_at_startup=True, unique=True),
]
