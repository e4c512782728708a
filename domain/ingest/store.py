"""Ingestion, step two: keep raw pages and listings, then deduplicate, score and store leads
(created, updated in place, or merged as another source of an existing lead) inside the caller's
unit of work; flushes, never commits. Step one is ``domain/ingest/prepare.py``.
"""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from aiqleads.domain.core.geo import SAME_STREET_METERS, lat_lng, point
from aiqleads.domain.core.lead import Lead, PriceHistory
from aiqleads.domain.core.listings import CleanListing
from aiqleads.domain.ingest import repository as repo
from aiqleads.domain.ingest.dedup import FUZZY_STREET_METERS, Candidate, best_match, street_prefix
from aiqleads.domain.ingest.prepare import PreparedBatch
from aiqleads.domain.ingest.scoring import assess_fraud, quality_score
from aiqleads.domain.pricing.engine import LeadFacts, initial_price
from aiqleads.domain.settings import Settings

log = logging.getLogger(__name__)

MAX_PHOTOS = 30
DEFAULT_PRICE_CREDITS = 10


@dataclass
class IngestOutcome:
    """What store_batch did; `touched` holds the lead rows to index after the commit."""

    created: list[uuid.UUID] = field(default_factory=list)
    updated: list[uuid.UUID] = field(default_factory=list)
    merged: list[uuid.UUID] = field(default_factory=list)
    unchanged: list[uuid.UUID] = field(default_factory=list)
    rejected: int = 0
    failed: int = 0
    pages: int = 0
    touched: dict[uuid.UUID, Lead] = field(default_factory=dict)

    def add(self, other: IngestOutcome) -> None:
        """Accumulate another outcome (a run over many pages)."""
        self.created += other.created
        self.updated += other.updated
        self.merged += other.merged
        self.unchanged += other.unchanged
        self.rejected += other.rejected
        self.failed += other.failed
        self.pages += other.pages
        self.touched.update(other.touched)

    def summary(self) -> str:
        """One line for progress output."""
        return (
            f"{len(self.created)} new, {len(self.updated)} updated, {len(self.merged)} merged, "
            f"{len(self.unchanged)} unchanged, {self.rejected} rejected, {self.failed} failed"
        )


def listing_digest(clean: CleanListing) -> str:
    """A fingerprint of a listing's content (not its URL or posting time: "3 days ago" drifts)."""
    data = clean.to_json()
    data.pop("posted_at", None)
    data.pop("url", None)
    data.pop("issues", None)
    return repo.content_hash(json.dumps(data, sort_keys=True, default=str))


async def store_batch(
    session: AsyncSession, settings: Settings, prepared: PreparedBatch, *, now: datetime | None = None
) -> IngestOutcome:
    """Keep raw pages and listings, then create/update/merge leads; flushes, never commits."""
    now = now or datetime.now(UTC)
    batch = prepared.batch
    outcome = IngestOutcome(pages=sum(1 for p in batch.pages if p.kind == "search"))
    detail_raw: dict[str, int] = {}
    for page in batch.pages:
        raw_id = await repo.store_raw(
            session,
            source=batch.source,
            url=page.url,
            body=page.body,
            region=batch.region,
            external_id=page.external_id if page.kind == "detail" else f"page:{page.url}"[:2000],
            http_status=page.http_status,
            parsed={"kind": page.kind},
            parse_error=page.error,
            status="FAILED" if page.error else "FETCHED",
        )
        if page.kind == "detail" and page.external_id and not page.error:
            detail_raw[page.external_id] = raw_id
    for failure in batch.failures:
        await repo.store_raw(
            session,
            source=batch.source,
            url=failure.url or "",
            body=failure.fragment,
            region=batch.region,
            external_id=failure.external_id,
            http_status=None,
            parsed=None,
            parse_error=failure.reason,
            status="FAILED",
        )
        outcome.failed += 1

    await repo.lock_keys(session, [_lock_key(item.clean) for item in prepared.listings if item.ok])
    scored: dict[uuid.UUID, CleanListing] = {}
    for item in prepared.listings:
        raw_ids = [
            await repo.store_raw(
                session,
                source=batch.source,
                url=item.raw.url or "",
                body=item.fragment,
                region=batch.region,
                external_id=item.raw.external_id,
                http_status=None,
                parsed={**item.raw.to_json(), "_issues": item.clean.issues},
                parse_error=item.detail_error,
                status="PARSED",
            )
        ]
        if item.raw.external_id in detail_raw:
            raw_ids.append(detail_raw[item.raw.external_id])
        if not item.ok:
            outcome.rejected += 1
            await repo.mark_raw(session, raw_ids, "REJECTED", None, "; ".join(item.problems))
            continue
        lead, kind = await _upsert(session, item.clean, now)
        await repo.mark_raw(session, raw_ids, "INGESTED", lead.id, item.detail_error)
        getattr(outcome, kind).append(lead.id)
        if kind != "unchanged":
            outcome.touched[lead.id] = lead
            scored[lead.id] = item.clean
    await session.flush()

    created = set(outcome.created)
    for lead_id, clean in scored.items():
        lead = outcome.touched[lead_id]
        await _score(session, lead, clean)
        if lead_id in created:
            _first_price(session, lead, now)
    await session.flush()
    return outcome


