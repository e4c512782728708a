"""SQL that reads leads for the search index: the core column set (INDEX_COLUMNS) by id, in keyset
batches, or changed since a point in time."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Row, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from aiqleads.domain.core.lead import INDEX_COLUMNS, Lead


async def database_now(session: AsyncSession) -> datetime:
    """The database clock (used to find rows changed after a point in time)."""
    value: datetime = (await session.execute(select(func.now()))).scalar_one()
    return value


async def count_all_leads(session: AsyncSession) -> int:
    """Number of leads in the table."""
    return int((await session.execute(select(func.count()).select_from(Lead))).scalar_one())


async def lead_batch_for_index(session: AsyncSession, after: uuid.UUID | None, limit: int) -> list[Row[Any]]:
    """The next `limit` leads by id (keyset), with the columns the search index needs."""
    query = select(*INDEX_COLUMNS).order_by(Lead.id).limit(limit)
    if after is not None:
        query = query.where(Lead.id > after)
    return list((await session.execute(query)).all())


async def leads_updated_since(session: AsyncSession, since: datetime) -> list[Row[Any]]:
    """Leads created or changed at or after `since`, with the search-index columns."""
    query = select(*INDEX_COLUMNS).where(Lead.updated_at >= since).order_by(Lead.id)
    return list((await session.execute(query)).all())


async def leads_for_index(session: AsyncSession, lead_ids: Sequence[uuid.UUID]) -> list[Row[Any]]:
    """These leads with the search-index columns (missing ids are simply absent)."""
    query = select(*INDEX_COLUMNS).where(Lead.id.in_(list(lead_ids)))
    return list((await session.execute(query)).all())
