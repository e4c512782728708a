"""Resolvers behind subscriptions: streams of events from the process's event hub."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from aiqleads.domain.events import cart_channel
from aiqleads.resolvers.auth import require_viewer
from aiqleads.resolvers.context import Context


async def cart_events(ctx: Context) -> AsyncIterator[dict[str, Any]]:
    """The viewer's own cart events, as they are published by any process."""
    user = require_viewer(ctx)
    metrics = ctx.resources.extras.get("metrics")
    if metrics is not None:
        metrics.active_subscriptions.inc()
    try:
        async for event in ctx.resources.hub.subscribe(cart_channel(user.id)):
            yield event
    finally:
        if metrics is not None:
            metrics.active_subscriptions.dec()
