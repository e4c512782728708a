"""Local real services for development, tests and CI: PostgreSQL, Redis and Elasticsearch.

Everything lives under the git-ignored ``.services/`` directory at the repository root
(override with ``AIQ_SERVICES_DIR``); every server binds to 127.0.0.1 only. Install the
binaries first with ``scripts/bootstrap.sh``, then::

    aiqleads services up|down|status      (or: python -m aiqleads_dev.services up|down|status)

``up`` is idempotent: a service that already answers on its port is left alone.

Modules: ``config`` (ports, credentials, directories), ``process`` (subprocesses, pid files, the
lock), one module per server (``postgres``, ``redis_server``, ``elasticsearch_server``),
``monitoring`` (Prometheus and Alertmanager, started by ``up --monitoring``) and ``commands``
(up/down/status over all of them). This package re-exports what tests and scripts use.
"""

from __future__ import annotations

from aiqleads_dev.services.commands import down, main, status, up
from aiqleads_dev.services.config import (
    DATABASE_URL,
    ELASTICSEARCH_URL,
    ES_PORT,
    ES_VERSION,
    HOST,
    PG_APP_PASSWORD,
    PG_APP_USER,
    PG_DATABASE,
    PG_PASSWORD,
    PG_PORT,
    PG_USER,
    REDIS_PORT,
    REDIS_URL,
    es_home,
    pg_bin_dir,
    services_dir,
)
from aiqleads_dev.services.elasticsearch_server import es_request, es_version
from aiqleads_dev.services.postgres import psql
from aiqleads_dev.services.process import ServiceError, ServiceStatus
from aiqleads_dev.services.redis_server import redis_command

__all__ = [
    "DATABASE_URL",
    "ELASTICSEARCH_URL",
    "ES_PORT",
    "ES_VERSION",
    "HOST",
    "PG_APP_PASSWORD",
    "PG_APP_USER",
    "PG_DATABASE",
    "PG_PASSWORD",
    "PG_PORT",
    "PG_USER",
    "REDIS_PORT",
    "REDIS_URL",
    "ServiceError",
    "ServiceStatus",
    "down",
    "es_home",
    "es_request",
    "es_version",
    "main",
    "pg_bin_dir",
    "psql",
    "redis_command",
    "services_dir",
    "status",
    "up",
]
