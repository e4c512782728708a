"""Cart events and the side effects a cart transaction leaves to run after it commits."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

CartEventKind = Literal[
    "HOLD_CREATED",
    "HOLD_EXTENDED",
    "HOLD_RELEASED",
    "HOLD_EXPIRED",
    "CART_EXPIRED",
    "CHECKED_OUT",
    "LEAD_WITHDRAWN",  # the held lead left the market (withdrawn or expired): the hold is gone
]


def iso(value: datetime | None) -> str | None:
    """ISO-8601 text of a timestamp (None stays None)."""
    return value.isoformat() if value is not None else None


@dataclass(frozen=True)
class CartEvent:
    """Something that happened in one user's cart; published on that user's cart channel."""

    user_id: uuid.UUID
    kind: CartEventKind
    lead_id: uuid.UUID | None
    held_until: datetime | None
    cart_expires_at: datetime | None
    at: datetime

    def payload(self) -> dict[str, Any]:
        """The JSON payload carried on the channel (see schema CartEvent.from_event)."""
        return {
            "kind": self.kind,
            "lead_id": str(self.lead_id) if self.lead_id is not None else None,
            "held_until": iso(self.held_until),
            "cart_expires_at": iso(self.cart_expires_at),
            "at": iso(self.at),
        }


@dataclass
class Effects:
    """What to do once the transaction has committed: publish, arm timers, count demand."""

    events: list[CartEvent] = field(default_factory=list)
    timers: list[tuple[uuid.UUID, datetime]] = field(default_factory=list)
    # (lead, kind, actor): the actor is counted once per lead and window (see pricing.signals)
    signals: list[tuple[uuid.UUID, Literal["view", "cart_add", "purchase"], str]] = field(
        default_factory=list
    )
    changed_leads: set[uuid.UUID] = field(default_factory=set)

    def extend(self, other: Effects) -> None:
        """Append another set of effects."""
        self.events.extend(other.events)
        self.timers.extend(other.timers)
        self.signals.extend(other.signals)
        self.changed_leads |= other.changed_leads

    def touched_leads(self) -> set[uuid.UUID]:
        """Every lead whose seats or status this transaction changed (the search index must follow)."""
        touched = set(self.changed_leads)
        touched.update(event.lead_id for event in self.events if event.lead_id is not None)
        touched.update(signal[0] for signal in self.signals)
        return touched
