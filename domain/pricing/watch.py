"""Price-change streams: which published changes a subscriber watches, at the viewer's prices."""

from __future__ import annotations

import math
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from aiqleads.domain.core.filters.spec import MAX_RADIUS_MILES
from aiqleads.domain.core.geo import haversine_miles
from aiqleads.domain.core.visibility import public_point, viewer_price
from aiqleads.domain.errors import invalid_input

MAX_WATCHED_LEADS = 1000


@dataclass(frozen=True)
class PriceChangeEvent:
    """A price change as delivered to one subscriber."""

    lead_id: uuid.UUID
    old_price: int
    new_price: int
    at: datetime
    lat: float
    lng: float

    @classmethod
    def from_payload(cls, payload: dict[str, Any]) -> PriceChangeEvent | None:
        """Parse a PRICE_CHANNEL payload (None when malformed)."""
        try:
            return cls(
                lead_id=uuid.UUID(str(payload["lead_id"])),
                old_price=int(payload["old_price"]),
                new_price=int(payload["new_price"]),
                at=datetime.fromisoformat(str(payload["at"])),
                lat=float(payload["lat"]),
                lng=float(payload["lng"]),
            )
        except (KeyError, TypeError, ValueError):
            return None

    def for_tier(self, tier: str) -> PriceChangeEvent:
        """The same change at the prices a viewer of this tier pays."""
        return replace(
            self, old_price=viewer_price(self.old_price, tier), new_price=viewer_price(self.new_price, tier)
        )


@dataclass(frozen=True)
class PriceWatch:
    """Listed leads and/or a circle; an event matches when either selects its lead."""

    lead_ids: frozenset[uuid.UUID]
    center: tuple[float, float] | None = None
    radius_miles: float | None = None

    @classmethod
    def create(
        cls,
        lead_ids: Sequence[uuid.UUID] | None,
        center: tuple[float, float] | None,
        radius_miles: float | None,
    ) -> PriceWatch:
        """Validate the subscription arguments (INVALID_INPUT naming the field at fault)."""
        ids = frozenset(lead_ids or ())
        if len(ids) > MAX_WATCHED_LEADS:
            raise invalid_input(f"Watch at most {MAX_WATCHED_LEADS} leads at once.", "leadIds")
        if center is not None:
            lat, lng = center
            if not (math.isfinite(lat) and -90 <= lat <= 90):
                raise invalid_input("Latitude must be between -90 and 90.", "near.center.lat")
            if not (math.isfinite(lng) and -180 <= lng <= 180):
                raise invalid_input("Longitude must be between -180 and 180.", "near.center.lng")
            if radius_miles is None or not (
                math.isfinite(radius_miles) and 0 < radius_miles <= MAX_RADIUS_MILES
            ):
                raise invalid_input(
                    f"radiusMiles must be greater than 0 and at most {MAX_RADIUS_MILES:g}.",
                    "near.radiusMiles",
                )
        if not ids and center is None:
            raise invalid_input("Give leadIds, near, or both.", "leadIds")
        return cls(ids, center, radius_miles if center is not None else None)

    def matches(self, event: PriceChangeEvent) -> bool:
        """Whether this watch selects the event's lead."""
        if event.lead_id in self.lead_ids:
            return True
        if self.center is None or self.radius_miles is None:
            return False
        lat, lng = public_point(event.lat, event.lng)  # as every geo filter: never the exact point
        return haversine_miles(self.center[0], self.center[1], lat, lng) <= self.radius_miles

    def selector(self, tier: str) -> Callable[[PriceChangeEvent], PriceChangeEvent | None]:
        """What a subscriber of this watch and tier gets of a published change (None: nothing)."""

        def select(event: PriceChangeEvent) -> PriceChangeEvent | None:
            return event.for_tier(tier) if self.matches(event) else None

        return select
