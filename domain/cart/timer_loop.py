"""The hold timer loop that runs in every API process and every worker.

``HoldTimerLoop`` polls the shared Redis timer set (sleeping until the next deadline, at most
100 ms), claims due deadlines atomically (one process per deadline, under a lease so a crashed
claimer's deadline fires again) and releases the holds in PostgreSQL through the ``expire_due``
use case, whose unit of work publishes HOLD_EXPIRED / CART_EXPIRED after the commit.
Reconciliation (at start and every few seconds) releases anything past its deadline that a lost
timer missed and re-arms upcoming deadlines, so a wiped timer set or a crashed process never
blocks a lead.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from datetime import UTC, datetime, timedelta

from aiqleads.domain.cart import expiry, use_cases
from aiqleads.domain.cart.events import CartEvent
from aiqleads.domain.cart.publishing import schedule_deadlines
from aiqleads.domain.cart.timers import Claim, TimerStore, now_ms
from aiqleads.domain.telemetry import LoopObserver
from aiqleads.domain.unit_of_work import Backends, UnitOfWork, read_only

log = logging.getLogger(__name__)


class HoldTimerLoop:
    """Fires hold deadlines on time from any process; PostgreSQL is the record.

    A process claims only as many due deadlines as it has free handler slots, so a busy process
    leaves the rest to the others; handlers run in the background so one slow transaction never
    delays the next poll.
    """

    def __init__(
        self,
        deps: Backends,
        *,
        poll_interval: float = 0.1,
        reconcile_interval: float = 5.0,
        lease_seconds: float = 10.0,
        concurrency: int = 16,
        observer: LoopObserver | None = None,
    ) -> None:
        self.deps = deps
        self.observer = observer
        self.settings = deps.settings
        self.store = TimerStore.for_settings(deps.redis, deps.settings)
        self.poll_interval = poll_interval
        self.reconcile_interval = reconcile_interval
        self.lease_ms = int(lease_seconds * 1000)
        self.concurrency = concurrency
        self._inflight: set[asyncio.Task[None]] = set()
        self._reconciling: asyncio.Task[int] | None = None
        self._task: asyncio.Task[None] | None = None
        self.fired = 0  # deadlines handled by this process (tests and metrics)

    @property
    def running(self) -> bool:
        """Whether the polling task is alive."""
        return self._task is not None and not self._task.done()

    async def start(self) -> None:
        """Reconcile once (releasing anything overdue, re-arming every active hold), then poll."""
        try:
            await self.reconcile(full=True)
        except Exception:  # a broken database at startup must not stop the process from serving
            log.exception("startup reconciliation of holds failed; the periodic pass will retry")
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="hold-timers")

    async def stop(self, grace: float = 5.0) -> None:
        """Stop polling; let handlers in flight finish (a claim left unhandled fires again later)."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        pending = [t for t in (*self._inflight, self._reconciling) if t is not None and not t.done()]
        if pending:
            _, late = await asyncio.wait(pending, timeout=grace)
            for task in late:
                task.cancel()
            await asyncio.gather(*late, return_exceptions=True)

    async def _run(self) -> None:
        next_reconcile = time.monotonic() + self.reconcile_interval
        while True:
            pause = self.poll_interval
            try:
                pause = await self.tick()
                if time.monotonic() >= next_reconcile and (
                    self._reconciling is None or self._reconciling.done()
                ):
                    next_reconcile = time.monotonic() + self.reconcile_interval
                    self._reconciling = asyncio.create_task(self.reconcile(), name="hold-reconcile")
            except asyncio.CancelledError:
                raise
            except Exception:  # Redis or PostgreSQL hiccup: keep the loop alive
                log.exception("hold timer loop failed; retrying")
                pause = 1.0
            await asyncio.sleep(pause)

    async def tick(self) -> float:
        """Claim the deadlines due now (up to the free handler slots), start handling them, and
        return how long to sleep: until the next deadline, at most one poll interval."""
        free = self.concurrency - len(self._inflight)
        if free <= 0:
            return 0.01
        current = now_ms()
        claims, upcoming = await self.store.claim_due(current, self.lease_ms, limit=free)
        for claim in claims:
            task = asyncio.create_task(self._handle(claim))
            self._inflight.add(task)
            task.add_done_callback(self._inflight.discard)
        if len(claims) == free:
            return 0.005  # there may be more due right now
        if upcoming is None:
            return self.poll_interval
        return min(self.poll_interval, max(0.002, (upcoming - now_ms()) / 1000))

    async def _handle(self, claim: Claim) -> None:
        started = time.perf_counter()
        try:
            await self.expire_user(claim.user_id, claim)
        except Exception:  # leave the claim leased: it comes due again and is retried
            log.exception("expiring holds of user %s failed", claim.user_id)
            self._report("hold_expiry", "failure", started)
            return
        self.fired += 1
        self._report("hold_expiry", "success", started)
        if self.observer is not None:
            self.observer.hold_released((now_ms() - claim.deadline_ms) / 1000)

    def _report(self, job: str, outcome: str, started: float) -> None:
        if self.observer is not None:
            self.observer.job_finished(job, outcome, time.perf_counter() - started)

    async def expire_user(self, user_id: uuid.UUID, claim: Claim | None = None) -> list[CartEvent]:
        """Release what is due in one cart; after the commit publish, complete the claim and arm
        the next deadline."""

        def follow_up(uow: UnitOfWork, outcome: expiry.ExpiryOutcome) -> None:
            if claim is not None:  # before re-arming, so an identical next deadline survives
                uow.after_commit("complete the timer claim", lambda: self.store.done(claim))
            if outcome.next_deadline is not None:
                schedule_deadlines(uow, [(user_id, outcome.next_deadline)])

        outcome = await use_cases.expire_due(self.deps, user_id, datetime.now(UTC), after=follow_up)
        return outcome.events

    async def reconcile(self, *, full: bool = False) -> int:
        """Release overdue holds found in PostgreSQL and re-arm upcoming deadlines in Redis.

        ``full`` re-arms every active hold (at startup); otherwise only deadlines due before
        the pass after next, which is enough to repair a wiped timer set in time.
        """
        started = time.perf_counter()
        try:
            released = await self._reconcile(full)
        except Exception:
            self._report("hold_reconcile", "failure", started)
            raise
        self._report("hold_reconcile", "success", started)
        return released

    async def _reconcile(self, full: bool) -> int:
        now = datetime.now(UTC)
        horizon = (
            timedelta(seconds=self.settings.cart_extension_cap_seconds + self.settings.item_hold_seconds)
            if full
            else timedelta(seconds=3 * self.reconcile_interval)
        )
        async with read_only(self.deps) as session:
            due = await expiry.due_users(session, now)
            upcoming = await expiry.upcoming_deadlines(session, now, now + horizon)
        await self.store.arm(upcoming)
        released = 0
        for user_id in due:
            try:
                released += len(await self.expire_user(user_id))
            except Exception:
                log.exception("reconciliation could not release holds of user %s", user_id)
        if released:
            log.info("reconciliation released holds of %d event(s) missed by timers", released)
        return released


async def start_hold_timers(deps: Backends, observer: LoopObserver | None = None) -> HoldTimerLoop:
    """Create and start the timer loop of this process (reporting to ``observer`` if given)."""
    loop = HoldTimerLoop(deps, observer=observer)
    await loop.start()
    return loop
