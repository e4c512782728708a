"""Resolvers behind subscriptions: streams of events from the process's event hub."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any, TypeVar

from aiqleads.domain.events import cart_channel
from aiqleads.resolvers.auth import require_viewer
from aiqleads.resolvers.context import Context

T = TypeVar("T")


async def fresh_per_event(ctx: Context, events: AsyncIterator[T]) -> AsyncIterator[T]:
    """Yield events, each resolved like a new request (a websocket context outlives its events,
    so per-request DataLoader caches must not carry stale values from one event to the next)."""
    # try/finally rather than aclosing + counted(): one frame per idle subscription, not three
    # objects more. Closing ``events`` ends the hub subscription at once, not at garbage collection.
    metrics = ctx.metrics
    if metrics is not None:
        metrics.active_subscriptions.inc()
    try:
        async for event in events:
            ctx.loaders.clear()
            yield event
    finally:
        if metrics is not None:
            metrics.active_subscriptions.dec()
        await events.aclose()  # type: ignore[attr-defined]


async def cart_events(ctx: Context) -> AsyncIterator[dict[str, Any]]:
    """The viewer's own cart events, as they are published by any process."""
    user = require_viewer(ctx)
    async for event in fresh_per_event(ctx, ctx.deps.event_hub.subscribe(cart_channel(user.id))):
        yield event
