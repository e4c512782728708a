"""Lead pages read on the driver connection (read sessions, and pooled connections without a
session) are the pages SQLAlchemy's ORM reads: every column of every lead, distances, cursors and
totals, for each filter shape and sort, on first and later pages; list filters run on the driver
as one array; SQL logs and listeners see its statements; a pooled connection always goes back to
the pool, and a lost one leaves it."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import pytest_asyncio
from sqlalchemy import event
from sqlalchemy import inspect as orm_inspect
from sqlalchemy.orm.exc import DetachedInstanceError

from aiqleads.domain.bootstrap import Deps
from aiqleads.domain.core.driver_sql import driver_connection, pooled_driver
from aiqleads.domain.core.filters.parse import parse_filter
from aiqleads.domain.core.geo import lat_lng
from aiqleads.domain.core.vocabulary import PROPERTY_TYPES
from aiqleads.domain.leads import query as leads_query
from aiqleads.domain.leads.driver_rows import LEAD_COLUMNS
from aiqleads.domain.leads.query import LeadPage, leads_with_distance, list_leads

CENTRE = {"lat": 41.5, "lng": -93.6}
NOW = datetime.now(UTC)


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def city(app: Any) -> str:
    """A dozen leads unlike each other (nulls, arrays, statuses, prices, places) in one new city."""
    from conftest import lead_row

    name = f"Drv{uuid.uuid4().hex[:8]}"
    rows = []
    for i in range(12):
        rows.append(
            lead_row(
                city=name,
                lat=CENTRE["lat"] + (i - 6) * 0.011,
                lng=CENTRE["lng"] + (i % 4) * 0.013,
                price_credits=10 + (i * 7) % 30,
                quality_score=round(0.3 + 0.05 * i, 2),
                posted_at=NOW - timedelta(hours=i, microseconds=i * 37),
                bedrooms=None if i % 3 == 0 else i % 5,
                sqft=None if i % 4 == 0 else 900 + i * 10,
                description=None if i % 5 == 0 else f"Home {i}, call 515-555-01{i:02d}",
                photos=[f"https://img.example/{i}/{n}.jpg" for n in range(i % 3)],
                fraud_signals=["contact reused"] if i % 2 else [],
                contact_name=None if i == 7 else "Owner",
                holds_count=1 if i == 4 else 0,
                max_buyers=2 if i == 4 else 1,
                status="SOLD_OUT" if i == 9 else "AVAILABLE",
            )
        )
    async with app.state.deps.sessionmaker() as session, session.begin():
        session.add_all(rows)
    return name


def _lead_values(lead: Any) -> dict[str, Any]:
    values = {key: getattr(lead, key) for key, _ in LEAD_COLUMNS}
    values["location"] = lat_lng(values["location"])
    return values


def _page_values(page: LeadPage) -> dict[str, Any]:
    return {
        "hits": [
            (_lead_values(h.lead), h.distance_miles, h.public_distance_miles, h.cursor) for h in page.hits
        ],
        "state": (page.has_next_page, page.has_previous_page, page.end_cursor),
        "total": (page.total_count, page.total_count_is_exact),
    }


async def _page(sessionmaker: Any, raw: dict[str, Any], sort: str, after: str | None) -> LeadPage:
    async with sessionmaker() as session, sessionmaker() as count_session:
        return await list_leads(
            session, parse_filter(raw), sort, 4, after, count_session=count_session, count_limit=1000
        )


def _pooled(deps: Deps) -> Any:
    """A factory of pooled driver connections, in the place of a sessionmaker."""
    return lambda: pooled_driver(deps.engine)


def _checked_out(deps: Deps) -> int:
    pool: Any = deps.engine.sync_engine.pool
    return int(pool.checkedout())


def _spy(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The statements run on the driver path."""
    seen: list[str] = []
    real = leads_query.fetch_rows

    async def spying(connection: Any, statement: Any, values: Any) -> Any:
        seen.append(statement.sql)
        return await real(connection, statement, values)

    monkeypatch.setattr(leads_query, "fetch_rows", spying)
    return seen


SHAPES = [
    ("city, newest", lambda c: {"city": c}, "NEWEST"),
    ("city, price", lambda c: {"city": c, "availableOnly": False}, "PRICE_ASC"),
    ("city, quality", lambda c: {"city": c, "minBedrooms": 1}, "QUALITY"),
    ("radius, distance", lambda c: {"city": c, "near": {"center": CENTRE, "radiusMiles": 5}}, "DISTANCE"),
    ("radius, newest", lambda c: {"near": {"center": CENTRE, "radiusMiles": 3}, "maxFraud": 0.5}, "NEWEST"),
    (
        "bbox",
        lambda c: {"within": {"south": 41.4, "west": -93.7, "north": 41.6, "east": -93.5}},
        "PRICE_DESC",
    ),
]


