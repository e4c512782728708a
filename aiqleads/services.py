"""Local real services for development, tests and CI: PostgreSQL, Redis and Elasticsearch.

Everything lives under the git-ignored ``.services/`` directory at the repository root
(override with ``AIQ_SERVICES_DIR``); every server binds to 127.0.0.1 only. Install the
binaries first with ``scripts/bootstrap.sh``, then::

    python -m aiqleads.services up|down|status

``up`` is idempotent: a service that already answers on its port is left alone.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
HOST = "127.0.0.1"

# Ports sit below Linux's ephemeral range (32768-60999) so an outgoing connection can never
# have taken them when a server (re)starts.
PG_PORT = 25432
PG_USER = "aiqleads"
PG_PASSWORD = "aiqleads"
PG_DATABASE = "aiqleads"
PG_EXTENSIONS = ("postgis", "vector")
# The least-privilege role the API and worker can use (aiqleads.db_roles); PG_USER owns the schema.
PG_APP_USER = "aiqleads_app"
PG_APP_PASSWORD = "aiqleads_app"

REDIS_PORT = 26379

ES_VERSION = "8.17.4"
ES_PORT = 29200
ES_TRANSPORT_PORT = 29300
ES_HEAP = "512m"

DATABASE_URL = f"postgresql+asyncpg://{PG_USER}:{PG_PASSWORD}@{HOST}:{PG_PORT}/{PG_DATABASE}"
REDIS_URL = f"redis://{HOST}:{REDIS_PORT}/0"
ELASTICSEARCH_URL = f"http://{HOST}:{ES_PORT}"

# Servers that refuse to run as root (postgres, elasticsearch) run as this system user.
SERVICE_USER = os.environ.get("AIQ_SERVICE_USER", "aiqleads")
TIMEOUT = float(os.environ.get("AIQ_SERVICES_TIMEOUT", "180"))

BOOTSTRAP_HINT = "run `bash scripts/bootstrap.sh` first"


class ServiceError(RuntimeError):
    """A service could not be started, stopped or queried."""


@dataclass(frozen=True)
class ServiceStatus:
    """The state of one service as reported by ``status()``."""

    name: str
    running: bool
    address: str
    version: str

    def line(self) -> str:
        """Render the one-line status report."""
        state = "running" if self.running else "stopped"
        return f"{self.name:<14} {state:<8} {self.address:<16} {self.version}"


# --------------------------------------------------------------------------- paths


def services_dir() -> Path:
    """Return the directory holding all service data (``AIQ_SERVICES_DIR`` or ``<repo>/.services``)."""
    override = os.environ.get("AIQ_SERVICES_DIR")
    return Path(override).resolve() if override else ROOT / ".services"


def pg_bin_dir() -> Path:
    """Return the PostgreSQL server binary directory (``AIQ_PG_BIN`` or Debian's newest >= 15)."""
    override = os.environ.get("AIQ_PG_BIN")
    if override:
        return Path(override)
    preferred = Path("/usr/lib/postgresql/15/bin")
    if (preferred / "postgres").exists():
        return preferred
    candidates = sorted(
        (p for p in Path("/usr/lib/postgresql").glob("*/bin") if p.parent.name.isdigit()),
        key=lambda p: int(p.parent.name),
    )
    return candidates[-1] if candidates else preferred


def es_home() -> Path:
    """Return the unpacked Elasticsearch distribution directory."""
    return services_dir() / "dist" / f"elasticsearch-{ES_VERSION}"


def _pg_dir() -> Path:
    return services_dir() / "pg"


def _pg_socket_dir() -> Path:
    sock = _pg_dir() / "run"
    # A unix socket path is limited to ~107 bytes; fall back to a short per-tree directory.
    if len(str(sock / f".s.PGSQL.{PG_PORT}")) > 100:
        digest = hashlib.sha1(str(services_dir()).encode()).hexdigest()[:12]
        sock = Path("/tmp") / f"aiqleads-pg-{digest}"
    return sock


def _redis_dir() -> Path:
    return services_dir() / "redis"


def _es_dir() -> Path:
    return services_dir() / "es"


# ------------------------------------------------------------------------- helpers


def _say(message: str) -> None:
    print(message, flush=True)


def _port_open(port: int, host: str = HOST, timeout: float = 0.5) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def _tail(path: Path, lines: int = 40) -> str:
    try:
        text = path.read_text(errors="replace").splitlines()
    except OSError:
        return f"(no log at {path})"
    return "\n".join(text[-lines:]) or f"(empty log {path})"


def _fail(message: str, log: Path | None = None) -> ServiceError:
    if log is not None:
        message = f"{message}\n--- last lines of {log} ---\n{_tail(log)}"
    return ServiceError(message)


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # an exited daemon whose parent has not reaped it yet is a zombie: treat it as gone
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return True


def _read_pid(pidfile: Path) -> int | None:
    try:
        return int(pidfile.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None


def _service_user() -> str | None:
    """Return the unprivileged user to run servers as when we are root, creating it if needed."""
    if os.geteuid() != 0:
        return None
    try:
        pwd.getpwnam(SERVICE_USER)
    except KeyError:
        _say(f"services: creating system user {SERVICE_USER!r}")
        flags = "--system --user-group --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin"
        subprocess.run(["useradd", *flags.split(), SERVICE_USER], check=True)
    return SERVICE_USER


def _chown_tree(path: Path, user: str | None) -> None:
    if user is None:
        return
    info = pwd.getpwnam(user)
    if path.stat().st_uid != info.pw_uid:
        subprocess.run(["chown", "-R", f"{info.pw_uid}:{info.pw_gid}", str(path)], check=True)


def _as_user(user: str | None, argv: Sequence[str], env: dict[str, str] | None = None) -> list[str]:
    """Prefix ``argv`` so it runs as ``user`` (when root) with ``env`` set explicitly."""
    assignments = [f"{k}={v}" for k, v in (env or {}).items()]
    if user is None:
        return ["env", *assignments, *argv] if assignments else list(argv)
    return ["runuser", "-u", user, "--", "env", *assignments, *argv]


def _check_user_access(user: str | None, path: Path) -> None:
    if user is None:
        return
    probe = subprocess.run(_as_user(user, ["test", "-w", str(path)]), capture_output=True)
    if probe.returncode != 0:
        raise ServiceError(
            f"user {user!r} cannot write {path}: a parent directory is not traversable by other users. "
            "Set AIQ_SERVICES_DIR to a directory it can reach (e.g. /var/tmp/aiqleads-services)."
        )


def _run(argv: Sequence[str], what: str, log: Path | None = None, timeout: float = TIMEOUT) -> str:
    try:
        done = subprocess.run(list(argv), capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired as exc:
        raise _fail(f"{what}: timed out after {timeout:.0f}s", log) from exc
    except FileNotFoundError as exc:
        raise _fail(f"{what}: {exc.filename} not found; {BOOTSTRAP_HINT}", log) from exc
    if done.returncode != 0:
        detail = (done.stderr or done.stdout).strip()
        raise _fail(f"{what}: exit {done.returncode}: {detail}", log)
    return done.stdout


def _wait(predicate: Any, what: str, log: Path | None, timeout: float = TIMEOUT) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.25)
    raise _fail(f"{what}: not ready after {timeout:.0f}s", log)


@contextlib.contextmanager
def _lock() -> Iterator[None]:
    """Serialize concurrent ``up``/``down`` calls on the same services directory."""
    services_dir().mkdir(parents=True, exist_ok=True)
    with (services_dir() / ".lock").open("w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


# ---------------------------------------------------------------------- postgresql


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
    argv = [*_psql_base(str(_pg_socket_dir())), "-U", "postgres", "-d", database, "-c", sql]
    return _run(argv, "postgresql: setup", _pg_dir() / "postgresql.log").strip()


def _pg_config_text() -> str:
    return "\n".join(
        [
            "# Written by aiqleads.services on every start; edit there, not here.",
            f"listen_addresses = '{HOST}'",
            f"port = {PG_PORT}",
            f"unix_socket_directories = '{_pg_socket_dir()}'",
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


def _pg_up() -> None:
    if _port_open(PG_PORT):
        _say(f"postgresql: already running on {HOST}:{PG_PORT}")
        _pg_setup()
        _pg_roles()
        return
    bin_dir = pg_bin_dir()
    if not (bin_dir / "postgres").exists():
        raise ServiceError(f"postgresql: no server binaries in {bin_dir}; {BOOTSTRAP_HINT}")
    sharedir = Path(_run([str(bin_dir / "pg_config"), "--sharedir"], "pg_config").strip())
    for ext in PG_EXTENSIONS:
        if not (sharedir / "extension" / f"{ext}.control").exists():
            raise ServiceError(f"postgresql: extension {ext!r} is not installed; {BOOTSTRAP_HINT}")

    start = time.monotonic()
    user = _service_user()
    pg_dir, data, log = _pg_dir(), _pg_dir() / "data", _pg_dir() / "postgresql.log"
    sock = _pg_socket_dir()
    for d in (pg_dir, sock):
        d.mkdir(parents=True, exist_ok=True)
        _chown_tree(d, user)
    sock.chmod(0o700)
    _check_user_access(user, pg_dir)

    if not (data / "PG_VERSION").exists():
        _say(f"postgresql: initdb {data}")
        _run(
            _as_user(
                user,
                [
                    str(bin_dir / "initdb"),
                    "-D",
                    str(data),
                    "-U",
                    "postgres",
                    "--encoding=UTF8",
                    "--locale=C.UTF-8",
                    "--auth-local=trust",
                    "--auth-host=scram-sha-256",
                ],
            ),
            "postgresql: initdb",
        )
        (pg_dir / "setup-done").unlink(missing_ok=True)
    conf = data / "aiqleads.conf"
    conf.write_text(_pg_config_text())
    main_conf = data / "postgresql.conf"
    if "include = 'aiqleads.conf'" not in main_conf.read_text():
        with main_conf.open("a") as handle:
            handle.write("\ninclude = 'aiqleads.conf'\n")
    _chown_tree(conf, user)

    _say(f"postgresql: starting on {HOST}:{PG_PORT}")
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
    _run(_as_user(user, start_cmd), "postgresql: pg_ctl start", log)
    _wait(lambda: _port_open(PG_PORT), "postgresql", log)
    _pg_setup()
    _pg_roles()
    _say(f"postgresql: ready ({time.monotonic() - start:.1f}s)")


def _pg_setup() -> None:
    """Create the ``aiqleads`` superuser role, database and extensions once per data directory."""
    marker = _pg_dir() / "setup-done"
    if marker.exists() or not (_pg_dir() / "data" / "PG_VERSION").exists():
        return
    _say(f"postgresql: creating role/database {PG_DATABASE!r} with extensions {', '.join(PG_EXTENSIONS)}")
    _psql_local(
        "DO $$BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '" + PG_USER + "') THEN "
        f"CREATE ROLE {PG_USER} LOGIN SUPERUSER PASSWORD '{PG_PASSWORD}'; END IF; END$$;"
    )
    if not _psql_local(f"SELECT 1 FROM pg_database WHERE datname = '{PG_DATABASE}'"):
        _psql_local(f"CREATE DATABASE {PG_DATABASE} OWNER {PG_USER}")
    for ext in PG_EXTENSIONS:
        _psql_local(f"CREATE EXTENSION IF NOT EXISTS {ext}", database=PG_DATABASE)
    marker.touch()


def _pg_roles() -> None:
    """Create (idempotently, on every ``up``) the least-privilege application role and grant it row
    access to the development database; PG_USER stays the owner that migrations run as."""
    from aiqleads.db_roles import app_grants_sql, app_role_sql

    if not (_pg_dir() / "data" / "PG_VERSION").exists():
        return  # not our server: leave its roles alone
    grants = "; ".join(app_grants_sql(PG_APP_USER, PG_USER, PG_DATABASE))
    _psql_local(f"{app_role_sql(PG_APP_USER, PG_APP_PASSWORD)}; {grants}", database=PG_DATABASE)


def _pg_down() -> None:
    data = _pg_dir() / "data"
    if not (data / "postmaster.pid").exists():
        _say("postgresql: not running" + (" (port answers, but not ours)" if _port_open(PG_PORT) else ""))
        return
    _say("postgresql: stopping")
    stop = [str(pg_bin_dir() / "pg_ctl"), "-D", str(data), "-m", "fast", "-w", "-t", "60", "stop"]
    _run(_as_user(_service_user(), stop), "postgresql: pg_ctl stop", _pg_dir() / "postgresql.log")
    _say("postgresql: stopped")


def _pg_status() -> ServiceStatus:
    address = f"{HOST}:{PG_PORT}"
    if not _port_open(PG_PORT):
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


# --------------------------------------------------------------------------- redis


def _redis_encode(args: Sequence[str]) -> bytes:
    out = [f"*{len(args)}\r\n".encode()]
    for arg in args:
        data = arg.encode()
        out.append(b"$%d\r\n%s\r\n" % (len(data), data))
    return b"".join(out)


def _redis_read(stream: Any) -> Any:
    line = stream.readline()
    if not line:
        raise ServiceError("redis: connection closed")
    kind, body = line[:1], line[1:-2]
    if kind == b"+":
        return body.decode()
    if kind == b"-":
        raise ServiceError(f"redis: {body.decode()}")
    if kind == b":":
        return int(body)
    if kind == b"$":
        size = int(body)
        if size < 0:
            return None
        return stream.read(size + 2)[:-2].decode(errors="replace")
    if kind == b"*":
        size = int(body)
        return None if size < 0 else [_redis_read(stream) for _ in range(size)]
    raise ServiceError(f"redis: unexpected reply {line!r}")


def redis_command(*args: str, port: int = REDIS_PORT, timeout: float = 5.0) -> Any:
    """Send one command to Redis over RESP and return the decoded reply."""
    with socket.create_connection((HOST, port), timeout=timeout) as conn:
        conn.sendall(_redis_encode(args))
        with conn.makefile("rb") as stream:
            return _redis_read(stream)


def _redis_ping() -> bool:
    try:
        return bool(redis_command("PING", timeout=1.0) == "PONG")
    except (OSError, ServiceError):
        return False


def _redis_info(section: str = "server") -> dict[str, str]:
    raw = redis_command("INFO", section)
    pairs = (line.split(":", 1) for line in str(raw).splitlines() if ":" in line)
    return {k: v for k, v in pairs}


def _redis_up() -> None:
    if _port_open(REDIS_PORT):
        _say(f"redis: already running on {HOST}:{REDIS_PORT}")
    else:
        binary = shutil.which("redis-server")
        if binary is None:
            raise ServiceError(f"redis: redis-server not found; {BOOTSTRAP_HINT}")
        start = time.monotonic()
        rdir = _redis_dir()
        rdir.mkdir(parents=True, exist_ok=True)
        log = rdir / "redis.log"
        _say(f"redis: starting on {HOST}:{REDIS_PORT}")
        options = {
            "bind": HOST,
            "port": str(REDIS_PORT),
            "protected-mode": "yes",
            "daemonize": "yes",
            "pidfile": str(rdir / "redis.pid"),
            "logfile": str(log),
            "dir": str(rdir),
            "appendonly": "no",
            "save": "",
            "notify-keyspace-events": "Ex",
        }
        argv = [binary, *(item for key, value in options.items() for item in (f"--{key}", value))]
        _run(argv, "redis: redis-server", log)
        _wait(_redis_ping, "redis", log)
        _say(f"redis: ready ({time.monotonic() - start:.1f}s)")
    # The cart timers rely on keyspace expiry events; make sure they are on.
    flags = redis_command("CONFIG", "GET", "notify-keyspace-events")
    current = flags[1] if isinstance(flags, list) and len(flags) == 2 else ""
    if not ({"E", "x"} <= set(current) or {"E", "A"} <= set(current)):
        redis_command("CONFIG", "SET", "notify-keyspace-events", "".join(sorted(set(current) | {"E", "x"})))


def _redis_down() -> None:
    pidfile = _redis_dir() / "redis.pid"
    pid = _read_pid(pidfile)
    if pid is None or not _pid_alive(pid):
        _say("redis: not running" + (" (port answers, but not ours)" if _port_open(REDIS_PORT) else ""))
        return
    _say("redis: stopping")
    with contextlib.suppress(OSError, ServiceError):
        redis_command("SHUTDOWN", "NOSAVE")
    _stop_pid(pid, "redis", 30)
    _say("redis: stopped")


def _redis_status() -> ServiceStatus:
    address = f"{HOST}:{REDIS_PORT}"
    if not _redis_ping():
        return ServiceStatus("redis", False, address, "-")
    return ServiceStatus("redis", True, address, f"Redis {_redis_info().get('redis_version', '?')}")


# ------------------------------------------------------------------- elasticsearch


def es_request(path: str, method: str = "GET", body: Any = None, timeout: float = 30.0) -> Any:
    """Call the local Elasticsearch REST API and return the decoded JSON reply."""
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(
        f"{ELASTICSEARCH_URL}{path}", data=data, method=method, headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=timeout) as response:
        return json.loads(response.read() or b"null")


def _es_health_ok() -> bool:
    try:
        health = es_request("/_cluster/health?wait_for_status=yellow&timeout=5s", timeout=10)
    except (OSError, ValueError, urllib.error.URLError):
        return False
    return isinstance(health, dict) and health.get("status") in ("yellow", "green")


def _java_home() -> Path:
    for var in ("ES_JAVA_HOME", "JAVA_HOME"):
        value = os.environ.get(var)
        if value and (Path(value) / "bin" / "java").exists():
            return Path(value)
    java = shutil.which("java")
    if java is None:
        raise ServiceError(f"elasticsearch: no java on PATH; {BOOTSTRAP_HINT}")
    return Path(java).resolve().parent.parent


def _es_yaml() -> str:
    es = _es_dir()
    settings: dict[str, Any] = {
        "cluster.name": "aiqleads-dev",
        "node.name": "aiqleads-dev-1",
        "path.data": str(es / "data"),
        "path.logs": str(es / "logs"),
        "network.host": HOST,
        "http.port": ES_PORT,
        "transport.port": ES_TRANSPORT_PORT,
        "discovery.type": "single-node",
        "xpack.security.enabled": False,
        "cluster.routing.allocation.disk.threshold_enabled": False,
        # Tests clean up with wildcard index deletes (e.g. DELETE /test-*).
        "action.destructive_requires_name": False,
    }
    lines = ["# Written by aiqleads.services on every start; edit there, not here."]
    lines += [f"{key}: {json.dumps(value)}" for key, value in settings.items()]
    return "\n".join(lines) + "\n"


def _es_prepare_config(es: Path) -> Path:
    config = es / "config"
    if not (config / "jvm.options").exists():
        shutil.copytree(es_home() / "config", config, dirs_exist_ok=True)
        # Relative paths in the stock jvm.options resolve against the working directory; pin them.
        options = (config / "jvm.options").read_text()
        options = options.replace("-XX:HeapDumpPath=data", f"-XX:HeapDumpPath={es / 'data'}")
        options = options.replace("=logs/", f"={es / 'logs'}/")
        (config / "jvm.options").write_text(options)
    (config / "elasticsearch.yml").write_text(_es_yaml())
    return config


def _es_up() -> None:
    es = _es_dir()
    log = es / "logs" / "aiqleads-dev.log"
    if _port_open(ES_PORT):
        _say(f"elasticsearch: already running on {HOST}:{ES_PORT}")
        _wait(_es_health_ok, "elasticsearch: cluster health", log)
        return
    binary = es_home() / "bin" / "elasticsearch"
    if not binary.exists():
        raise ServiceError(f"elasticsearch: {binary} missing; {BOOTSTRAP_HINT}")
    start = time.monotonic()
    user = _service_user()
    for sub in ("data", "logs", "tmp"):
        (es / sub).mkdir(parents=True, exist_ok=True)
    config = _es_prepare_config(es)
    _chown_tree(es, user)
    for path in (config / "elasticsearch.yml", config / "jvm.options"):
        _chown_tree(path, user)
    _check_user_access(user, es / "data")
    java_home = str(_java_home())
    env = {
        "ES_PATH_CONF": str(config),
        "ES_JAVA_HOME": java_home,
        "ES_JAVA_OPTS": f"-Xms{ES_HEAP} -Xmx{ES_HEAP}",
        "ES_TMPDIR": str(es / "tmp"),
        "HOME": str(es),
    }
    pidfile = es / "elasticsearch.pid"
    startup_log = es / "startup.log"
    _say(f"elasticsearch: starting {ES_VERSION} on {HOST}:{ES_PORT} (heap {ES_HEAP})")
    with startup_log.open("w") as out:
        done = subprocess.run(
            _as_user(user, [str(binary), "-d", "-p", str(pidfile)], env),
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            timeout=TIMEOUT,
            cwd=str(es),
        )
    if done.returncode != 0:
        raise _fail(
            f"elasticsearch: start exited {done.returncode} (see {startup_log})",
            log if log.exists() else startup_log,
        )
    _wait(lambda: _port_open(ES_PORT), "elasticsearch", log)
    _wait(_es_health_ok, "elasticsearch: cluster health", log)
    _say(f"elasticsearch: ready ({time.monotonic() - start:.1f}s)")


def _es_down() -> None:
    pid = _read_pid(_es_dir() / "elasticsearch.pid")
    if pid is None or not _pid_alive(pid):
        _say("elasticsearch: not running" + (" (port answers, but not ours)" if _port_open(ES_PORT) else ""))
        return
    _say("elasticsearch: stopping")
    os.kill(pid, signal.SIGTERM)
    _stop_pid(pid, "elasticsearch", 60)
    _say("elasticsearch: stopped")


def es_version() -> str:
    """Return the Elasticsearch server version (root endpoint, or node info where ``GET /`` is absent)."""
    try:
        return str(es_request("/", timeout=5)["version"]["number"])
    except urllib.error.HTTPError as exc:
        # The integ-test distribution has no `rest-root` module, so `GET /` answers 405.
        if exc.code != 405:
            raise
    nodes = es_request("/_nodes/_local?filter_path=nodes.*.version", timeout=5)["nodes"]
    return str(next(iter(nodes.values()))["version"])


def _es_status() -> ServiceStatus:
    address = f"{HOST}:{ES_PORT}"
    try:
        version = es_version()
        health = es_request("/_cluster/health", timeout=5)
    except (OSError, ValueError, KeyError, StopIteration):
        return ServiceStatus("elasticsearch", False, address, "-")
    return ServiceStatus(
        "elasticsearch", True, address, f"Elasticsearch {version} (cluster {health['status']})"
    )


def _stop_pid(pid: int, name: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not _pid_alive(pid):
            return
        time.sleep(0.2)
    _say(f"{name}: did not stop within {timeout:.0f}s, killing pid {pid}")
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)


# ----------------------------------------------------------------------- commands


def up() -> None:
    """Start PostgreSQL, Redis and Elasticsearch if not already answering; wait until all are ready."""
    with _lock():
        _pg_up()
        _redis_up()
        _es_up()
    _say(
        f"services: up (postgresql {HOST}:{PG_PORT}, redis {HOST}:{REDIS_PORT}, "
        f"elasticsearch {HOST}:{ES_PORT})"
    )


def down() -> None:
    """Stop the three services started by ``up()``."""
    with _lock():
        _es_down()
        _redis_down()
        _pg_down()


def status(echo: bool = True) -> list[ServiceStatus]:
    """Report each service's state, address and version (printed one line each when ``echo``)."""
    report = [_pg_status(), _redis_status(), _es_status()]
    if echo:
        for item in report:
            _say(item.line())
    return report


def main(argv: list[str]) -> int:
    """Run ``up``, ``down`` or ``status``; return the process exit code."""
    command = argv[0] if argv else "status"
    try:
        if command == "up":
            up()
            return 0
        if command == "down":
            down()
            return 0
        if command == "status":
            return 0 if all(item.running for item in status()) else 1
    except ServiceError as exc:
        print(f"error: {exc}", file=sys.stderr, flush=True)
        return 1
    print("usage: python -m aiqleads.services up|down|status", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
