"""SQL of repricing: lock candidate leads in batches, save new prices, append price history."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from geoalchemy2 import Geometry
from sqlalchemy import Select, cast, func, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from aiqleads.domain.core.lead import Lead


@dataclass(frozen=True)
class PricingRow:
    """The columns of a lead the engine and the price-change event need."""

    id: uuid.UUID
    property_type: str
    asking_price: int | None
    quality_score: float
    posted_at: datetime
    max_buyers: int
    buyers_count: int
    holds_count: int
    price_credits: int
    status: str
    lat: float
    lng: float


@dataclass(frozen=True)
class PriceUpdate:
    """What one repricing run decided for one lead."""

    lead_id: uuid.UUID
    price: int
    reprice_due_at: datetime | None


@dataclass(frozen=True)
class HistoryRow:
    """One price_history row to append."""

    lead_id: uuid.UUID
    price: int
    reason: str


def _pricing_select() -> Select[Any]:
    geometry = cast(Lead.location, Geometry)
    return select(
        Lead.id,
        Lead.property_type,
        Lead.asking_price,
        Lead.quality_score,
        Lead.posted_at,
        Lead.max_buyers,
        Lead.buyers_count,
        Lead.holds_count,
        Lead.price_credits,
        Lead.status,
        func.ST_Y(geometry).label("lat"),
        func.ST_X(geometry).label("lng"),
    )


def _rows(result: Any) -> list[PricingRow]:
    return [PricingRow(*row) for row in result.all()]


async def lock_leads(session: AsyncSession, lead_ids: Sequence[uuid.UUID]) -> list[PricingRow]:
    """Lock these leads for repricing; rows locked by another transaction are skipped (stay dirty)."""
    if not lead_ids:
        return []
    stmt = (
        _pricing_select()
        .where(Lead.id.in_(list(lead_ids)))
        .order_by(Lead.id)
        .with_for_update(of=Lead, skip_locked=True)
    )
    return _rows(await session.execute(stmt))


async def existing_ids(session: AsyncSession, lead_ids: Sequence[uuid.UUID]) -> set[uuid.UUID]:
    """Which of these leads exist (without locking them)."""
    return set(await session.scalars(select(Lead.id).where(Lead.id.in_(list(lead_ids)))))


async def read_leads(session: AsyncSession, lead_ids: Sequence[uuid.UUID]) -> list[PricingRow]:
    """The same columns without locking (to prepare hints before the locking transaction)."""
    if not lead_ids:
        return []
    return _rows(await session.execute(_pricing_select().where(Lead.id.in_(list(lead_ids)))))


async def lock_due_leads(session: AsyncSession, now: datetime, limit: int) -> list[PricingRow]:
    """Lock up to `limit` leads whose freshness tick is due (partial index on reprice_due_at)."""
    stmt = (
        _pricing_select()
        .where(Lead.reprice_due_at.is_not(None), Lead.reprice_due_at <= now)
        .order_by(Lead.reprice_due_at)
        .limit(limit)
        .with_for_update(of=Lead, skip_locked=True)
    )
    return _rows(await session.execute(stmt))


_APPLY = text(
    """
    UPDATE leads AS l
    SET price_credits = v.price,
        priced_at = :now,
        reprice_due_at = v.due,
        updated_at = CASE WHEN l.price_credits <> v.price THEN :now ELSE l.updated_at END
    FROM unnest(CAST(:ids AS uuid[]), CAST(:prices AS integer[]), CAST(:dues AS timestamptz[]))
         AS v(id, price, due)
    WHERE l.id = v.id
    """
)

_HISTORY = text(
    """
    INSERT INTO price_history (lead_id, price, reason, at)
    SELECT v.lead_id, v.price, v.reason, :now
    FROM unnest(CAST(:ids AS uuid[]), CAST(:prices AS integer[]), CAST(:reasons AS text[]))
         AS v(lead_id, price, reason)
    """
)


async def apply_updates(session: AsyncSession, updates: Sequence[PriceUpdate], now: datetime) -> None:
    """Save prices and next due times of many leads in one statement."""
    if not updates:
        return
    await session.execute(
        _APPLY,
        {
            "ids": [u.lead_id for u in updates],
            "prices": [u.price for u in updates],
            "dues": [u.reprice_due_at for u in updates],
            "now": now,
        },
    )


async def insert_history(session: AsyncSession, rows: Sequence[HistoryRow], now: datetime) -> None:
    """Append price_history rows in one statement."""
    if not rows:
        return
    await session.execute(
        _HISTORY,
        {
            "ids": [r.lead_id for r in rows],
            "prices": [r.price for r in rows],
            "reasons": [r.reason for r in rows],
            "now": now,
        },
    )
