"""Hot statements run on the session's own asyncpg connection, skipping SQLAlchemy's per-execution work.

A hot statement is built once with bound values, yet SQLAlchemy spends as long again as PostgreSQL
on each execution: the compiled-cache lookup, the ORM's execution context, result processing
through its cursor adapter and the identity map (≈ 0.15–0.4 ms a statement on this machine, as
much as the query). Here a statement is compiled once per dialect, its bind and result processors
are taken from that compilation (so values are converted exactly as SQLAlchemy would), it runs on
the session's driver connection, and rows come back as lists or as detached ORM instances holding
the columns the ORM loads (reading a deferred one raises, as on the ORM's own detached rows).

SQLAlchemy's SQL log and cursor events see each statement (the statement counters of the tests,
OpenTelemetry's spans), and a driver error is raised as SQLAlchemy raises its own (its DBAPI error
classes; a lost connection invalidated, out of the pool).

Three ways in:
- ``pooled_driver``: a pooled connection of its own, without an ORM session or a transaction, for
  reads made only of driver statements (each statement runs on its own, as in a read session);
- ``driver_connection``: read sessions (autocommit) only, else None, so a read in a transaction
  keeps SQLAlchemy's path;
- ``transaction_driver``: any session. In a transaction it first flushes pending ORM changes (as
  autoflush would before a query) and begins the transaction on the connection the way
  SQLAlchemy's asyncpg adapter does on its first statement, so statements sent here and through
  SQLAlchemy share one transaction, committed or rolled back by the session.
"""

from __future__ import annotations

import contextlib
import functools
import itertools
from collections.abc import AsyncIterator, Callable, Hashable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, NoReturn, TypeVar

from sqlalchemy import ColumnElement
from sqlalchemy.engine import Connection, Dialect
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession
from sqlalchemy.orm import DeclarativeBase, attributes
from sqlalchemy.sql import ClauseElement
from sqlalchemy.sql.compiler import SQLCompiler

_Processor = Callable[[Any], Any] | None
T = TypeVar("T", bound=DeclarativeBase)


@dataclass(frozen=True)
class DriverStatement:
    """A statement compiled for the driver: its SQL, parameter order and value conversions."""

    sql: str
    positions: tuple[str, ...]
    defaults: Mapping[str, Any]
    bind_processors: Mapping[str, Callable[[Any], Any]]
    result_types: tuple[Any, ...]  # the returned columns' SQLAlchemy types, for result_processors
    dialect: Dialect
    # filled on the first run: SQLAlchemy's converters ask for the PostgreSQL type of each column
    result_processors: list[tuple[_Processor, ...]] = field(default_factory=list)


def compile_for_driver(statement: ClauseElement, dialect: Dialect) -> DriverStatement | None:
    """Compile once: the SQL text, the order of its parameters, and SQLAlchemy's own converters;
    None for a statement SQLAlchemy must finish per execution (an expanding ``IN``)."""
    compiled = statement.compile(dialect=dialect)
    assert isinstance(compiled, SQLCompiler)
    binds = compiled.binds
    if any(bind.expanding or bind.literal_execute for bind in binds.values()):
        return None
    positions = tuple(compiled.positiontup or ())
    bind_processors: dict[str, Callable[[Any], Any]] = {}
    defaults: dict[str, Any] = {}
    for name in positions:
        bind = binds[name]
        if bind.value is not None or not bind.required:
            defaults[name] = bind.effective_value
        processor = bind.type.dialect_impl(dialect).bind_processor(dialect)
        if processor is not None:
            bind_processors[name] = processor
    returned = getattr(statement, "exported_columns", ())
    result_types = tuple(column.type.dialect_impl(dialect) for column in returned)
    return DriverStatement(compiled.string, positions, defaults, bind_processors, result_types, dialect)


@functools.lru_cache(maxsize=256)
def driver_statement(
    build: Callable[..., ClauseElement], dialect: Dialect, *args: Hashable
) -> DriverStatement:
    """The driver form of the statement ``build(*args)`` returns, once per dialect and arguments; a
    statement with an expanding ``IN`` is a programming error here (bind one array instead)."""
    statement = compile_for_driver(build(*args), dialect)
    if statement is None:
        raise ValueError(f"{build.__name__} builds a statement the driver cannot run as compiled")
    return statement


