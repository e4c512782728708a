"""Database engine, session factory and the declarative base shared by every area."""

from __future__ import annotations

from collections.abc import Sequence
from typing import cast

from sqlalchemy import MetaData, Table, TextualSelect, bindparam, text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.orm import DeclarativeBase

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    """Declarative base; relationships are never lazy-loaded (we load explicitly)."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)


def sql_in(column: str, values: Sequence[str]) -> str:
    """A check constraint's ``column IN ('a', 'b')`` over a closed vocabulary."""
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


def make_engine(database_url: str, *, connections: int = 30, echo: bool = False) -> AsyncEngine:
    """Build the async engine; called from the app lifespan, worker startup or CLI, never at import.

    ``connections`` is the most the process opens, each kept once opened (no overflow).

    Bound parameters (tokens, contacts, password hashes) are hidden from SQL log lines and from
    exception messages, so neither logs nor error reports carry them (SECURITY.md).
    """
    return create_async_engine(
        database_url,
        # no overflow: an overflow connection is closed when it comes back to a full pool, so a
        # burst opened and closed connections over and over (a backend fork and a SCRAM exchange
        # on both sides each time); 200 simultaneous checkouts ran at 151/s with 10 + 20 overflow,
        # 340/s with 30 kept (bench/README.md)
        pool_size=connections,
        max_overflow=0,
        # no pre-ping: it is one more round trip on every checkout. After a database restart the
        # first statement on a stale connection fails (a 503 with Retry-After) and SQLAlchemy
        # invalidates the whole pool, so the retry gets fresh connections.
        pool_recycle=1800,
        echo=echo,
        hide_parameters=True,
    )


def make_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    """Session factory; sessions never expire on commit so mapped results stay readable."""
    return async_sessionmaker(engine, expire_on_commit=False, autoflush=False)


def make_read_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    """Factory of sessions whose statements each run on their own (autocommit, same pool).

    Under READ COMMITTED every statement takes its own snapshot anyway, so a read needs no
    transaction; skipping BEGIN and ROLLBACK saves two round trips per read session.
    """
    autocommit = engine.execution_options(isolation_level="AUTOCOMMIT")
    return async_sessionmaker(autocommit, expire_on_commit=False, autoflush=False)


async def ping_database(engine: AsyncEngine) -> None:
    """Run a trivial statement on a pooled connection (readiness probe); raises when unreachable."""
    async with engine.connect() as conn:
        await conn.execute(text("SELECT 1"))


def insert_unless_conflict(
    model: type[Base], columns: Sequence[str], conflict: str, returning: Sequence[str] | None = None
) -> TextualSelect:
    """``INSERT … ON CONFLICT <conflict> DO NOTHING RETURNING …`` as textual SQL, for hot paths.

    SQLAlchemy compiles PostgreSQL's ``insert`` construct afresh on every execution (it cannot
    cache it): about a millisecond per statement. Textual SQL is compiled once. Parameters are
    named after the columns and typed like them (JSONB values go in as Python objects); it returns
    ``returning`` (every column by default), and no row when the conflict target holds one already.
    """
    table = cast(Table, model.__table__)
    returned = [table.c[name] for name in returning] if returning is not None else list(table.columns)
    names = ", ".join(columns)
    values = ", ".join(f":{name}" for name in columns)
    clause = text(
        f"INSERT INTO {table.name} ({names}) VALUES ({values}) "
        f"ON CONFLICT {conflict} DO NOTHING RETURNING {', '.join(column.name for column in returned)}"
    ).bindparams(*(bindparam(name, type_=table.c[name].type) for name in columns))
    return clause.columns(*returned)
