"""Ingestion, step two: keep raw pages and listings, then deduplicate, score and store leads
(created, updated in place, or merged as another source of an existing lead) inside the caller's
unit of work; flushes, never commits. Step one is ``domain/ingest/prepare.py``.
"""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field, fields
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from aiqleads.domain.core.geo import METERS_PER_MILE, SAME_STREET_METERS, haversine_miles, lat_lng, point
from aiqleads.domain.core.lead import Lead, PriceHistory
from aiqleads.domain.core.listings import CleanListing
from aiqleads.domain.core.seats import seats_for_quality
from aiqleads.domain.ingest import repository as repo
from aiqleads.domain.ingest.dedup import FUZZY_STREET_METERS, Candidate, best_match, street_prefix
from aiqleads.domain.ingest.prepare import PreparedBatch
from aiqleads.domain.ingest.scoring import Neighbourhood, assess_fraud, quality_score
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


# the fields of clean.to_json() the digest keeps; read directly, without asdict's deep copy (the
# values are scalars and lists of strings, which serialise the same either way)
_DIGEST_FIELDS = tuple(f.name for f in fields(CleanListing) if f.name not in ("posted_at", "url", "issues"))


def listing_digest(clean: CleanListing) -> str:
    """A fingerprint of a listing's content (not its URL or posting time: "3 days ago" drifts)."""
    data = {name: getattr(clean, name) for name in _DIGEST_FIELDS}
    return repo.content_hash(json.dumps(data, sort_keys=True, default=str))


