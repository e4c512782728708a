"""New-lead events: the payload published on NEW_LEADS_CHANNEL and the match against a filter.

Subscribers to ``newLeads(filter)`` receive every event whose fields satisfy their filter; the
match runs in Python on the event alone (the same ``lead_matches`` rules as the leads query), so
no subscriber costs a database round trip for events it does not want.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from aiqleads.domain.core.filters.predicate import lead_matches
from aiqleads.domain.core.filters.spec import LeadFilterSpec
from aiqleads.domain.core.geo import lat_lng
from aiqleads.domain.core.lead import Lead
from aiqleads.domain.core.visibility import public_point


def new_lead_event(lead: Lead) -> dict[str, Any]:
    """The public facts of a newly ingested lead (no contact, no street), JSON-ready."""
    lat, lng = lat_lng(lead.location)
    return {
        "lead_id": str(lead.id),
        "source": lead.source,
        "property_type": lead.property_type,
        "asking_price": lead.asking_price,
        "bedrooms": lead.bedrooms,
        "bathrooms": lead.bathrooms,
        "sqft": lead.sqft,
        "city": lead.city,
        "state": lead.state,
        "zip": lead.zip,
        "lat": lat,
        "lng": lng,
        "quality_score": lead.quality_score,
        "fraud_score": lead.fraud_score,
        "posted_at": lead.posted_at.isoformat(),
        "status": lead.status,
        "max_buyers": lead.max_buyers,
        "buyers_count": lead.buyers_count,
        "holds_count": lead.holds_count,
    }


@dataclass(frozen=True)
class NewLeadEvent:
    """A decoded new-lead event, with the attributes lead_matches reads."""

    lead_id: uuid.UUID
    source: str
    property_type: str
    asking_price: int | None
    bedrooms: int | None
    bathrooms: float | None
    sqft: int | None
    city: str
    state: str
    zip: str
    lat: float
    lng: float
    quality_score: float
    fraud_score: float
    posted_at: datetime
    status: str
    max_buyers: int
    buyers_count: int
    holds_count: int

    @classmethod
    def parse(cls, payload: dict[str, Any]) -> NewLeadEvent | None:
        """Decode a published payload (None when it is not a well-formed new-lead event)."""
        try:
            return cls(
                lead_id=uuid.UUID(str(payload["lead_id"])),
                source=str(payload["source"]),
                property_type=str(payload["property_type"]),
                asking_price=payload.get("asking_price"),
                bedrooms=payload.get("bedrooms"),
                bathrooms=payload.get("bathrooms"),
                sqft=payload.get("sqft"),
                city=str(payload.get("city") or ""),
                state=str(payload.get("state") or ""),
                zip=str(payload.get("zip") or ""),
                lat=float(payload["lat"]),
                lng=float(payload["lng"]),
                quality_score=float(payload.get("quality_score") or 0.0),
                fraud_score=float(payload.get("fraud_score") or 0.0),
                posted_at=datetime.fromisoformat(str(payload["posted_at"])),
                status=str(payload.get("status") or "AVAILABLE"),
                max_buyers=int(payload.get("max_buyers") or 1),
                buyers_count=int(payload.get("buyers_count") or 0),
                holds_count=int(payload.get("holds_count") or 0),
            )
        except (KeyError, TypeError, ValueError):
            return None


def event_matches(spec: LeadFilterSpec, payload: dict[str, Any]) -> uuid.UUID | None:
    """The lead id of an event that satisfies the filter, else None."""
    event = NewLeadEvent.parse(payload)
    # the public point, as for every geo filter: a tiny radius must not locate the house
    if event is None or not lead_matches(spec, event, *public_point(event.lat, event.lng)):
        return None
    return event.lead_id
