"""Session fixtures: a private migrated database, the real Redis and Elasticsearch, the app.

The product and the service helpers are imported inside the fixtures that use them, not here: this
module is loaded before any test, and ``pytest -m unit`` (no fixture of this module) must not pay
for importing the whole app (ARCHITECTURE.md, "Tests in tiers").
"""

from __future__ import annotations

import contextlib
import itertools
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import pytest
import pytest_asyncio

if TYPE_CHECKING:
    import httpx
    from aiqtest_support.cartkit import Buyers
    from starlette.applications import Starlette

    from aiqleads.domain.bootstrap import Deps
    from aiqleads.domain.core.lead import Lead
    from aiqleads.domain.settings import Settings

pytest_plugins = ["aiqtest_support.tiers"]  # marks every test unit, integration or e2e


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Run every async test on the session event loop so session fixtures can be shared."""
    marker = pytest.mark.asyncio(loop_scope="session")
    for item in items:
        if pytest_asyncio.is_async_test(item):
            item.add_marker(marker, append=False)


@pytest.fixture(scope="session")
def settings() -> Iterator[Settings]:
    """Settings pointing at a fresh migrated database and a private ES index prefix."""
    from aiqtest_support.database import BASE, create_test_database, drop_test_database

    name, url = create_test_database()
    suffix = name.removeprefix("aiq_test_")
    yield BASE.replace(
        env="development",  # the development payment provider; production is covered by its own tests
        database_url=url,
        es_index_prefix=f"aiqtest_{suffix}",
        arq_queue_name=f"aiqtest:{suffix}:queue",
        rate_limit_per_minute=1_000_000,  # the rate-limit test builds its own app with a small budget
        registrations_per_ip_per_hour=1_000_000,  # every in-process request comes from one address
        embed_sweep_leads=64,  # workers started by tests repair a few leads, not the whole test database
        jwt_secret=f"test-secret-{suffix}-0123456789abcdef0123456789",
    )
    drop_test_database(name)


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def deps(settings: Settings) -> AsyncIterator[Deps]:
    """The API process's Deps (real engine, Redis, Elasticsearch, event hub) for direct domain tests."""
    from aiqleads.domain.bootstrap import bootstrap

    built = await bootstrap(settings, purpose="api")
    yield built
    with contextlib.suppress(Exception):
        await built.es.indices.delete(index=f"{settings.es_index_prefix}*", ignore_unavailable=True)
    await built.aclose()


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def app(settings: Settings) -> AsyncIterator[Starlette]:
    """The full ASGI app with its lifespan running."""
    from asgi_lifespan import LifespanManager

    from aiqleads.app import create_app

    application = create_app(settings)
    async with LifespanManager(application, startup_timeout=60, shutdown_timeout=30):
        yield application


