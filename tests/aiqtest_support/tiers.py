"""Test tiers: every test is exactly one of ``unit``, ``integration`` or ``e2e``, decided from what it uses.

- ``e2e``: the test, a fixture it uses, or a suite helper either of them calls starts a real process
  (``subprocess``, ``aiqleads serve`` through live_server) or speaks websockets;
- ``integration``: otherwise, when it uses the real services: a fixture that reaches the test
  database (``settings``, which every app/client/resources fixture depends on) or the local
  services, or a suite helper that creates databases or connects to the services;
- ``unit``: everything else. A unit test that opens a connection to a service port or starts a
  process fails (``unit_guard``), so a test this rule calls ``unit`` cannot quietly need one.

A test module may state its tier with ``pytestmark = pytest.mark.<tier>``; one explicit tier wins
over the rule, two fail. The rule reads code, not names of files: it follows the global names a
test's code refers to into functions and classes defined under ``tests/`` (not into the product).
"""

from __future__ import annotations

import contextlib
import functools
import inspect
import socket
import subprocess
import sys
import types
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from aiqtest_support.tier_source import may_hold_unit_tests

TIERS = ("unit", "integration", "e2e")
TESTS = Path(__file__).resolve().parents[1]

# fixtures whose use means the real services (everything that needs the database depends on `settings`)
SERVICE_FIXTURES = frozenset({"settings", "_services_up"})
# names whose use means a real process or a websocket
PROCESS_NAMES = frozenset(
    {
        "subprocess",
        "create_subprocess_exec",
        "create_subprocess_shell",
        "Popen",
        "launch_api",
        "start_api",
        "api_process",
        "api_processes",
        "ApiProcess",
        "websockets",
        "GraphQLWebSocket",
    }
)
# names whose use means the real services without a fixture
SERVICE_NAMES = frozenset(
    {"create_test_database", "create_database", "drop_database", "drop_test_database", "build_resources"}
)
# modules whose use means the real services (the local services' own clients: psql, redis-cli, HTTP)
SERVICE_MODULES = ("aiqleads_dev.services",)


def _code_objects(code: types.CodeType) -> Iterator[types.CodeType]:
    yield code
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            yield from _code_objects(const)


@functools.cache
def _is_test_file(filename: str) -> bool:
    return Path(filename).resolve().is_relative_to(TESTS)


def _defined_in_tests(obj: Any) -> bool:
    if isinstance(obj, types.FunctionType):
        filename = obj.__code__.co_filename
    elif isinstance(obj, type):
        filename = getattr(sys.modules.get(obj.__module__), "__file__", None)
    else:
        return False
    return bool(filename) and _is_test_file(filename)


def _functions_of(obj: Any) -> Iterator[types.FunctionType]:
    """The Python functions behind a fixture, test, helper function or helper class."""
    obj = inspect.unwrap(obj)
    if isinstance(obj, types.FunctionType):
        yield obj
    elif isinstance(obj, type):
        for value in vars(obj).values():
            value = value.__func__ if isinstance(value, (classmethod, staticmethod)) else value
            if isinstance(value, property):
                value = value.fget
            if isinstance(value, types.FunctionType):
                yield value


def _module_name(value: Any) -> str:
    if isinstance(value, types.ModuleType):
        return value.__name__
    return str(getattr(value, "__module__", "") or "")


SERVICE_MODULE_USE = "<a module of the local services>"


@functools.cache
def _direct(function: types.FunctionType) -> tuple[frozenset[str], tuple[types.FunctionType, ...]]:
    """The names in one function's code, and the suite functions those names refer to."""
    names: set[str] = set()
    reached: list[types.FunctionType] = []
    for code in _code_objects(function.__code__):
        for name in code.co_names:
            names.add(name)
            value = function.__globals__.get(name)
            if value is None:
                continue
            if _module_name(value).startswith(SERVICE_MODULES):
                names.add(SERVICE_MODULE_USE)
            elif _defined_in_tests(value):
                reached.extend(_functions_of(value))
    return frozenset(names), tuple(reached)


def names_used(roots: list[Any]) -> set[str]:
    """Global and attribute names in the code of ``roots`` and of the suite helpers they reach."""
    names: set[str] = set()
    seen: set[types.FunctionType] = set()
    pending = [fn for root in roots for fn in _functions_of(root)]
    while pending:
        function = pending.pop()
        if function in seen:
            continue
        seen.add(function)
        direct, reached = _direct(function)
        names |= direct
        pending.extend(reached)
    return names


def _fixture_functions(item: pytest.Function) -> list[Callable[..., Any]]:
    """Every definition of every fixture the test uses (an override may request the one it overrides)."""
    info = getattr(item, "_fixtureinfo", None)
    if info is None:
        return []
    used = set(item.fixturenames)
    return [d.func for name, defs in info.name2fixturedefs.items() if name in used for d in defs]


