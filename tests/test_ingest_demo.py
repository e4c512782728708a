"""The demo loader runs the shipped sample pages of all four sources through the real pipeline."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select

from aiqleads.domain.core.lead import Lead, LeadSourceRecord
from aiqleads_dev.samples import SAMPLES
from aiqleads_dev.seeding.scraped import seed_scraped_demo as seed_demo


async def test_demo_loads_every_source_and_is_idempotent(deps: Any, settings: Any) -> None:
    lines: list[str] = []
    summary = await seed_demo(settings, progress=lines.append)
    again = await seed_demo(settings, progress=lines.append)
    listings = sum(len(s.sources) for s in SAMPLES)
    assert summary == (
        f"demo listings: {listings} scraped from 4 sources in 10 metros → {len(SAMPLES)} new leads, "
        f"{listings - len(SAMPLES)} merged duplicates, 0 unchanged"
    )
    assert again.endswith(f"→ 0 new leads, 0 merged duplicates, {listings} unchanged")
    assert any(line.startswith("facebook dallas:") for line in lines)
    velasco = next(s for s in SAMPLES if s.key == "velasco")
    async with deps.sessionmaker() as session:
        lead_id = await session.scalar(
            select(LeadSourceRecord.lead_id).where(LeadSourceRecord.external_id == velasco.ident("fsbo"))
        )
        sources = list(
            await session.scalars(select(LeadSourceRecord.source).where(LeadSourceRecord.lead_id == lead_id))
        )
        lead = await session.get(Lead, lead_id)
        by_source = dict(
            (
                await session.execute(
                    select(Lead.source, func.count())
                    .where(Lead.id.in_(select(LeadSourceRecord.lead_id)))
                    .group_by(Lead.source)
                )
            ).all()
        )
        scam_lead = await session.scalar(select(Lead).where(Lead.dedup_key.like("4410 GASTON AVE||%")))
    assert sorted(sources) == ["CRAIGSLIST", "FACEBOOK", "FSBO", "ZILLOW"]
    assert lead is not None and lead.source == "ZILLOW" and lead.fraud_score < 0.3
    assert set(by_source) == {"ZILLOW", "CRAIGSLIST", "FSBO", "FACEBOOK"}
    assert scam_lead is not None and scam_lead.fraud_score >= 0.7
    assert any("wire transfer" in s for s in scam_lead.fraud_signals)