async def _result_processors(driver: Any, statement: DriverStatement) -> tuple[_Processor, ...]:
    if not statement.result_processors:
        prepared = await driver.prepare(statement.sql)
        oids = [attribute.type.oid for attribute in prepared.get_attributes()]
        statement.result_processors.append(
            tuple(
                kind.result_processor(statement.dialect, oid)
                for kind, oid in zip(statement.result_types, oids, strict=True)
            )
        )
    return statement.result_processors[0]


class DriverExecution:
    """Stands for SQLAlchemy's execution context in its cursor events (listeners keep state on it)."""


@dataclass(frozen=True)
class DriverConnection:
    """A session's connection: SQLAlchemy's (for its event listeners), its DBAPI adapter (for its
    error conversion) and asyncpg's own."""

    connection: Connection
    adapter: Any
    driver: Any

    @property
    def dialect(self) -> Dialect:
        """The engine's dialect (what statements are compiled for)."""
        return self.connection.dialect


@contextlib.asynccontextmanager
async def pooled_driver(engine: AsyncEngine) -> AsyncIterator[DriverConnection]:
    """A connection from the engine's pool for driver statements, given back at the end.

    A read session adds its own bookkeeping to each use (the session, its transaction state and
    its AsyncConnection: open, ``SELECT 1``, close took 201–289 µs that way against 131–155 µs
    this way, bench/README.md, tenth round). Here the pooled
    connection gets a plain ``Connection`` around it, for the engine's listeners, its SQL log and
    its error handling (a lost connection invalidated). No transaction is begun, so giving it
    back needs no rollback, and each statement runs on its own.
    """
    pooled = await engine.raw_connection()
    try:
        connection = Connection(engine.sync_engine, connection=pooled)
    except BaseException:  # (an engine_connect listener that raised): the pool gets it back
        pooled.close()
        raise
    try:
        yield DriverConnection(connection, pooled.dbapi_connection, pooled.driver_connection)
    finally:
        connection.close()


async def driver_connection(session: AsyncSession) -> DriverConnection | None:
    """The session's connection when the session runs in autocommit, else None."""
    if session.get_bind().get_execution_options().get("isolation_level") != "AUTOCOMMIT":
        return None
    connection = await session.connection()
    raw = await connection.get_raw_connection()
    return DriverConnection(
        connection.sync_connection,  # type: ignore[arg-type]
        raw.dbapi_connection,
        raw.driver_connection,
    )


async def transaction_driver(session: AsyncSession) -> DriverConnection:
    """The session's connection with its transaction begun (see the module docstring)."""
    if session.new or session.deleted or session.dirty:
        await session.flush()
    connection = await session.connection()
    raw = await connection.get_raw_connection()
    sync = connection.sync_connection
    assert sync is not None
    adapter: Any = raw.dbapi_connection
    # SQLAlchemy's asyncpg adapter begins the driver's transaction lazily, on its first statement
    # (and not at all in autocommit): begin it as that statement would, or a statement sent on the
    # driver first would run outside the transaction the session commits
    if not adapter._started:
        try:
            await adapter._start_transaction()
        except Exception as error:
            sync._handle_dbapi_exception(error, "BEGIN", (), None, None)
            raise
    return DriverConnection(sync, adapter, raw.driver_connection)


async def fetch_rows(
    connection: DriverConnection, statement: DriverStatement, values: Mapping[str, Any]
) -> list[list[Any]]:
    """Run the statement with these bound values; each row's values converted as SQLAlchemy would.
    The engine's SQL log and its ``before_cursor_execute`` listeners see it as any statement."""
    arguments = []
    for name in statement.positions:
        value = values[name] if name in values else statement.defaults[name]
        processor = statement.bind_processors.get(name)
        arguments.append(processor(value) if processor is not None and value is not None else value)
    sync = connection.connection
    sql, parameters = statement.sql, tuple(arguments)
    if sync._echo:  # the engine's SQL log, written as SQLAlchemy writes its own statements
        sync._log_info(sql)
        sync._log_parameters(parameters, "driver", ismulti=False)
    execution = DriverExecution()
    # as SQLAlchemy runs them: each listener may rewrite the statement (a tracer's comment)
    for listener in sync.dispatch.before_cursor_execute:
        sql, parameters = listener(sync, None, sql, parameters, execution, False)
    driver = connection.driver
    try:
        processors = await _result_processors(driver, statement)
        records = await driver.fetch(sql, *parameters)
    except Exception as error:
        _raise_as_sqlalchemy(connection, error, sql, parameters)
    finally:  # a tracer ends its span here
        for listener in sync.dispatch.after_cursor_execute:
            listener(sync, None, sql, parameters, execution, False)
    rows = [list(record) for record in records]
    # only the columns with a processor are visited (most values come from asyncpg as they are)
    for index, processor in [(i, p) for i, p in enumerate(processors) if p is not None]:
        for row in rows:
            value = row[index]
            if value is not None:
                row[index] = processor(value)
    return rows


