"""The three commands over all services: ``up``, ``down`` and ``status`` (and their exit codes).

``up --monitoring`` also starts Prometheus and Alertmanager (``monitoring``); ``down`` stops them too
and ``status`` reports them.
"""

from __future__ import annotations

import sys

from aiqleads_dev.services import elasticsearch_server, monitoring, postgres, redis_server
from aiqleads_dev.services.config import (
    ALERTMANAGER_PORT,
    ES_PORT,
    HOST,
    PG_PORT,
    PROMETHEUS_PORT,
    REDIS_PORT,
)
from aiqleads_dev.services.process import ServiceError, ServiceStatus, lock, say

USAGE = "usage: python -m aiqleads_dev.services up [--monitoring]|down|status"


def up(with_monitoring: bool = False) -> None:
    """Start PostgreSQL, Redis and Elasticsearch if not already answering; wait until all are ready.

    ``with_monitoring`` also starts (or reloads) Prometheus and Alertmanager.
    """
    with lock():
        postgres.up()
        redis_server.up()
        elasticsearch_server.up()
        if with_monitoring:
            monitoring.up()
    extra = f", prometheus {HOST}:{PROMETHEUS_PORT}, alertmanager {HOST}:{ALERTMANAGER_PORT}"
    say(
        f"services: up (postgresql {HOST}:{PG_PORT}, redis {HOST}:{REDIS_PORT}, "
        f"elasticsearch {HOST}:{ES_PORT}{extra if with_monitoring else ''})"
    )


def down() -> None:
    """Stop the services started by ``up()`` (Prometheus and Alertmanager too, when running)."""
    with lock():
        monitoring.down()
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
    flags = set(argv[1:])
    if flags - {"--monitoring"} or (flags and command != "up"):
        print(USAGE, file=sys.stderr)
        return 2
    try:
        if command == "up":
            up(with_monitoring="--monitoring" in flags)
            return 0
        if command == "down":
            down()
            return 0
        if command == "status":
            report = status()
            watched = monitoring.status()
            for item in watched:
                say(item.line())
            if monitoring.started():  # started by `up --monitoring` (and not stopped): it counts too
                report += watched
            return 0 if all(item.running for item in report) else 1
    except ServiceError as exc:
        print(f"error: {exc}", file=sys.stderr, flush=True)
        return 1
    print(USAGE, file=sys.stderr)
    return 2
