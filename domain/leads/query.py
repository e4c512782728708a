"""Marketplace listing queries on PostgreSQL/PostGIS: filters (aiqleads.domain.leads.sql_filter),
sorts, keyset pagination.

Geo filters and the DISTANCE sort run on the GiST index of `public_location`, the point snapped
to the 0.01° grid that every viewer may know (see aiqleads.domain.core.visibility): on the exact point,
a series of shrinking boxes, radii or distance orders would home in on a house non-buyers must not
find. The exact distance is computed only to be shown to the lead's buyers.
Pages use keyset cursors over (sort key, id), so rows inserted between two page requests never
shift the next page (no duplicates, no gaps).
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import SQLColumnExpression, func, select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from aiqleads.domain.core.filters.cursors import decode_cursor, encode_cursor
from aiqleads.domain.core.filters.spec import GeoRadius, LeadFilterSpec
from aiqleads.domain.core.lead import Lead
from aiqleads.domain.leads.repository import LIST_OPTIONS
from aiqleads.domain.leads.sql_filter import distance_columns, distance_meters, filter_conditions

CURSOR_KIND = "sql"


@dataclass(frozen=True)
class LeadHit:
    """One row of a page: the lead, its distance from the query centre, and its cursor."""

    lead: Lead
    distance_miles: float | None  # from the exact point (shown to the lead's buyers)
    cursor: str
    public_distance_miles: float | None = None  # from the public point (shown to everyone else)


@dataclass(frozen=True)
class LeadPage:
    """A page of leads with pagination state; total_count is None when it was not asked for."""

    hits: list[LeadHit]
    has_next_page: bool
    has_previous_page: bool
    end_cursor: str | None
    total_count: int | None


def _sort_key(spec: LeadFilterSpec, sort: str) -> tuple[SQLColumnExpression[Any], bool]:
    """(key expression, descending) of a sort; ties are broken by id in the same direction."""
    if sort == "NEWEST":
        return Lead.posted_at, True
    if sort == "PRICE_ASC":
        return Lead.price_credits, False
    if sort == "PRICE_DESC":
        return Lead.price_credits, True
    if sort == "QUALITY":
        return Lead.quality_score, True
    if sort == "DISTANCE" and spec.near is not None:
        return distance_meters(spec.near), False
    raise ValueError(f"unsupported sort {sort}")


async def count_leads(session: AsyncSession, spec: LeadFilterSpec) -> int:
    """How many leads match the filter."""
    query = select(func.count()).select_from(Lead).where(*filter_conditions(spec))
    return int((await session.execute(query)).scalar_one())


async def list_leads(
    session: AsyncSession,
    spec: LeadFilterSpec,
    sort: str,
    first: int,
    after: str | None,
    *,
    with_total: bool = True,
    count_session: AsyncSession | None = None,
) -> LeadPage:
    """One page of leads matching the filter, in sort order, after the cursor (validated here).

    With a second session in `count_session`, the page and the total run concurrently.
    """
    position = decode_cursor(after, CURSOR_KIND, sort)
    key, descending = _sort_key(spec, sort)
    conds = filter_conditions(spec)
    page_conds = list(conds)
    if position is not None:
        row_key = tuple_(key, Lead.id)
        page_conds.append(row_key < tuple_(*position) if descending else row_key > tuple_(*position))
    order = (key.desc(), Lead.id.desc()) if descending else (key.asc(), Lead.id.asc())
    columns: list[Any] = [Lead, key.label("sort_key")]
    if spec.near is not None:
        columns.extend(distance_columns(spec.near))
    query = select(*columns).options(*LIST_OPTIONS).where(*page_conds).order_by(*order).limit(first + 1)
    total: int | None = None
    if with_total and count_session is not None:
        result, total = await asyncio.gather(session.execute(query), count_leads(count_session, spec))
    else:
        result = await session.execute(query)
        if with_total:
            total = await count_leads(session, spec)
    rows = result.all()
    hits = [
        LeadHit(
            lead=row[0],
            distance_miles=float(row.distance_miles) if spec.near is not None else None,
            cursor=encode_cursor(CURSOR_KIND, sort, (row.sort_key, row[0].id)),
            public_distance_miles=float(row.public_distance_miles) if spec.near is not None else None,
        )
        for row in rows
    ]
    has_next = len(hits) > first
    hits = hits[:first]
    return LeadPage(
        hits=hits,
        has_next_page=has_next,
        has_previous_page=position is not None,
        end_cursor=hits[-1].cursor if hits else after,
        total_count=total,
    )


@dataclass(frozen=True)
class LeadWithDistance:
    """A lead and its exact and public distances in miles from the centre (None without one)."""

    lead: Lead
    distance_miles: float | None
    public_distance_miles: float | None


async def leads_with_distance(
    session: AsyncSession, lead_ids: Sequence[uuid.UUID], near: GeoRadius | None
) -> dict[uuid.UUID, LeadWithDistance]:
    """Load these leads in one statement, with their distances in miles from the centre if any."""
    if not lead_ids:
        return {}
    columns: list[Any] = [Lead]
    if near is not None:
        columns.extend(distance_columns(near))
    query = select(*columns).options(*LIST_OPTIONS).where(Lead.id.in_(list(lead_ids)))
    out: dict[uuid.UUID, LeadWithDistance] = {}
    for row in (await session.execute(query)).all():
        if near is None:
            out[row[0].id] = LeadWithDistance(row[0], None, None)
        else:
            out[row[0].id] = LeadWithDistance(
                row[0], float(row.distance_miles), float(row.public_distance_miles)
            )
    return out
