"""The local real services answer after ``services.up()``."""

from __future__ import annotations

import pytest

from aiqleads_dev import services


@pytest.fixture(scope="module", autouse=True)
def _services_up() -> None:
    services.up()


def _major(version: str) -> int:
    return int(version.split(".")[0])


def test_postgresql_15_with_postgis_3_and_pgvector() -> None:
    assert int(services.psql("SHOW server_version_num")) >= 150000
    rows = services.psql(
        "SELECT name, default_version FROM pg_available_extensions WHERE name IN ('postgis', 'vector')"
    )
    available = dict(line.split("|") for line in rows.splitlines())
    assert _major(available["postgis"]) == 3
    assert tuple(int(part) for part in available["vector"].split(".")[:2]) >= (0, 5)
    installed = services.psql("SELECT extname FROM pg_extension").split()
    assert {"postgis", "vector"} <= set(installed)


def test_redis_7_with_expiry_events() -> None:
    assert services.redis_command("PING") == "PONG"
    info = services.redis_command("INFO", "server")
    version = next(line.split(":", 1)[1] for line in info.splitlines() if line.startswith("redis_version:"))
    assert _major(version) == 7
    _, flags = services.redis_command("CONFIG", "GET", "notify-keyspace-events")
    assert {"E", "x"} <= set(flags) or {"E", "A"} <= set(flags)


def test_elasticsearch_8_healthy() -> None:
    assert _major(services.es_version()) == 8
    assert services.es_request("/_cluster/health")["status"] in ("green", "yellow")


def test_status_reports_all_running() -> None:
    assert all(item.running for item in services.status(echo=False))
