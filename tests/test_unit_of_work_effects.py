"""The unit of work runs recorded effects only after its commit, never after a rollback, in the
order recorded, and sends every lead to reindex of one commit as ONE index job."""

from __future__ import annotations

import asyncio
import contextlib
import json
import uuid
from collections.abc import AsyncIterator, Sequence
from dataclasses import replace
from typing import Any

import asyncpg
import pytest
import pytest_asyncio
from aiqtest_support.database import BASE, asyncpg_dsn, owner_url
from sqlalchemy import text

from aiqleads.db_roles import APP_ROLE
from aiqleads.domain.bootstrap import Deps
from aiqleads.domain.jobs import JobName
from aiqleads.domain.settings import Settings
from aiqleads.domain.unit_of_work import UnitOfWork

pytestmark = pytest.mark.integration


@contextlib.asynccontextmanager
async def private_queue(deps: Deps) -> AsyncIterator[Deps]:
    """These Deps on a queue of their own, emptied afterwards."""
    queue = f"{deps.settings.arq_queue_name}:uow:{uuid.uuid4().hex[:8]}"
    own = replace(deps, settings=replace(deps.settings, arq_queue_name=queue))
    try:
        yield own
    finally:
        await deps.redis.delete(queue)


async def queued(deps: Deps) -> list[tuple[str, tuple[Any, ...]]]:
    """(function, args) of every job waiting on the Deps' queue."""
    jobs = await deps.arq.queued_jobs(queue_name=deps.settings.arq_queue_name)
    return [(job.function, tuple(job.args)) for job in jobs]


async def committed_note(deps: Deps, note: str) -> bool:
    """Whether another connection sees the marker row (i.e. the transaction committed)."""
    async with deps.engine.connect() as conn:
        found = await conn.scalar(text("SELECT count(*) FROM uow_probe WHERE note = :n"), {"n": note})
    return bool(found)


async def as_owner(settings: Settings, sql: str) -> None:
    """Run DDL on the test database as the schema owner (the application role may not)."""
    database = settings.database_url.rsplit("/", 1)[1]
    conn = await asyncpg.connect(asyncpg_dsn(owner_url(BASE, database)))
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


@pytest_asyncio.fixture(scope="module", loop_scope="session", autouse=True)
async def probe_tables(settings: Settings) -> AsyncIterator[None]:
    """Scratch tables the tests write to inside their units of work; the deferred unique
    constraint is checked only at COMMIT, so a test can make a commit (not the body) fail."""
    await as_owner(
        settings,
        "CREATE TABLE uow_probe (note text PRIMARY KEY);"
        " CREATE TABLE uow_deferred (note text,"
        " CONSTRAINT uow_deferred_note UNIQUE (note) DEFERRABLE INITIALLY DEFERRED);"
        f" GRANT SELECT, INSERT ON uow_probe, uow_deferred TO {APP_ROLE};",
    )
    yield
    await as_owner(settings, "DROP TABLE IF EXISTS uow_probe, uow_deferred")


async def test_effects_run_only_after_the_commit_is_visible(deps: Deps) -> None:
    note = uuid.uuid4().hex
    seen_during_effect: list[bool] = []

    async def effect() -> None:
        seen_during_effect.append(await committed_note(deps, note))

    async with UnitOfWork(deps) as uow:
        await uow.session.execute(text("INSERT INTO uow_probe (note) VALUES (:n)"), {"n": note})
        uow.after_commit("check", effect)
        assert seen_during_effect == []  # recorded, not run
    assert seen_during_effect == [True]
    assert uow.committed


async def test_a_published_event_arrives_after_the_commit_and_not_before(deps: Deps) -> None:
    channel = f"aiq:test:uow:{uuid.uuid4().hex[:8]}"
    pubsub = deps.redis.pubsub()
    await pubsub.subscribe(channel)
    await pubsub.get_message(timeout=1)  # the subscribe confirmation
    try:
        async with UnitOfWork(deps) as uow:
            uow.publish(channel, {"kind": "HOLD_CREATED", "at": uuid.UUID(int=1)})
            assert await pubsub.get_message(ignore_subscribe_messages=True, timeout=0.2) is None
        message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=2)
    finally:
        await pubsub.aclose()  # type: ignore[no-untyped-call]
    assert message is not None
    assert json.loads(message["data"]) == {"kind": "HOLD_CREATED", "at": str(uuid.UUID(int=1))}


