"""LLM cleaning with the REAL langchain-openai and langchain-anthropic clients against local servers
that speak each provider's wire format: fixes applied after validation, fraud hints, fallbacks."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
import pytest_asyncio
from aiqtest_support.ingestkit import local_fetch_config, sample, serve_samples, variant, worker_ctx
from aiqtest_support.llm_wire import LlmWireServer, prompt_text

from aiqleads.domain.cleaning.pipeline import clean_record
from aiqleads.domain.core.lead import Lead
from aiqleads.domain.core.listings import RawRecord
from aiqleads.domain.ingest.llm_cleaner import LlmCleaner, build_refiner
from aiqleads.domain.ingest.validation import validate
from aiqleads.workers.ingest_jobs import run_scrape

MESSY = RawRecord(
    source="CRAIGSLIST",
    external_id="7799000001",
    url="https://dallas.craigslist.org/reo/d/x/7799000001.html",
    title="OWNER MUST SELL - cute place near the lake!!!",
    description=(
        "asking three fifty, will take best offer. three bedroom two and a half bath, about eighteen hundred "
        "square feet, built in the fifties. text me at two one four, five five five, zero one four three. "
        "I'm overseas right now so pay the deposit by wire and I'll mail the keys"
    ),
    price="three fifty",
    city="Dallas",
    state="TX",
    lat="32.8248",
    lng="-96.7498",
)
GOOD_FIX = {
    "property_type": "SINGLE_FAMILY",
    "asking_price_usd": 350000,
    "bedrooms": 3,
    "bathrooms": 2.5,
    "sqft": 1800,
    "year_built": None,
    "street": None,
    "zip": "75214",
    "contact_phone": "(214) 555-0143",
    "fraud_hints": ["Seller is abroad and asks for a wire deposit before any viewing", "<b>Keys mailed</b>"],
}


@pytest_asyncio.fixture(loop_scope="session")
async def llm() -> AsyncIterator[LlmWireServer]:
    server = LlmWireServer(answer=lambda body: dict(GOOD_FIX))
    await server.start()
    yield server
    await server.stop()


def _settings(settings: Any, llm: LlmWireServer, provider: str, timeout: float = 10.0) -> Any:
    if provider == "openai":
        return settings.replace(
            openai_api_key="sk-test-openai", openai_base_url=f"{llm.base_url}/v1", llm_timeout_seconds=timeout
        )
    return settings.replace(
        anthropic_api_key="sk-ant-test", anthropic_base_url=llm.base_url, llm_timeout_seconds=timeout
    )


@pytest.mark.parametrize("provider", ["openai", "anthropic"])
async def test_real_clients_fill_what_the_rules_missed_and_add_hints(
    settings: Any, llm: LlmWireServer, provider: str
) -> None:
    llm.mode = "ok"
    refiner = build_refiner(_settings(settings, llm, provider))
    assert isinstance(refiner, LlmCleaner) and refiner.provider == provider
    rules = clean_record(MESSY)
    assert rules.asking_price is None and rules.bathrooms is None and rules.contact_phone is None
    before = len(llm.requests)
    fixed = await refiner.refine(MESSY, rules)
    body, headers = llm.requests[before], llm.headers[before]
    if provider == "openai":
        assert headers["authorization"] == "Bearer sk-test-openai"
        assert body["tools"][0]["function"]["name"] == "ListingFix"
        assert body["model"] == "gpt-4o-mini"
    else:
        assert "sk-ant-test" in (
            headers.get("x-api-key"),
            headers.get("authorization", "").removeprefix("Bearer "),
        )
        assert "anthropic-version" in headers
        assert body["tools"][0]["name"] == "ListingFix"
        assert body["model"].startswith("claude")
    assert "asking three fifty" in prompt_text(body) and "Price as written: three fifty" in prompt_text(body)
    assert (fixed.asking_price, fixed.bedrooms, fixed.bathrooms, fixed.sqft) == (350_000, 3, 2.5, 1800)
    assert fixed.property_type == "SINGLE_FAMILY" and fixed.zip == "75214"
    assert fixed.contact_phone == "+12145550143"
    assert fixed.hints == ["Seller is abroad and asks for a wire deposit before any viewing", "Keys mailed"]
    assert any(issue.startswith(f"filled by {provider}: ") for issue in fixed.issues)
    assert validate(fixed).ok
    assert rules.asking_price is None  # the rule result itself is not mutated


@pytest.mark.parametrize("provider", ["openai", "anthropic"])
async def test_invalid_model_values_are_rejected_and_rules_win(settings: Any, provider: str) -> None:
    def bad(body: dict[str, Any]) -> dict[str, Any]:
        return {
            "property_type": "CONDO",  # rules already know it: not overridden
            "asking_price_usd": 5,
            "bedrooms": 400,
            "bathrooms": 2.3,
            "sqft": 12,
            "year_built": 2999,
            "zip": "98101",  # Seattle: not in Texas
            "contact_phone": "555-0000",
            "fraud_hints": [],
        }

    server = LlmWireServer(answer=bad)
    await server.start()
    try:
        refiner = build_refiner(_settings(settings, server, provider))
        assert refiner is not None
        raw = RawRecord(**{**MESSY.__dict__, "property_type": "house"})
        rules = clean_record(raw)
        fixed = await refiner.refine(raw, rules)
    finally:
        await server.stop()
    assert fixed.property_type == "SINGLE_FAMILY"
    for name in ("asking_price", "bedrooms", "bathrooms", "sqft", "year_built", "contact_phone"):
        assert getattr(fixed, name) == getattr(rules, name)
    assert fixed.zip == rules.zip == "75214"  # from the page coordinates, not the model
    rejected = next(i for i in fixed.issues if "answer rejected for" in i)
    for name in ("asking_price", "bedrooms", "bathrooms", "sqft", "year_built", "contact_phone", "zip"):
        assert name in rejected


@pytest.mark.parametrize("provider", ["openai", "anthropic"])
@pytest.mark.parametrize("mode", ["http_500", "bad_arguments", "no_tool", "slow"])
async def test_failures_and_timeouts_fall_back_to_the_rules(
    settings: Any, llm: LlmWireServer, provider: str, mode: str
) -> None:
    llm.mode, llm.delay = mode, 3.0
    refiner = build_refiner(_settings(settings, llm, provider, timeout=0.5))
    assert refiner is not None
    rules = clean_record(MESSY)
    fixed = await refiner.refine(MESSY, rules)
    llm.mode = "ok"
    assert fixed == rules
    assert refiner.failures == 1


async def test_scrape_with_an_llm_configured_stores_ai_fraud_hints(
    deps: Any, settings: Any, llm: LlmWireServer
) -> None:
    llm.mode = "ok"
    home = variant(sample("mclendon"))
    server, urls = await serve_samples([home])
    job_settings = _settings(settings, llm, "openai").replace(source_base_urls=urls)
    ctx = worker_ctx(deps, job_settings, refiner=build_refiner(job_settings))  # the configured LLM cleaner
    before = len(llm.requests)
    try:
        report = await run_scrape(ctx, "fsbo", "atlanta", fetch_config=local_fetch_config(settings))
    finally:
        await server.stop()
    assert report.created == 1 and len(llm.requests) == before + 1
    async with deps.sessionmaker() as session:
        lead = await session.get(Lead, report.lead_ids[0])
    assert lead is not None
    assert "AI review: Seller is abroad and asks for a wire deposit before any viewing" in lead.fraud_signals
    assert (
        lead.asking_price == home.price and lead.zip == home.zip
    )  # complete listings keep the rules' values
    assert 0.25 <= lead.fraud_score < 0.5


def test_no_key_means_rules_only(settings: Any) -> None:
    assert build_refiner(settings.replace(openai_api_key=None, anthropic_api_key=None)) is None
