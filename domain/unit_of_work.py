"""The unit of work: one transaction, and the effects that run only once it has committed.

A use case opens ``async with UnitOfWork(deps) as uow:``, works on ``uow.session`` and *records*
what must happen outside the database — publish an event, arm a deadline, count demand, reindex
leads, enqueue a job. On a clean exit the transaction commits, then the effects run in the order
recorded (or, for a unit of work whose effects are independent, ``concurrent_effects``, all at
once, started in that order); the leads to reindex go out as ONE ``JobName.INDEX_LEADS`` job per
commit (or are indexed inline when the use case gave an ``indexer``, falling back to that job). An exception
rolls back and drops every effect, so nothing outside PostgreSQL describes a change that did not
happen.

An effect that fails after the commit is logged, never raised: the change is already durable, and
each kind has its own repair (reconciliation re-arms timers, the cron reprices, ``aiqleads
reindex`` rebuilds the index). This module imports no domain area; areas add their own recorders
(e.g. ``domain/cart/publishing.record_cart_effects``) on top of ``publish`` and ``after_commit``.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import functools
import json
import logging
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Iterator, Sequence
from contextlib import AsyncExitStack
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Protocol, TypeVar

from arq.connections import ArqRedis
from redis.asyncio import Redis
from redis.asyncio.client import Pipeline
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from aiqleads.domain.jobs import JobName, enqueue, queue_enqueue, reindex_args
from aiqleads.domain.settings import Settings

log = logging.getLogger(__name__)

AfterCommit = Callable[[], Awaitable[object]]
CREDIT_MOVES = "aiq.credit_moves"  # session.info: the ledger kinds and amounts posted in this transaction
# what each ledger kind counts as in the credit metrics (only SPEND, a checkout, is spending)
_GRANT_REASONS = {"PACK_PURCHASE": "purchase", "MONTHLY_ALLOWANCE": "allowance", "REFUND": "refund"}
Indexer = Callable[[Sequence[uuid.UUID]], Awaitable[object]]


class Backends(Protocol):
    """What a unit of work needs of the process's Deps (domain/bootstrap.py)."""

    @property
    def settings(self) -> Settings: ...

    @property
    def sessionmaker(self) -> async_sessionmaker[AsyncSession]: ...

    @property
    def read_sessionmaker(self) -> async_sessionmaker[AsyncSession]: ...

    @property
    def redis(self) -> Redis: ...

    @property
    def arq(self) -> ArqRedis: ...


class CreditObserver(Protocol):
    """Who counts committed credit movements (the process's metrics)."""

    def credits_moved(self, granted: dict[str, int] | None = None, spent: int = 0) -> None:
        """Credits granted by reason, and spent, in one committed transaction."""


def note_credit_move(session: AsyncSession, kind: str, amount: int) -> None:
    """Remember one ledger posting of this transaction; counted once it commits."""
    session.info.setdefault(CREDIT_MOVES, []).append((kind, amount))


def _report_credit_moves(deps: Backends, session: AsyncSession) -> None:
    moves: list[tuple[str, int]] = session.info.pop(CREDIT_MOVES, None) or []
    observer: CreditObserver | None = getattr(deps, "credit_observer", None)
    if not moves or observer is None:
        return
    granted: dict[str, int] = {}
    spent = 0
    for kind, amount in moves:
        if amount < 0:  # only a checkout is spending; a reversal or an admin debit is not
            spent += -amount if kind == "SPEND" else 0
            continue
        reason = _GRANT_REASONS.get(kind, "admin")
        granted[reason] = granted.get(reason, 0) + amount
    observer.credits_moved(granted, spent)


@dataclass(frozen=True)
class Effect:
    """One recorded after-commit action; ``label`` names it in logs and tests."""

    label: str
    run: AfterCommit
    before_answer: bool = False  # see UnitOfWork.after_commit


RedisReplies = Callable[[list[Any]], Awaitable[object]]


