"""The interface of optional price hints (an LLM in production; anything with `suggest`)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Protocol

from aiqleads.domain.pricing.engine import DemandSignals, LeadFacts, PriceHint, PriceQuote


@dataclass(frozen=True)
class HintRequest:
    """What a hinter sees: the lead's facts, its demand and the rules' own quote."""

    lead_id: uuid.UUID
    facts: LeadFacts
    demand: DemandSignals
    rule_quote: PriceQuote


class PriceHinter(Protocol):
    """Suggests a bounded multiplier for a lead, or None to leave the rules alone."""

    async def suggest(self, request: HintRequest) -> PriceHint | None:
        """A hint, or None (errors and timeouts must also give None)."""
        ...
