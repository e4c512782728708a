"""Hot lead reads run on the session's own asyncpg connection, skipping SQLAlchemy's per-execution work.

A page of leads is one cached statement with bound values, yet SQLAlchemy spends as long again as
PostgreSQL on each execution: the compiled-cache lookup, the ORM's execution context, result
processing through its cursor adapter and the identity map (≈ 0.4 ms a statement on this machine,
as much as the query). Here a statement is compiled once per shape with the session's dialect, its
bind and result processors are taken from that compilation (so values are converted exactly as
SQLAlchemy would), it runs on the session's driver connection, and leads are built as detached
ORM instances holding the columns the ORM loads (reading a deferred one raises, as on the ORM's
own detached leads).

SQLAlchemy's SQL log and cursor events see each statement, and a driver error is raised as
SQLAlchemy raises its own (its DBAPI error classes; a lost connection invalidated, out of the pool).

Only sessions in autocommit (the read sessions) take this path: inside a transaction SQLAlchemy's
adapter begins the transaction on its first statement, which a statement sent beside it would skip.
Other sessions run the same statement through SQLAlchemy.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, NoReturn

from sqlalchemy import ColumnElement, Select, select
from sqlalchemy.engine import Connection, Dialect
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import attributes

from aiqleads.domain.core.lead import Lead

_MAPPER = Lead.__mapper__
# the columns the ORM loads with a lead (not its deferred ones), with their attribute names
LEAD_COLUMNS: tuple[tuple[str, ColumnElement[Any]], ...] = tuple(
    (prop.key, prop.columns[0]) for prop in _MAPPER.column_attrs if not prop.deferred
)
_Processor = Callable[[Any], Any] | None


def lead_select(*extra: Any) -> Select[Any]:
    """``SELECT`` of a lead's listed columns (in ``LEAD_COLUMNS`` order), then ``extra`` columns."""
    return select(*(column for _, column in LEAD_COLUMNS), *extra)


@dataclass(frozen=True)
class DriverStatement:
    """A statement compiled for the driver: its SQL, parameter order and value conversions."""

    sql: str
    positions: tuple[str, ...]
    defaults: Mapping[str, Any]
    bind_processors: Mapping[str, Callable[[Any], Any]]
    result_types: tuple[Any, ...]  # the selected columns' SQLAlchemy types, for result_processors
    dialect: Dialect
    # filled on the first run: SQLAlchemy's converters ask for the PostgreSQL type of each column
    result_processors: list[tuple[_Processor, ...]] = field(default_factory=list)


def compile_for_driver(statement: Select[Any], dialect: Dialect) -> DriverStatement | None:
    """Compile once: the SQL text, the order of its parameters, and SQLAlchemy's own converters;
    None for a statement SQLAlchemy must finish per execution (an expanding ``IN``)."""
    compiled = statement.compile(dialect=dialect)
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
    result_types = tuple(column.type.dialect_impl(dialect) for column in statement.selected_columns)
    return DriverStatement(compiled.string, positions, defaults, bind_processors, result_types, dialect)


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
    """A session's connection: SQLAlchemy's (for its event listeners) and asyncpg's own."""

    connection: Connection
    driver: Any


async def driver_connection(session: AsyncSession) -> DriverConnection | None:
    """The session's connection when the session runs in autocommit, else None."""
    if session.get_bind().get_execution_options().get("isolation_level") != "AUTOCOMMIT":
        return None
    connection = await session.connection()
    raw = await connection.get_raw_connection()
    return DriverConnection(connection.sync_connection, raw.driver_connection)  # type: ignore[arg-type]


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
    processors = await _result_processors(driver, statement)
    try:
        records = await driver.fetch(sql, *parameters)
    except Exception as error:
        _raise_as_sqlalchemy(sync, error, sql, parameters)
    finally:  # a tracer ends its span here
        for listener in sync.dispatch.after_cursor_execute:
            listener(sync, None, sql, parameters, execution, False)
    rows = []
    for record in records:
        row = list(record)
        for index, processor in enumerate(processors):
            if processor is not None and row[index] is not None:
                row[index] = processor(row[index])
        rows.append(row)
    return rows


def _raise_as_sqlalchemy(
    sync: Connection, error: Exception, sql: str, parameters: tuple[Any, ...]
) -> NoReturn:
    """Raise a driver error as SQLAlchemy raises it for its own statements: as its DBAPI error
    class (so a lost database is a dependency failure, a 503), and with the connection invalidated
    on a disconnect (so the pool drops it instead of handing it out again)."""
    try:
        sync.connection.dbapi_connection._handle_exception(error)  # type: ignore[union-attr]
    except Exception as dbapi_error:
        sync._handle_dbapi_exception(dbapi_error, sql, parameters, None, None)
    raise error


async def fetch_value(driver: DriverConnection, statement: DriverStatement, values: Mapping[str, Any]) -> Any:
    """The first column of the statement's first row."""
    rows = await fetch_rows(driver, statement, values)
    return rows[0][0]


def lead_of(row: Sequence[Any]) -> Lead:
    """A detached ``Lead`` from the first ``len(LEAD_COLUMNS)`` values of a row of ``lead_select``."""
    lead: Lead = _MAPPER.class_manager.new_instance()
    state = attributes.instance_state(lead)
    values = attributes.instance_dict(lead)
    for index, (key, _) in enumerate(LEAD_COLUMNS):
        values[key] = row[index]
    state.key = _MAPPER.identity_key_from_primary_key((values["id"],))
    return lead
