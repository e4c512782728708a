"""The worker serves its Prometheus registry on loopback when asked to."""

from __future__ import annotations

import asyncio
import urllib.request

from aiqtest_support.live_server import free_port

from aiqleads.domain.settings import Settings
from aiqleads.workers.runtime import shutdown, startup


def _get(url: str) -> str:
    with urllib.request.urlopen(url, timeout=5) as response:
        return response.read().decode()


async def test_worker_metrics_endpoint_serves_job_metrics(settings: Settings) -> None:
    port = free_port()
    ctx = {"settings": settings, "metrics_port": port}
    await startup(ctx)
    try:
        ctx["metrics"].shared.job_finished("probe_job", "success", 0.01)
        body = await asyncio.to_thread(_get, f"http://127.0.0.1:{port}/metrics")
    finally:
        await shutdown(ctx)
    assert 'aiq_job_runs_total{job="probe_job",outcome="success"} 1.0' in body
    assert "aiq_job_duration_seconds" in body
    refused = await asyncio.to_thread(lambda: _safe_get(f"http://127.0.0.1:{port}/metrics"))
    assert refused is None  # stopped with the worker


def _safe_get(url: str) -> str | None:
    try:
        return _get(url)
    except OSError:
        return None
