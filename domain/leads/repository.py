"""SQL for loading and saving leads."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from geoalchemy2 import Geometry
from sqlalchemy import Row, cast, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import defer

from aiqleads.domain.leads.models import Lead

# Columns never needed to show a lead (large or internal); loading them raises instead of lazy-loading.
LIST_OPTIONS = (defer(Lead.embedding, raiseload=True), defer(Lead.search_tsv, raiseload=True))

# Everything the search document needs, with latitude/longitude extracted in SQL. The street and
# contact are read only to redact them from the indexed text (they are never indexed).
_INDEX_COLUMNS = (
    Lead.id,
    Lead.source,
    Lead.property_type,
    Lead.title,
    Lead.description,
    Lead.street,
    Lead.source_url,
    Lead.contact_name,
    Lead.contact_phone,
    Lead.contact_email,
    Lead.city,
    Lead.state,
    Lead.zip,
    Lead.asking_price,
    Lead.bedrooms,
    Lead.bathrooms,
    Lead.sqft,
    Lead.year_built,
    Lead.posted_at,
    Lead.quality_score,
    Lead.fraud_score,
    Lead.price_credits,
    Lead.max_buyers,
    Lead.buyers_count,
    Lead.holds_count,
    Lead.status,
    Lead.updated_at,
    func.ST_Y(cast(Lead.location, Geometry)).label("lat"),
    func.ST_X(cast(Lead.location, Geometry)).label("lng"),
)


async def get_lead(session: AsyncSession, lead_id: uuid.UUID) -> Lead | None:
    """Load one lead by id."""
    return await session.get(Lead, lead_id)


async def get_leads(session: AsyncSession, lead_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, Lead]:
    """Load many leads in one statement, keyed by id."""
    rows = await session.scalars(select(Lead).where(Lead.id.in_(lead_ids)))
    return {row.id: row for row in rows}


async def database_now(session: AsyncSession) -> datetime:
    """The database clock (used to find rows changed after a point in time)."""
    value: datetime = (await session.execute(select(func.now()))).scalar_one()
    return value


async def count_all_leads(session: AsyncSession) -> int:
    """Number of leads in the table."""
    return int((await session.execute(select(func.count()).select_from(Lead))).scalar_one())


async def lead_batch_for_index(session: AsyncSession, after: uuid.UUID | None, limit: int) -> list[Row[Any]]:
    """The next `limit` leads by id (keyset), with the columns the search index needs."""
    query = select(*_INDEX_COLUMNS).order_by(Lead.id).limit(limit)
    if after is not None:
        query = query.where(Lead.id > after)
    return list((await session.execute(query)).all())


async def leads_updated_since(session: AsyncSession, since: datetime) -> list[Row[Any]]:
    """Leads created or changed at or after `since`, with the search-index columns."""
    query = select(*_INDEX_COLUMNS).where(Lead.updated_at >= since).order_by(Lead.id)
    return list((await session.execute(query)).all())


async def leads_for_index(session: AsyncSession, lead_ids: Sequence[uuid.UUID]) -> list[Row[Any]]:
    """These leads with the search-index columns (missing ids are simply absent)."""
    query = select(*_INDEX_COLUMNS).where(Lead.id.in_(list(lead_ids)))
    return list((await session.execute(query)).all())
