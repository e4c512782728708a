"""Batched facts about leads for request-scoped DataLoaders (the seat facts are in
aiqleads.domain.core.seats)."""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Sequence

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from aiqleads.domain.core.lead import PriceHistory


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
