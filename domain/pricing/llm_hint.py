"""Optional AI price hint: a LangChain chain asking an LLM for a small, bounded multiplier.

Used only when ``settings.openai_api_key`` or ``settings.anthropic_api_key`` is set (OpenAI first).
The model answers through tool calling with structured output ``{multiplier, reason}``; the
multiplier is clamped to the policy's bounds (0.9..1.1 by default) and the reason is logged and
kept in the price-history explanation. Any error, timeout or unusable answer gives ``None`` and
the rules alone decide.
"""

from __future__ import annotations

import asyncio
import logging
import math
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, Field

from aiqleads.domain.llm import build_chat_model, structured_chain
from aiqleads.domain.pricing.engine import DEFAULT_POLICY, PriceHint, PricingPolicy
from aiqleads.domain.pricing.hints import HintRequest
from aiqleads.domain.settings import Settings

if TYPE_CHECKING:  # LangChain is imported only when a chat model is built (aiqleads.domain.llm)
    from langchain_core.language_models import BaseChatModel
    from langchain_core.runnables import Runnable

log = logging.getLogger(__name__)

MAX_REASON_CHARS = 300

SYSTEM_PROMPT = (
    "You adjust credit prices of real-estate leads sold to agents and investors. A rules engine "
    "already priced the lead; suggest a multiplier between {low} and {high} (1.0 = keep the rules' "
    "price) and a one-sentence reason. Only deviate from 1.0 for something the rules miss."
)
HUMAN_PROMPT = (
    "Lead {lead_id}: {property_type}, asking price {asking_price}, quality {quality:.2f}, posted "
    "{posted_at}, seats {seats}. Recent demand: {views} views, {cart_adds} cart adds, {purchases} "
    "purchases. Rules price: {rule_price} credits (previous {previous}). Explanation: {explanation}"
)


class PriceHintAnswer(BaseModel):
    """Suggest a bounded multiplier for a lead's rule-based credit price."""

    multiplier: float = Field(description="Multiplier for the rules' price, e.g. 1.05 (bounded, 1.0 = keep).")
    reason: str = Field(description="One short sentence explaining the adjustment.")


class LlmPriceHinter:
    """A PriceHinter backed by a LangChain chat model with structured output."""

    def __init__(
        self,
        model: BaseChatModel,
        *,
        provider: str,
        timeout_seconds: float,
        policy: PricingPolicy = DEFAULT_POLICY,
    ) -> None:
        self.provider = provider
        self.timeout_seconds = timeout_seconds
        self.policy = policy
        self.chain: Runnable[dict[str, Any], Any] = structured_chain(
            model, SYSTEM_PROMPT, HUMAN_PROMPT, PriceHintAnswer
        )

    async def suggest(self, request: HintRequest) -> PriceHint | None:
        """The model's bounded hint, or None on any failure (the rules then decide alone)."""
        facts, demand, quote = request.facts, request.demand, request.rule_quote
        variables = {
            "low": self.policy.hint_low,
            "high": self.policy.hint_high,
            "lead_id": str(request.lead_id),
            "property_type": facts.property_type,
            "asking_price": f"${facts.asking_price:,}" if facts.asking_price else "unknown",
            "quality": facts.quality_score,
            "posted_at": facts.posted_at.isoformat(),
            "seats": f"{facts.max_buyers - facts.buyers_count - facts.holds_count}/{facts.max_buyers}",
            "views": demand.views,
            "cart_adds": demand.cart_adds,
            "purchases": demand.purchases,
            "rule_price": quote.price,
            "previous": quote.previous if quote.previous is not None else "none",
            "explanation": quote.reason,
        }
        try:
            answer = await asyncio.wait_for(self.chain.ainvoke(variables), timeout=self.timeout_seconds)
        except TimeoutError:
            log.warning("pricing hint from %s timed out for lead %s", self.provider, request.lead_id)
            return None
        except Exception as exc:  # any client/parse failure: fall back to the rules
            log.warning("pricing hint from %s failed for lead %s: %r", self.provider, request.lead_id, exc)
            return None
        hint = self._to_hint(answer)
        if hint is None:
            log.warning(
                "pricing hint from %s unusable for lead %s: %r", self.provider, request.lead_id, answer
            )
            return None
        log.info(
            "pricing hint from %s for lead %s: x%.3f (%s)",
            self.provider,
            request.lead_id,
            hint.multiplier,
            hint.reason,
        )
        return hint

    def _to_hint(self, answer: Any) -> PriceHint | None:
        if isinstance(answer, dict):
            try:
                answer = PriceHintAnswer.model_validate(answer)
            except ValueError:
                return None
        if not isinstance(answer, PriceHintAnswer) or not math.isfinite(answer.multiplier):
            return None
        multiplier = max(self.policy.hint_low, min(self.policy.hint_high, answer.multiplier))
        reason = " ".join(answer.reason.split())[:MAX_REASON_CHARS] or "no reason given"
        return PriceHint(multiplier=multiplier, reason=reason, source=f"ai:{self.provider}")


def build_hinter(settings: Settings, *, policy: PricingPolicy = DEFAULT_POLICY) -> LlmPriceHinter | None:
    """The configured LLM hinter, or None when no provider key is set (rules only)."""
    chat = build_chat_model(settings, anthropic_max_tokens=256)
    if chat is None:
        return None
    return LlmPriceHinter(
        chat.model, provider=chat.provider, timeout_seconds=chat.timeout_seconds, policy=policy
    )
