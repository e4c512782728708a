"""Why a lead is suggested, in one sentence ("similar to 3 condos you bought in Austin")."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from aiqleads.domain.core.interactions import WEIGHTS, InteractionKind
from aiqleads.domain.recommendations.lead_text import type_phrase

_VERBS = {InteractionKind.VIEW: "viewed", InteractionKind.HOLD: "held", InteractionKind.BUY: "bought"}


def _count_phrase(count: int, property_type: str) -> str:
    if count == 1:
        phrase = "vacant land lot" if property_type == "LAND" else type_phrase(property_type)
        return f"{'an' if phrase[0] in 'aeiou' else 'a'} {phrase}"
    return f"{count} {type_phrase(property_type, plural=True)}"


def _strongest(entries: Sequence[dict[str, Any]]) -> dict[str, Any] | None:
    return max(entries, key=lambda e: WEIGHTS[InteractionKind(e["kind"])] * e["count"], default=None)


def recommendation_reason(lead: Any, summary: Sequence[dict[str, Any]]) -> str:
    """The buyer's history that best explains a recommended lead (same kind and city first)."""
    same_type = [e for e in summary if e["property_type"] == lead.property_type]
    here = [e for e in same_type if e["city"] == lead.city and e["state"] == lead.state]
    best = _strongest(here)
    if best is not None:
        verb = _VERBS[InteractionKind(best["kind"])]
        return f"similar to {_count_phrase(best['count'], lead.property_type)} you {verb} in {lead.city}"
    best = _strongest(same_type)
    if best is not None:
        verb = _VERBS[InteractionKind(best["kind"])]
        return f"similar to {_count_phrase(best['count'], lead.property_type)} you {verb}"
    best = _strongest([e for e in summary if e["city"] == lead.city and e["state"] == lead.state])
    if best is not None:
        verb = _VERBS[InteractionKind(best["kind"])]
        noun = "lead" if best["count"] == 1 else "leads"
        return f"in {lead.city}, where you {verb} {best['count']} {noun}"
    return "close to the listings you looked at recently"


def similar_reason(lead: Any, source: Any, distance: float) -> str:
    """How a neighbour relates to the lead it was found for."""
    match = max(0, min(100, round((1.0 - distance) * 100)))
    return f"{match}% similar to the {type_phrase(source.property_type)} in {source.city}, {source.state}"


def cold_start_reason(lead: Any) -> str:
    """Why a lead is shown to a buyer with no history yet."""
    return f"a top-rated {type_phrase(lead.property_type)} in {lead.city}, new on the marketplace"
