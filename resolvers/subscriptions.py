"""Resolvers behind subscriptions: streams of events from the process's event hub."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Hashable
from dataclasses import dataclass, replace
from typing import Any, Generic, TypeVar

from aiqleads.domain.events import cart_channel
from aiqleads.resolvers.auth import require_viewer
from aiqleads.resolvers.context import Context
from aiqleads.resolvers.leads import viewer_tier

T = TypeVar("T")
P = TypeVar("P")
E = TypeVar("E")


@dataclass(frozen=True, eq=False)
class HubFeed(Generic[P, E]):
    """A subscription's events, taken from one event-hub channel.

    Iterating it subscribes to the hub (one consumer per subscription). The websocket server
    instead *listens*: it keeps the subscription as a record and, for each payload, parses it once
    per channel (``parse``, the same function for every feed of a channel), picks this
    subscriber's event (``pick``) and presents it as the field's value (``present``), sharing one
    execution between subscribers whose results cannot differ (``schema.shared_subscriptions``).
    """

    ctx: Context
    channel: str
    parse: Callable[[dict[str, Any]], P | None]
    pick: Callable[[P], E | None]
    present: Callable[[E], Any] = lambda event: event

    def presented(self, present: Callable[[E], Any]) -> HubFeed[P, E]:
        """The same feed, its events presented as the schema's type."""
        return replace(self, present=present)

    def __aiter__(self) -> AsyncIterator[Any]:
        return self._events()

    async def _events(self) -> AsyncIterator[Any]:
        async for payload in fresh_per_event(self.ctx, self.ctx.deps.event_hub.subscribe(self.channel)):
            parsed = self.parse(payload)
            event = self.pick(parsed) if parsed is not None else None
            if event is not None:
                yield self.present(event)


def viewer_key(ctx: Context) -> Hashable:
    """Everything about the viewer that a subscription's results depend on: who they are and the
    tier whose prices they get (subscriptions with equal keys and queries may share results)."""
    if ctx.viewer is not None:
        return ("user", ctx.viewer.id, viewer_tier(ctx))
    if ctx.api_key is not None:
        return ("key", ctx.api_key.id)
    return None


def _same(payload: dict[str, Any]) -> dict[str, Any]:
    return payload


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


def cart_events(ctx: Context) -> HubFeed[dict[str, Any], dict[str, Any]]:
    """The viewer's own cart events, as they are published by any process."""
    user = require_viewer(ctx)
    return HubFeed(ctx, cart_channel(user.id), _same, _same)
