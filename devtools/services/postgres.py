"""The local PostgreSQL (with PostGIS and pgvector): start, stop, status, and SQL through psql."""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

from aiqleads_dev.services.config import (
    BOOTSTRAP_HINT,
    CONFIG_BANNER,
    HOST,
    PG_APP_PASSWORD,
    PG_APP_USER,
    PG_DATABASE,
    PG_EXTENSIONS,
    PG_PASSWORD,
    PG_PORT,
    PG_USER,
    TIMEOUT,
    pg_bin_dir,
    pg_dir,
    pg_socket_dir,
)
from aiqleads_dev.services.process import (
    ServiceError,
    ServiceStatus,
    as_user,
    check_user_access,
    chown_tree,
    port_open,
    run,
    say,
    service_user,
    wait,
)


def _psql_base(host: str) -> list[str]:
    return [
        str(pg_bin_dir() / "psql"),
        "-X",
        "-q",
        "-A",
        "-t",
        "-v",
        "ON_ERROR_STOP=1",
        "-h",
        host,
        "-p",
        str(PG_PORT),
    ]


def psql(sql: str, database: str = PG_DATABASE, user: str = PG_USER, password: str = PG_PASSWORD) -> str:
    """Run SQL through ``psql`` over TCP and return its unaligned, tuples-only output."""
    env = {**os.environ, "PGPASSWORD": password, "PGCONNECT_TIMEOUT": "5"}
    argv = [*_psql_base(HOST), "-U", user, "-d", database, "-c", sql]
    done = subprocess.run(argv, capture_output=True, text=True, env=env, timeout=60)
    if done.returncode != 0:
        raise ServiceError(f"psql failed: {done.stderr.strip()}")
    return done.stdout.strip()


def _psql_local(sql: str, database: str = "postgres") -> str:
    """Run SQL as the bootstrap superuser over the private unix socket (trust auth)."""
    argv = [*_psql_base(str(pg_socket_dir())), "-U", "postgres", "-d", database, "-c", sql]
    return run(argv, "postgresql: setup", pg_dir() / "postgresql.log").strip()


def _config_text() -> str:
    return "\n".join(
        [
            CONFIG_BANNER,
            f"listen_addresses = '{HOST}'",
            f"port = {PG_PORT}",
            f"unix_socket_directories = '{pg_socket_dir()}'",
            "unix_socket_permissions = 0700",
            "max_connections = 200",
            "shared_buffers = 256MB",
            "work_mem = 8MB",
            "maintenance_work_mem = 128MB",
            "synchronous_commit = off",
            "max_wal_size = 2GB",
            "password_encryption = 'scram-sha-256'",
            "timezone = 'UTC'",
            "log_timezone = 'UTC'",
            "",
        ]
    )


def _initdb(user: str | None, bin_dir: Path, data: Path) -> None:
    say(f"postgresql: initdb {data}")
    argv = [
        str(bin_dir / "initdb"),
        "-D",
        str(data),
        "-U",
        "postgres",
        "--encoding=UTF8",
        "--locale=C.UTF-8",
        "--auth-local=trust",
        "--auth-host=scram-sha-256",
    ]
    run(as_user(user, argv), "postgresql: initdb")
    (pg_dir() / "setup-done").unlink(missing_ok=True)


