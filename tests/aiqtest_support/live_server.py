"""Run real `aiqleads serve` processes for websocket and multi-process tests (and the benchmarks).

The one implementation of "start the API in a subprocess on a free port and wait until it is ready":
the test suites use it directly, bench/ scripts through bench/_support.py.
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aiqleads.domain.settings import Settings

REPO = Path(__file__).resolve().parents[2]


def free_port() -> int:
    """An unused TCP port on loopback."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def server_env(settings: Settings, **extra: str) -> dict[str, str]:
    """Environment that points a subprocess at the test's database, queue and secrets."""
    env = dict(os.environ)
    env.update(
        DATABASE_URL=settings.database_url,
        REDIS_URL=settings.redis_url,
        ELASTICSEARCH_URL=settings.elasticsearch_url,
        AIQ_ES_INDEX_PREFIX=settings.es_index_prefix,
        AIQ_ARQ_QUEUE=settings.arq_queue_name,
        AIQ_ENV=settings.env,
        AIQ_JWT_SECRET=settings.jwt_secret,
        AIQ_ITEM_HOLD_SECONDS=str(settings.item_hold_seconds),
        AIQ_CART_HOLD_SECONDS=str(settings.cart_hold_seconds),
        AIQ_HOLD_EXTENSION_SECONDS=str(settings.hold_extension_seconds),
        AIQ_RATE_LIMIT_PER_MINUTE=str(settings.rate_limit_per_minute),
        AIQ_REGISTRATIONS_PER_IP_PER_HOUR=str(settings.registrations_per_ip_per_hour),
    )
    env.update(extra)
    return env


@dataclass
class ApiProcess:
    """A running `aiqleads serve` subprocess."""

    proc: subprocess.Popen[bytes]
    base_url: str
    log_path: Path

    def log(self) -> str:
        """The tail of the process output."""
        return self.log_path.read_text(errors="replace")[-4000:]

    def wait_ready(self, timeout: float = 60.0) -> None:
        """Block until /readyz answers 200 (RuntimeError with the log when it exits or times out)."""
        deadline = time.monotonic() + timeout
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"API process exited early:\n{self.log()}")
            try:
                with urllib.request.urlopen(f"{self.base_url}/readyz", timeout=2) as response:
                    if response.status == 200:
                        return
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"API process not ready:\n{self.log()}")
            time.sleep(0.2)

    def kill(self) -> None:
        """Kill the process at once (no graceful shutdown), like a crash."""
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=15)

    def stop(self) -> None:
        """Stop gracefully, or kill when it does not stop."""
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def gauge(self, name: str) -> float:
        """A value from the process's /metrics."""
        with urllib.request.urlopen(f"{self.base_url}/metrics", timeout=5) as response:
            for line in response.read().decode().splitlines():
                if line.startswith(name + " ") or line.startswith(name + "{"):
                    return float(line.rsplit(" ", 1)[1])
        return 0.0


def launch_api(
    settings: Settings,
    log_dir: Path,
    *,
    log_level: str = "warning",
    port: int | None = None,
    **extra_env: str,
) -> ApiProcess:
    """Start `aiqleads serve` on loopback (a free port unless given) without waiting for it (see
    wait_ready)."""
    port = port or free_port()
    log_path = log_dir / f"api-{port}.log"
    serve = ["serve", "--host", "127.0.0.1", "--port", str(port), "--log-level", log_level]
    with log_path.open("wb") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "aiqleads.cli", *serve],
            cwd=REPO,
            env=server_env(settings, **extra_env),
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    return ApiProcess(proc, f"http://127.0.0.1:{port}", log_path)


def start_api(settings: Settings, log_dir: Path, *, timeout: float = 60.0, **extra_env: str) -> ApiProcess:
    """Start `aiqleads serve` on a free port and wait until it is ready."""
    api = launch_api(settings, log_dir, **extra_env)
    try:
        api.wait_ready(timeout)
    except BaseException:
        api.stop()
        raise
    return api


@contextlib.contextmanager
def api_processes(
    settings: Settings, log_dir: Path, count: int, *, timeout: float = 60.0, **extra_env: str
) -> Iterator[list[ApiProcess]]:
    """Start several API processes (in parallel), wait until all are ready, stop them all afterwards."""
    started: list[ApiProcess] = []
    try:
        for _ in range(count):
            started.append(launch_api(settings, log_dir, **extra_env))
        for api in started:
            api.wait_ready(timeout)
        yield started
    finally:
        for api in started:
            api.stop()


@contextlib.asynccontextmanager
async def served_in_process(app: Any) -> AsyncIterator[str]:
    """The test's (already started) app served by a real uvicorn on a free loopback port in this
    process and event loop, so a test sees the app's own hub and tasks; yields its base URL."""
    import asyncio

    import uvicorn

    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, lifespan="off", log_level="warning")
    )
    task = asyncio.create_task(server.serve())
    deadline = time.monotonic() + 10
    while not server.started:
        if task.done() or time.monotonic() > deadline:
            raise RuntimeError("the in-process uvicorn did not start")
        await asyncio.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task


@contextlib.contextmanager
def api_process(
    settings: Settings, log_dir: Path | None = None, *, timeout: float = 60.0, **extra_env: str
) -> Iterator[str]:
    """Start one API process; yields its base URL and stops it afterwards.

    Without ``log_dir`` its output goes to a temporary directory removed at the end.
    """
    with contextlib.ExitStack() as stack:
        if log_dir is None:
            log_dir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="aiq-serve-")))
        (api,) = stack.enter_context(api_processes(settings, log_dir, 1, timeout=timeout, **extra_env))
        yield api.base_url


@contextlib.contextmanager
def worker_process(
    settings: Settings, metrics_port: int, log: Path, *, timeout: float = 60.0, **extra_env: str
) -> Iterator[subprocess.Popen[bytes]]:
    """A real `aiqleads worker` serving its metrics on ``metrics_port`` (open once it has started),
    killed afterwards."""
    from aiqleads_dev.services.process import port_open

    with log.open("ab") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "aiqleads.cli", "worker", "--metrics-port", str(metrics_port)],
            cwd=REPO,
            env=server_env(settings, **extra_env),
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + timeout
        while not port_open(metrics_port):
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the worker did not serve its metrics:\n{log.read_text()[-3000:]}")
            time.sleep(0.1)
        yield proc
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait(timeout=15)
