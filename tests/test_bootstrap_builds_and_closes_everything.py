"""One builder turns settings into every client a process uses, and one aclose closes them all."""

from __future__ import annotations

import ast
from pathlib import Path
from typing import Any

import pytest
from elasticsearch import AsyncElasticsearch
from redis.asyncio import Redis
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from aiqleads.domain.bootstrap import bootstrap, opened
from aiqleads.domain.events import EventHub
from aiqleads.domain.payments.provider import DevelopmentPaymentProvider
from aiqleads.domain.settings import Settings

ROOT = Path(__file__).resolve().parents[1]
SOURCES = ("aiqleads", "schema", "resolvers", "domain", "workers", "bench", "devtools")
# The one module that builds clients, and the one that defines the engine and arq-client factories.
BUILDERS = {"domain/bootstrap.py", "domain/db.py", "domain/jobs.py"}
CONSTRUCTORS = {
    "make_engine",
    "create_async_engine",
    "from_url",
    "AsyncElasticsearch",
    "ArqRedis",
    "create_pool",
}


@pytest.fixture
def closed(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Names of the clients closed while the test runs (each real close still happens)."""
    seen: list[str] = []

    def spy(cls: type, method: str, label: str) -> None:
        original = getattr(cls, method)

        async def recording(self: Any, *args: Any, **kwargs: Any) -> Any:
            seen.append(label)
            return await original(self, *args, **kwargs)

        monkeypatch.setattr(cls, method, recording)

    spy(AsyncEngine, "dispose", "engine")
    spy(Redis, "aclose", "redis")
    spy(AsyncElasticsearch, "close", "elasticsearch")
    spy(EventHub, "stop", "hub")
    spy(DevelopmentPaymentProvider, "aclose", "payments")
    return seen


async def test_the_api_bootstrap_builds_working_clients_and_one_aclose_closes_them(
    settings: Settings, closed: list[str]
) -> None:
    deps = await bootstrap(settings, purpose="api")
    try:
        assert await deps.redis.ping()
        assert (await deps.es.cluster.health())["status"] in {"green", "yellow"}
        async with deps.sessionmaker() as session:
            assert (await session.execute(text("SELECT 1"))).scalar() == 1
        # a queue nothing else uses: the session's own holds whatever earlier tests enqueued
        assert await deps.arq.queued_jobs(queue_name=f"{deps.queue_name}:bootstrap-probe") == []
        assert deps.arq.connection_pool is deps.redis.connection_pool  # no second Redis pool
        assert deps.hub is not None and deps.payments is not None and deps.payments.name == "development"
        assert deps.refiner is None and deps.hinter is None  # the API calls no LLM
    finally:
        await deps.aclose()
    assert sorted(closed) == ["elasticsearch", "engine", "hub", "payments", "redis"]
    await deps.aclose()  # closing twice is harmless
    assert len(closed) == 5


async def test_each_purpose_gets_only_what_it_uses(settings: Settings, closed: list[str]) -> None:
    async with opened(settings, purpose="worker") as worker:
        assert worker.hub is None and worker.payments is None
        with pytest.raises(RuntimeError, match="no event hub"):
            _ = worker.event_hub
    assert sorted(closed) == ["elasticsearch", "engine", "redis"]


async def test_a_failing_builder_closes_what_it_had_opened(
    settings: Settings, closed: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    async def refuse(self: EventHub) -> None:
        raise ConnectionError("redis refused the subscription")

    monkeypatch.setattr(EventHub, "start", refuse)
    with pytest.raises(ConnectionError):
        await bootstrap(settings, purpose="api")
    assert sorted(closed) == ["elasticsearch", "engine", "hub", "payments", "redis"]


def _constructor_calls(path: Path) -> list[str]:
    calls = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Call):
            name = getattr(node.func, "attr", None) or getattr(node.func, "id", None)
            if name in CONSTRUCTORS:
                calls.append(f"{path.relative_to(ROOT)}:{node.lineno} {name}")
    return calls


def test_nothing_but_the_bootstrap_constructs_a_client() -> None:
    found = []
    for folder in SOURCES:
        for path in sorted((ROOT / folder).rglob("*.py")):
            if str(path.relative_to(ROOT)) not in BUILDERS:
                found += _constructor_calls(path)
    assert found == []


def test_the_index_job_name_is_spelled_once() -> None:
    spelled = [
        str(path.relative_to(ROOT))
        for folder in SOURCES
        for path in sorted((ROOT / folder).rglob("*.py"))
        if '"index_leads_job"' in path.read_text()
    ]
    assert spelled == ["domain/jobs.py"]
