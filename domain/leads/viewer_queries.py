"""Batched per-viewer facts about leads (used by request-scoped DataLoaders)."""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import and_, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from aiqleads.domain.cart.models import Hold, Purchase
from aiqleads.domain.leads.models import Lead, PriceHistory


def seats_for_viewer(lead: Lead, held_by_others: int = 0) -> int:
    """Seats the viewer could still take: max buyers − purchases − others' active holds, never negative.

    The viewer's own hold is not subtracted: the seat it holds is the viewer's to buy.
    """
    return max(0, lead.max_buyers - lead.buyers_count - held_by_others)


async def purchased_lead_ids(
    session: AsyncSession, user_id: uuid.UUID, lead_ids: Sequence[uuid.UUID]
) -> set[uuid.UUID]:
    """Which of these leads the user bought (and did not return)."""
    rows = await session.scalars(
        select(Purchase.lead_id).where(
            Purchase.user_id == user_id, Purchase.lead_id.in_(lead_ids), Purchase.returned_at.is_(None)
        )
    )
    return set(rows)


async def active_holds_of_others(
    session: AsyncSession, user_id: uuid.UUID | None, lead_ids: Sequence[uuid.UUID], now: datetime
) -> dict[uuid.UUID, int]:
    """Count of unexpired holds on each lead by anyone other than the user."""
    conditions = [Hold.lead_id.in_(lead_ids), Hold.held_until > now]
    if user_id is not None:
        conditions.append(Hold.user_id != user_id)
    rows = await session.execute(
        select(Hold.lead_id, func.count()).where(and_(*conditions)).group_by(Hold.lead_id)
    )
    return {lead_id: count for lead_id, count in rows.tuples()}


async def price_history_for(
    session: AsyncSession, lead_ids: Sequence[uuid.UUID], first: int
) -> dict[uuid.UUID, list[PriceHistory]]:
    """The newest `first` price points of each lead, in one statement."""
    ranked = (
        select(
            PriceHistory.id,
            func.row_number()
            .over(
                partition_by=PriceHistory.lead_id, order_by=(PriceHistory.at.desc(), PriceHistory.id.desc())
            )
            .label("rn"),
        )
        .where(PriceHistory.lead_id.in_(lead_ids))
        .subquery()
    )
    rows = await session.scalars(
        select(PriceHistory)
        .join(ranked, ranked.c.id == PriceHistory.id)
        .where(ranked.c.rn <= first)
        .order_by(PriceHistory.lead_id, PriceHistory.at.desc(), PriceHistory.id.desc())
    )
    grouped: dict[uuid.UUID, list[PriceHistory]] = defaultdict(list)
    for row in rows:
        grouped[row.lead_id].append(row)
    return grouped