def _lock_key(clean: CleanListing) -> str:
    """What two concurrent batches must not dedup at the same time: the street line, else the area."""
    prefix = street_prefix(clean.dedup_key)
    if prefix:
        return f"ingest:{prefix}"
    return f"ingest:geo:{round(clean.lat or 0.0, 2)}:{round(clean.lng or 0.0, 2)}"


async def _upsert(session: AsyncSession, clean: CleanListing, now: datetime) -> tuple[Lead, str]:
    assert clean.lat is not None and clean.lng is not None
    digest = listing_digest(clean)
    known = await repo.source_record(session, clean.source, clean.external_id)
    if known is not None:
        lead = await session.get(Lead, known.lead_id)
        if lead is not None:
            if known.content_hash == digest:
                await repo.touch_source(session, known.id)
                return lead, "unchanged"
            _apply(lead, clean, overwrite=True)
            await repo.upsert_source(session, lead.id, clean.source, clean.external_id, clean.url, digest)
            await session.flush()
            return lead, "updated"
    rows = await repo.dedup_candidates(
        session,
        clean.lat,
        clean.lng,
        street_prefix=street_prefix(clean.dedup_key),
        near_meters=FUZZY_STREET_METERS,
        same_street_meters=SAME_STREET_METERS,
    )
    candidates = [
        (
            lead,
            Candidate(
                lead.dedup_key,
                lead.title,
                lead.description,
                lead.asking_price,
                lead.bedrooms,
                lead.property_type,
                distance,
            ),
        )
        for lead, distance in rows
    ]
    match = best_match(clean, candidates)
    if match is not None:
        _apply(match, clean, overwrite=False)
        await repo.upsert_source(session, match.id, clean.source, clean.external_id, clean.url, digest)
        await session.flush()
        return match, "merged"
    lead = Lead(
        id=uuid.uuid4(),
        source=clean.source,
        location=point(clean.lat, clean.lng),
        posted_at=clean.posted_at or now,
        photos=[],
        fraud_signals=[],
        price_credits=DEFAULT_PRICE_CREDITS,
        max_buyers=1,
        buyers_count=0,
        holds_count=0,
        status="AVAILABLE",
        quality_score=0.5,
        fraud_score=0.0,
    )
    _apply(lead, clean, overwrite=True)
    session.add(lead)
    await session.flush()
    await repo.upsert_source(session, lead.id, clean.source, clean.external_id, clean.url, digest)
    return lead, "created"


_FIELDS = (
    "source_url",
    "property_type",
    "title",
    "description",
    "street",
    "city",
    "state",
    "zip",
    "asking_price",
    "bedrooms",
    "bathrooms",
    "sqft",
    "year_built",
    "contact_name",
    "contact_phone",
    "contact_email",
    "dedup_key",
)


