"""Writing leads to Elasticsearch: incremental indexing and zero-downtime full rebuilds.

PostgreSQL is the source of truth. Writers call `index_leads` (usually through the worker job
`JobName.INDEX_LEADS`, which a unit of work enqueues after the commit that changed the leads);
`reindex_all` rebuilds a fresh index from PostgreSQL and swaps the alias atomically.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import multiprocessing
import time
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, cast

import orjson
from elasticsearch import AsyncElasticsearch, NotFoundError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from aiqleads.domain.search import repository as leads_repo
from aiqleads.domain.search.mapping import (
    INDEX_SETTINGS,
    MAPPING,
    alias_name,
    index_pattern,
    lead_document,
    new_index_name,
)
from aiqleads.domain.settings import Settings

BULK_CHUNK = 1000
Progress = Callable[[str], None]


class IndexingError(RuntimeError):
    """Elasticsearch rejected some documents (the job is retried by the worker)."""


def _initial_index_name(settings: Settings) -> str:
    return f"{alias_name(settings)}-00000000000000000000"


async def ensure_index(es: AsyncElasticsearch, settings: Settings) -> str:
    """Make sure the alias exists (creating a first index behind it); return the alias name."""
    alias = alias_name(settings)
    if await es.indices.exists_alias(name=alias):
        return alias
    if await es.indices.exists(index=alias):
        # A concrete index squatting on the alias name (e.g. an auto-created one): replace it.
        await es.indices.delete(index=alias)
    initial = _initial_index_name(settings)
    if not await es.indices.exists(index=initial):
        try:
            await es.indices.create(index=initial, settings=INDEX_SETTINGS, mappings=MAPPING)
        except Exception as exc:  # another process created it first
            if "resource_already_exists" not in str(exc):
                raise
    await es.indices.put_alias(index=initial, name=alias)
    return alias


def _actions(index: str, docs: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    operations: list[dict[str, Any]] = []
    for doc in docs:
        operations.append({"index": {"_index": index, "_id": doc["lead_id"]}})
        operations.append(doc)
    return operations


async def _bulk(
    es: AsyncElasticsearch, operations: list[dict[str, Any]] | bytes, *, require_alias: bool, refresh: bool
) -> list[dict[str, Any]]:
    """Send one bulk request; return the failed items."""
    response = await es.bulk(
        # bytes are a ready NDJSON body (reindex builds them in worker processes); the client
        # sends it as is, though its annotation only names the list form
        operations=cast(Any, operations),
        require_alias=require_alias,
        refresh="wait_for" if refresh else False,
        # only what went wrong comes back (not one result per document, for ES to write and us to read)
        filter_path="errors,items.*.error",
    )
    if not response.get("errors"):
        return []
    failed: list[dict[str, Any]] = []
    for item in response["items"]:
        result = next(iter(item.values()))
        if result.get("error"):
            failed.append(result)
    return failed


async def index_leads(
    es: AsyncElasticsearch, settings: Settings, leads: Iterable[Any], *, refresh: bool = False
) -> int:
    """Index (create or replace) these leads through the alias; returns how many were sent.

    `leads` are Lead rows (or rows with the same attributes). Call it after the transaction that
    changed them committed. `refresh=True` makes them searchable before returning (tests).
    """
    docs = [lead_document(lead) for lead in leads]
    if not docs:
        return 0
    alias = alias_name(settings)
    for start in range(0, len(docs), BULK_CHUNK):
        operations = _actions(alias, docs[start : start + BULK_CHUNK])
        failed = await _bulk(es, operations, require_alias=True, refresh=refresh)
        if failed and all(f["error"].get("type") == "index_not_found_exception" for f in failed):
            await ensure_index(es, settings)
            failed = await _bulk(es, operations, require_alias=True, refresh=refresh)
        if failed:
            first = failed[0]["error"]
            raise IndexingError(
                f"{len(failed)} lead(s) not indexed: {first.get('type')}: {first.get('reason')}"
            )
    return len(docs)


async def delete_lead(
    es: AsyncElasticsearch, settings: Settings, lead_id: uuid.UUID | str, *, refresh: bool = False
) -> bool:
    """Remove a lead from the index; returns False when it was not there."""
    try:
        await es.delete(index=alias_name(settings), id=str(lead_id), refresh="wait_for" if refresh else False)
    except NotFoundError:
        return False
    return True


@dataclass(frozen=True)
class ReindexResult:
    """What a full rebuild did."""

    index: str
    alias: str
    indexed: int
    caught_up: int
    removed_indices: tuple[str, ...]
    seconds: float


async def refresh_leads(
    session_factory: async_sessionmaker[AsyncSession],
    es: AsyncElasticsearch,
    settings: Settings,
    lead_ids: Sequence[uuid.UUID],
) -> tuple[int, int]:
    """Index these leads from PostgreSQL in one bulk request and remove the deleted ones; returns
    (indexed, removed)."""
    async with session_factory() as session:
        rows = await leads_repo.leads_for_index(session, list(lead_ids))
    indexed = await index_leads(es, settings, rows)
    found = {row.id for row in rows}
    removed = 0
    for missing in (i for i in lead_ids if i not in found):
        removed += int(await delete_lead(es, settings, missing))
    return indexed, removed


async def _current_indices(es: AsyncElasticsearch, settings: Settings) -> list[str]:
    try:
        found = await es.indices.get(index=index_pattern(settings), expand_wildcards="open")
    except NotFoundError:
        return []
    return list(found.body.keys())


async def swap_alias(es: AsyncElasticsearch, settings: Settings, new_index: str) -> list[str]:
    """Point the alias at new_index only, atomically; returns the indices it left."""
    alias = alias_name(settings)
    actions: list[dict[str, Any]] = []
    try:
        current = await es.indices.get_alias(name=alias)
        previous = [name for name in current.body if name != new_index]
    except NotFoundError:
        previous = []
    for name in previous:
        actions.append({"remove": {"index": name, "alias": alias}})
    if await es.indices.exists(index=alias) and not await es.indices.exists_alias(name=alias):
        actions.append({"remove_index": {"index": alias}})
    actions.append({"add": {"index": new_index, "alias": alias, "is_write_index": True}})
    await es.indices.update_aliases(actions=actions)
    return previous


_ID = leads_repo.INDEX_NAMES.index("id")  # the keyset column of a batch row

# A rebuild's cost is building the documents (the visibility policy's redaction, the text
# analysis), so a big one on idle cores may build them in worker processes (reindex_all workers=).
POOL_MIN_LEADS = 20_000
IN_FLIGHT_PER_WORKER = 2  # slices queued per worker, so no worker waits for the reader
BUILD_SETTINGS: dict[str, Any] = {
    "refresh_interval": "-1",
    "number_of_replicas": 0,
    "translog": {"durability": "async"},  # one fsync every few seconds, not one per bulk request
}
SERVING_SETTINGS: dict[str, Any] = {
    "refresh_interval": "1s",
    "number_of_replicas": INDEX_SETTINGS["number_of_replicas"],
    "translog": {"durability": "request"},
}


class _Row:
    """A lead row rebuilt in a worker process from its column values (what lead_document reads)."""

    def __init__(self, names: Sequence[str], values: Sequence[Any]) -> None:
        self.__dict__.update(zip(names, values, strict=True))


def build_bulk_bodies(
    index: str, names: Sequence[str], rows: Sequence[Sequence[Any]]
) -> tuple[list[bytes], int]:
    """Bulk request bodies (NDJSON, BULK_CHUNK documents each) indexing these rows into `index`."""
    # bytes, as orjson writes them: a str would be decoded here, encoded and decoded again between
    # the processes, and encoded once more by the client
    bodies: list[bytes] = []
    for start in range(0, len(rows), BULK_CHUNK):
        lines: list[bytes] = []
        for values in rows[start : start + BULK_CHUNK]:
            doc = lead_document(_Row(names, values))
            lines.append(orjson.dumps({"index": {"_index": index, "_id": doc["lead_id"]}}))
            lines.append(orjson.dumps(doc))
        bodies.append(b"\n".join(lines) + b"\n")
    return bodies, len(rows)


async def _send_bodies(es: AsyncElasticsearch, bodies: Sequence[bytes]) -> None:
    for body in bodies:
        failed = await _bulk(es, body, require_alias=False, refresh=False)
        if failed:
            first = failed[0]["error"]
            raise IndexingError(
                f"{len(failed)} lead(s) not indexed: {first.get('type')}: {first.get('reason')}"
            )


def _pool(workers: int) -> concurrent.futures.ProcessPoolExecutor:
    # spawn: the parent runs an event loop and driver threads, which a fork would copy mid-flight
    return concurrent.futures.ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn"))


async def reindex_all(
    session_factory: async_sessionmaker[AsyncSession],
    es: AsyncElasticsearch,
    settings: Settings,
    progress: Progress | None = None,
    *,
    batch_size: int = 2000,
    workers: int = 1,
) -> ReindexResult:
    """Rebuild the index from PostgreSQL into `<prefix>-leads-<timestamp>`, then swap the alias.

    Readers keep using the old index until the atomic alias swap. Writes made while the new
    index is built go to the old one; after the swap, every lead updated since the rebuild
    started is indexed again into the new index (catch-up), and the old indices are deleted.

    The leads are read in keyset slices of `batch_size`; a slice's documents are built while the
    previous slice is in Elasticsearch. With ``workers`` > 1 (and at least POOL_MIN_LEADS leads)
    they are built in that many spawned processes: it pays where cores are free (on the 2-core
    bench machine, with Elasticsearch on the same cores, 20k leads took 15.1 s with 2 workers
    against 18.7 s in process, 2026-12-02; ``aiqleads reindex --workers``), and a caller's main
    module must then be import-safe (``if __name__ == "__main__"``).
    """
    report: Progress = progress or (lambda _line: None)
    started = time.perf_counter()
    index = new_index_name(settings)
    alias = alias_name(settings)
    await es.indices.create(index=index, settings={**INDEX_SETTINGS, **BUILD_SETTINGS}, mappings=MAPPING)
    loop = asyncio.get_running_loop()
    pool: concurrent.futures.ProcessPoolExecutor | None = None
    slices: set[asyncio.Task[int]] = set()
    built = False
    try:
        async with session_factory() as session:
            since = await leads_repo.database_now(session)
            total = await leads_repo.count_all_leads(session)
        report(f"reindex: building {index} from {total} leads in PostgreSQL")
        if total >= POOL_MIN_LEADS and workers > 1:
            pool = _pool(workers)
        # at least one slice building while the previous one is in Elasticsearch
        room = asyncio.Semaphore(max(2, workers * IN_FLIGHT_PER_WORKER if pool else 2))
        done = 0
        failures: list[BaseException] = []

        async def index_slice(names: list[str], rows: list[list[Any]]) -> int:
            try:
                if pool is not None:
                    bodies, n = await loop.run_in_executor(pool, build_bulk_bodies, index, names, rows)
                else:
                    bodies, n = build_bulk_bodies(index, names, rows)
                await _send_bodies(es, bodies)
                return n
            finally:
                room.release()

        def finished(task: asyncio.Task[int]) -> None:
            nonlocal done
            slices.discard(task)
            if task.cancelled():
                return
            if task.exception() is not None:
                failures.append(task.exception())  # type: ignore[arg-type]
                return
            done += task.result()
            percent = 100.0 * done / total if total else 100.0
            report(f"reindex: {done}/{total} leads indexed ({percent:.1f}%)")

        after: uuid.UUID | None = None
        async with session_factory() as session:
            while True:
                rows = await leads_repo.lead_batch_for_index(session, after, batch_size)
                await session.rollback()  # no snapshot held open across the whole rebuild
                if not rows:
                    break
                after = rows[-1][_ID]
                await room.acquire()
                if failures:
                    raise failures[0]
                task = asyncio.create_task(index_slice(list(leads_repo.INDEX_NAMES), rows))
                slices.add(task)
                task.add_done_callback(finished)
        if slices:
            await asyncio.gather(*slices, return_exceptions=True)
        if failures:
            raise failures[0]
        await es.indices.put_settings(index=index, settings={"index": SERVING_SETTINGS})
        await es.indices.refresh(index=index)
        built = True
    except BaseException:
        for task in list(slices):
            task.cancel()
        for task in list(slices):
            with contextlib.suppress(BaseException):
                await task
        await es.indices.delete(index=index, ignore_unavailable=True)
        raise
    finally:
        if pool is not None:
            if built:  # the idle workers are waited for (reaped: their CPU is the caller's children's)
                await asyncio.to_thread(pool.shutdown, True, cancel_futures=True)
            else:  # after a failure nothing waits for slices no one needs
                pool.shutdown(wait=False, cancel_futures=True)
    previous = await swap_alias(es, settings, index)
    report(f"reindex: alias {alias} now points at {index}")
    async with session_factory() as session:
        changed = await leads_repo.leads_updated_since(session, since - timedelta(seconds=1))
    caught_up = 0
    for start in range(0, len(changed), batch_size):
        caught_up += await index_leads(es, settings, changed[start : start + batch_size])
    if caught_up:
        report(f"reindex: re-applied {caught_up} leads changed during the rebuild")
    stale = sorted({*previous, *(await _current_indices(es, settings))} - {index})
    for name in stale:
        await es.indices.delete(index=name, ignore_unavailable=True)
    if stale:
        report(f"reindex: deleted old indices {', '.join(stale)}")
    await es.indices.refresh(index=index)
    return ReindexResult(
        index=index,
        alias=alias,
        indexed=done,
        caught_up=caught_up,
        removed_indices=tuple(stale),
        seconds=time.perf_counter() - started,
    )
