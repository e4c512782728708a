"""The test tiers: how a module's source is read before import, and what a unit test may not do."""

from __future__ import annotations

import itertools
import socket
import subprocess
import textwrap
from pathlib import Path

import pytest
from aiqtest_support.tier_source import may_hold_unit_tests
from aiqtest_support.tiers import (
    PROCESS_NAMES,
    SERVICE_FIXTURES,
    SERVICE_NAMES,
    ServiceUsedInUnitTest,
    service_ports,
    unit_guard,
)

# the guard refuses what it is tested with, so nothing here connects or starts: a unit test by statement
pytestmark = pytest.mark.unit


_modules = itertools.count()


def _holds_unit_tests(tmp_path: Path, source: str) -> bool:
    (tmp_path / "conftest.py").write_text(
        textwrap.dedent(
            """
            import pytest

            @pytest.fixture
            def settings(): ...

            @pytest.fixture
            def app(settings): ...
            """
        )
    )
    module = tmp_path / f"test_module_{next(_modules)}.py"  # a new path: the reading is cached per path
    module.write_text(textwrap.dedent(source))
    return may_hold_unit_tests(module, SERVICE_FIXTURES, PROCESS_NAMES | SERVICE_NAMES)


def test_a_module_whose_tests_all_reach_a_service_fixture_holds_no_unit_test(tmp_path: Path) -> None:
    assert not _holds_unit_tests(
        tmp_path,
        """
        import pytest

        @pytest.fixture
        def client(app): ...

        def test_direct(settings): ...

        async def test_through_fixtures(client): ...

        def test_process():
            subprocess.run(["true"])
        """,
    )


def test_one_pure_test_or_no_test_keeps_a_module_collected(tmp_path: Path) -> None:
    assert _holds_unit_tests(tmp_path, "def test_db(app): ...\n\ndef test_pure(tmp_path): ...\n")
    assert _holds_unit_tests(tmp_path, "VALUE = 1\n")


def test_a_stated_module_tier_is_read(tmp_path: Path) -> None:
    assert not _holds_unit_tests(tmp_path, "import pytest\npytestmark = pytest.mark.e2e\ndef test_x(): ...\n")
    assert _holds_unit_tests(tmp_path, "import pytest\npytestmark = pytest.mark.unit\ndef test_x(app): ...\n")


def test_the_guard_refuses_service_ports_and_processes_only_while_active() -> None:
    ports = service_ports()
    assert ports  # PostgreSQL, Redis and Elasticsearch of this run's settings
    port = min(ports)
    connect, popen_init = socket.socket.connect, subprocess.Popen.__init__
    with unit_guard("a unit test", ports):
        with pytest.raises(ServiceUsedInUnitTest, match="connected to"):
            socket.create_connection(("127.0.0.1", port), timeout=1)
        with pytest.raises(ServiceUsedInUnitTest, match="started a process"):
            subprocess.run(["true"], check=False)
    assert (socket.socket.connect, subprocess.Popen.__init__) == (connect, popen_init)  # restored
