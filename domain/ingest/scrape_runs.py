"""The record of every scrape run (``scrape_runs``): who started it, when, how it ended, what it found.

A run is written when it starts (``running``) and again when it ends (``succeeded``, ``failed``),
each in its own short transaction, so an operator sees a run in progress; a run that found its
source and region locked by another is one ``skipped_locked`` row. A worker that died mid-run
leaves a ``running`` row: the next run of that source and region, which holds the lock and so
knows no other is running, closes it as ``failed`` ("abandoned").
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    DateTime,
    Index,
    Integer,
    String,
    Text,
    func,
    insert,
    update,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from aiqleads.domain.db import Base, sql_in

TRIGGERS = ("schedule", "cli", "admin")
OUTCOMES = ("running", "succeeded", "failed", "skipped_locked")
ABANDONED = "abandoned: the worker running it stopped before it finished"


class ScrapeRun(Base):
    """One scrape of one source for one region, and its summary (the ScrapeReport's counts)."""

    __tablename__ = "scrape_runs"
    __table_args__ = (
        CheckConstraint(sql_in("trigger", TRIGGERS), name="trigger_valid"),
        CheckConstraint(sql_in("outcome", OUTCOMES), name="outcome_valid"),
        Index("ix_scrape_runs_source_region_started", "source", "region", "started_at"),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    source: Mapped[str] = mapped_column(String(16))
    region: Mapped[str] = mapped_column(Text)
    trigger: Mapped[str] = mapped_column(String(16))
    job_id: Mapped[str | None] = mapped_column(Text)
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    outcome: Mapped[str] = mapped_column(String(16), server_default="running")
    # every search page read and the crawl reached the last one: only such a run counts listings
    # as missing (domain/ingest/expiry.py)
    complete: Mapped[bool] = mapped_column(Boolean, server_default="false")
    counts: Mapped[dict[str, Any]] = mapped_column(JSONB, server_default="{}")
    expired: Mapped[int] = mapped_column(Integer, server_default="0")  # leads this run retired
    error: Mapped[str | None] = mapped_column(Text)


async def start_run(session: AsyncSession, source: str, region: str, trigger: str, job_id: str | None) -> int:
    """Close runs of this source and region left ``running`` (the caller holds the run lock, so
    none is), then record this one as running; returns its id."""
    await session.execute(
        update(ScrapeRun)
        .where(ScrapeRun.source == source, ScrapeRun.region == region, ScrapeRun.outcome == "running")
        .values(outcome="failed", finished_at=func.now(), error=ABANDONED)
    )
    run_id = await session.scalar(
        insert(ScrapeRun)
        .values(source=source, region=region, trigger=trigger, job_id=job_id)
        .returning(ScrapeRun.id)
    )
    assert run_id is not None
    return int(run_id)


async def finish_run(
    session: AsyncSession,
    run_id: int,
    outcome: str,
    *,
    counts: Mapping[str, Any],
    complete: bool = False,
    expired: int = 0,
    error: str | None = None,
) -> None:
    """Record how a run ended."""
    await session.execute(
        update(ScrapeRun)
        .where(ScrapeRun.id == run_id)
        .values(
            outcome=outcome,
            finished_at=func.now(),
            counts=dict(counts),
            complete=complete,
            expired=expired,
            error=error[:4000] if error else None,
        )
    )


async def record_skipped(
    session: AsyncSession, source: str, region: str, trigger: str, job_id: str | None
) -> int:
    """One finished row for a run that found its source and region already being scraped."""
    run_id = await session.scalar(
        insert(ScrapeRun)
        .values(
            source=source,
            region=region,
            trigger=trigger,
            job_id=job_id,
            outcome="skipped_locked",
            finished_at=func.now(),
            error="another run of this source and region holds the lock",
        )
        .returning(ScrapeRun.id)
    )
    assert run_id is not None
    return int(run_id)


def summary_counts(report: Mapping[str, Any]) -> dict[str, Any]:
    """The numeric counts of a scrape report (no lead ids, flags or the run's own id), as stored in
    ``scrape_runs.counts``."""
    return {
        key: value
        for key, value in report.items()
        if isinstance(value, int | float) and not isinstance(value, bool) and key != "run_id"
    }