def _apply(lead: Lead, clean: CleanListing, *, overwrite: bool) -> None:
    """Copy a listing onto a lead: every known field (overwrite) or only the lead's gaps (merge)."""
    values: dict[str, Any] = {
        "source_url": clean.url,
        "property_type": clean.property_type,
        "title": clean.title,
        "description": clean.description,
        "street": f"{clean.street} {clean.unit}" if clean.street and clean.unit else clean.street,
        "city": clean.city,
        "state": clean.state,
        "zip": clean.zip,
        "asking_price": clean.asking_price,
        "bedrooms": clean.bedrooms,
        "bathrooms": clean.bathrooms,
        "sqft": clean.sqft,
        "year_built": clean.year_built,
        "contact_name": clean.contact_name,
        "contact_phone": clean.contact_phone,
        "contact_email": clean.contact_email,
        "dedup_key": clean.dedup_key,
    }
    for name in _FIELDS:
        new = values[name]
        if new is None:
            continue
        current = getattr(lead, name, None)
        if overwrite or current is None or (name == "property_type" and current == "OTHER"):
            setattr(lead, name, new)
        elif name == "description" and len(new) > len(current or "") * 1.5:
            setattr(lead, name, new)  # a much fuller description from another source wins
    photos = list(lead.photos or [])
    for url in clean.photos:
        if url not in photos:
            photos.append(url)
    lead.photos = photos[:MAX_PHOTOS]
    if overwrite and clean.lat is not None and clean.lng is not None:
        lead.location = point(clean.lat, clean.lng)
        if clean.posted_at is not None:
            lead.posted_at = clean.posted_at


def _as_listing(lead: Lead, clean: CleanListing) -> CleanListing:
    """The lead's merged state, seen as a listing (scores judge the merged lead, not one source)."""
    return CleanListing(
        source=lead.source,
        external_id=clean.external_id,
        url=lead.source_url,
        title=lead.title,
        description=lead.description,
        property_type=lead.property_type,
        street=lead.street,
        unit=None,
        city=lead.city,
        state=lead.state,
        zip=lead.zip,
        lat=clean.lat,
        lng=clean.lng,
        geo_precision=clean.geo_precision,
        asking_price=lead.asking_price,
        bedrooms=lead.bedrooms,
        bathrooms=lead.bathrooms,
        sqft=lead.sqft,
        year_built=lead.year_built,
        photos=list(lead.photos or []),
        posted_at=lead.posted_at,
        contact_name=lead.contact_name,
        contact_phone=lead.contact_phone,
        contact_email=lead.contact_email,
        dedup_key=lead.dedup_key,
        issues=list(clean.issues),
        hints=list(clean.hints),
    )


async def _score(session: AsyncSession, lead: Lead, clean: CleanListing) -> None:
    merged = _as_listing(lead, clean)
    lat, lng = lat_lng(lead.location)
    hood = await repo.neighbourhood(session, lead, lat, lng)
    fraud = assess_fraud(merged, hood)
    previous_hints = [s for s in (lead.fraud_signals or []) if s.startswith("AI review: ")]
    signals = list(fraud.signals)
    for hint in previous_hints:  # hints from another source's LLM review stay on the merged lead
        if hint not in signals:
            signals.append(hint)
    lead.fraud_score = fraud.score
    lead.fraud_signals = signals
    lead.quality_score = quality_score(merged)


def _first_price(session: AsyncSession, lead: Lead, now: datetime) -> None:
    quote = initial_price(LeadFacts.of(lead), now)
    lead.price_credits = quote.price
    lead.priced_at = now
    lead.reprice_due_at = quote.next_reprice_at
    session.add(
        PriceHistory(lead_id=lead.id, price=quote.price, reason=quote.reason or "initial price", at=now)
    )


def touched_leads(outcome: IngestOutcome) -> Sequence[Lead]:
    """The leads to index after the commit."""
    return list(outcome.touched.values())
