"""The text a lead is embedded from: its public headline (kind, place, title as non-buyers read it).

Only public text goes in, so neighbours and recommendations can never rank by a seller's contact.
The description is left out on purpose: it is mostly boilerplate and four times as many tokens,
which would cut the local model's throughput by four (README, "Recommendations").
"""

from __future__ import annotations

import hashlib
from typing import Any

from aiqleads.domain.core.visibility import index_text

TYPE_PHRASES: dict[str, str] = {
    "SINGLE_FAMILY": "single family home",
    "CONDO": "condo",
    "TOWNHOUSE": "townhouse",
    "MULTI_FAMILY": "multi-family building",
    "LAND": "vacant land",
    "MANUFACTURED": "manufactured home",
    "OTHER": "property",
}


def type_phrase(property_type: str, *, plural: bool = False) -> str:
    """How a property type reads in a sentence ("condo", "condos")."""
    phrase = TYPE_PHRASES.get(property_type, "property")
    if not plural:
        return phrase
    if phrase == "vacant land":
        return "vacant land lots"
    if phrase == "property":
        return "properties"
    return phrase + "s"


def embedding_text(lead: Any) -> str:
    """``"condo in Austin, TX: 2 bed condo near the Domain"`` (the title redacted as for non-buyers)."""
    title = index_text(lead.title, lead).strip()
    return f"{type_phrase(lead.property_type)} in {lead.city}, {lead.state}: {title}"


def text_hash(text: str) -> str:
    """A short stable hash of an embedded text (a lead is re-embedded only when it changes)."""
    return hashlib.sha256(text.encode()).hexdigest()[:32]
