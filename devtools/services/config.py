"""Where the local services listen and keep their data: ports, credentials, URLs and directories."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]  # the repository root (devtools/services/config.py)
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

# `services up --monitoring` (aiqleads_dev.services.monitoring)
PROMETHEUS_PORT = 29090
ALERTMANAGER_PORT = 29093

DATABASE_URL = f"postgresql+asyncpg://{PG_USER}:{PG_PASSWORD}@{HOST}:{PG_PORT}/{PG_DATABASE}"
REDIS_URL = f"redis://{HOST}:{REDIS_PORT}/0"
ELASTICSEARCH_URL = f"http://{HOST}:{ES_PORT}"

# Servers that refuse to run as root (postgres, elasticsearch) run as this system user.
SERVICE_USER = os.environ.get("AIQ_SERVICE_USER", "aiqleads")
TIMEOUT = float(os.environ.get("AIQ_SERVICES_TIMEOUT", "180"))

BOOTSTRAP_HINT = "run `bash scripts/bootstrap.sh` first"
CONFIG_BANNER = "# Written by aiqleads_dev.services on every start; edit there, not here."


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


def pg_dir() -> Path:
    """PostgreSQL's data, log and socket directory."""
    return services_dir() / "pg"


def pg_socket_dir() -> Path:
    """The private unix-socket directory of the local PostgreSQL."""
    sock = pg_dir() / "run"
    # A unix socket path is limited to ~107 bytes; fall back to a short per-tree directory.
    if len(str(sock / f".s.PGSQL.{PG_PORT}")) > 100:
        digest = hashlib.sha1(str(services_dir()).encode()).hexdigest()[:12]
        sock = Path("/tmp") / f"aiqleads-pg-{digest}"
    return sock


def redis_dir() -> Path:
    """Redis's pid, log and working directory."""
    return services_dir() / "redis"


def es_dir() -> Path:
    """Elasticsearch's config, data and log directory."""
    return services_dir() / "es"
