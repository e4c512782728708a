"""Demand signals (views, cart adds, purchases) recorded cheaply in Redis for the pricing engine.

Interface used by other areas; the pricing work fills in the sliding-window counters.
"""

from __future__ import annotations

import uuid
from typing import Literal

from redis.asyncio import Redis

SignalKind = Literal["view", "cart_add", "purchase"]


async def record_signal(redis: Redis, lead_id: uuid.UUID, kind: SignalKind) -> None:
    """Count one demand signal for a lead (call after the causing transaction commits)."""
    await redis.incr(f"aiq:demand:{kind}:{lead_id}")
