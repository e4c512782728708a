"""Run real `aiqleads serve` processes for websocket and multi-process tests."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

from aiqleads.domain.settings import Settings


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
        AIQ_JWT_SECRET=settings.jwt_secret,
        AIQ_ITEM_HOLD_SECONDS=str(settings.item_hold_seconds),
        AIQ_CART_HOLD_SECONDS=str(settings.cart_hold_seconds),
        AIQ_HOLD_EXTENSION_SECONDS=str(settings.hold_extension_seconds),
    )
    env.update(extra)
    return env


@contextlib.contextmanager
def api_process(settings: Settings, log_dir: Path, **extra_env: str) -> Iterator[str]:
    """Start `aiqleads serve` on a free port; yields its base URL and stops it afterwards."""
    port = free_port()
    log_path = log_dir / f"api-{port}.log"
    with log_path.open("wb") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "aiqleads.cli", "serve", "--port", str(port), "--log-level", "warning"],
            env=server_env(settings, **extra_env),
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        base = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 60
            while True:
                if proc.poll() is not None:
                    raise RuntimeError(f"API process exited early:\n{log_path.read_text()[-3000:]}")
                try:
                    with urllib.request.urlopen(f"{base}/readyz", timeout=2) as response:
                        if response.status == 200:
                            break
                except OSError:
                    pass
                if time.monotonic() > deadline:
                    raise RuntimeError(f"API process not ready:\n{log_path.read_text()[-3000:]}")
                time.sleep(0.2)
            yield base
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