async def test_a_rollback_drops_every_effect(deps: Deps) -> None:
    note = uuid.uuid4().hex
    ran: list[str] = []

    async def effect() -> None:
        ran.append("ran")

    async with private_queue(deps) as own:
        with pytest.raises(RuntimeError, match="use case failed"):
            async with UnitOfWork(own) as uow:
                await uow.session.execute(text("INSERT INTO uow_probe (note) VALUES (:n)"), {"n": note})
                uow.after_commit("never", effect)
                uow.reindex([uuid.uuid4()])
                uow.enqueue(JobName.PING)
                raise RuntimeError("use case failed")
        assert ran == []
        assert not uow.committed and uow.effects == [] and uow.reindexed == set()
        assert await queued(own) == []
    assert not await committed_note(deps, note)


async def test_a_failed_commit_runs_no_effect(deps: Deps) -> None:
    note = uuid.uuid4().hex
    ran: list[str] = []

    async def effect() -> None:
        ran.append("ran")

    with pytest.raises(Exception, match="uow_deferred"):
        async with UnitOfWork(deps) as uow:
            uow.after_commit("never", effect)
            # the unique constraint is checked at COMMIT, so the body ends cleanly and the commit fails
            for _ in range(2):
                await uow.session.execute(text("INSERT INTO uow_deferred (note) VALUES (:n)"), {"n": note})
    assert ran == [] and not uow.committed


async def test_every_reindex_of_one_commit_is_one_job_with_distinct_sorted_ids(deps: Deps) -> None:
    a, b, c = sorted(uuid.uuid4() for _ in range(3))
    async with private_queue(deps) as own:
        async with UnitOfWork(own) as uow:
            uow.reindex([c, a])
            uow.reindex([b, a])
            uow.reindex([])
        assert await queued(own) == [(JobName.INDEX_LEADS, ([str(a), str(b), str(c)],))]

        async with UnitOfWork(own) as nothing:
            assert nothing.reindexed == set()
        assert len(await queued(own)) == 1  # a commit without reindexing enqueues nothing


async def test_effects_run_in_the_order_recorded_and_one_failure_does_not_stop_the_rest(deps: Deps) -> None:
    order: list[str] = []

    async def step(name: str) -> None:
        order.append(name)
        if name == "second":
            raise ConnectionError("redis went away")

    async with private_queue(deps) as own:
        async with UnitOfWork(own) as uow:
            uow.after_commit("first", lambda: step("first"))
            uow.after_commit("second", lambda: step("second"))
            uow.reindex([uuid.UUID(int=7)])
            uow.after_commit("third", lambda: step("third"))
        assert order == ["first", "second", "third"]
        assert await queued(own) == [(JobName.INDEX_LEADS, ([str(uuid.UUID(int=7))],))]


async def test_independent_effects_start_in_order_and_run_at_once(deps: Deps) -> None:
    started: list[str] = []
    done: list[str] = []
    second_ran = asyncio.Event()

    async def waits_for_the_second() -> None:
        started.append("first")
        await asyncio.wait_for(second_ran.wait(), 2)  # run one after the other, this times out
        done.append("first")

    async def second() -> None:
        started.append("second")
        second_ran.set()
        raise ConnectionError("redis went away")  # logged; the others still complete

    async def third() -> None:
        started.append("third")
        done.append("third")

    async with private_queue(deps) as own:
        async with UnitOfWork(own, concurrent_effects=True) as uow:
            uow.after_commit("first", waits_for_the_second)
            uow.after_commit("second", second)
            uow.after_commit("third", third)
        assert started == ["first", "second", "third"] and sorted(done) == ["first", "third"]
        assert uow.effects == []


async def test_an_inline_indexer_replaces_the_job_and_a_failing_one_falls_back_to_it(deps: Deps) -> None:
    lead = uuid.uuid4()
    indexed: list[list[uuid.UUID]] = []

    async def index_now(ids: Sequence[uuid.UUID]) -> int:
        indexed.append(list(ids))
        return len(ids)

    async def broken(ids: Sequence[uuid.UUID]) -> int:
        raise ConnectionError("elasticsearch is down")

    async with private_queue(deps) as own:
        async with UnitOfWork(own) as uow:
            uow.reindex([lead], indexer=index_now)
        assert indexed == [[lead]] and await queued(own) == []

        async with UnitOfWork(own) as uow:
            uow.reindex([lead], indexer=broken)
        assert await queued(own) == [(JobName.INDEX_LEADS, ([str(lead)],))]


async def test_enqueued_jobs_go_to_the_process_queue_after_the_commit(deps: Deps, settings: Settings) -> None:
    async with private_queue(deps) as own:
        async with UnitOfWork(own) as uow:
            uow.enqueue(JobName.REPRICE_LEAD, "lead-1")
            assert await queued(own) == []
        assert await queued(own) == [(JobName.REPRICE_LEAD, ("lead-1",))]