async def store_batch(
    session: AsyncSession, settings: Settings, prepared: PreparedBatch, *, now: datetime | None = None
) -> IngestOutcome:
    """Keep raw pages and listings, then create/update/merge leads; flushes, never commits.

    Every step is one statement for the whole page (raw rows, locks, source lookups, dedup
    candidates, lead writes, marks, neighbourhoods) instead of one per listing; the listings are
    still decided one after another, each seeing what the earlier ones did (see _Deduper).
    """
    now = now or datetime.now(UTC)
    batch = prepared.batch
    outcome = IngestOutcome(pages=sum(1 for p in batch.pages if p.kind == "search"))
    raw_rows: list[repo.RawRow] = []
    detail_slot: dict[str, int] = {}
    for page in batch.pages:
        raw_rows.append(
            repo.RawRow(
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
        )
        if page.kind == "detail" and page.external_id and not page.error:
            detail_slot[page.external_id] = len(raw_rows) - 1
    for failure in batch.failures:
        raw_rows.append(
            repo.RawRow(
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
        )
        outcome.failed += 1
    listing_slot: list[int] = []
    for item in prepared.listings:
        listing_slot.append(len(raw_rows))
        raw_rows.append(
            repo.RawRow(
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
        )
    raw_ids = await repo.store_raws(session, raw_rows)

    ok = [item.clean for item in prepared.listings if item.ok]
    await repo.lock_keys_at_once(session, [_lock_key(clean) for clean in ok])
    deduper = await _Deduper.load(session, ok)
    marks: list[tuple[list[int], str, uuid.UUID | None, str | None]] = []
    scored: dict[uuid.UUID, CleanListing] = {}
    for n, item in enumerate(prepared.listings):
        raw_group = [raw_ids[listing_slot[n]]]
        if item.raw.external_id in detail_slot:
            raw_group.append(raw_ids[detail_slot[item.raw.external_id]])
        if not item.ok:
            outcome.rejected += 1
            marks.append((raw_group, "REJECTED", None, "; ".join(item.problems)))
            continue
        lead, kind = await deduper.upsert(item.clean, now)
        marks.append((raw_group, "INGESTED", lead.id, item.detail_error))
        getattr(outcome, kind).append(lead.id)
        if kind != "unchanged":
            outcome.touched[lead.id] = lead
            scored[lead.id] = item.clean
    await session.flush()
    await deduper.write_sources()
    await repo.mark_raws(session, marks)

    created = set(outcome.created)
    located = [(outcome.touched[lead_id], *lat_lng(outcome.touched[lead_id].location)) for lead_id in scored]
    hoods = await repo.neighbourhoods(session, located)
    for (lead, _lat, _lng), hood in zip(located, hoods, strict=True):
        _score(lead, scored[lead.id], hood)
        if lead.id in created:  # an existing lead keeps its seats: buyers may already hold them
            lead.max_buyers = seats_for_quality(
                lead.quality_score, settings.exclusive_quality_threshold, settings.shared_lead_seats
            )
            _first_price(session, lead, now)
    await session.flush()
    return outcome


def _lock_key(clean: CleanListing) -> str:
    """What two concurrent batches must not dedup at the same time: the street line, else the area."""
    prefix = street_prefix(clean.dedup_key)
    if prefix:
        return f"ingest:{prefix}"
    return f"ingest:geo:{round(clean.lat or 0.0, 2)}:{round(clean.lng or 0.0, 2)}"


# How far a lead written earlier in the batch may be and still matter to a later listing's
# candidate query: the query's radii, plus the gap between our sphere and PostGIS's spheroid.
_NEAR_MARGIN = 1.01
_MARGIN_METERS = 1.0


def _may_reach(lead_lat: float, lead_lng: float, lead_key: str | None, clean: CleanListing) -> bool:
    """Could this lead be one of the listing's dedup candidates (over-approximated)?"""
    assert clean.lat is not None and clean.lng is not None
    meters = haversine_miles(clean.lat, clean.lng, lead_lat, lead_lng) * METERS_PER_MILE
    if meters <= FUZZY_STREET_METERS * _NEAR_MARGIN + _MARGIN_METERS:
        return True
    if meters > SAME_STREET_METERS * _NEAR_MARGIN + _MARGIN_METERS:
        return False
    prefix = street_prefix(clean.dedup_key)
    if not prefix:
        return False
    # LIKE treats a backslash as an escape: then only "anything on that street" is safe
    return "\\" in prefix or (lead_key or "").startswith(prefix)


class _Deduper:
    """Creates, updates or merges leads for the listings of one batch, in order.

    The rows each listing would read (its lead_sources row and lead, its dedup candidates) are read
    for the whole batch at once, before the first write. A listing may only use them when nothing
    written earlier in the batch could change its answer: its known source comes from the batch
    itself, and its candidate query is run again (the original per-listing one, after a flush)
    whenever a lead written earlier in the batch might be among its candidates.
    """

    def __init__(
        self,
        session: AsyncSession,
        known: dict[tuple[str, str], repo.SourceState],
        leads: dict[uuid.UUID, Lead],
        candidates: dict[tuple[str, str], list[tuple[uuid.UUID, float]]],
    ) -> None:
        self.session = session
        self.known = known
        self.leads = leads
        self.candidates = candidates
        self.written: dict[uuid.UUID, tuple[float, float]] = {}  # leads written so far: their point
        self.unflushed = False
        self.sources: list[tuple[uuid.UUID, str, str, str | None, str]] = []
        self.touched: set[tuple[str, str]] = set()

    @classmethod
    async def load(cls, session: AsyncSession, listings: Sequence[CleanListing]) -> _Deduper:
        """Read what the listings need (three statements)."""
        keys = [(clean.source, clean.external_id) for clean in listings]
        known = await repo.source_states(session, keys)
        unknown = [clean for clean in listings if (clean.source, clean.external_id) not in known]
        queries: list[tuple[float, float, str | None]] = []
        for clean in unknown:
            assert clean.lat is not None and clean.lng is not None
            queries.append((clean.lat, clean.lng, street_prefix(clean.dedup_key)))
        found = await repo.dedup_candidate_ids(
            session, queries, near_meters=FUZZY_STREET_METERS, same_street_meters=SAME_STREET_METERS
        )
        candidates = {(c.source, c.external_id): rows for c, rows in zip(unknown, found, strict=True)}
        wanted = {state.lead_id for state in known.values()}
        wanted.update(lead_id for rows in found for lead_id, _ in rows)
        return cls(session, known, await repo.leads_by_id(session, wanted), candidates)

    def _wrote(self, lead: Lead) -> None:
        self.written[lead.id] = lat_lng(lead.location)
        self.unflushed = True

    async def _candidates(self, clean: CleanListing) -> list[tuple[Lead, float]]:
        assert clean.lat is not None and clean.lng is not None
        read = self.candidates.get((clean.source, clean.external_id))
        stale = read is None or any(
            lead_id in self.written or lead_id not in self.leads for lead_id, _ in read
        )
        if not stale:
            for lead_id, (lat, lng) in self.written.items():
                if _may_reach(lat, lng, self.leads[lead_id].dedup_key, clean):
                    stale = True
                    break
        if not stale and read is not None:
            return [(self.leads[lead_id], distance) for lead_id, distance in read]
        if self.unflushed:
            await self.session.flush()
            self.unflushed = False
        return await repo.dedup_candidates(
            self.session,
            clean.lat,
            clean.lng,
            street_prefix=street_prefix(clean.dedup_key),
            near_meters=FUZZY_STREET_METERS,
            same_street_meters=SAME_STREET_METERS,
        )

    async def upsert(self, clean: CleanListing, now: datetime) -> tuple[Lead, str]:
        """Decide one listing: unchanged, updated in place, merged into a lead, or a new lead."""
        assert clean.lat is not None and clean.lng is not None
        digest = listing_digest(clean)
        key = (clean.source, clean.external_id)
        known = self.known.get(key)
        if known is not None:
            lead = self.leads.get(known.lead_id)
            if lead is None:
                lead = await self.session.get(Lead, known.lead_id)
            if lead is not None:
                self.leads[lead.id] = lead
                if known.content_hash == digest:
                    self.touched.add(key)
                    return lead, "unchanged"
                _apply(lead, clean, overwrite=True)
                self._attach(lead, clean, digest)
                return lead, "updated"
        rows = await self._candidates(clean)
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
            self._attach(match, clean, digest)
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
        self.session.add(lead)
        self._attach(lead, clean, digest)
        return lead, "created"

    def _attach(self, lead: Lead, clean: CleanListing, digest: str) -> None:
        key = (clean.source, clean.external_id)
        self.leads[lead.id] = lead
        self.known[key] = repo.SourceState(lead.id, digest)
        self.sources.append((lead.id, clean.source, clean.external_id, clean.url, digest))
        self._wrote(lead)

    async def write_sources(self) -> None:
        """The lead_sources rows of the batch (after the leads are flushed)."""
        await repo.upsert_sources(self.session, self.sources)
        await repo.touch_sources(self.session, self.touched)


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


def _score(lead: Lead, clean: CleanListing, hood: Neighbourhood) -> None:
    merged = _as_listing(lead, clean)
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
