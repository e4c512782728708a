"""Writing synthetic leads: asyncpg binary COPY of the leads and their first price_history rows.

``aiqleads.domain.leads.bulk`` owns the table layout and the EWKB geography codec. Elasticsearch is
not touched: ``aiqleads reindex`` rebuilds the index from PostgreSQL.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import time
from collections.abc import Callable
from datetime import datetime
from typing import Any

from aiqleads.domain.bootstrap import opened
from aiqleads.domain.leads import bulk
from aiqleads.domain.recommendations.embedding import embed_missing
from aiqleads.domain.settings import Settings
from aiqleads_dev.seeding.generator import LeadRecord, generate_leads

Progress = Callable[[str], None]

CHUNK_ROWS = 10_000


def _lead_row(r: LeadRecord) -> tuple[Any, ...]:
    """The record as a COPY row, in bulk.LEAD_COLUMNS order."""
    return (
        r.id, r.source, r.source_url, r.property_type, r.title, r.description, r.street, r.city, r.state,
        r.zip, bulk.ewkb_point(r.lng, r.lat), r.asking_price, r.bedrooms, r.bathrooms, r.sqft, r.year_built,
        r.photos, r.posted_at, r.quality_score, r.fraud_score, r.fraud_signals, r.contact_name,
        r.contact_phone, r.contact_email, r.price_credits, r.max_buyers, "AVAILABLE", r.priced_at,
        r.reprice_due_at, r.created_at, r.created_at,
    )  # fmt: skip


async def seed_synthetic(
    settings: Settings,
    n: int,
    seed: int = 42,
    progress: Progress | None = None,
    *,
    now: datetime | None = None,
    embed: bool = True,
) -> int:
    """Write N synthetic leads (and their initial price_history rows) with COPY; returns N.

    Prices come from the pricing engine as of `now` (default: the current time), which is also
    when the price_history rows are dated; `reprice_due_at` is the quote's next freshness tick.
    With ``embed`` (the default) every lead is then given its vector with the configured embedder.
    """
    if n < 1:
        raise ValueError("the number of synthetic leads must be at least 1")
    say = progress or (lambda _msg: None)
    started = time.perf_counter()
    rows = generate_leads(n, seed, now=now)
    chunk_rows = max(1, min(CHUNK_ROWS, math.ceil(n / 10)))

    def next_chunk(size: int) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
        chunk = [next(rows) for _ in range(size)]
        history = [(r.id, r.price_credits, r.price_reason, r.priced_at) for r in chunk]
        return [_lead_row(r) for r in chunk], history

    async with bulk.copy_connection(settings.database_url) as conn:
        # generate the next chunk in a thread while PostgreSQL ingests the current one
        pending = asyncio.create_task(asyncio.to_thread(next_chunk, min(chunk_rows, n)))
        try:
            async with conn.transaction():
                written = 0
                while written < n:
                    lead_rows, history_rows = await pending
                    after = written + len(lead_rows)
                    if after < n:
                        pending = asyncio.create_task(
                            asyncio.to_thread(next_chunk, min(chunk_rows, n - after))
                        )
                    await bulk.copy_leads(conn, lead_rows, history_rows)
                    before, written = written, after
                    if written == n or written * 10 // n > before * 10 // n:
                        elapsed = time.perf_counter() - started
                        say(f"  {written:>9,}/{n:,} leads written ({written * 100 // n}%, {elapsed:.1f}s)")
        finally:
            if not pending.done():  # a COPY failed while the next chunk was being generated
                with contextlib.suppress(Exception):
                    await pending
    say(f"seeded {n:,} synthetic leads in {time.perf_counter() - started:.1f}s")
    if embed:
        await embed_all_leads(settings, say)
    say("run `aiqleads reindex` to index them in Elasticsearch")
    return n


async def embed_all_leads(settings: Settings, progress: Progress) -> None:
    """Give every lead without one a vector of the configured embedder (with a progress line)."""
    async with opened(settings, purpose="cli", embedder=True) as deps:
        report = await embed_missing(deps, deps.lead_embedder, progress=progress)
    progress(report.line())


async def count_leads(settings: Settings) -> int:
    """How many leads the database holds."""
    return await bulk.count_leads(settings.database_url)
