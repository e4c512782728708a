"""`aiqleads reindex` from the command line: a new index with every lead, the alias swapped, and
the documents built in worker processes when asked (--workers)."""

from __future__ import annotations

import asyncio
from typing import Any

from click.testing import CliRunner
from conftest import lead_row
from elasticsearch import AsyncElasticsearch
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, create_async_engine
from sqlalchemy.orm import Session

from aiqleads.cli import main
from aiqleads.domain.core.lead import Lead
from aiqleads.domain.search import indexer


def _insert(connection: Any, count: int) -> None:
    with Session(connection) as session:
        session.add_all([lead_row() for _ in range(count)])
        session.flush()


async def _leads_in_database(settings: Any, add: int) -> int:
    engine = create_async_engine(settings.database_url)
    try:
        async with engine.begin() as conn:
            await conn.run_sync(_insert, add)
        async with AsyncSession(engine) as session:
            return int(await session.scalar(select(func.count()).select_from(Lead)) or 0)
    finally:
        await engine.dispose()


def test_reindex_with_workers_indexes_every_lead_and_swaps_the_alias(settings: Any, monkeypatch: Any) -> None:
    leads = asyncio.run(_leads_in_database(settings, 3))
    prefix = f"{settings.es_index_prefix}-cli"  # its own alias: the session's index stays as it is
    monkeypatch.setattr(indexer, "POOL_MIN_LEADS", 1)  # the worker processes even for a few leads
    pools: list[int] = []
    make_pool = indexer._pool

    def counted_pool(workers: int) -> Any:
        pools.append(workers)
        return make_pool(workers)

    monkeypatch.setattr(indexer, "_pool", counted_pool)
    env = {
        "AIQ_ENV": "development",
        "DATABASE_URL": settings.database_url,
        "REDIS_URL": settings.redis_url,
        "ELASTICSEARCH_URL": settings.elasticsearch_url,
        "AIQ_ES_INDEX_PREFIX": prefix,
        "AIQ_JWT_SECRET": settings.jwt_secret,
    }
    result = CliRunner().invoke(main, ["reindex", "--workers", "2", "--batch-size", "100"], env=env)
    assert result.exit_code == 0, result.output

    async def counts() -> tuple[int, list[str]]:
        es = AsyncElasticsearch(settings.elasticsearch_url)
        try:
            alias = indexer.alias_name(settings.replace(es_index_prefix=prefix))
            await es.indices.refresh(index=alias)
            indexed = (await es.count(index=alias))["count"]
            behind = list((await es.indices.get_alias(name=alias)).keys())
            await es.indices.delete(index=behind)
        finally:
            await es.close()
        return int(indexed), behind

    indexed, behind = asyncio.run(counts())
    assert pools == [2]  # the documents were built in two worker processes
    assert leads >= 3 and indexed == leads
    assert len(behind) == 1 and behind[0].startswith(prefix)
    assert f"reindexed {leads} leads into {behind[0]}" in result.output
