"""Synthetic and demo data: realistic leads over real US metros, written with PostgreSQL COPY.

``seed_synthetic`` generates N leads deterministically from a seed and writes them, with one initial
price_history row each, through asyncpg's binary COPY. Every lead is priced by the pricing engine
exactly as ingestion prices a new lead (``initial_price`` as of the generation time ``now``): the
quote's price, its next freshness tick in ``reprice_due_at`` (so the repricing cron decays it like any
other lead) and its explanation as the price_history reason. ``seed_demo`` adds the demo buyer and the
scraped sample listings (``scraped.seed_scraped_demo``).

Modules: ``reference`` (metros and listing text, read from ``data/``), ``generator`` (the leads),
``writer`` (COPY), ``scraped`` (sample pages through the real scrapers), ``demo`` (the demo data set).
"""

from __future__ import annotations

from aiqleads.domain.leads.bulk import raw_dsn  # tests connect with it
from aiqleads_dev.seeding.demo import (
    DEMO_CREDITS,
    DEMO_EMAIL,
    DEMO_PASSWORD,
    DEMO_TIER,
    ensure_demo_user,
    seed_demo,
)
from aiqleads_dev.seeding.generator import LeadRecord, generate_leads
from aiqleads_dev.seeding.reference import METROS, Metro
from aiqleads_dev.seeding.writer import count_leads, seed_synthetic

__all__ = [
    "DEMO_CREDITS",
    "DEMO_EMAIL",
    "DEMO_PASSWORD",
    "DEMO_TIER",
    "METROS",
    "LeadRecord",
    "Metro",
    "count_leads",
    "ensure_demo_user",
    "generate_leads",
    "raw_dsn",
    "seed_demo",
    "seed_synthetic",
]
