"""Create and drop private, migrated PostgreSQL databases (one per test session, or per benchmark run)."""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import Coroutine
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

import asyncpg
from alembic import command

from aiqleads.cli import alembic_config
from aiqleads.db_roles import APP_PASSWORD, APP_ROLE, grant_app_role, role_of, with_role
from aiqleads.domain.settings import Settings

# Databases are created and migrated as the owner; tests then connect as the least-privilege
# application role, as the API and worker do in production (SECURITY.md).
BASE = Settings.from_env()
T = TypeVar("T")


def asyncpg_dsn(url: str) -> str:
    """A SQLAlchemy asyncpg URL as a plain DSN for asyncpg.connect."""
    return url.replace("postgresql+asyncpg://", "postgresql://")


def _with_database(url: str, name: str) -> str:
    head, _, _ = url.rpartition("/")
    return f"{head}/{name}"


def owner_url(base: Settings, database: str | None = None) -> str:
    """The schema owner's URL (migrations), of base's database or of another on the same server."""
    url = base.migration_database_url or base.database_url
    return _with_database(url, database) if database else url


async def _execute(base: Settings, sql: str) -> None:
    conn = await asyncpg.connect(asyncpg_dsn(owner_url(base)))
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


async def create_database(base: Settings, name: str) -> str:
    """Create database `name` on base's server as the owner, migrate it to head and grant the
    application role; returns the owner's SQLAlchemy URL of it (see app_url)."""
    await _execute(base, f'CREATE DATABASE "{name}"')
    url = _with_database(owner_url(base), name)
    await asyncio.to_thread(command.upgrade, alembic_config(url), "head")
    if role_of(url) != APP_ROLE:
        await grant_app_role(url, APP_ROLE)
    return url


def app_url(url: str) -> str:
    """The URL of the same database for the least-privilege application role."""
    return with_role(url, APP_ROLE, APP_PASSWORD)


async def drop_database(base: Settings, name: str) -> None:
    """Drop a database, disconnecting any leftover sessions."""
    await _execute(base, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def run_off_loop(coro: Coroutine[Any, Any, T]) -> T:
    """Run a coroutine to completion in a worker thread.

    ``asyncio.run`` on the main thread ends by clearing that thread's event loop, which breaks
    every later async test on the session loop; a thread has its own.
    """
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, coro).result()


def create_test_database() -> tuple[str, str]:
    """Create an empty database, migrate it to head, return (name, the application role's URL)."""
    name = f"aiq_test_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    return name, app_url(run_off_loop(create_database(BASE, name)))


def drop_test_database(name: str) -> None:
    """Drop a test database, disconnecting any leftover sessions."""
    run_off_loop(drop_database(BASE, name))
