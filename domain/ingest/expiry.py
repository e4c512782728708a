"""Lead expiry: leads whose listings left their source, or that grew too old, leave the market.

**Missing from N scrapes.** Each ``lead_sources`` row remembers the region of the last recorded
scrape that saw it and how many *complete* scrapes of that source and region have missed it since
(``missed_scrapes``). After every recorded run (``account_run``):

- the listings the run saw (parsed, even if rejected now) get the run's region and 0 misses;
- if the run was complete (every search page read, and the crawl reached the last one: a page
  error or the page limit leaves the rest of the region unseen; and it found at least one listing,
  since an empty answer cannot be told from a broken one), every other listing of that source and
  region gets one more miss;
- a lead whose every listing has at least ``lead_missing_scrapes`` misses becomes EXPIRED (a lead
  merged from several sources stays while any of them still lists it).

**Too old.** ``expire_old`` retires leads whose ``posted_at`` is more than ``lead_max_age_days`` ago
(0: never), in batches, each batch its own transaction; the worker runs it hourly.

Both retire through ``leads/retirement.retire_leads`` (holds released with an event, search index
updated, purchases kept). An EXPIRED lead stays expired even if its listing comes back.
"""

from __future__ import annotations

import uuid
from collections.abc import Collection
from datetime import datetime, timedelta

from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession

from aiqleads.domain.core.lead import Lead
from aiqleads.domain.leads.retirement import RETIRABLE_FROM, retire_leads
from aiqleads.domain.unit_of_work import Backends, UnitOfWork

EXPIRED = "EXPIRED"
ON_MARKET = RETIRABLE_FROM[EXPIRED]  # what may expire: AVAILABLE and SOLD_OUT leads
AGE_BATCH = 500

_ACCOUNT = text(
    "WITH counted AS ("
    "  UPDATE lead_sources AS s SET "
    "    missed_scrapes = CASE WHEN s.external_id = ANY(CAST(:seen AS text[])) "
    "                     THEN 0 ELSE s.missed_scrapes + 1 END, "
    "    region = CASE WHEN s.external_id = ANY(CAST(:seen AS text[])) THEN :region ELSE s.region END "
    "  WHERE s.source = :source AND (s.external_id = ANY(CAST(:seen AS text[])) "
    "                                OR (CAST(:complete AS boolean) AND s.region = :region)) "
    "  RETURNING s.lead_id, s.missed_scrapes"
    ") "
    "SELECT DISTINCT lead_id FROM counted WHERE missed_scrapes >= :n"
)


async def account_run(
    session: AsyncSession, source: str, region: str, seen: Collection[str], *, complete: bool, misses: int
) -> list[uuid.UUID]:
    """Count a recorded run's presence and absences (see the module docstring); returns the leads
    that are now missing from ``misses`` complete scrapes on every listing and still on the market."""
    rows = await session.execute(
        _ACCOUNT,
        {"seen": sorted(seen), "source": source, "region": region, "complete": complete, "n": misses},
    )
    candidates = [lead_id for (lead_id,) in rows.all()]
    if not candidates:
        return []
    gone = await session.execute(
        text(
            "SELECT l.id FROM leads AS l WHERE l.id = ANY(CAST(:ids AS uuid[])) "
            "  AND l.status = ANY(CAST(:statuses AS text[])) "
            "  AND NOT EXISTS (SELECT 1 FROM lead_sources AS s "
            "                  WHERE s.lead_id = l.id AND s.missed_scrapes < :n) "
            "ORDER BY l.id"
        ),
        {"ids": candidates, "statuses": list(ON_MARKET), "n": misses},
    )
    return [lead_id for (lead_id,) in gone.all()]


async def expire_missing(
    deps: Backends,
    source: str,
    region: str,
    seen: Collection[str],
    *,
    complete: bool,
    now: datetime | None = None,
) -> list[uuid.UUID]:
    """After a recorded run: count presence and absences and expire the leads gone from
    ``lead_missing_scrapes`` complete scrapes, in one transaction; returns the expired ids."""
    async with UnitOfWork(deps) as uow:
        misses = max(1, deps.settings.lead_missing_scrapes)
        gone = await account_run(uow.session, source, region, seen, complete=complete, misses=misses)
        return await retire_leads(uow, gone, EXPIRED, "missing", now)


async def expire_old(
    deps: Backends, now: datetime, *, batch: int = AGE_BATCH, max_batches: int = 100
) -> list[uuid.UUID]:
    """Expire leads posted more than ``lead_max_age_days`` before ``now`` (0: none), a batch per
    transaction, at most ``max_batches`` batches per call (the next sweep goes on); the ids."""
    days = deps.settings.lead_max_age_days
    if days <= 0:
        return []
    cutoff = now - timedelta(days=days)
    expired: list[uuid.UUID] = []
    for _ in range(max_batches):
        async with UnitOfWork(deps) as uow:
            ids = list(
                await uow.session.scalars(
                    select(Lead.id)
                    .where(Lead.status.in_(ON_MARKET), Lead.posted_at < cutoff)
                    .order_by(Lead.posted_at, Lead.id)
                    .limit(batch)
                )
            )
            expired += await retire_leads(uow, ids, EXPIRED, "max_age", now)
        if len(ids) < batch:
            break
    return expired
