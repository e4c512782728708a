"""SQL of ingestion: raw listings, lead sources, dedup candidates and neighbourhood facts."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Float, and_, cast, func, or_, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import ColumnElement

from aiqleads.domain.core.geo import METERS_PER_MILE, point
from aiqleads.domain.core.lead import Lead, LeadSourceRecord, RawListing
from aiqleads.domain.ingest.scoring import Neighbourhood

MAX_RECLEAN_BATCH = 5000


def content_hash(text: str) -> str:
    """SHA-256 of a text (raw page versions and listing versions)."""
    return hashlib.sha256(text.encode("utf-8", errors="replace")).hexdigest()


def _pg_text(value: str) -> str:
    return value.replace("\x00", "")  # PostgreSQL text cannot hold NUL


async def store_raw(
    session: AsyncSession,
    *,
    source: str,
    url: str,
    body: str,
    region: str | None,
    external_id: str | None,
    http_status: int | None,
    parsed: dict[str, Any] | None,
    parse_error: str | None,
    status: str,
) -> int:
    """Keep a page or listing as fetched; the same version fetched again updates its row (idempotent)."""
    body = _pg_text(body)
    statement = insert(RawListing).values(
        source=source,
        external_id=external_id,
        url=url[:4000],
        region=region,
        http_status=http_status,
        content_hash=content_hash(body),
        body=body,
        parsed=parsed,
        parse_error=_pg_text(parse_error)[:4000] if parse_error else None,
        status=status,
    )
    upsert = statement.on_conflict_do_update(
        constraint="uq_raw_listings_version",
        set_={
            "fetched_at": func.now(),
            "http_status": statement.excluded.http_status,
            "parsed": statement.excluded.parsed,
            "parse_error": statement.excluded.parse_error,
            "status": statement.excluded.status,
            "region": statement.excluded.region,
        },
    ).returning(RawListing.id)
    raw_id = await session.scalar(upsert)
    assert raw_id is not None
    return int(raw_id)


async def raw_listings_to_clean(
    session: AsyncSession, raw_ids: Sequence[int] | None, limit: int
) -> list[RawListing]:
    """Stored listings to run through cleaning again, oldest first, at most ``limit`` (1..5000).

    With ``raw_ids``, those listings; otherwise every listing never turned into a lead (PARSED or
    REJECTED). Raw pages are skipped: their ``parsed`` only records the page ``kind``.
    """
    query = select(RawListing).where(RawListing.parsed.is_not(None), RawListing.parsed["kind"].is_(None))
    if raw_ids:
        query = query.where(RawListing.id.in_(list(raw_ids)))
    else:
        query = query.where(RawListing.status.in_(("PARSED", "REJECTED")))
    rows = await session.scalars(query.order_by(RawListing.id).limit(max(1, min(limit, MAX_RECLEAN_BATCH))))
    return list(rows)


async def mark_raw(
    session: AsyncSession, raw_ids: Sequence[int], status: str, lead_id: uuid.UUID | None, error: str | None
) -> None:
    """Record what became of raw listings."""
    if not raw_ids:
        return
    await session.execute(
        update(RawListing)
        .where(RawListing.id.in_(raw_ids))
        .values(status=status, lead_id=lead_id, parse_error=error[:4000] if error else None)
    )


async def lock_keys(session: AsyncSession, keys: Sequence[str]) -> None:
    """Transaction-scoped advisory locks (taken in sorted order, so concurrent batches never deadlock)
    serialising dedup of the same property across concurrent workers until the transaction ends."""
    for key in sorted(set(keys)):
        await session.execute(select(func.pg_advisory_xact_lock(func.hashtextextended(key, 0))))


async def source_record(session: AsyncSession, source: str, external_id: str) -> LeadSourceRecord | None:
    """The lead_sources row of a listing, if it was ingested before."""
    result = await session.scalars(
        select(LeadSourceRecord).where(
            LeadSourceRecord.source == source, LeadSourceRecord.external_id == external_id
        )
    )
    return result.first()


async def upsert_source(
    session: AsyncSession, lead_id: uuid.UUID, source: str, external_id: str, url: str | None, digest: str
) -> None:
    """Attach a listing to a lead (or move/refresh it)."""
    statement = insert(LeadSourceRecord).values(
        lead_id=lead_id, source=source, external_id=external_id, url=url, content_hash=digest
    )
    await session.execute(
        statement.on_conflict_do_update(
            constraint="uq_lead_sources_source_external",
            set_={
                "lead_id": statement.excluded.lead_id,
                "url": statement.excluded.url,
                "content_hash": statement.excluded.content_hash,
                "seen_at": func.now(),
            },
        )
    )


async def touch_source(session: AsyncSession, record_id: int) -> None:
    """Note that an unchanged listing was seen again."""
    await session.execute(
        update(LeadSourceRecord).where(LeadSourceRecord.id == record_id).values(seen_at=func.now())
    )


async def dedup_candidates(
    session: AsyncSession,
    lat: float,
    lng: float,
    *,
    street_prefix: str | None,
    near_meters: float,
    same_street_meters: float,
    limit: int = 10,
) -> list[tuple[Lead, float]]:
    """Leads close by (ST_DWithin on the GiST index) with their distance in meters.

    Leads on the same normalized street line may be further away (one source geocoded to a ZIP
    centroid); others must be within near_meters.
    """
    here = point(lat, lng)
    distance = func.ST_Distance(Lead.location, here).label("distance")
    close = func.ST_DWithin(Lead.location, here, near_meters)
    condition: ColumnElement[bool] = close
    if street_prefix:
        same_street = and_(
            Lead.dedup_key.like(street_prefix.replace("%", r"\%").replace("_", r"\_") + "%"),
            func.ST_DWithin(Lead.location, here, same_street_meters),
        )
        condition = or_(close, same_street)
    rows = await session.execute(
        select(Lead, distance).where(condition, Lead.status != "WITHDRAWN").order_by(distance).limit(limit)
    )
    return [(lead, float(d)) for lead, d in rows.all()]


async def neighbourhood(
    session: AsyncSession,
    lead: Lead,
    lat: float,
    lng: float,
    *,
    radius_miles: float = 3.0,
    copy_radius_miles: float = 50.0,
) -> Neighbourhood:
    """Median price per sqft of comparable leads nearby, contact reuse and copied text/photos."""
    here = point(lat, lng)
    facts = Neighbourhood(radius_miles=radius_miles)
    ppsf = (cast(Lead.asking_price, Float) / Lead.sqft).label("ppsf")
    median_row = (
        await session.execute(
            select(
                func.percentile_cont(0.5).within_group(ppsf),
                func.count(),
            ).where(
                Lead.id != lead.id,
                Lead.sqft > 0,
                Lead.asking_price > 0,
                Lead.property_type.notin_(("LAND",)),
                Lead.fraud_score < 0.5,
                func.ST_DWithin(Lead.location, here, radius_miles * METERS_PER_MILE),
            )
        )
    ).one()
    facts.median_ppsf = float(median_row[0]) if median_row[0] is not None else None
    facts.comparables = int(median_row[1])

    contact_terms = []
    if lead.contact_phone:
        contact_terms.append(Lead.contact_phone == lead.contact_phone)
    if lead.contact_email:
        contact_terms.append(Lead.contact_email == lead.contact_email)
    if contact_terms:
        facts.contact_reuse = int(
            await session.scalar(select(func.count()).where(Lead.id != lead.id, or_(*contact_terms))) or 0
        )

    nearby = func.ST_DWithin(Lead.location, here, copy_radius_miles * METERS_PER_MILE)
    other_address = or_(Lead.dedup_key.is_(None), Lead.dedup_key != (lead.dedup_key or ""))
    if lead.description and len(lead.description) >= 60:
        fingerprint = func.md5(func.lower(func.regexp_replace(Lead.description, r"\s+", " ", "g")))
        mine = hashlib.md5(" ".join(lead.description.lower().split()).encode()).hexdigest()
        facts.duplicate_text = int(
            await session.scalar(
                select(func.count()).where(Lead.id != lead.id, nearby, other_address, fingerprint == mine)
            )
            or 0
        )
    if lead.photos:
        facts.duplicate_photos = int(
            await session.scalar(
                select(func.count()).where(
                    Lead.id != lead.id, nearby, other_address, Lead.photos.overlap(list(lead.photos))
                )
            )
            or 0
        )
    return facts