def up() -> None:
    """Start PostgreSQL unless it answers; create the roles, database and extensions it needs."""
    if port_open(PG_PORT):
        say(f"postgresql: already running on {HOST}:{PG_PORT}")
        _setup()
        _roles()
        return
    bin_dir = pg_bin_dir()
    if not (bin_dir / "postgres").exists():
        raise ServiceError(f"postgresql: no server binaries in {bin_dir}; {BOOTSTRAP_HINT}")
    sharedir = Path(run([str(bin_dir / "pg_config"), "--sharedir"], "pg_config").strip())
    for ext in PG_EXTENSIONS:
        if not (sharedir / "extension" / f"{ext}.control").exists():
            raise ServiceError(f"postgresql: extension {ext!r} is not installed; {BOOTSTRAP_HINT}")

    start = time.monotonic()
    user = service_user()
    folder, data, log = pg_dir(), pg_dir() / "data", pg_dir() / "postgresql.log"
    sock = pg_socket_dir()
    for d in (folder, sock):
        d.mkdir(parents=True, exist_ok=True)
        chown_tree(d, user)
    sock.chmod(0o700)
    check_user_access(user, folder)

    if not (data / "PG_VERSION").exists():
        _initdb(user, bin_dir, data)
    conf = data / "aiqleads.conf"
    conf.write_text(_config_text())
    main_conf = data / "postgresql.conf"
    if "include = 'aiqleads.conf'" not in main_conf.read_text():
        with main_conf.open("a") as handle:
            handle.write("\ninclude = 'aiqleads.conf'\n")
    chown_tree(conf, user)

    say(f"postgresql: starting on {HOST}:{PG_PORT}")
    start_cmd = [
        str(bin_dir / "pg_ctl"),
        "-D",
        str(data),
        "-l",
        str(log),
        "-w",
        "-t",
        str(int(TIMEOUT)),
        "start",
    ]
    run(as_user(user, start_cmd), "postgresql: pg_ctl start", log)
    wait(lambda: port_open(PG_PORT), "postgresql", log)
    _setup()
    _roles()
    say(f"postgresql: ready ({time.monotonic() - start:.1f}s)")


def _setup() -> None:
    """Create the ``aiqleads`` superuser role, database and extensions once per data directory."""
    marker = pg_dir() / "setup-done"
    if marker.exists() or not (pg_dir() / "data" / "PG_VERSION").exists():
        return
    say(f"postgresql: creating role/database {PG_DATABASE!r} with extensions {', '.join(PG_EXTENSIONS)}")
    _psql_local(
        "DO $$BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '" + PG_USER + "') THEN "
        f"CREATE ROLE {PG_USER} LOGIN SUPERUSER PASSWORD '{PG_PASSWORD}'; END IF; END$$;"
    )
    if not _psql_local(f"SELECT 1 FROM pg_database WHERE datname = '{PG_DATABASE}'"):
        _psql_local(f"CREATE DATABASE {PG_DATABASE} OWNER {PG_USER}")
    for ext in PG_EXTENSIONS:
        _psql_local(f"CREATE EXTENSION IF NOT EXISTS {ext}", database=PG_DATABASE)
    marker.touch()


def _roles() -> None:
    """Create (idempotently, on every ``up``) the least-privilege application role and grant it row
    access to the development database; PG_USER stays the owner that migrations run as."""
    from aiqleads.db_roles import app_grants_sql, app_role_sql

    if not (pg_dir() / "data" / "PG_VERSION").exists():
        return  # not our server: leave its roles alone
    grants = "; ".join(app_grants_sql(PG_APP_USER, PG_USER, PG_DATABASE))
    _psql_local(f"{app_role_sql(PG_APP_USER, PG_APP_PASSWORD)}; {grants}", database=PG_DATABASE)


def down() -> None:
    """Stop the PostgreSQL that ``up`` started (a server that is not ours is left alone)."""
    data = pg_dir() / "data"
    if not (data / "postmaster.pid").exists():
        say("postgresql: not running" + (" (port answers, but not ours)" if port_open(PG_PORT) else ""))
        return
    say("postgresql: stopping")
    stop = [str(pg_bin_dir() / "pg_ctl"), "-D", str(data), "-m", "fast", "-w", "-t", "60", "stop"]
    run(as_user(service_user(), stop), "postgresql: pg_ctl stop", pg_dir() / "postgresql.log")
    say("postgresql: stopped")


def status() -> ServiceStatus:
    """PostgreSQL's state, address and server/extension versions."""
    address = f"{HOST}:{PG_PORT}"
    if not port_open(PG_PORT):
        return ServiceStatus("postgresql", False, address, "-")
    try:
        row = psql(
            "SELECT version(), "
            "coalesce((SELECT extversion FROM pg_extension WHERE extname = 'postgis'), 'absent'), "
            "coalesce((SELECT extversion FROM pg_extension WHERE extname = 'vector'), 'absent')"
        )
    except ServiceError as exc:
        return ServiceStatus("postgresql", True, address, f"(query failed: {exc})")
    version, postgis, vector = row.split("|")
    return ServiceStatus(
        "postgresql", True, address, f"{version.split(' on ')[0]}; postgis {postgis}; vector {vector}"
    )
