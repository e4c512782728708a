"""Least privilege in the database: the test session (like the API and worker) connects as the
application role, which can read and write rows but cannot create, alter, drop or truncate
anything and owns nothing; migrations run as the schema owner, and tables a later migration
creates are covered by default privileges."""

from __future__ import annotations

import uuid
from typing import Any

import asyncpg
import pytest
from aiqtest_support.database import BASE, owner_url
from sqlalchemy.engine import make_url

from aiqleads.db_roles import APP_ROLE, APPEND_ONLY_TABLES, app_grants_sql, raw_dsn
from aiqleads.domain.settings import Settings
from aiqleads_dev import services


def _owner_of_test_db(settings: Settings) -> str:
    return owner_url(BASE, make_url(settings.database_url).database)


async def test_the_session_connects_as_the_unprivileged_app_role(settings: Settings) -> None:
    conn = await asyncpg.connect(raw_dsn(settings.database_url))
    try:
        row = await conn.fetchrow(
            "SELECT current_user AS me, r.rolsuper, r.rolcreatedb, r.rolcreaterole, r.rolbypassrls,"
            " pg_get_userbyid(n.nspowner) AS schema_owner,"
            " has_schema_privilege('public', 'CREATE') AS can_create,"
            " (SELECT count(*) FROM pg_tables WHERE schemaname = 'public' AND tableowner = current_user)"
            "   AS owned_tables"
            " FROM pg_roles r, pg_namespace n WHERE r.rolname = current_user AND n.nspname = 'public'"
        )
    finally:
        await conn.close()
    assert row["me"] == APP_ROLE
    assert not (row["rolsuper"] or row["rolcreatedb"] or row["rolcreaterole"] or row["rolbypassrls"])
    assert row["schema_owner"] != APP_ROLE and not row["can_create"] and row["owned_tables"] == 0
    assert make_url(_owner_of_test_db(settings)).username != APP_ROLE  # migrations: the owner


async def test_the_app_role_reads_and_writes_rows(settings: Settings) -> None:
    conn = await asyncpg.connect(raw_dsn(settings.database_url))
    try:
        tx = conn.transaction()
        await tx.start()
        user_id = uuid.uuid4()
        await conn.execute(
            "INSERT INTO users (id, email, password_hash, name) VALUES ($1, $2, 'x', 'Role Test')",
            user_id,
            f"role-{user_id.hex[:8]}@example.com",
        )
        await conn.execute("UPDATE users SET name = 'Renamed' WHERE id = $1", user_id)
        assert await conn.fetchval("SELECT name FROM users WHERE id = $1", user_id) == "Renamed"
        await conn.execute("DELETE FROM users WHERE id = $1", user_id)
        sequence = await conn.fetchval(
            "SELECT quote_ident(sequence_name) FROM information_schema.sequences"
            " WHERE sequence_schema = 'public' LIMIT 1"
        )
        if sequence:
            assert await conn.fetchval(f"SELECT nextval('{sequence}')") is not None
        await tx.rollback()
    finally:
        await conn.close()


@pytest.mark.parametrize(
    "statement",
    [
        "CREATE TABLE role_probe (id int)",
        "DROP TABLE leads",
        "TRUNCATE credit_ledger",
        "ALTER TABLE users ADD COLUMN role_probe int",
        "CREATE INDEX role_probe_ix ON leads (city)",
        "CREATE SCHEMA role_probe",
        "CREATE DATABASE role_probe",
        "CREATE ROLE role_probe",
        "DROP SCHEMA public CASCADE",
        "UPDATE alembic_version SET version_num = version_num",
    ],
)
async def test_the_app_role_cannot_change_the_schema(settings: Settings, statement: str) -> None:
    conn = await asyncpg.connect(raw_dsn(settings.database_url))
    try:
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await conn.execute(statement)
    finally:
        await conn.close()


@pytest.mark.parametrize("table", APPEND_ONLY_TABLES)
async def test_the_ledger_and_the_audit_log_are_append_only_for_the_app_role(
    settings: Settings, table: str
) -> None:
    conn = await asyncpg.connect(raw_dsn(settings.database_url))
    try:
        assert await conn.fetchval(f"SELECT has_table_privilege('{table}', 'INSERT')")
        assert await conn.fetchval(f"SELECT has_table_privilege('{table}', 'SELECT')")
        for statement in (f"UPDATE {table} SET id = id", f"DELETE FROM {table}"):
            with pytest.raises(asyncpg.InsufficientPrivilegeError):
                await conn.execute(statement)
    finally:
        await conn.close()


async def test_tables_a_later_migration_creates_are_granted_by_default(settings: Settings) -> None:
    table = f"role_probe_{uuid.uuid4().hex[:8]}"
    owner = await asyncpg.connect(raw_dsn(_owner_of_test_db(settings)))
    try:
        await owner.execute(f"CREATE TABLE {table} (id bigserial PRIMARY KEY, note text)")
        app = await asyncpg.connect(raw_dsn(settings.database_url))
        try:
            await app.execute(f"INSERT INTO {table} (note) VALUES ('hello')")
            assert await app.fetchval(f"SELECT note FROM {table}") == "hello"
            with pytest.raises(asyncpg.InsufficientPrivilegeError):
                await app.execute(f"DROP TABLE {table}")
        finally:
            await app.close()
    finally:
        await owner.execute(f"DROP TABLE IF EXISTS {table}")
        await owner.close()


def test_local_services_keep_the_app_role_unprivileged_and_the_grants_are_idempotent() -> None:
    row = services.psql(
        "SELECT rolsuper, rolcreatedb, rolcreaterole FROM pg_roles WHERE rolname = 'aiqleads_app'"
    )
    assert row == "f|f|f"
    statements: list[Any] = app_grants_sql(APP_ROLE, services.PG_USER, services.PG_DATABASE)
    services.psql("; ".join(statements))  # applying them again changes nothing and fails nothing
    assert (
        services.psql("SELECT current_user", user=services.PG_APP_USER, password=services.PG_APP_PASSWORD)
        == APP_ROLE
    )
