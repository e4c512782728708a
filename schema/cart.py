"""GraphQL types and operations of the cart, holds and their live events."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from datetime import datetime
from enum import Enum
from typing import Any

import strawberry
from strawberry.types import Info

from aiqleads.resolvers import subscriptions
from aiqleads.resolvers.context import Context
from aiqleads.resolvers.ids import to_global_id


@strawberry.enum(description="What happened in a cart.")
class CartEventKind(Enum):
    HOLD_CREATED = "HOLD_CREATED"
    HOLD_EXTENDED = "HOLD_EXTENDED"
    HOLD_RELEASED = "HOLD_RELEASED"
    HOLD_EXPIRED = "HOLD_EXPIRED"
    CART_EXPIRED = "CART_EXPIRED"
    CHECKED_OUT = "CHECKED_OUT"


@strawberry.type(description="A change in the viewer's cart, with the timers to draw countdowns.")
class CartEvent:
    kind: CartEventKind = strawberry.field(description="What happened.")
    lead_id: strawberry.ID | None = strawberry.field(
        default=None, description="The lead concerned; null for cart-wide events."
    )
    held_until: datetime | None = strawberry.field(default=None, description="The item hold's deadline.")
    cart_expires_at: datetime | None = strawberry.field(default=None, description="The cart-wide deadline.")
    at: datetime = strawberry.field(description="When it happened (server time).")

    @classmethod
    def from_event(cls, event: dict[str, Any]) -> CartEvent:
        """Map an event published on the cart channel."""

        def _dt(value: Any) -> datetime | None:
            return datetime.fromisoformat(value) if value else None

        lead_id = event.get("lead_id")
        return cls(
            kind=CartEventKind(event["kind"]),
            lead_id=strawberry.ID(to_global_id("Lead", lead_id)) if lead_id else None,
            held_until=_dt(event.get("held_until")),
            cart_expires_at=_dt(event.get("cart_expires_at")),
            at=_dt(event["at"]) or datetime.min,
        )


@strawberry.type
class CartSubscription:
    @strawberry.subscription(description="The viewer's own cart: holds created, extended, released, expired.")
    async def cart_events(self, info: Info[Context, None]) -> AsyncGenerator[CartEvent, None]:
        async for event in subscriptions.cart_events(info.context):
            yield CartEvent.from_event(event)
