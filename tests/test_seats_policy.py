"""The seats policy of scraped leads: exclusive above a quality threshold, shared otherwise, priced
by the engine accordingly; an existing lead keeps its seats when scraped again."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import pytest
from aiqtest_support.ingestkit import local_fetch_config, sample, serve_samples, variant, worker_ctx
from sqlalchemy import select

from aiqleads.domain.core.lead import Lead
from aiqleads.domain.core.seats import seats_for_quality
from aiqleads.domain.pricing.engine import LeadFacts, initial_price
from aiqleads.domain.settings import Settings
from aiqleads.domain.unit_of_work import read_only
from aiqleads.workers.ingest_jobs import run_scrape


def test_policy_is_exclusive_at_or_above_the_threshold_else_shared() -> None:
    assert seats_for_quality(0.9, 0.75, 3) == 1
    assert seats_for_quality(0.75, 0.75, 3) == 1
    assert seats_for_quality(0.74, 0.75, 3) == 3
    assert seats_for_quality(0.1, 0.75, 9) == 5  # never past the schema's five seats
    assert seats_for_quality(0.1, 0.75, 0) == 1


def test_policy_settings_are_read_and_clamped(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AIQ_EXCLUSIVE_QUALITY_THRESHOLD", "0.6")
    monkeypatch.setenv("AIQ_SHARED_LEAD_SEATS", "12")
    settings = Settings.from_env()
    assert (settings.exclusive_quality_threshold, settings.shared_lead_seats) == (0.6, 5)
    monkeypatch.setenv("AIQ_SHARED_LEAD_SEATS", "many")
    with pytest.raises(ValueError, match="AIQ_SHARED_LEAD_SEATS must be an integer"):
        Settings.from_env()


def test_a_shared_seat_starts_cheaper_than_the_exclusive_lead() -> None:
    now = datetime.now(UTC)
    facts = LeadFacts(
        property_type="SINGLE_FAMILY", asking_price=400_000, quality_score=0.6, posted_at=now, max_buyers=1
    )
    exclusive = initial_price(facts, now).price
    shared = initial_price(replace(facts, max_buyers=3), now).price
    assert shared < exclusive


async def _scrape(deps: Any, settings: Settings, urls: dict[str, str]) -> Any:
    ctx = worker_ctx(deps, settings.replace(source_base_urls=urls))
    return await run_scrape(ctx, "zillow", "dallas", fetch_config=local_fetch_config(settings))


async def _seats(deps: Any, lead_ids: list[str]) -> dict[str, tuple[int, float]]:
    async with read_only(deps) as session:
        rows = await session.execute(
            select(Lead.id, Lead.max_buyers, Lead.quality_score).where(Lead.id.in_(lead_ids))
        )
        return {str(lead_id): (seats, quality) for lead_id, seats, quality in rows}


async def test_scraped_leads_get_their_seats_from_the_policy(deps: Any, settings: Settings) -> None:
    homes = [variant(sample("velasco"), sources=("zillow",), shift=0.013 * (n + 1)) for n in range(4)]
    server, urls = await serve_samples(homes, per_page=10)
    try:
        # every lead scores below a threshold of 1.01: all shared by four
        shared_policy = settings.replace(exclusive_quality_threshold=1.01, shared_lead_seats=4)
        first = await _scrape(deps, shared_policy, urls)
        assert first.created == 4
        seats = await _seats(deps, first.lead_ids)
        assert {s for s, _q in seats.values()} == {4}
        # scraped again under an all-exclusive policy, the existing leads keep their four seats
        again = await _scrape(deps, settings.replace(exclusive_quality_threshold=0.0), urls)
        assert again.created == 0
        assert await _seats(deps, first.lead_ids) == seats
    finally:
        await server.stop()
    others = [variant(sample("velasco"), sources=("zillow",), shift=-0.017 * (n + 1)) for n in range(2)]
    server, urls = await serve_samples(others, per_page=10)
    try:
        exclusive = await _scrape(deps, settings.replace(exclusive_quality_threshold=0.0), urls)
    finally:
        await server.stop()
    assert exclusive.created == 2
    assert {s for s, _q in (await _seats(deps, exclusive.lead_ids)).values()} == {1}
