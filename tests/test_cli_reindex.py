"""`aiqleads reindex` from the command line: a new index with every lead, the alias swapped, and
the documents built in worker processes when asked (--workers)."""

from __future__ import annotations

import asyncio
from typing import Any

from click.testing import CliRunner
from sqlalchemy import func, select

from aiqleads.cli import main
from aiqleads.domain.core.lead import Lead
from aiqleads.domain.search import indexer


async def test_reindex_with_workers_indexes_every_lead_and_swaps_the_alias(
    settings: Any, deps: Any, make_lead: Any, monkeypatch: Any
) -> None:
    for _ in range(3):
        await make_lead()
    async with deps.sessionmaker() as session:
        leads = int(await session.scalar(select(func.count()).select_from(Lead)) or 0)
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
    # the command runs its own event loop (asyncio.run): in a thread, away from the session's
    command = ["reindex", "--workers", "2", "--batch-size", "100"]
    result = await asyncio.to_thread(CliRunner().invoke, main, command, env=env)
    assert result.exit_code == 0, result.output

    alias = indexer.alias_name(settings.replace(es_index_prefix=prefix))
    await deps.es.indices.refresh(index=alias)
    indexed = (await deps.es.count(index=alias))["count"]
    behind = list((await deps.es.indices.get_alias(name=alias)).keys())
    await deps.es.indices.delete(index=behind)
    assert pools == [2]  # the documents were built in two worker processes
    assert leads >= 3 and indexed == leads
    assert len(behind) == 1 and behind[0].startswith(prefix)
    assert f"reindexed {leads} leads into {behind[0]}" in result.output