async def run_logged(effect: Effect) -> None:
    """Run one effect; a failure is logged, never raised (the change already committed: each
    effect kind has its own repair path)."""
    try:
        await effect.run()
    except Exception:
        log.exception("after-commit effect failed: %s", effect.label)


@dataclass(frozen=True)
class RedisEffect:
    """An after-commit effect made of Redis commands: ``queue`` puts them on a pipeline, ``then``
    (if any) sees their replies (an exception in place of a command Redis refused) and may follow up."""

    label: str
    queue: Callable[[Pipeline], object]
    then: RedisReplies | None = None
    before_answer: bool = False  # see UnitOfWork.after_commit


async def run_redis_effects(redis: Redis, effects: Sequence[RedisEffect]) -> None:
    """Send the commands of these effects in ONE pipelined round trip, then hand each its replies;
    failures are logged per effect, never raised (the change already committed)."""
    if not effects:
        return
    spans: list[tuple[RedisEffect, int, int]] = []
    async with redis.pipeline(transaction=False) as pipe:
        for effect in effects:
            start = len(pipe.command_stack)
            try:
                effect.queue(pipe)
            except Exception:  # as a failing effect: logged, and the others still go out
                del pipe.command_stack[start:]
                log.exception("after-commit effect failed: %s", effect.label)
                continue
            spans.append((effect, start, len(pipe.command_stack)))
        try:
            replies = await pipe.execute(raise_on_error=False)
        except Exception:
            for effect in effects:
                log.exception("after-commit effect failed: %s", effect.label)
            return
    follow_ups = []
    for effect, start, end in spans:
        part = list(replies[start:end])
        if effect.then is not None:
            follow_ups.append(run_logged(Effect(effect.label, functools.partial(effect.then, part))))
            continue
        refused = next((reply for reply in part if isinstance(reply, Exception)), None)
        if refused is not None:
            log.error("after-commit effect failed: %s: %r", effect.label, refused)
    await asyncio.gather(*follow_ups)


E = TypeVar("E", Effect, RedisEffect)


def _split(effects: list[E], before_answer_only: bool) -> tuple[list[E], list[E]]:
    """(to run now, to keep)."""
    if not before_answer_only:
        return effects, []
    return [e for e in effects if e.before_answer], [e for e in effects if not e.before_answer]


class DeferredEffects:
    """The effects of units of work that committed inside ``deferred_effects()``, run by its owner."""

    def __init__(self) -> None:
        self.pending: list[AfterCommit] = []

    async def run(self) -> None:
        """Run each committed unit of work's effects, in commit order (failures are logged)."""
        pending, self.pending = self.pending, []
        for run_effects in pending:
            await run_logged(Effect("deferred effects", run_effects))


# set by the HTTP edge around one GraphQL operation (see deferred_effects)
_DEFERRED: contextvars.ContextVar[DeferredEffects | None] = contextvars.ContextVar(
    "aiq_deferred_effects", default=None
)


@contextlib.contextmanager
def deferred_effects() -> Iterator[DeferredEffects]:
    """Units of work committing inside this block leave their effects to the caller instead of
    running them before returning: the HTTP edge sends the answer first, then runs them (none of
    them is part of an answer: events, deadlines, demand, the index queue), in commit order and
    before the request ends. Outside such a block (jobs, websockets, tests) effects run at once."""
    batch = DeferredEffects()
    token = _DEFERRED.set(batch)
    try:
        yield batch
    finally:
        _DEFERRED.reset(token)