def tier_of(item: pytest.Item) -> str:
    """The tier of one collected test: its explicit marker, or the rule of this module's docstring."""
    explicit = {mark.name for mark in item.iter_markers() if mark.name in TIERS}
    if len(explicit) > 1:
        raise pytest.UsageError(f"{item.nodeid} is marked {sorted(explicit)}: a test has exactly one tier")
    if explicit:
        return explicit.pop()
    if not isinstance(item, pytest.Function):
        return "integration"  # not a Python test function: nothing to read, so not a unit test
    fixtures = _fixture_functions(item)
    names = names_used([item.function, *fixtures])
    if names & PROCESS_NAMES:
        return "e2e"
    if SERVICE_FIXTURES & set(item.fixturenames) or names & (SERVICE_NAMES | {SERVICE_MODULE_USE}):
        return "integration"
    return "unit"


@pytest.hookimpl(tryfirst=True)  # before the mark plugin deselects by ``-m``
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark every collected test with its tier; fail when the unit-only pre-check disagrees with it."""
    for item in items:
        tier = tier_of(item)
        if item.get_closest_marker(tier) is None:  # an explicit tier is already on the item
            item.add_marker(getattr(pytest.mark, tier))
        path = Path(str(item.path))
        if tier == "unit" and not _may_hold_unit_tests(path):
            raise pytest.UsageError(
                f"{item.nodeid} is a unit test, but tier_source reads {path.name} as holding none "
                "(so `-m unit` would skip it): make the two agree"
            )


def _may_hold_unit_tests(path: Path) -> bool:
    return may_hold_unit_tests(path, SERVICE_FIXTURES, PROCESS_NAMES | SERVICE_NAMES)


def pytest_ignore_collect(collection_path: Path, config: pytest.Config) -> bool | None:
    """Under exactly ``-m unit``, skip test modules that hold no unit test (without importing them)."""
    if (config.option.markexpr or "").strip() != "unit" or collection_path.suffix != ".py":
        return None
    if not collection_path.name.startswith("test_"):
        return None
    return True if not _may_hold_unit_tests(collection_path) else None


@functools.cache
def service_ports() -> frozenset[int]:
    """The ports of PostgreSQL, Redis and Elasticsearch this run's settings point at."""
    from aiqleads.domain.settings import Settings

    base = Settings.from_env()
    urls = [base.database_url, base.migration_database_url, base.redis_url, base.elasticsearch_url]
    return frozenset(port for url in urls if url and (port := urlsplit(url).port) is not None)


class ServiceUsedInUnitTest(AssertionError):
    """A test the tier rule calls ``unit`` reached a service or started a process."""


@contextlib.contextmanager
def unit_guard(nodeid: str, ports: frozenset[int]) -> Iterator[None]:
    """Refuse TCP connections to ``ports`` and process starts while a unit test sets up and runs."""
    connect, connect_ex = socket.socket.connect, socket.socket.connect_ex
    popen_init = subprocess.Popen.__init__

    def check(address: Any) -> None:
        if isinstance(address, tuple) and len(address) >= 2 and address[1] in ports:
            raise ServiceUsedInUnitTest(f"{nodeid} is a unit test but connected to {address[:2]}")

    def guarded_connect(sock: socket.socket, address: Any) -> None:
        check(address)
        connect(sock, address)

    def guarded_connect_ex(sock: socket.socket, address: Any) -> int:
        check(address)
        return connect_ex(sock, address)

    def refused_popen(popen: Any, args: Any, *rest: Any, **kwargs: Any) -> None:
        raise ServiceUsedInUnitTest(f"{nodeid} is a unit test but started a process: {args!r}")

    # asyncio (asyncpg, redis, elasticsearch's aiohttp) connects through socket.socket.connect and
    # starts processes through subprocess.Popen, so these three cover every client the suite uses
    socket.socket.connect = guarded_connect  # type: ignore[method-assign,assignment]
    socket.socket.connect_ex = guarded_connect_ex  # type: ignore[method-assign]
    subprocess.Popen.__init__ = refused_popen  # type: ignore[method-assign]
    try:
        yield
    finally:
        socket.socket.connect = connect  # type: ignore[method-assign]
        socket.socket.connect_ex = connect_ex  # type: ignore[method-assign]
        subprocess.Popen.__init__ = popen_init  # type: ignore[method-assign]


def _guarded(item: pytest.Item) -> contextlib.AbstractContextManager[None]:
    if item.get_closest_marker("unit") is None:
        return contextlib.nullcontext()
    return unit_guard(item.nodeid, service_ports())


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_setup(item: pytest.Item) -> Iterator[None]:
    """Set up a unit test's fixtures under the unit guard."""
    with _guarded(item):
        yield


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Iterator[None]:
    """Run a unit test under the unit guard."""
    with _guarded(item):
        yield
