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


async def test_a_count_stopped_from_outside_answers_with_an_error(app: Starlette, make_lead: Any) -> None:
    """stop_counts (at shutdown) stops counts still running; their awaiters get an error, not a
    cancellation of their own task."""
    deps: Deps = app.state.deps
    spec = parse_filter({"city": await leads_in_a_new_city(make_lead, 1)})
    release = asyncio.Event()
    sessions = Sessions(deps)

    @contextlib.asynccontextmanager
    async def slow() -> AsyncIterator[AsyncSession]:
        async with sessions() as session:
            await release.wait()  # the count is under way until the test says otherwise
            yield session

    async with read_only(deps) as session:
        page = await leads_query.list_leads(session, spec, "NEWEST", 5, None, count_in=slow)
    await leads_query.stop_counts()
    assert sessions.opened == sessions.closed == 1
    with pytest.raises(RuntimeError, match="stopped before it finished"):
        await page.total()


async def test_one_awaiter_cancelled_leaves_the_total_to_the_other(
    app: Starlette, make_lead: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    deps: Deps = app.state.deps
    spec = parse_filter({"city": await leads_in_a_new_city(make_lead, 2)})
    release = asyncio.Event()
    real_count = leads_query.count_leads

    async def held(*args: Any, **kwargs: Any) -> Any:
        await release.wait()  # the count is still running while one awaiter is cancelled
        return await real_count(*args, **kwargs)

    monkeypatch.setattr(leads_query, "count_leads", held)
    async with read_only(deps) as session:
        page = await leads_query.list_leads(session, spec, "NEWEST", 5, None, count_in=Sessions(deps))
    first = asyncio.ensure_future(page.total())
    second = asyncio.ensure_future(page.total())
    await asyncio.sleep(0.01)
    first.cancel()
    await asyncio.sleep(0.01)
    release.set()
    assert await second == (2, True)
    assert first.cancelled()


async def test_a_page_whose_nodes_fail_stops_its_count(
    app: Starlette, gql: Any, make_lead: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A page the answer will not use (its edges failed) does not leave its count running."""
    from aiqleads.schema import lead_queries

    city = await leads_in_a_new_city(make_lead, 2)
    pages: list[Any] = []
    real_leads_page = lead_queries.resolve.leads_page

    async def remembered(*args: Any, **kwargs: Any) -> Any:
        pages.append(await real_leads_page(*args, **kwargs))
        return pages[-1]

    async def broken(*_args: Any) -> Any:
        raise RuntimeError("the edges failed")

    async def never(*_args: Any, **_kwargs: Any) -> Any:
        await asyncio.Event().wait()  # the count is still running when the edges fail

    monkeypatch.setattr(lead_queries.resolve, "leads_page", remembered)
    monkeypatch.setattr(lead_queries, "_edges", broken)
    monkeypatch.setattr(leads_query, "count_leads", never)
    answer = await gql(
        "query($f: LeadFilter) { leads(filter: $f) { totalCount } }",
        {"f": {"city": city}},
        expect_errors=True,
    )
    assert answer["errors"] and answer["data"] is None
    assert len(pages) == 1 and pages[0].counting is not None
    assert pages[0].counting.cancelled(), "the count of an abandoned page kept running"
