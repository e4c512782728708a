"""SQL for loading leads to show them (the rows the search index reads are in
aiqleads.domain.search.repository)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import defer

from aiqleads.domain.core.lead import Lead

# Columns never needed to show a lead (large or internal); loading them raises instead of lazy-loading.
LIST_OPTIONS = (defer(Lead.search_tsv, raiseload=True),)


async def get_lead(session: AsyncSession, lead_id: uuid.UUID) -> Lead | None:
    """Load one lead by id."""
    return await session.get(Lead, lead_id)


async def get_leads(session: AsyncSession, lead_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, Lead]:
    """Load many leads in one statement, keyed by id."""
    rows = await session.scalars(select(Lead).where(Lead.id.in_(lead_ids)))
    return {row.id: row for row in rows}
