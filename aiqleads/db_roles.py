"""Database roles: migrations run as the schema owner, the API and worker as a least-privilege
application role (see SECURITY.md, "Secrets, logs and database roles", and deploy/postgres/roles.sql).

The application role may connect, use the public schema, read and write rows and use sequences;
it cannot create, alter, drop or truncate anything and does not own the schema. The grants are
re-applied after every migration, and default privileges cover tables later migrations create.
"""

from __future__ import annotations

import re

import asyncpg
from sqlalchemy.engine import make_url

APP_ROLE = "aiqleads_app"
APP_PASSWORD = "aiqleads_app"  # the local services' loopback-only development role
_IDENTIFIER = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


def _ident(name: str) -> str:
    if not _IDENTIFIER.match(name):
        raise ValueError(f"not a plain PostgreSQL role/database name: {name!r}")
    return f'"{name}"'


def role_of(url: str) -> str | None:
    """The user name in a database URL."""
    return make_url(url).username


def with_role(url: str, role: str, password: str) -> str:
    """The same database URL connecting as another role."""
    return make_url(url).set(username=role, password=password).render_as_string(hide_password=False)


def raw_dsn(url: str) -> str:
    """A SQLAlchemy asyncpg URL as a DSN asyncpg.connect accepts."""
    return url.replace("postgresql+asyncpg://", "postgresql://", 1)


APPEND_ONLY_TABLES = ("credit_ledger", "audit_log")


def app_grants_sql(app_role: str, owner_role: str, database: str) -> list[str]:
    """Statements (run by the owner or a superuser) giving app_role row access and nothing more."""
    app, owner, db = _ident(app_role), _ident(owner_role), _ident(database)
    dml = "SELECT, INSERT, UPDATE, DELETE"
    defaults = f"ALTER DEFAULT PRIVILEGES FOR ROLE {owner} IN SCHEMA public"
    return [
        f"GRANT CONNECT ON DATABASE {db} TO {app}",
        "REVOKE CREATE ON SCHEMA public FROM PUBLIC",
        f"GRANT USAGE ON SCHEMA public TO {app}",
        f"GRANT {dml} ON ALL TABLES IN SCHEMA public TO {app}",
        f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {app}",
        f"{defaults} GRANT {dml} ON TABLES TO {app}",
        f"{defaults} GRANT USAGE, SELECT ON SEQUENCES TO {app}",
        # bookkeeping the application never writes
        "DO $$BEGIN IF to_regclass('public.alembic_version') IS NOT NULL THEN "
        f"REVOKE INSERT, UPDATE, DELETE ON public.alembic_version FROM {app}; END IF; END$$",
        "DO $$BEGIN IF to_regclass('public.spatial_ref_sys') IS NOT NULL THEN "
        f"REVOKE INSERT, UPDATE, DELETE ON public.spatial_ref_sys FROM {app}; END IF; END$$",
        # records that are only ever appended: a bug or an injected statement in the application
        # cannot rewrite the money's history or an operator's trail (foreign-key actions, such as
        # audit_log.actor_id's, run as the table owner and still work)
        *(
            f"DO $$BEGIN IF to_regclass('public.{table}') IS NOT NULL THEN "
            f"REVOKE UPDATE, DELETE ON public.{table} FROM {app}; END IF; END$$"
            for table in APPEND_ONLY_TABLES
        ),
    ]


def app_role_sql(app_role: str = APP_ROLE, password: str = APP_PASSWORD) -> str:
    """Create (or correct) the application login role: no superuser, no CREATEDB, no CREATEROLE."""
    app = _ident(app_role)
    literal = password.replace("'", "''")
    return (
        f"DO $$BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{app_role}') THEN "
        f"CREATE ROLE {app} LOGIN PASSWORD '{literal}'; END IF; END$$; "
        f"ALTER ROLE {app} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS"
    )


async def grant_app_role(owner_url: str, app_role: str) -> None:
    """Apply app_grants_sql in owner_url's database, connected as the owner (after migrations)."""
    conn = await asyncpg.connect(raw_dsn(owner_url))
    try:
        owner, database = await conn.fetchrow("SELECT current_user, current_database()")
        if owner == app_role:
            return  # one role for everything (a single-URL deployment): nothing to grant
        exists = await conn.fetchval("SELECT 1 FROM pg_roles WHERE rolname = $1", app_role)
        if not exists:
            raise RuntimeError(
                f"application role {app_role!r} does not exist (see deploy/postgres/roles.sql)"
            )
        for statement in app_grants_sql(app_role, owner, database):
            await conn.execute(statement)
    finally:
        await conn.close()
