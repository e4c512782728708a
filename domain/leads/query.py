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
import functools
import logging
import uuid
from collections.abc import Callable, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from typing import Any, TypeAlias

from sqlalchemy import (
    ColumnElement,
    Float,
    Integer,
    Select,
    SQLColumnExpression,
    any_,
    bindparam,
    func,
    select,
    tuple_,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import AsyncSession

from aiqleads.domain.core.driver_sql import (
    DriverConnection,
    DriverStatement,
    compile_for_driver,
    driver_connection,
    fetch_rows,
    fetch_value,
)
from aiqleads.domain.core.filters.cursors import decode_cursor, encode_cursor
from aiqleads.domain.core.filters.spec import GeoRadius, LeadFilterSpec
from aiqleads.domain.core.lead import Lead
from aiqleads.domain.leads.driver_rows import LEAD_COLUMNS, lead_of, lead_select
from aiqleads.domain.leads.repository import LIST_OPTIONS
from aiqleads.domain.leads.shaped_sql import (
    FilterShape,
    centre_param,
    conditions_for,
    distance_columns_param,
    knn_distance_param,
    shape_of,
    values_of,
)

# covers the last-bit difference between the KNN operator's distance and ST_DWithin's
_REACH_SLACK_METERS = 0.01

CURSOR_KIND = "sql"

log = logging.getLogger(__name__)

# where a read runs: a read session, a session in a transaction (SQLAlchemy's path), or a pooled
# driver connection (``pooled_driver``: the cheapest, for reads made only of driver statements)
ReadSource: TypeAlias = AsyncSession | DriverConnection

# opens a read source of its own, for work that runs beside the caller's
SessionScope = Callable[[], AbstractAsyncContextManager[ReadSource]]


async def _driver_of(source: ReadSource) -> DriverConnection | None:
    """The source's driver connection, None for a session in a transaction."""
    if isinstance(source, DriverConnection):
        return source
    return await driver_connection(source)


def _session_of(source: ReadSource) -> AsyncSession:
    """The session of a source that gave no driver connection (only a session does not)."""
    assert isinstance(source, AsyncSession), "a driver connection runs every statement of this module"
    return source


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

    total_count is exact when total_count_is_exact, else a lower bound (the count limit). A total
    still being counted (``list_leads(count_in=...)``) is ``counting``; ``total()`` waits for it.
    """

    hits: list[LeadHit]
    has_next_page: bool
    has_previous_page: bool
    end_cursor: str | None
    total_count: int | None
    total_count_is_exact: bool = True
    counting: asyncio.Future[tuple[int, bool]] | None = None

    async def total(self) -> tuple[int | None, bool]:
        """The total and whether it is exact, once counted."""
        if self.counting is not None:
            # shielded: the answer is shared (totalCount, totalCountIsExact), so one awaiter's
            # cancellation must not cancel it for the others
            return await asyncio.shield(self.counting)
        return self.total_count, self.total_count_is_exact

    def abandon(self) -> None:
        """Stop a count still running: the caller will not use this page."""
        if self.counting is not None:
            self.counting.cancel()


def _sort_key(shape: FilterShape, sort: str) -> tuple[SQLColumnExpression[Any], bool]:
    """(key expression, descending) of a sort; ties are broken by id in the same direction."""
    if sort == "NEWEST":
        return Lead.posted_at, True
    if sort == "PRICE_ASC":
        return Lead.price_credits, False
    if sort == "PRICE_DESC":
        return Lead.price_credits, True
    if sort == "QUALITY":
        return Lead.quality_score, True
    if sort == "DISTANCE" and shape.near:
        return knn_distance_param(), False
    raise ValueError(f"unsupported sort {sort}")


# Statements by filter shape, sort and cursor presence (their values are bound per request): building
# them and their cache keys cost more than running them (see domain/leads/shaped_sql.py).
@functools.lru_cache(maxsize=512)
def _driver_count(shape: FilterShape, capped: bool, dialect: Dialect) -> DriverStatement:
    return _compiled(_count_statement(shape, capped), dialect)


def _compiled(statement: Select[Any], dialect: Dialect) -> DriverStatement:
    # every statement here binds arrays, never an expanding IN (shaped_sql), so it always compiles
    compiled = compile_for_driver(statement, dialect)
    if compiled is None:
        raise ValueError("a listing statement has a parameter the driver cannot bind as compiled")
    return compiled


@functools.lru_cache(maxsize=512)
def _count_statement(shape: FilterShape, capped: bool) -> Select[tuple[int]]:
    conds = conditions_for(shape)
    if not capped:
        return select(func.count()).select_from(Lead).where(*conds)
    # the scan stops at the first row past the limit instead of visiting every match
    matches = select(Lead.id).where(*conds).limit(bindparam("count_cap", type_=Integer)).subquery()
    return select(func.count()).select_from(matches)


async def count_leads(source: ReadSource, spec: LeadFilterSpec, limit: int = 0) -> tuple[int, bool]:
    """How many leads match the filter, and whether that is exact: with a ``limit`` the count
    stops after ``limit + 1`` matches and reports ``(limit, False)`` beyond it."""
    shape = shape_of(spec)
    values = values_of(spec)
    if limit > 0:
        values["count_cap"] = limit + 1
    driver = await _driver_of(source)
    if driver is not None:
        counted = int(await fetch_value(driver, _driver_count(shape, limit > 0, driver.dialect), values))
    else:
        session = _session_of(source)
        counted = int((await session.execute(_count_statement(shape, limit > 0), values)).scalar_one())
    if limit <= 0:
        return counted, True
    return (counted, True) if counted <= limit else (limit, False)


def _nearest_reach(
    shape: FilterShape, key: SQLColumnExpression[Any], cursor_conds: list[Any]
) -> ColumnElement[bool]:
    """Limit a DISTANCE page to the disk that holds its rows.

    PostgreSQL cannot add the id tie-break to a KNN scan's order (no incremental sort on it), and
    the radius' range scan sorts every match. So a KNN scan first finds the distance of the page's
    last row (``near_size`` nearest matches after the cursor); the page is then read, in
    (distance, id) order, from the disk of that radius: every row of the page and all its ties.
    """
    nearest = (
        select(key.label("metres"))
        .where(*conditions_for(shape, radius_in_index=False), *cursor_conds)
        .order_by(key)
        .limit(bindparam("near_size", type_=Integer))
        .subquery()
    )
    last = select(func.max(nearest.c.metres)).scalar_subquery()
    reach = func.coalesce(last, bindparam("near_m", type_=Float)) + _REACH_SLACK_METERS
    return func.ST_DWithin(Lead.public_location, centre_param(), reach, False)


@functools.lru_cache(maxsize=512)
def _page_statement(shape: FilterShape, sort: str, after: bool) -> Select[Any]:
    return _page_select(shape, sort, after, driver=False)


@functools.lru_cache(maxsize=512)
def _driver_page(shape: FilterShape, sort: str, after: bool, dialect: Dialect) -> DriverStatement:
    return _compiled(_page_select(shape, sort, after, driver=True), dialect)


def _page_select(shape: FilterShape, sort: str, after: bool, *, driver: bool) -> Select[Any]:
    """The page statement: of ``Lead`` entities, or of ``LEAD_COLUMNS`` for the driver path."""
    key, descending = _sort_key(shape, sort)
    after_cursor: list[ColumnElement[bool]] = []
    if after:
        row_key = tuple_(key, Lead.id)
        key_type = getattr(key, "type", None)
        position = tuple_(bindparam("cursor_key", type_=key_type), bindparam("cursor_id", type_=Lead.id.type))
        after_cursor.append(row_key < position if descending else row_key > position)
    page_conds = [*conditions_for(shape), *after_cursor]
    order = (key.desc(), Lead.id.desc()) if descending else (key.asc(), Lead.id.asc())
    columns: list[Any] = [key.label("sort_key")]
    if shape.near:
        columns.extend(distance_columns_param())
    if shape.near and sort == "DISTANCE":
        page_conds.append(_nearest_reach(shape, key, after_cursor))
    statement = lead_select(*columns) if driver else select(Lead, *columns).options(*LIST_OPTIONS)
    return statement.where(*page_conds).order_by(*order).limit(bindparam("page_size", type_=Integer))


async def list_leads(
    source: ReadSource,
    spec: LeadFilterSpec,
    sort: str,
    first: int,
    after: str | None,
    *,
    with_total: bool = True,
    count_session: ReadSource | None = None,
    count_in: SessionScope | None = None,
    count_limit: int = 0,
) -> LeadPage:
    """One page of leads matching the filter, in sort order, after the cursor (validated here).

    The page is read on ``source`` (a session, or a pooled driver connection). The total is exact
    up to ``count_limit`` matches (0: always). With a second source in ``count_session``, the page
    and the total run concurrently. With ``count_in``, the total is counted on a source of its own
    that stays open past the page: the page comes back as soon as
    its rows do, with the count running in ``counting`` (a caller can complete the page while
    PostgreSQL counts, then await ``total()``).
    """
    position = decode_cursor(after, CURSOR_KIND, sort)
    shape = shape_of(spec)
    values: dict[str, Any] = {**values_of(spec), "page_size": first + 1, "near_size": first + 1}
    if position is not None:
        values["cursor_key"], values["cursor_id"] = position
    total: int | None = None
    exact = True
    counting = None
    page = _page_rows(source, shape, sort, position is not None, values)
    if with_total and count_in is not None:
        # the count is the longer statement: it goes out first, and the page while it runs
        counting = count_beside(count_in, spec, count_limit)
        try:
            await asyncio.sleep(0)
            rows = await page
        except BaseException:
            page.close()  # (never awaited if the sleep was interrupted)
            counting.cancel()
            raise
    elif with_total and count_session is not None:
        rows, (total, exact) = await asyncio.gather(page, count_leads(count_session, spec, count_limit))
    else:
        rows = await page
        if with_total:
            total, exact = await count_leads(source, spec, count_limit)
    near = spec.near is not None
    hits = [
        LeadHit(
            lead=lead,
            distance_miles=float(distances[0]) if near else None,
            cursor=encode_cursor(CURSOR_KIND, sort, (sort_key, lead.id)),
            public_distance_miles=float(distances[1]) if near else None,
        )
        for lead, sort_key, distances in rows
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
        counting=counting,
    )


def count_beside(
    count_in: SessionScope, spec: LeadFilterSpec, limit: int
) -> asyncio.Future[tuple[int, bool]]:
    """Start counting the filter's leads on a session of its own (``count_leads``), beside the caller.

    The count is answered as soon as PostgreSQL returns it; its session closes after that, off the
    answer's path. The session closes whether or not anyone awaits the answer; cancelling the
    answer stops a count still running; a count stopped from outside (``stop_counts``) answers
    with an error, never a cancellation of its awaiter.
    """
    loop = asyncio.get_running_loop()
    answer: asyncio.Future[tuple[int, bool]] = loop.create_future()

    counted: list[tuple[int, bool]] = []  # once PostgreSQL has answered: only the close is left

    async def count() -> None:
        async with count_in() as session:
            counted.append(await count_leads(session, spec, limit))
            if not answer.done():
                answer.set_result(counted[0])

    task = loop.create_task(count())
    _COUNTING.add(task)  # the loop keeps only a weak reference to a task
    task.add_done_callback(lambda done: _settle_count(answer, done))
    answer.add_done_callback(lambda done: _stop_unless_answered(done, task, bool(counted)))
    return answer


# counts still running or closing their sessions (see count_beside, stop_counts)
_COUNTING: set[asyncio.Task[None]] = set()


def _settle_count(answer: asyncio.Future[tuple[int, bool]], task: asyncio.Task[None]) -> None:
    _COUNTING.discard(task)
    error = None if task.cancelled() else task.exception()
    if not answer.done():
        if error is None:
            error = RuntimeError("the count was stopped before it finished")
        answer.set_exception(error)
    elif error is not None and not answer.cancelled():
        log.warning("closing a count's session failed: %r", error)


def _stop_unless_answered(answer: asyncio.Future[Any], task: asyncio.Task[None], answered: bool) -> None:
    if answer.cancelled():
        if not answered:  # a count PostgreSQL has answered is left to close its session
            task.cancel()
    else:
        answer.exception()  # retrieved: a failed count nobody awaited logs nothing


async def stop_counts() -> None:
    """Stop the counts still running and wait until their sessions have closed (at shutdown,
    before the engine is disposed)."""
    running = list(_COUNTING)
    for task in running:
        task.cancel()
    await asyncio.gather(*running, return_exceptions=True)


_PageRow = tuple[Lead, Any, Sequence[Any]]  # the lead, its sort key, its distances (if near)


async def _page_rows(
    source: ReadSource, shape: FilterShape, sort: str, after: bool, values: dict[str, Any]
) -> list[_PageRow]:
    """The page's rows, on the driver connection when the source has one (driver_rows)."""
    driver = await _driver_of(source)
    if driver is not None:
        width = len(LEAD_COLUMNS)
        statement = _driver_page(shape, sort, after, driver.dialect)
        return [
            (lead_of(row), row[width], row[width + 1 :])
            for row in await fetch_rows(driver, statement, values)
        ]
    result = await _session_of(source).execute(_page_statement(shape, sort, after), values)
    return [(row[0], row[1], row[2:]) for row in result.all()]


@dataclass(frozen=True)
class LeadWithDistance:
    """A lead and its exact and public distances in miles from the centre (None without one)."""

    lead: Lead
    distance_miles: float | None
    public_distance_miles: float | None


@functools.lru_cache(maxsize=2)
def _by_ids_statement(with_distance: bool) -> Select[Any]:
    columns: list[Any] = [Lead, *(distance_columns_param() if with_distance else [])]
    return select(*columns).options(*LIST_OPTIONS).where(Lead.id.in_(bindparam("ids", expanding=True)))


@functools.lru_cache(maxsize=4)
def _driver_by_ids(with_distance: bool, dialect: Dialect) -> DriverStatement:
    ids = bindparam("ids", type_=ARRAY(Lead.id.type))  # one array parameter: no expanding IN
    columns = distance_columns_param() if with_distance else []
    return _compiled(lead_select(*columns).where(Lead.id == any_(ids)), dialect)


async def leads_with_distance(
    source: ReadSource, lead_ids: Sequence[uuid.UUID], near: GeoRadius | None
) -> dict[uuid.UUID, LeadWithDistance]:
    """Load these leads in one statement, with their distances in miles from the centre if any."""
    if not lead_ids:
        return {}
    values: dict[str, Any] = {"ids": list(lead_ids)}
    if near is not None:
        values.update(near_lng=near.lng, near_lat=near.lat)
    driver = await _driver_of(source)
    rows: list[_PageRow]
    if driver is not None:
        width = len(LEAD_COLUMNS)
        statement = _driver_by_ids(near is not None, driver.dialect)
        rows = [(lead_of(row), None, row[width:]) for row in await fetch_rows(driver, statement, values)]
    else:
        result = await _session_of(source).execute(_by_ids_statement(near is not None), values)
        rows = [(row[0], None, row[1:]) for row in result.all()]
    out: dict[uuid.UUID, LeadWithDistance] = {}
    for lead, _, distances in rows:
        if near is None:
            out[lead.id] = LeadWithDistance(lead, None, None)
        else:
            out[lead.id] = LeadWithDistance(lead, float(distances[0]), float(distances[1]))
    return out
