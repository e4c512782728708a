"""The local Redis: start, stop, status, and commands over a minimal RESP client."""

from __future__ import annotations

import contextlib
import shutil
import socket
import time
from collections.abc import Sequence
from typing import Any

from aiqleads_dev.services.config import BOOTSTRAP_HINT, HOST, REDIS_PORT, redis_dir
from aiqleads_dev.services.process import (
    ServiceError,
    ServiceStatus,
    pid_alive,
    port_open,
    read_pid,
    run,
    say,
    stop_pid,
    wait,
)


def _encode(args: Sequence[str]) -> bytes:
    out = [f"*{len(args)}\r\n".encode()]
    for arg in args:
        data = arg.encode()
        out.append(b"$%d\r\n%s\r\n" % (len(data), data))
    return b"".join(out)


def _read(stream: Any) -> Any:
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
        return None if size < 0 else [_read(stream) for _ in range(size)]
    raise ServiceError(f"redis: unexpected reply {line!r}")


def redis_command(*args: str, port: int = REDIS_PORT, timeout: float = 5.0) -> Any:
    """Send one command to Redis over RESP and return the decoded reply."""
    with socket.create_connection((HOST, port), timeout=timeout) as conn:
        conn.sendall(_encode(args))
        with conn.makefile("rb") as stream:
            return _read(stream)


def _ping() -> bool:
    try:
        return bool(redis_command("PING", timeout=1.0) == "PONG")
    except (OSError, ServiceError):
        return False


def _info(section: str = "server") -> dict[str, str]:
    raw = redis_command("INFO", section)
    pairs = (line.split(":", 1) for line in str(raw).splitlines() if ":" in line)
    return {k: v for k, v in pairs}


def up() -> None:
    """Start Redis unless it answers; make sure keyspace expiry events are on either way."""
    if port_open(REDIS_PORT):
        say(f"redis: already running on {HOST}:{REDIS_PORT}")
    else:
        binary = shutil.which("redis-server")
        if binary is None:
            raise ServiceError(f"redis: redis-server not found; {BOOTSTRAP_HINT}")
        start = time.monotonic()
        rdir = redis_dir()
        rdir.mkdir(parents=True, exist_ok=True)
        log = rdir / "redis.log"
        say(f"redis: starting on {HOST}:{REDIS_PORT}")
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
        run(argv, "redis: redis-server", log)
        wait(_ping, "redis", log)
        say(f"redis: ready ({time.monotonic() - start:.1f}s)")
    # The cart timers rely on keyspace expiry events; make sure they are on.
    flags = redis_command("CONFIG", "GET", "notify-keyspace-events")
    current = flags[1] if isinstance(flags, list) and len(flags) == 2 else ""
    if not ({"E", "x"} <= set(current) or {"E", "A"} <= set(current)):
        redis_command("CONFIG", "SET", "notify-keyspace-events", "".join(sorted(set(current) | {"E", "x"})))


def down() -> None:
    """Stop the Redis that ``up`` started (a server that is not ours is left alone)."""
    pidfile = redis_dir() / "redis.pid"
    pid = read_pid(pidfile)
    if pid is None or not pid_alive(pid):
        say("redis: not running" + (" (port answers, but not ours)" if port_open(REDIS_PORT) else ""))
        return
    say("redis: stopping")
    with contextlib.suppress(OSError, ServiceError):
        redis_command("SHUTDOWN", "NOSAVE")
    stop_pid(pid, "redis", 30)
    say("redis: stopped")


def status() -> ServiceStatus:
    """Redis's state, address and version."""
    address = f"{HOST}:{REDIS_PORT}"
    if not _ping():
        return ServiceStatus("redis", False, address, "-")
    return ServiceStatus("redis", True, address, f"Redis {_info().get('redis_version', '?')}")