@pytest_asyncio.fixture(loop_scope="session")
async def live_url(app: Starlette) -> AsyncIterator[str]:
    """The test's app served by a real uvicorn on a free port (same process: its hub and registry are
    the test's)."""
    from aiqtest_support.live_server import served_in_process

    async with served_in_process(app) as url:
        yield url


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def client(app: Starlette) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client talking to the app in-process."""
    import httpx

    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver", timeout=30) as c:
        yield c


@dataclass
class GraphQLClient:
    """Posts GraphQL operations to the app and returns the decoded response."""

    http: httpx.AsyncClient

    async def __call__(
        self,
        query: str,
        variables: dict[str, Any] | None = None,
        *,
        token: str | None = None,
        api_key: str | None = None,
        expect_errors: bool = False,
    ) -> dict[str, Any]:
        headers = {}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        if api_key:
            headers["X-API-Key"] = api_key
        response = await self.http.post(
            "/graphql", json={"query": query, "variables": variables or {}}, headers=headers
        )
        body = response.json()
        if not expect_errors:
            assert response.status_code == 200, body
            assert not body.get("errors"), body
        return body


@pytest.fixture
def gql(client: httpx.AsyncClient) -> GraphQLClient:
    """GraphQL helper bound to the in-process app."""
    return GraphQLClient(client)


_counter = itertools.count()


@dataclass
class TestUser:
    """A registered user and their bearer token."""

    id: uuid.UUID
    email: str
    token: str


@pytest_asyncio.fixture(loop_scope="session")
async def make_user(app: Starlette, settings: Settings) -> Any:
    """Factory: register a user (optionally with tier and starting credits) and return a TestUser."""
    from sqlalchemy import text

    from aiqleads.domain.users import service as user_service

    deps: Deps = app.state.deps

    async def factory(tier: str = "FREE", credits: int = 0, role: str = "user") -> TestUser:
        email = f"user{next(_counter)}-{uuid.uuid4().hex[:6]}@example.com"
        async with deps.sessionmaker() as session, session.begin():
            result = await user_service.register(
                session, settings, email=email, password="correct horse battery", name="Test User"
            )
            result.user.tier = tier
            if tier != "FREE":  # a paid tier counts only while its period is paid
                result.user.tier_paid_until = datetime.now(UTC) + timedelta(days=30)
            result.user.role = role
            if credits:
                result.user.credit_balance = credits
                await session.execute(
                    text(
                        "INSERT INTO credit_ledger (user_id, amount, balance_after, kind, reason) "
                        "VALUES (:u, :a, :a, 'GRANT', 'test grant')"
                    ),
                    {"u": result.user.id, "a": credits},
                )
        return TestUser(result.user.id, email, result.token)

    return factory


@pytest_asyncio.fixture(loop_scope="session")
async def buyers(make_user: Any, app: Starlette) -> AsyncIterator[Buyers]:
    """Users for one test (cart, checkout, credits, returns); their ledgers must balance when it ends."""
    from aiqtest_support.cartkit import checked_buyers

    async with checked_buyers(make_user, app) as factory:
        yield factory


def lead_row(**overrides: Any) -> Lead:
    """A valid lead row in Austin, TX with any field overridden (lat/lng set the location)."""
    from aiqleads.domain.core.geo import point
    from aiqleads.domain.core.lead import Lead

    lat = overrides.pop("lat", 30.2672)
    lng = overrides.pop("lng", -97.7431)
    values: dict[str, Any] = dict(
        id=uuid.uuid4(),
        source="ZILLOW",
        source_url="https://www.zillow.com/homedetails/1",
        property_type="CONDO",
        title="2 bed 2 bath condo",
        description="Bright condo near downtown.",
        street="100 Congress Ave",
        city="Austin",
        state="TX",
        zip="78701",
        location=point(lat, lng),
        asking_price=350_000,
        bedrooms=2,
        bathrooms=2.0,
        sqft=1100,
        year_built=2005,
        photos=[],
        posted_at=datetime.now(UTC),
        quality_score=0.8,
        fraud_score=0.05,
        fraud_signals=[],
        contact_name="Pat Owner",
        contact_phone="+15125550100",
        contact_email="pat@example.com",
        price_credits=20,
        max_buyers=1,
        buyers_count=0,
        holds_count=0,
        status="AVAILABLE",
    )
    values.update(overrides)
    return Lead(**values)


@pytest_asyncio.fixture(loop_scope="session")
async def make_lead(app: Starlette) -> Any:
    """Factory: insert a lead (see lead_row for defaults) and return it."""
    deps: Deps = app.state.deps

    async def factory(**overrides: Any) -> Lead:
        row = lead_row(**overrides)
        async with deps.sessionmaker() as session, session.begin():
            session.add(row)
        return row

    return factory


@dataclass
class StatementCounter:
    """Counts SQL statements sent through an engine while active."""

    statements: list[str]

    @property
    def count(self) -> int:
        """Number of statements seen."""
        return len(self.statements)


@pytest.fixture
def count_statements(app: Starlette) -> Any:
    """Context manager factory counting SQL statements the app's engine executes."""
    from sqlalchemy import event

    engine = app.state.deps.engine.sync_engine

    @contextlib.contextmanager
    def counting() -> Iterator[StatementCounter]:
        counter = StatementCounter([])

        def before(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
            counter.statements.append(statement)

        event.listen(engine, "before_cursor_execute", before)
        try:
            yield counter
        finally:
            event.remove(engine, "before_cursor_execute", before)

    return counting
