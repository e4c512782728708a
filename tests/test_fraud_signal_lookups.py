"""The fraud signals' neighbourhood facts (contact reuse, copied text, copied photos) on the indexed
lookups of migration 0006: the batched statement ingestion runs and the one-lead form agree, the
stored fingerprint is the one the query side computes, and each signal counts what it says."""

from __future__ import annotations

import uuid
from typing import Any

from conftest import lead_row
from sqlalchemy import select, text

from aiqleads.domain.core.lead import Lead
from aiqleads.domain.ingest import repository

LAT, LNG = 46.8721, -113.9940  # Missoula, far from every other test's leads
DESCRIPTION = "Sunny two bedroom cabin with a wood stove, river access and a big garden. Owner financing."


async def test_contact_text_and_photo_copies_are_counted_by_both_forms(deps: Any) -> None:
    tag = uuid.uuid4().hex[:10]
    phone, email, photo = f"+1406{tag[:7]}", f"{tag}@example.org", f"https://img.test/{tag}.jpg"
    messy = "  " + DESCRIPTION.upper().replace(" ", "   \n ") + " "  # the same text, spaced and cased
    rows = [
        # same phone, 300 miles away: contact reuse counts anywhere
        lead_row(contact_phone=phone, contact_email=None, lat=LAT + 4.3, lng=LNG, dedup_key=f"a-{tag}"),
        # same email nearby, and the copied text (spaces and case aside) at another address
        lead_row(
            contact_phone=None,
            contact_email=email,
            description=messy.strip(),
            lat=LAT + 0.1,
            lng=LNG,
            dedup_key=f"b-{tag}",
        ),
        # the photo, nearby, at another address
        lead_row(
            contact_phone=None,
            contact_email=None,
            photos=["https://img.test/x.jpg", photo],
            lat=LAT,
            lng=LNG + 0.2,
            dedup_key=f"c-{tag}",
        ),
        # text and photo copied but 300 miles away: not this neighbourhood's copies
        lead_row(
            contact_phone=None,
            contact_email=None,
            description=DESCRIPTION,
            photos=[photo],
            lat=LAT + 4.3,
            lng=LNG,
            dedup_key=f"d-{tag}",
        ),
        # the same address (same dedup key): a relisting, not a copy
        lead_row(
            contact_phone=None,
            contact_email=None,
            description=DESCRIPTION,
            photos=[photo],
            lat=LAT,
            lng=LNG,
            dedup_key=f"q-{tag}",
        ),
    ]
    candidate = lead_row(
        contact_phone=phone,
        contact_email=email,
        description=DESCRIPTION,
        photos=[photo],
        lat=LAT,
        lng=LNG,
        dedup_key=f"q-{tag}",
    )
    async with deps.sessionmaker() as session, session.begin():
        session.add_all(rows)
    async with deps.sessionmaker() as session:
        (batched,) = await repository.neighbourhoods(session, [(candidate, LAT, LNG)])
        single = await repository.neighbourhood(session, candidate, LAT, LNG)
        stored = await session.scalar(select(Lead.description_fingerprint).where(Lead.id == rows[1].id))
        plain = await session.scalar(select(Lead.description_fingerprint).where(Lead.id == rows[3].id))
    assert (batched.contact_reuse, batched.duplicate_text, batched.duplicate_photos) == (2, 1, 1)
    assert (single.contact_reuse, single.duplicate_text, single.duplicate_photos) == (2, 1, 1)
    # the column is what the query side computes for the same text, whatever its spacing and case
    assert plain == repository.description_fingerprint(DESCRIPTION)
    assert stored == repository.description_fingerprint(messy.strip())


async def test_the_lookups_use_their_indexes(deps: Any) -> None:
    async with deps.sessionmaker() as session:
        await session.execute(text("SET LOCAL enable_seqscan = off"))
        plans = {}
        for name, where in {
            "ix_leads_contact_phone": "contact_phone = '+14065550000'",
            "ix_leads_contact_email": "contact_email = 'x@example.org'",
            "ix_leads_description_fingerprint": "description_fingerprint = md5('x')",
            "ix_leads_photos_gin": "photos && ARRAY['https://img.test/x.jpg']",
        }.items():
            plan = await session.execute(text(f"EXPLAIN SELECT count(*) FROM leads WHERE {where}"))
            plans[name] = "\n".join(row[0] for row in plan)
    for name, plan in plans.items():
        assert name in plan, plan


async def test_the_photo_index_keeps_no_pending_list(deps: Any) -> None:
    # a pending list is read through by every lookup until a vacuum: 1.1 ms a new lead's photo
    # check during ingestion, against 0.04 ms without one
    async with deps.sessionmaker() as session:
        options = await session.scalar(
            text("SELECT reloptions FROM pg_class WHERE relname = 'ix_leads_photos_gin'")
        )
    assert options is not None and "fastupdate=off" in options