@pytest.mark.parametrize(("label", "make_filter", "sort"), SHAPES, ids=[s[0] for s in SHAPES])
async def test_driver_pages_are_the_orm_pages(
    deps: Deps, city: str, monkeypatch: pytest.MonkeyPatch, label: str, make_filter: Any, sort: str
) -> None:
    raw = make_filter(city)
    seen = _spy(monkeypatch)
    after_driver: str | None = None
    after_orm: str | None = None
    pages = 0
    after_pooled: str | None = None
    while True:
        driver_page = await _page(deps.read_sessionmaker, raw, sort, after_driver)
        pooled_page = await _page(_pooled(deps), raw, sort, after_pooled)
        orm_page = await _page(deps.sessionmaker, raw, sort, after_orm)
        assert _page_values(driver_page) == _page_values(orm_page) == _page_values(pooled_page)
        pages += 1
        if not driver_page.has_next_page:
            break
        after_driver, after_orm = driver_page.end_cursor, orm_page.end_cursor
        after_pooled = pooled_page.end_cursor
    assert pages >= 2 or label.startswith("radius, newest")  # the later pages (cursors) are compared too
    assert seen, "the read sessions took the driver path"
    assert driver_page.hits or pages > 1


async def test_a_list_filter_runs_on_the_driver_as_one_array(
    deps: Deps, city: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen = _spy(monkeypatch)
    everything = await _page(deps.sessionmaker, {"city": city, "availableOnly": False}, "NEWEST", None)
    kinds = sorted({h.lead.property_type for h in everything.hits})
    absent = [kind for kind in PROPERTY_TYPES if kind not in kinds][:1]
    assert absent
    for chosen in ([kinds[0]], kinds + absent, absent):
        raw = {"city": city, "propertyTypes": chosen}
        for opener in (deps.read_sessionmaker, _pooled(deps)):
            driver_page = await _page(opener, raw, "NEWEST", None)
            orm_page = await _page(deps.sessionmaker, raw, "NEWEST", None)
            assert _page_values(driver_page) == _page_values(orm_page)
            assert {h.lead.property_type for h in driver_page.hits} <= set(chosen)
            assert bool(driver_page.hits) == (chosen != absent)
    assert any("LIMIT" in sql and "= ANY (" in sql for sql in seen)  # the page itself, on the driver


async def test_leads_by_id_with_and_without_a_centre(deps: Deps, city: str) -> None:
    ids = [h.lead.id for h in (await _page(deps.read_sessionmaker, {"city": city}, "NEWEST", None)).hits]
    ids.append(uuid.uuid4())  # unknown ids are left out
    near = parse_filter({"near": {"center": CENTRE, "radiusMiles": 50}}).near
    for centre in (None, near):
        answers = []
        for opener in (deps.read_sessionmaker, deps.sessionmaker, _pooled(deps)):
            async with opener() as session:
                found = await leads_with_distance(session, ids, centre)
            answers.append(
                {
                    k: (_lead_values(v.lead), v.distance_miles, v.public_distance_miles)
                    for k, v in found.items()
                }
            )
        assert answers[0] == answers[1] == answers[2] and len(answers[0]) == len(ids) - 1


async def test_driver_leads_are_detached_and_keep_deferred_columns_unloaded(deps: Deps, city: str) -> None:
    page = await _page(deps.read_sessionmaker, {"city": city}, "NEWEST", None)
    lead = page.hits[0].lead
    state = orm_inspect(lead)
    assert state.detached and state.identity == (lead.id,)
    for deferred in ("search_tsv", "public_location", "description_fingerprint"):
        with pytest.raises(DetachedInstanceError):
            getattr(lead, deferred)
    async with deps.read_sessionmaker() as session:
        assert await driver_connection(session) is not None
    async with deps.sessionmaker() as session:
        assert await driver_connection(session) is None  # in a transaction: SQLAlchemy's path


async def test_listeners_see_driver_statements(deps: Deps, city: str) -> None:
    seen: list[str] = []

    def before(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        seen.append(statement)

    engine = deps.engine.sync_engine
    event.listen(engine, "before_cursor_execute", before)
    try:
        for opener in (deps.read_sessionmaker, _pooled(deps)):
            await _page(
                opener,
                {"city": city, "near": {"center": CENTRE, "radiusMiles": 5}},
                "DISTANCE",
                None,
            )
    finally:
        event.remove(engine, "before_cursor_execute", before)
    assert sum("FROM leads" in sql for sql in seen) == 4  # the page and its count, on each opener


async def test_a_lost_connection_is_a_dependency_failure_and_leaves_the_pool(deps: Deps, city: str) -> None:
    from sqlalchemy import text
    from sqlalchemy.exc import DBAPIError

    from aiqleads.resolvers.errors import is_dependency_failure

    raw = {"city": city}
    async with deps.read_sessionmaker() as session:
        connection = await driver_connection(session)
        assert connection is not None
        pid = connection.driver.get_server_pid()
        async with deps.sessionmaker() as other, other.begin():
            await other.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
        with pytest.raises(DBAPIError) as caught:
            await list_leads(session, parse_filter(raw), "NEWEST", 4, None)
    assert caught.value.connection_invalidated and is_dependency_failure(caught.value)
    for _ in range(3):  # the dead connection left the pool: the next pages are read again
        assert (await _page(deps.read_sessionmaker, raw, "NEWEST", None)).hits


async def test_a_lost_pooled_connection_is_a_dependency_failure_and_leaves_the_pool(
    deps: Deps, city: str
) -> None:
    from sqlalchemy import text
    from sqlalchemy.exc import DBAPIError

    from aiqleads.resolvers.errors import is_dependency_failure

    raw = {"city": city}
    before = _checked_out(deps)
    with pytest.raises(DBAPIError) as caught:
        async with pooled_driver(deps.engine) as connection:
            pid = connection.driver.get_server_pid()
            async with deps.sessionmaker() as other, other.begin():
                await other.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
            await list_leads(connection, parse_filter(raw), "NEWEST", 4, None)
    assert caught.value.connection_invalidated and is_dependency_failure(caught.value)
    assert _checked_out(deps) == before
    for _ in range(3):  # the dead connection left the pool: the next pages are read again
        assert (await _page(_pooled(deps), raw, "NEWEST", None)).hits
    assert _checked_out(deps) == before


async def test_every_statement_after_a_lost_connection_is_a_dependency_failure(deps: Deps) -> None:
    """A page's count runs on the page's connection after the page failed: that is the same 503,
    not SQLAlchemy reconnecting synchronously outside its greenlet (MissingGreenlet, a 500)."""
    from sqlalchemy import literal, select, text
    from sqlalchemy.exc import DBAPIError

    from aiqleads.domain.core.driver_sql import compile_for_driver, fetch_rows
    from aiqleads.resolvers.errors import is_dependency_failure

    statement = compile_for_driver(select(literal(1).label("one")), deps.engine.dialect)
    assert statement is not None
    before = _checked_out(deps)
    failures = []
    async with pooled_driver(deps.engine) as connection:
        assert await fetch_rows(connection, statement, {}) == [[1]]
        async with deps.sessionmaker() as other, other.begin():
            await other.execute(
                text("SELECT pg_terminate_backend(:pid)"), {"pid": connection.driver.get_server_pid()}
            )
        for _ in range(3):
            with pytest.raises(DBAPIError) as caught:
                await fetch_rows(connection, statement, {})
            failures.append(caught.value)
    assert all(f.connection_invalidated and is_dependency_failure(f) for f in failures), failures
    assert _checked_out(deps) == before


async def test_a_pooled_connection_goes_back_after_an_error_and_a_cancellation(deps: Deps, city: str) -> None:
    import asyncio

    from sqlalchemy.exc import ProgrammingError

    from aiqleads.domain.core.driver_sql import DriverStatement, fetch_rows

    before = _checked_out(deps)
    broken = DriverStatement("SELECT FROM nowhere_at_all", (), {}, {}, (), deps.engine.dialect)
    with pytest.raises(ProgrammingError):  # SQLAlchemy's class for the driver's error
        async with pooled_driver(deps.engine) as connection:
            assert _checked_out(deps) == before + 1
            await fetch_rows(connection, broken, {})
    assert _checked_out(deps) == before
    started = asyncio.Event()

    async def slow_read() -> None:
        async with pooled_driver(deps.engine) as connection:
            started.set()
            await connection.driver.fetch("SELECT pg_sleep(5)")

    task = asyncio.create_task(slow_read())
    await started.wait()
    await asyncio.sleep(0.05)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert _checked_out(deps) == before
    for _ in range(3):  # the connections given back still read
        assert (await _page(_pooled(deps), {"city": city}, "NEWEST", None)).hits


async def test_a_list_value_longer_than_its_column_matches_nothing(deps: Deps, make_lead: Any) -> None:
    import dataclasses

    city = f"Zip{uuid.uuid4().hex[:8]}"
    await make_lead(city=city, zip="12345-6789")  # as long as the column allows
    spec = parse_filter({"city": city})
    for wanted, found in ((("12345-6789",), 1), (("12345-6789X",), 0), (("12345-678",), 0)):
        # built directly: the filter parser refuses such values before any statement
        chosen = dataclasses.replace(spec, zip_codes=wanted)
        for opener in (deps.read_sessionmaker, _pooled(deps), deps.sessionmaker):
            async with opener() as source:
                page = await list_leads(source, chosen, "NEWEST", 5, None)
            assert len(page.hits) == found, (wanted, opener)