class UnitOfWork:
    """Owns one transaction and the effects recorded during it (see the module docstring)."""

    def __init__(self, deps: Backends, *, concurrent_effects: bool = False) -> None:
        self.deps = deps
        # effects that depend on none of the others (a cart change's deadlines, events, demand,
        # profile and index) may run at once: the request then waits for the slowest, not the sum
        self.concurrent_effects = concurrent_effects
        self.indexer: Indexer | None = None  # set by reindex(..., indexer=...)
        self.effects: list[Effect] = []
        self.redis_effects: list[RedisEffect] = []  # with concurrent_effects: one pipeline for all
        self.reindexed: set[uuid.UUID] = set()
        self.committed = False
        self._reindex_placed = False
        self._reindex_effect: Effect | None = None
        self._session: AsyncSession | None = None
        self._stack: AsyncExitStack | None = None

    @property
    def session(self) -> AsyncSession:
        """The transaction's session (only inside ``async with``)."""
        if self._session is None:
            raise RuntimeError("the unit of work is not open")
        return self._session

    @property
    def settings(self) -> Settings:
        """The process settings."""
        return self.deps.settings

    async def __aenter__(self) -> UnitOfWork:
        stack = AsyncExitStack()
        session = await stack.enter_async_context(self.deps.sessionmaker())
        await stack.enter_async_context(session.begin())
        self._stack, self._session = stack, session
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        stack, session, self._stack, self._session = self._stack, self._session, None, None
        assert stack is not None and session is not None
        if exc is not None:
            self.discard()
            session.info.pop(CREDIT_MOVES, None)
            await stack.__aexit__(exc_type, exc, tb)
            return
        await stack.aclose()  # commits; a failing commit raises here and no effect runs
        self.committed = True
        _report_credit_moves(self.deps, session)
        deferred = _DEFERRED.get()
        if deferred is not None and (self.effects or self.redis_effects):
            await self.run_effects(before_answer_only=True)
            deferred.pending.append(self.run_effects)
            return
        await self.run_effects()

    # -- recording -------------------------------------------------------------------------------

    def after_commit(self, label: str, action: AfterCommit, *, before_answer: bool = False) -> None:
        """Run ``action`` once the transaction has committed (dropped on rollback). At the HTTP
        edge effects run after the answer is sent (``deferred_effects``), unless ``before_answer``:
        one whose loss in a crash right after the answer would break a promise the answer made (a
        hold's deadline: its expiry on time) runs before it."""
        self.effects.append(Effect(label, action, before_answer))

    def after_commit_redis(
        self,
        label: str,
        queue: Callable[[Pipeline], object],
        then: RedisReplies | None = None,
        *,
        before_answer: bool = False,
    ) -> None:
        """Send Redis commands once the transaction has committed (``queue`` puts them on a
        pipeline; ``then`` sees their replies). With ``concurrent_effects`` every such effect of
        the commit shares ONE round trip (those ``before_answer`` one of their own: see
        ``after_commit``); otherwise each is an effect of its own, in order."""
        effect = RedisEffect(label, queue, then, before_answer)
        if self.concurrent_effects:
            self.redis_effects.append(effect)
            return
        redis = self.deps.redis
        self.after_commit(label, lambda: run_redis_effects(redis, [effect]), before_answer=before_answer)

    def publish(self, channel: str, payload: dict[str, Any]) -> None:
        """Publish one event on a pub/sub channel after the commit (cart events, new leads, prices)."""
        data = json.dumps(payload, default=str)
        self.after_commit_redis(f"publish {channel}", lambda pipe: pipe.publish(channel, data))

    def publish_many(self, channel: str, payloads: Iterable[dict[str, Any]]) -> None:
        """Publish several events on one channel in one pipelined round trip after the commit."""
        data = [json.dumps(payload, default=str) for payload in payloads]
        if not data:
            return

        def queue(pipe: Pipeline) -> None:
            for item in data:
                pipe.publish(channel, item)

        self.after_commit_redis(f"publish {len(data)} on {channel}", queue)

    def enqueue(
        self, job: JobName, *args: object, job_id: str | None = None, kwargs: dict[str, object] | None = None
    ) -> None:
        """Enqueue a job after the commit (the job reads the committed state); a ``job_id`` already
        queued absorbs it."""
        deps = self.deps
        self.after_commit(
            f"enqueue {job}",
            lambda: enqueue(deps.arq, deps.settings.arq_queue_name, job, *args, job_id=job_id, kwargs=kwargs),
        )

    def reindex(self, lead_ids: Iterable[uuid.UUID], *, indexer: Indexer | None = None) -> None:
        """Have the search index follow these leads; every id recorded in one unit of work goes
        out as ONE batch, at the place of the first call among the effects. With an ``indexer``
        the batch is indexed inline, falling back to the INDEX_LEADS job when that fails."""
        if indexer is not None:
            self.indexer = indexer
        if not self._reindex_placed:
            self._reindex_placed = True
            self._reindex_effect = Effect("reindex", self._reindex)
            self.effects.append(self._reindex_effect)
        self.reindexed.update(lead_ids)

    def discard(self) -> None:
        """Drop every recorded effect (the transaction rolled back)."""
        self.effects.clear()
        self.redis_effects.clear()
        self.reindexed.clear()
        self._reindex_placed = False

    # -- running ---------------------------------------------------------------------------------

    async def run_effects(self, *, before_answer_only: bool = False) -> None:
        """Run the recorded effects (only those ``before_answer``, when told) in the order
        recorded (started in that order and run at once with ``concurrent_effects``); failures
        are logged, not raised."""
        effects, self.effects = _split(self.effects, before_answer_only)
        redis_effects, self.redis_effects = _split(self.redis_effects, before_answer_only)
        if self.concurrent_effects:
            if self._reindex_placed and self.indexer is None and not before_answer_only:
                # the index job joins the pipeline
                effects = [effect for effect in effects if effect is not self._reindex_effect]
                redis_effects.extend(self._reindex_job())
            runs = [run_logged(effect) for effect in effects]
            await asyncio.gather(run_redis_effects(self.deps.redis, redis_effects), *runs)
            return
        for effect in effects:
            await run_logged(effect)

    def _reindex_job(self) -> list[RedisEffect]:
        ids, self.reindexed, self._reindex_placed = sorted(self.reindexed), set(), False
        if not ids:
            return []
        deps = self.deps
        args = reindex_args(ids)

        def queue(pipe: Pipeline) -> None:
            queue_enqueue(pipe, deps.arq, deps.settings.arq_queue_name, JobName.INDEX_LEADS, args)

        return [RedisEffect(f"enqueue {JobName.INDEX_LEADS}", queue)]

    async def _reindex(self) -> None:
        ids, self.reindexed, self._reindex_placed = sorted(self.reindexed), set(), False
        if not ids:
            return
        if self.indexer is not None:
            try:
                await self.indexer(ids)
                return
            except Exception as exc:  # PostgreSQL has them; hand indexing to its own retried job
                log.warning(
                    "indexing %d leads inline failed (%r); enqueueing %s", len(ids), exc, JobName.INDEX_LEADS
                )
        deps = self.deps
        await enqueue(deps.arq, deps.settings.arq_queue_name, JobName.INDEX_LEADS, reindex_args(ids))


def transactions(deps: Backends) -> Callable[[], contextlib.AbstractAsyncContextManager[AsyncSession]]:
    """A factory of plain transactions (each a unit of work without effects), for code that opens
    several in a row around a call that must not hold a connection (payments)."""

    @contextlib.asynccontextmanager
    async def open_one() -> AsyncIterator[AsyncSession]:
        async with UnitOfWork(deps) as uow:
            yield uow.session

    return open_one


@contextlib.asynccontextmanager
async def read_only(deps: Backends) -> AsyncIterator[AsyncSession]:
    """A session for reads (queries, DataLoader batches, job inputs): each statement runs on its own
    (autocommit), so a read costs no BEGIN/ROLLBACK round trips."""
    async with deps.read_sessionmaker() as session:
        yield session


@contextlib.asynccontextmanager
async def read_snapshot(deps: Backends) -> AsyncIterator[AsyncSession]:
    """A read session inside a transaction, for reads that set transaction-local parameters
    (``set_config(..., true)``) for the statements after them."""
    async with deps.sessionmaker() as session:
        yield session
