"""Ingestion and reindexing done a page (or a slice) at a time: the same answers as one listing at a
time, in a bounded number of statements; a rebuild through worker processes indexes the same
documents as the inline indexer."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from aiqtest_support.ingestkit import local_fetch_config, sample, serve_samples, variant, worker_ctx
from sqlalchemy import event, func, select

from aiqleads.domain.core.lead import Lead, LeadSourceRecord, RawListing
from aiqleads.domain.search import indexer
from aiqleads.domain.search import repository as search_repo
from aiqleads.domain.search.mapping import alias_name, lead_document
from aiqleads.workers.ingest_jobs import run_scrape


async def _scrape(deps: Any, settings: Any, urls: dict[str, str], source: str, region: str) -> Any:
    ctx = worker_ctx(deps, settings.replace(source_base_urls=urls))
    return await run_scrape(ctx, source, region, fetch_config=local_fetch_config(settings))


class _Statements:
    """Counts the SQL statements an engine sends while active."""

    def __init__(self, engine: Any) -> None:
        self.engine = engine.sync_engine
        self.count = 0
        self.statements: list[str] = []

    def _seen(self, *args: Any) -> None:
        self.count += 1
        self.statements.append(str(args[2])[:90])

    def __enter__(self) -> _Statements:
        event.listen(self.engine, "before_cursor_execute", self._seen)
        return self

    def __exit__(self, *_exc: object) -> None:
        event.remove(self.engine, "before_cursor_execute", self._seen)


async def test_a_page_with_the_same_property_twice_merges_it_within_the_page(
    deps: Any, settings: Any
) -> None:
    home = variant(sample("velasco"), sources=("zillow",))
    twin = replace(home, key=home.key + "twin")  # another listing id, the same address and point
    # the others far enough apart that no listing can be another's dedup candidate
    others = [variant(sample("velasco"), sources=("zillow",), shift=0.01 * (n + 1)) for n in range(8)]
    server, urls = await serve_samples([home, twin, *others], per_page=20)
    try:
        with _Statements(deps.engine) as first_run:
            first = await _scrape(deps, settings, urls, "zillow", "dallas")
        again = await _scrape(deps, settings, urls, "zillow", "dallas")
    finally:
        await server.stop()
    assert first.listings == 10 and (first.created, first.merged) == (9, 1)
    assert (again.unchanged, again.created, again.merged, again.updated) == (10, 0, 0, 0)
    async with deps.sessionmaker() as session:
        owners = set(
            await session.scalars(
                select(LeadSourceRecord.lead_id).where(
                    LeadSourceRecord.external_id.in_([home.ident("zillow"), twin.ident("zillow")])
                )
            )
        )
        assert len(owners) == 1
        marked = await session.scalar(
            select(func.count())
            .select_from(RawListing)
            .where(RawListing.lead_id.in_(owners), RawListing.status == "INGESTED")
        )
        assert marked and marked >= 2
    # one page: a bounded number of statements, not a dozen per listing
    assert first_run.count <= 2 * first.listings, first_run.statements


async def test_a_rebuild_through_worker_processes_indexes_the_same_documents(
    deps: Any, settings: Any, monkeypatch: Any
) -> None:
    homes = [variant(sample("kinney"), sources=("zillow",)) for _ in range(5)]
    server, urls = await serve_samples(homes, per_page=10)
    try:
        await _scrape(deps, settings, urls, "zillow", "austin")
    finally:
        await server.stop()
    monkeypatch.setattr(indexer, "POOL_MIN_LEADS", 1)
    result = await indexer.reindex_all(deps.sessionmaker, deps.es, settings, batch_size=2, workers=2)
    async with deps.sessionmaker() as session:
        total = await session.scalar(select(func.count()).select_from(Lead))
        rows = await search_repo.leads_for_index(session, list(await session.scalars(select(Lead.id))))
    assert result.indexed == total
    await deps.es.indices.refresh(index=alias_name(settings))
    for row in rows:
        stored = (await deps.es.get(index=alias_name(settings), id=str(row.id)))["_source"]
        assert stored == lead_document(row)
    settings_now = (await deps.es.indices.get_settings(index=result.index))[result.index]["settings"]
    assert settings_now["index"]["refresh_interval"] == "1s"
    assert settings_now["index"]["translog"]["durability"] == "request"
