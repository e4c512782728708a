"""Resolvers behind subscriptions: streams of events from the process's event hub."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from contextlib import aclosing, contextmanager
from typing import Any, TypeVar

from aiqleads.domain.events import cart_channel
from aiqleads.resolvers.auth import require_viewer
from aiqleads.resolvers.context import Context

T = TypeVar("T")


@contextmanager
def counted(ctx: Context) -> Iterator[None]:
    """Count an open subscription in the active-subscriptions gauge for as long as it lives."""
    metrics = ctx.metrics
    if metrics is not None:
        metrics.active_subscriptions.inc()
    try:
        yield
    finally:
        if metrics is not None:
            metrics.active_subscriptions.dec()


async def fresh_per_event(ctx: Context, events: AsyncIterator[T]) -> AsyncIterator[T]:
    """Yield events, each resolved like a new request (a websocket context outlives its events,
    so per-request DataLoader caches must not carry stale values from one event to the next)."""
    # aclosing: a disconnect closes the hub subscription at once, not when garbage is collected
    async with aclosing(events):  # type: ignore[type-var]
        with counted(ctx):
            async for event in events:
                ctx.loaders.clear()
                yield event


async def cart_events(ctx: Context) -> AsyncIterator[dict[str, Any]]:
    """The viewer's own cart events, as they are published by any process."""
    user = require_viewer(ctx)
    async for event in fresh_per_event(ctx, ctx.deps.event_hub.subscribe(cart_channel(user.id))):
        yield event
