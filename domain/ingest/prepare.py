"""Ingestion, step one: clean every scraped listing (rules, then the optional LLM refiner) and
validate it, without touching the database, so no transaction is held open while an LLM thinks.
Step two is ``domain/ingest/store.py``; ``domain/ingest/use_cases.py`` runs both.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Protocol

from aiqleads.domain.cleaning.pipeline import clean_record
from aiqleads.domain.core.listings import CleanListing, RawRecord, ScrapeBatch
from aiqleads.domain.ingest.validation import validate


class Refiner(Protocol):
    """Something that improves a rule-cleaned listing (the LLM cleaner); must never raise."""

    async def refine(self, raw: RawRecord, clean: CleanListing) -> CleanListing:
        """Return the listing, improved where the refiner is confident."""
        ...


@dataclass
class PreparedListing:
    """A listing after cleaning and validation, ready to store."""

    raw: RawRecord
    fragment: str
    clean: CleanListing
    ok: bool
    problems: list[str]
    detail_error: str | None = None


@dataclass
class PreparedBatch:
    """A batch after prepare_batch."""

    batch: ScrapeBatch
    listings: list[PreparedListing]


async def prepare_batch(
    batch: ScrapeBatch,
    *,
    refiner: Refiner | None = None,
    concurrency: int = 4,
    now: datetime | None = None,
) -> PreparedBatch:
    """Clean every listing (rules, then the refiner when given) and validate it."""
    now = now or datetime.now(UTC)
    cleaned = [(item, clean_record(item.record, now)) for item in batch.listings]
    if refiner is not None and cleaned:
        gate = asyncio.Semaphore(concurrency)

        async def refine(raw: RawRecord, clean: CleanListing) -> CleanListing:
            async with gate:
                return await refiner.refine(raw, clean)

        refined = await asyncio.gather(*(refine(item.record, clean) for item, clean in cleaned))
        cleaned = [(item, clean) for (item, _), clean in zip(cleaned, refined, strict=True)]
    prepared = []
    for item, clean in cleaned:
        result = validate(clean, now)
        prepared.append(
            PreparedListing(item.record, item.fragment, clean, result.ok, result.problems, item.detail_error)
        )
    return PreparedBatch(batch, prepared)
