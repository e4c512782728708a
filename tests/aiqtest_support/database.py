"""Create and drop a private, migrated PostgreSQL database for one test session."""

from __future__ import annotations

import asyncio
import os
import uuid

import asyncpg
from alembic import command

from aiqleads.cli import alembic_config
from aiqleads.domain.settings import Settings

BASE = Settings.from_env()


def _admin_dsn() -> str:
    return BASE.database_url.replace("postgresql+asyncpg://", "postgresql://")


def _with_database(url: str, name: str) -> str:
    head, _, _ = url.rpartition("/")
    return f"{head}/{name}"


async def _execute(sql: str) -> None:
    conn = await asyncpg.connect(_admin_dsn())
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


def create_test_database() -> tuple[str, str]:
    """Create an empty database, migrate it to head, return (name, SQLAlchemy URL)."""
    name = f"aiq_test_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    asyncio.run(_execute(f'CREATE DATABASE "{name}"'))
    url = _with_database(BASE.database_url, name)
    command.upgrade(alembic_config(url), "head")
    return name, url


def drop_test_database(name: str) -> None:
    """Drop a test database, disconnecting any leftover sessions."""
    asyncio.run(_execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
