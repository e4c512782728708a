"""SQL that reads leads for the search index: the core column set (INDEX_COLUMNS) by id, in keyset
batches, or changed since a point in time."""

from __future__ import annotations

import functools
import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Integer, Row, Select, bindparam, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from aiqleads.domain.core.driver_sql import run
from aiqleads.domain.core.lead import INDEX_COLUMNS, Lead


async def database_now(session: AsyncSession) -> datetime:
    """The database clock (used to find rows changed after a point in time)."""
    value: datetime = (await session.execute(select(func.now()))).scalar_one()
    return value


async def count_all_leads(session: AsyncSession) -> int:
    """Number of leads in the table."""
    return int((await session.execute(select(func.count()).select_from(Lead))).scalar_one())


# the names of INDEX_COLUMNS, in order (what lead_document reads of a row)
INDEX_NAMES: tuple[str, ...] = tuple(str(column.key) for column in select(*INDEX_COLUMNS).selected_columns)


async def lead_batch_for_index(session: AsyncSession, after: uuid.UUID | None, limit: int) -> list[list[Any]]:
    """The next `limit` leads by id (keyset), each the values of INDEX_NAMES in order (run on the
    session's driver: a rebuild reads every lead, and SQLAlchemy's row objects cost more than the
    read)."""
    values: dict[str, Any] = {"limit": limit} if after is None else {"limit": limit, "after": after}
    return await run(session, _lead_batch, values, after is not None)


@functools.cache
def _lead_batch(keyset: bool) -> Select[Any]:
    query = select(*INDEX_COLUMNS).order_by(Lead.id).limit(bindparam("limit", type_=Integer))
    if keyset:
        query = query.where(Lead.id > bindparam("after", type_=Lead.id.type))
    return query


async def leads_updated_since(session: AsyncSession, since: datetime) -> list[Row[Any]]:
    """Leads created or changed at or after `since`, with the search-index columns."""
    query = select(*INDEX_COLUMNS).where(Lead.updated_at >= since).order_by(Lead.id)
    return list((await session.execute(query)).all())


async def leads_for_index(session: AsyncSession, lead_ids: Sequence[uuid.UUID]) -> list[Row[Any]]:
    """These leads with the search-index columns (missing ids are simply absent)."""
    query = select(*INDEX_COLUMNS).where(Lead.id.in_(list(lead_ids)))
    return list((await session.execute(query)).all())
