"""A listing's total counted beside its page: the same answer, its own session always closed, and
stopped when the page fails; over GraphQL, totalCountIsExact counts even without totalCount."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from aiqtest_support.leads_data import leads_in_a_new_city
from asgi_lifespan import LifespanManager
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.applications import Starlette

from aiqleads.app import create_app
from aiqleads.domain.bootstrap import Deps
from aiqleads.domain.core.filters.parse import parse_filter
from aiqleads.domain.leads import query as leads_query
from aiqleads.domain.settings import Settings
from aiqleads.domain.unit_of_work import read_only


class Sessions:
    """A count_in that records how many of its sessions were opened and closed."""

    def __init__(self, deps: Deps) -> None:
        self.deps = deps
        self.opened = 0
        self.closed = 0
        self.one_closed = asyncio.Event()

    @contextlib.asynccontextmanager
    async def __call__(self) -> AsyncIterator[AsyncSession]:
        self.opened += 1
        try:
            async with read_only(self.deps) as session:
                yield session
        finally:
            self.closed += 1
            self.one_closed.set()

    async def closing(self) -> None:
        """Wait (10 s at most) until one of these sessions has closed."""
        async with asyncio.timeout(10):
            await self.one_closed.wait()


async def test_the_count_beside_the_page_answers_as_the_count_on_a_second_session(
    app: Starlette, make_lead: Any
) -> None:
    deps: Deps = app.state.deps
    spec = parse_filter({"city": await leads_in_a_new_city(make_lead, 5)})
    for limit, expected in ((0, (5, True)), (5, (5, True)), (3, (3, False))):
        sessions = Sessions(deps)
        async with read_only(deps) as session, read_only(deps) as count_session:
            together = await leads_query.list_leads(
                session, spec, "NEWEST", 2, None, count_session=count_session, count_limit=limit
            )
        async with read_only(deps) as session:
            beside = await leads_query.list_leads(
                session, spec, "NEWEST", 2, None, count_in=sessions, count_limit=limit
            )
        assert beside.counting is not None and together.counting is None
        assert await together.total() == expected
        assert await beside.total() == expected
        assert [hit.lead.id for hit in beside.hits] == [hit.lead.id for hit in together.hits]
        await sessions.closing()
        assert sessions.opened == sessions.closed == 1


async def test_a_count_nobody_awaits_still_closes_its_session(app: Starlette, make_lead: Any) -> None:
    deps: Deps = app.state.deps
    spec = parse_filter({"city": await leads_in_a_new_city(make_lead, 2)})
    sessions = Sessions(deps)
    async with read_only(deps) as session:
        page = await leads_query.list_leads(session, spec, "NEWEST", 5, None, count_in=sessions)
    assert len(page.hits) == 2
    await sessions.closing()
    assert sessions.opened == sessions.closed == 1
    assert page.counting is not None and page.counting.result() == (2, True)


async def test_a_failed_page_stops_its_count_and_closes_the_count_session(
    app: Starlette, make_lead: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    deps: Deps = app.state.deps
    spec = parse_filter({"city": await leads_in_a_new_city(make_lead, 2)})
    started: list[asyncio.Future[Any]] = []
    real_count_beside = leads_query.count_beside

    def remembered(*args: Any) -> asyncio.Future[Any]:
        started.append(real_count_beside(*args))
        return started[-1]

    async def broken(*_args: Any) -> Any:
        raise RuntimeError("the page failed")  # while the count is under way

    monkeypatch.setattr(leads_query, "count_beside", remembered)
    monkeypatch.setattr(leads_query, "_page_rows", broken)
    sessions = Sessions(deps)
    async with read_only(deps) as session:
        with pytest.raises(RuntimeError, match="the page failed"):
            await leads_query.list_leads(session, spec, "NEWEST", 5, None, count_in=sessions)
    assert len(started) == 1 and started[0].cancelled()
    await sessions.closing()
    assert sessions.opened == sessions.closed == 1


async def test_a_failed_count_is_the_total_s_error(app: Starlette, make_lead: Any) -> None:
    deps: Deps = app.state.deps
    spec = parse_filter({"city": await leads_in_a_new_city(make_lead, 1)})

    @contextlib.asynccontextmanager
    async def unreachable() -> AsyncIterator[AsyncSession]:
        raise ConnectionRefusedError("no database")
        yield  # pragma: no cover

    async with read_only(deps) as session:
        page = await leads_query.list_leads(session, spec, "NEWEST", 5, None, count_in=unreachable)
    assert len(page.hits) == 1
    with pytest.raises(ConnectionRefusedError):
        await page.total()


EXACT_ONLY = "query($f: LeadFilter) { leads(filter: $f, first: 1) { totalCountIsExact } }"
BOTH = "query($f: LeadFilter) { leads(filter: $f, first: 1) { totalCount totalCountIsExact } }"


async def test_total_count_is_exact_is_counted_when_selected_alone(
    settings: Settings, app: Starlette, make_lead: Any
) -> None:
    city = await leads_in_a_new_city(make_lead, 3)
    small = create_app(settings.replace(exact_count_limit=2))
    async with (
        LifespanManager(small),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=small), base_url="http://t") as http,
    ):

        async def leads(query: str, where: str) -> dict[str, Any]:
            answer = await http.post("/graphql", json={"query": query, "variables": {"f": {"city": where}}})
            body: dict[str, Any] = answer.json()
            assert answer.status_code == 200 and "errors" not in body, body
            return dict(body["data"]["leads"])

        assert await leads(EXACT_ONLY, city) == {"totalCountIsExact": False}
        assert await leads(BOTH, city) == {"totalCount": 2, "totalCountIsExact": False}
        assert await leads(EXACT_ONLY, f"Nowhere {uuid.uuid4().hex}") == {"totalCountIsExact": True}


async def test_a_search_whose_elasticsearch_is_down_fails_cleanly(settings: Settings) -> None:
    """The session takes its connection while Elasticsearch searches: a failed search waits for
    it, so the session is not left connecting (a new engine: its first connection takes a real
    connect, far longer than a refused search)."""
    from elasticsearch import AsyncElasticsearch
    from elasticsearch import ConnectionError as SearchUnreachable

    from aiqleads.domain.db import make_engine, make_read_sessionmaker
    from aiqleads.domain.search.service import search_leads

    engine = make_engine(settings.database_url, connections=2)
    down = AsyncElasticsearch("http://127.0.0.1:9", request_timeout=2, max_retries=0)
    try:
        async with make_read_sessionmaker(engine)() as session:
            with pytest.raises(SearchUnreachable):
                await search_leads(session, down, settings, parse_filter(None), "condo", "RELEVANCE", 5, None)
            # not left mid-connection: the session answers at once
            assert (await session.execute(text("SELECT 1"))).scalar_one() == 1
    finally:
        await down.close()
        await engine.dispose()
