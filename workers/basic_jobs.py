"""Housekeeping jobs."""

from __future__ import annotations

from typing import Any


async def ping(ctx: dict[str, Any]) -> str:
    """A trivial job proving the worker is alive."""
    return "pong"


FUNCTIONS: list[Any] = [ping]
CRON_JOBS: list[Any] = []
