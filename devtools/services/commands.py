"""The three commands over all services: ``up``, ``down`` and ``status`` (and their exit codes)."""

from __future__ import annotations

import sys

from aiqleads_dev.services import elasticsearch_server, postgres, redis_server
from aiqleads_dev.services.config import ES_PORT, HOST, PG_PORT, REDIS_PORT
from aiqleads_dev.services.process import ServiceError, ServiceStatus, lock, say

USAGE = "usage: python -m aiqleads_dev.services up|down|status"


def up() -> None:
    """Start PostgreSQL, Redis and Elasticsearch if not already answering; wait until all are ready."""
    with lock():
        postgres.up()
        redis_server.up()
        elasticsearch_server.up()
    say(
        f"services: up (postgresql {HOST}:{PG_PORT}, redis {HOST}:{REDIS_PORT}, "
        f"elasticsearch {HOST}:{ES_PORT})"
    )


def down() -> None:
    """Stop the three services started by ``up()``."""
    with lock():
        elasticsearch_server.down()
        redis_server.down()
        postgres.down()


def status(echo: bool = True) -> list[ServiceStatus]:
    """Report each service's state, address and version (printed one line each when ``echo``)."""
    report = [postgres.status(), redis_server.status(), elasticsearch_server.status()]
    if echo:
        for item in report:
            say(item.line())
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
    print(USAGE, file=sys.stderr)
    return 2
