"""The optional AI price hint through the real LangChain OpenAI and Anthropic clients."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from aiqtest_support.pricing_llm import FakeLlmState, llm_server
from sqlalchemy import select

from aiqleads.domain.core.lead import Lead, PriceHistory
from aiqleads.domain.pricing.engine import DemandSignals, LeadFacts, compute_price
from aiqleads.domain.pricing.hints import HintRequest
from aiqleads.domain.pricing.llm_hint import LlmPriceHinter, build_hinter
from aiqleads.domain.settings import Settings
from aiqleads.workers import pricing_jobs
from aiqleads.workers.context import deps as ctx_deps
from aiqleads.workers.runtime import shutdown, startup

NOW = datetime.now(UTC)
FACTS = LeadFacts("CONDO", 350_000, 0.8, NOW - timedelta(days=2))
DEMAND = DemandSignals(views=10, cart_adds=3, purchases=0)


def _request() -> HintRequest:
    return HintRequest(uuid.uuid4(), FACTS, DEMAND, compute_price(FACTS, DEMAND, 20, NOW))


@pytest.fixture
def server() -> Iterator[tuple[str, FakeLlmState]]:
    with llm_server() as running:
        yield running


def _openai(settings: Settings, base: str, **changes: Any) -> Settings:
    return settings.replace(
        openai_api_key="sk-test-pricing", openai_base_url=f"{base}/v1", anthropic_api_key=None, **changes
    )


def _anthropic(settings: Settings, base: str, **changes: Any) -> Settings:
    return settings.replace(
        openai_api_key=None, anthropic_api_key="sk-ant-test", anthropic_base_url=base, **changes
    )


def test_no_key_means_rules_only(settings: Settings) -> None:
    assert build_hinter(settings.replace(openai_api_key=None, anthropic_api_key=None)) is None


async def test_openai_tool_call_gives_a_bounded_hint(settings: Settings, server: Any) -> None:
    base, state = server
    hinter = build_hinter(_openai(settings, base))
    assert isinstance(hinter, LlmPriceHinter) and hinter.provider == "openai"
    hint = await hinter.suggest(_request())
    assert hint is not None
    assert hint.multiplier == pytest.approx(1.08)
    assert hint.reason == state.reason and hint.source == "ai:openai"
    [req] = state.requests
    assert req["path"] == "/v1/chat/completions"
    assert req["headers"]["authorization"] == "Bearer sk-test-pricing"
    assert req["body"]["tools"][0]["function"]["name"] == "PriceHintAnswer"
    prompt = " ".join(m["content"] for m in req["body"]["messages"])
    assert "CONDO" in prompt and "3 cart adds" in prompt and "between 0.9 and 1.1" in prompt


async def test_anthropic_tool_use_gives_a_bounded_hint(settings: Settings, server: Any) -> None:
    base, state = server
    state.multiplier = 0.5  # outside the bound: clamped to 0.9
    hinter = build_hinter(_anthropic(settings, base))
    assert isinstance(hinter, LlmPriceHinter) and hinter.provider == "anthropic"
    hint = await hinter.suggest(_request())
    assert hint is not None and hint.multiplier == pytest.approx(0.9) and hint.source == "ai:anthropic"
    [req] = state.requests
    assert req["path"] == "/v1/messages"
    headers = req["headers"]  # the client sends the key as x-api-key or as a bearer token
    assert "anthropic-version" in headers
    assert headers.get("x-api-key") == "sk-ant-test" or headers.get("authorization") == "Bearer sk-ant-test"
    assert req["body"]["tools"][0]["name"] == "PriceHintAnswer"
    assert "CONDO" in str(req["body"]["messages"]) and "between 0.9 and 1.1" in str(req["body"]["system"])


@pytest.mark.parametrize("provider", ["openai", "anthropic"])
@pytest.mark.parametrize("mode", ["garbage", "bad_args", "error", "slow"])
async def test_failures_fall_back_to_rules(settings: Settings, server: Any, provider: str, mode: str) -> None:
    base, state = server
    state.mode, state.delay = mode, 3.0
    configure = _openai if provider == "openai" else _anthropic
    hinter = build_hinter(configure(settings, base, llm_timeout_seconds=0.5))
    assert hinter is not None
    started = time.monotonic()
    assert await hinter.suggest(_request()) is None
    assert time.monotonic() - started < 2.0  # the timeout is honoured
    assert len(state.requests) == 1  # no retries


async def test_reprice_job_uses_the_hint_and_logs_it(
    settings: Settings, server: Any, make_lead: Any, caplog: pytest.LogCaptureFixture
) -> None:
    base, state = server
    ctx: dict[str, Any] = {"settings": _openai(settings, base)}
    await startup(ctx)
    try:
        # rules alone: 16 × 1.00 × 1.24 × 1.00 × 1.00 × 1.00 = 19.84 → 20, so price 20 stays
        lead = await make_lead(city="Hintville", price_credits=20)
        with caplog.at_level("INFO", logger="aiqleads.domain.pricing.llm_hint"):
            result = await pricing_jobs.reprice_lead_job(ctx, str(lead.id))
        assert result["changed"] == 1 and result["price"] == 21  # 19.84 × 1.08 = 21.4
        assert any("x1.080" in r.getMessage() and state.reason in r.getMessage() for r in caplog.records)
        async with ctx_deps(ctx).sessionmaker() as session:
            reason = await session.scalar(select(PriceHistory.reason).where(PriceHistory.lead_id == lead.id))
        assert reason is not None and f"ai:openai ({state.reason})" in reason

        # a broken provider: the rules decide (no change from 20), nothing fails
        state.mode = "garbage"
        other = await make_lead(city="Hintville", price_credits=20)
        result = await pricing_jobs.reprice_lead_job(ctx, str(other.id))
        assert result["changed"] == 0
        async with ctx_deps(ctx).sessionmaker() as session:
            row = await session.get(Lead, other.id)
            assert row is not None and row.price_credits == 20 and row.priced_at is not None
    finally:
        await shutdown(ctx)
