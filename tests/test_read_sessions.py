"""Read sessions: plain reads run without a transaction (no BEGIN/ROLLBACK round trips), and the
reads that need transaction-local settings get a real transaction."""

from __future__ import annotations

from sqlalchemy import text
from starlette.applications import Starlette

from aiqleads.domain.bootstrap import Deps
from aiqleads.domain.unit_of_work import UnitOfWork, read_only, read_snapshot


async def test_read_only_sessions_run_each_statement_on_its_own(app: Starlette) -> None:
    deps: Deps = app.state.deps
    xid = text("SELECT pg_current_xact_id()::text")
    async with read_only(deps) as session:
        first = (await session.execute(xid)).scalar_one()
        second = (await session.execute(xid)).scalar_one()
    assert first != second  # no BEGIN was sent: each statement was its own transaction
    async with read_snapshot(deps) as session:
        first = (await session.execute(xid)).scalar_one()
        second = (await session.execute(xid)).scalar_one()
    assert first == second  # one transaction around both


async def test_read_snapshot_keeps_transaction_local_settings(app: Starlette) -> None:
    deps: Deps = app.state.deps
    async with read_snapshot(deps) as session:
        await session.execute(text("SELECT set_config('hnsw.ef_search', '77', true)"))
        assert (await session.execute(text("SHOW hnsw.ef_search"))).scalar_one() == "77"
    async with read_only(deps) as session:
        await session.execute(text("SELECT set_config('hnsw.ef_search', '77', true)"))
        # without a transaction the setting ended with its statement
        assert (await session.execute(text("SHOW hnsw.ef_search"))).scalar_one() != "77"


async def test_writes_still_commit_in_one_transaction_after_autocommit_reads(app: Starlette) -> None:
    deps: Deps = app.state.deps
    async with read_only(deps) as session:
        await session.execute(text("SELECT 1"))
    async with UnitOfWork(deps) as uow:
        started = (await uow.session.execute(text("SELECT transaction_timestamp()"))).scalar_one()
        await uow.session.execute(text("SELECT pg_sleep(0.01)"))
        again = (await uow.session.execute(text("SELECT transaction_timestamp()"))).scalar_one()
        assert started == again  # both statements ran in the unit of work's one transaction
