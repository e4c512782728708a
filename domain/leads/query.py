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

from sqlalchemy import ColumnElement, SQLColumnExpression, func, select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from aiqleads.domain.core.filters.cursors import decode_cursor, encode_cursor
from aiqleads.domain.core.filters.spec import GeoRadius, LeadFilterSpec
from aiqleads.domain.core.lead import Lead
from aiqleads.domain.leads.repository import LIST_OPTIONS
from aiqleads.domain.leads.sql_filter import (
    centre_geography,
    distance_columns,
    filter_conditions,
    knn_distance_meters,
)

# covers the last-bit difference between the KNN operator's distance and ST_DWithin's
_REACH_SLACK_METERS = 0.01

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
    """A page of leads with pagination state; total_count is None when it was not asked for.

    total_count is exact when total_count_is_exact, else a lower bound (the count limit).
    """

    hits: list[LeadHit]
    has_next_page: bool
    has_previous_page: bool
    end_cursor: str | None
    total_count: int | None
    total_count_is_exact: bool = True


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
        return knn_distance_meters(spec.near), False
    raise ValueError(f"unsupported sort {sort}")


async def count_leads(session: AsyncSession, spec: LeadFilterSpec, limit: int = 0) -> tuple[int, bool]:
    """How many leads match the filter, and whether that is exact: with a ``limit`` the count
    stops after ``limit + 1`` matches and reports ``(limit, False)`` beyond it."""
    if limit <= 0:
        query = select(func.count()).select_from(Lead).where(*filter_conditions(spec))
        return int((await session.execute(query)).scalar_one()), True
    # the scan stops at the first row past the limit instead of visiting every match
    matches = select(Lead.id).where(*filter_conditions(spec)).limit(limit + 1).subquery()
    counted = int((await session.execute(select(func.count()).select_from(matches))).scalar_one())
    return (counted, True) if counted <= limit else (limit, False)


def _nearest_reach(
    spec: LeadFilterSpec, key: SQLColumnExpression[Any], cursor_conds: list[Any], size: int
) -> ColumnElement[bool]:
    """Limit a DISTANCE page to the disk that holds its rows.

    PostgreSQL cannot add the id tie-break to a KNN scan's order (no incremental sort on it), and
    the radius' range scan sorts every match. So a KNN scan first finds the distance of the page's
    last row (``size`` nearest matches after the cursor); the page is then read, in (distance, id)
    order, from the disk of that radius: every row of the page and all its ties, and little else.
    """
    assert spec.near is not None
    nearest = (
        select(key.label("metres"))
        .where(*filter_conditions(spec, radius_in_index=False), *cursor_conds)
        .order_by(key)
        .limit(size)
        .subquery()
    )
    last = select(func.max(nearest.c.metres)).scalar_subquery()
    reach = func.coalesce(last, spec.near.radius_meters) + _REACH_SLACK_METERS
    return func.ST_DWithin(Lead.public_location, centre_geography(spec.near), reach, False)


async def list_leads(
    session: AsyncSession,
    spec: LeadFilterSpec,
    sort: str,
    first: int,
    after: str | None,
    *,
    with_total: bool = True,
    count_session: AsyncSession | None = None,
    count_limit: int = 0,
) -> LeadPage:
    """One page of leads matching the filter, in sort order, after the cursor (validated here).

    With a second session in `count_session`, the page and the total run concurrently; the total
    is exact up to ``count_limit`` matches (0: always).
    """
    position = decode_cursor(after, CURSOR_KIND, sort)
    key, descending = _sort_key(spec, sort)
    conds = filter_conditions(spec)
    after_cursor: list[ColumnElement[bool]] = []
    if position is not None:
        row_key = tuple_(key, Lead.id)
        after_cursor.append(row_key < tuple_(*position) if descending else row_key > tuple_(*position))
    page_conds = [*conds, *after_cursor]
    order = (key.desc(), Lead.id.desc()) if descending else (key.asc(), Lead.id.asc())
    columns: list[Any] = [Lead, key.label("sort_key")]
    if spec.near is not None:
        columns.extend(distance_columns(spec.near))
    if spec.near is not None and sort == "DISTANCE":
        page_conds.append(_nearest_reach(spec, key, after_cursor, first + 1))
    query = select(*columns).options(*LIST_OPTIONS).where(*page_conds).order_by(*order).limit(first + 1)
    total: int | None = None
    exact = True
    if with_total and count_session is not None:
        result, (total, exact) = await asyncio.gather(
            session.execute(query), count_leads(count_session, spec, count_limit)
        )
    else:
        result = await session.execute(query)
        if with_total:
            total, exact = await count_leads(session, spec, count_limit)
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
        total_count_is_exact=exact,
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