def _raise_as_sqlalchemy(
    connection: DriverConnection, error: Exception, sql: str, parameters: tuple[Any, ...]
) -> NoReturn:
    """Raise a driver error as SQLAlchemy raises it for its own statements: as its DBAPI error
    class (so a lost database is a dependency failure, a 503, and a violated constraint an
    IntegrityError), with the connection invalidated on a disconnect (so the pool drops it)."""
    # the adapter kept from the start, not ``Connection.connection``: on a connection already
    # invalidated (a second statement after the database went away) that property reconnects,
    # synchronously, which outside SQLAlchemy's greenlet raises MissingGreenlet instead of this error
    try:
        connection.adapter._handle_exception(error)
    except Exception as dbapi_error:
        connection.connection._handle_dbapi_exception(dbapi_error, sql, parameters, None, None)
    raise error


async def fetch_value(driver: DriverConnection, statement: DriverStatement, values: Mapping[str, Any]) -> Any:
    """The first column of the statement's first row."""
    rows = await fetch_rows(driver, statement, values)
    return rows[0][0]


async def run(
    session: AsyncSession, build: Callable[..., ClauseElement], values: Mapping[str, Any], *args: Hashable
) -> list[list[Any]]:
    """Run the statement ``build(*args)`` returns (a cached builder) on the session's driver, in
    its transaction; its rows."""
    driver = await transaction_driver(session)
    return await fetch_rows(driver, driver_statement(build, session.get_bind().dialect, *args), values)


async def fetch_entities(
    session: AsyncSession,
    model: type[T],
    build: Callable[..., ClauseElement],
    values: Mapping[str, Any],
    *args: Hashable,
) -> list[T]:
    """``run``, each row a detached ``model`` (the statement returns ``columns_of(model)`` first)."""
    return [detached(model, row) for row in await run(session, build, values, *args)]


@functools.cache
def loaded_columns(model: type[DeclarativeBase]) -> tuple[tuple[str, ColumnElement[Any]], ...]:
    """The columns the ORM loads with a row of ``model`` (not its deferred ones), with their keys."""
    mapper = model.__mapper__
    return tuple((prop.key, prop.columns[0]) for prop in mapper.column_attrs if not prop.deferred)


def columns_of(model: type[DeclarativeBase]) -> list[ColumnElement[Any]]:
    """The columns of ``loaded_columns(model)``, to select or return in that order."""
    return [column for _, column in loaded_columns(model)]


def detached(model: type[T], row: Sequence[Any], offset: int = 0) -> T:
    """A detached ``model`` instance from the values of ``loaded_columns(model)`` in ``row`` from
    ``offset`` (read-only: no session tracks it, so a change to it is never written)."""
    keys, key_indexes, identity_class = _detached_plan(model)
    instance: T = model.__mapper__.class_manager.new_instance()
    values = attributes.instance_dict(instance)
    # one C-level pass over the row (not strict: the row may go on past the last key); a Python
    # loop over a lead's 34 columns cost 5-6 µs
    values.update(zip(keys, itertools.islice(row, offset, None) if offset else row, strict=False))
    # the identity key SQLAlchemy's mapper would build (its class, the primary key, no token)
    attributes.instance_state(instance).key = (
        identity_class,
        tuple([row[offset + index] for index in key_indexes]),
        None,
    )
    return instance


@functools.cache
def _detached_plan(model: type[DeclarativeBase]) -> tuple[tuple[str, ...], tuple[int, ...], type[Any]]:
    """The attribute keys of ``loaded_columns(model)``, the positions of its primary key among them,
    and the mapper's identity class."""
    mapper = model.__mapper__
    keys = tuple(key for key, _ in loaded_columns(model))
    primary = (mapper.get_property_by_column(column).key for column in mapper.primary_key)
    return keys, tuple(keys.index(key) for key in primary), mapper._identity_class
