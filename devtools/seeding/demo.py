"""The demo data set behind ``aiqleads seed --demo``: the demo buyer, the scraped sample listings and,
when the marketplace is nearly empty, synthetic leads. Every step is idempotent."""

from __future__ import annotations

from collections.abc import Callable

from aiqleads.domain.bootstrap import Deps, opened
from aiqleads.domain.settings import Settings
from aiqleads_dev.seeding.writer import count_leads, embed_all_leads, seed_synthetic

Progress = Callable[[str], None]

DEMO_EMAIL = "demo@aiqleads.dev"
DEMO_PASSWORD = "demo-password-123"
DEMO_NAME = "Demo Buyer"
DEMO_TIER = "PRO"
DEMO_CREDITS = 500
DEMO_MIN_LEADS = 500
DEMO_SYNTHETIC_LEADS = 2_000


async def ensure_demo_user(deps: Deps) -> bool:
    """Create the demo buyer (PRO, 500 granted credits) unless it exists; True if created."""
    from aiqleads.domain.credits import ledger
    from aiqleads.domain.credits.service import grant_tier
    from aiqleads.domain.errors import DomainError
    from aiqleads.domain.unit_of_work import UnitOfWork
    from aiqleads.domain.users.repository import get_user_by_email
    from aiqleads.domain.users.service import register

    async with UnitOfWork(deps) as uow:
        session = uow.session
        if await get_user_by_email(session, DEMO_EMAIL) is not None:
            return False
        try:
            result = await register(
                session, deps.settings, email=DEMO_EMAIL, password=DEMO_PASSWORD, name=DEMO_NAME
            )
        except DomainError as exc:  # created concurrently
            if exc.code == "EMAIL_TAKEN":
                return False
            raise
        await grant_tier(session, result.user.id, DEMO_TIER)
        await ledger.post(
            session,
            result.user.id,
            DEMO_CREDITS,
            "GRANT",
            "demo account starting credits",
            ref="demo-seed",
        )
        return True


async def seed_demo(settings: Settings, progress: Progress | None = None) -> str:
    """Demo data: the demo buyer and, when the marketplace is nearly empty, synthetic leads."""
    # imported here: the scrapers pull in the whole ingestion pipeline, which generating leads never needs
    from aiqleads_dev.seeding.scraped import seed_scraped_demo

    say = progress or (lambda _msg: None)
    async with opened(settings, purpose="cli") as deps:
        created = await ensure_demo_user(deps)
        user_line = f"demo user {DEMO_EMAIL} / {DEMO_PASSWORD} ({DEMO_TIER}, {DEMO_CREDITS} credits) " + (
            "created" if created else "already present"
        )
        # realistic leads from all four sources, through the real scrapers and cleaning pipeline
        scraped_line = await seed_scraped_demo(settings, say, deps=deps)
    existing = await count_leads(settings)
    if existing < DEMO_MIN_LEADS:
        say(f"{existing} leads in the database; seeding {DEMO_SYNTHETIC_LEADS:,} synthetic leads")
        await seed_synthetic(settings, DEMO_SYNTHETIC_LEADS, progress=say, embed=False)
        total = existing + DEMO_SYNTHETIC_LEADS
        leads_line = f"seeded {DEMO_SYNTHETIC_LEADS:,} synthetic leads ({total:,} in total)"
    else:
        leads_line = f"{existing:,} leads already present, none added"
    await embed_all_leads(settings, say)  # the scraped leads and the synthetic ones
    return f"{user_line}; {scraped_line}; {leads_line}"
