"""Create and drop private, migrated PostgreSQL databases (one per test session, or per benchmark run)."""

from __future__ import annotations

import asyncio
import os
import uuid

import asyncpg
from alembic import command

from aiqleads.cli import alembic_config
from aiqleads.domain.settings import Settings

BASE = Settings.from_env()


def asyncpg_dsn(url: str) -> str:
    """A SQLAlchemy asyncpg URL as a plain DSN for asyncpg.connect."""
    return url.replace("postgresql+asyncpg://", "postgresql://")


def _with_database(url: str, name: str) -> str:
    head, _, _ = url.rpartition("/")
    return f"{head}/{name}"


async def _execute(base: Settings, sql: str) -> None:
    conn = await asyncpg.connect(asyncpg_dsn(base.database_url))
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


async def create_database(base: Settings, name: str) -> str:
    """Create database `name` on base's server, migrate it to head; returns its SQLAlchemy URL."""
    await _execute(base, f'CREATE DATABASE "{name}"')
    url = _with_database(base.database_url, name)
    await asyncio.to_thread(command.upgrade, alembic_config(url), "head")
    return url


async def drop_database(base: Settings, name: str) -> None:
    """Drop a database, disconnecting any leftover sessions."""
    await _execute(base, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def create_test_database() -> tuple[str, str]:
    """Create an empty database, migrate it to head, return (name, SQLAlchemy URL)."""
    name = f"aiq_test_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    return name, asyncio.run(create_database(BASE, name))


def drop_test_database(name: str) -> None:
    """Drop a test database, disconnecting any leftover sessions."""
    asyncio.run(drop_database(BASE, name))
