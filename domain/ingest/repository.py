"""SQL of ingestion: raw listings, lead sources, dedup candidates and neighbourhood facts."""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Float, and_, cast, func, or_, select, text, tuple_, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import ColumnElement

from aiqleads.domain.core.geo import METERS_PER_MILE, point
from aiqleads.domain.core.lead import Lead, LeadSourceRecord, RawListing
from aiqleads.domain.core.vocabulary import RETIRED_STATUSES
from aiqleads.domain.ingest.scoring import Neighbourhood

MAX_RECLEAN_BATCH = 5000
_RETIRED_SQL = ", ".join(f"'{status}'" for status in RETIRED_STATUSES)  # off-market leads merge nothing


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
        select(Lead, distance)
        .where(condition, Lead.status.not_in(RETIRED_STATUSES))
        .order_by(distance)
        .limit(limit)
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
        mine = description_fingerprint(lead.description)
        facts.duplicate_text = int(
            await session.scalar(
                select(func.count()).where(
                    Lead.id != lead.id, nearby, other_address, Lead.description_fingerprint == mine
                )
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


# ---- one statement per page: the batched forms used by store_batch --------------------------


@dataclass
class RawRow:
    """One page or listing to keep in raw_listings (the arguments of ``store_raw``)."""

    source: str
    url: str
    body: str
    region: str | None
    external_id: str | None
    http_status: int | None
    parsed: dict[str, Any] | None
    parse_error: str | None
    status: str


_RAW_UPDATED = ("http_status", "parsed", "parse_error", "status", "region")


def _raw_params(row: RawRow) -> dict[str, Any]:
    body = _pg_text(row.body)
    return {
        "source": row.source,
        "external_id": row.external_id,
        "url": row.url[:4000],
        "region": row.region,
        "http_status": row.http_status,
        "content_hash": content_hash(body),
        "body": body,
        "parsed": row.parsed,
        "parse_error": _pg_text(row.parse_error)[:4000] if row.parse_error else None,
        "status": row.status,
    }


async def store_raws(session: AsyncSession, rows: Sequence[RawRow]) -> list[int]:
    """``store_raw`` of many rows in one statement; returns each row's id.

    Rows of the same version (source, external id, hash) are folded the way consecutive upserts
    would leave them: the first one's inserted columns with the last one's updated columns.
    A row without an external id never conflicts and cannot be found by its key afterwards, so
    it is inserted on its own (rare: a broken listing whose id could not be read).
    """
    params = [_raw_params(row) for row in rows]
    alone: dict[int, int] = {}
    for n, row in enumerate(rows):
        if row.external_id is None:
            alone[n] = await store_raw(session, **vars(row))
    folded: dict[tuple[str, str, str], dict[str, Any]] = {}
    distinct: list[dict[str, Any]] = []
    for p in params:
        if p["external_id"] is None:
            continue
        key = (p["source"], p["external_id"], p["content_hash"])
        seen = folded.get(key)
        if seen is None:
            folded[key] = dict(p)
            distinct.append(folded[key])
        else:
            seen.update({name: p[name] for name in _RAW_UPDATED})
    statement = insert(RawListing)
    upsert = statement.on_conflict_do_update(
        constraint="uq_raw_listings_version",
        set_={
            "fetched_at": func.now(),
            **{name: getattr(statement.excluded, name) for name in _RAW_UPDATED},
        },
    ).returning(RawListing.id, RawListing.source, RawListing.external_id, RawListing.content_hash)
    ids: dict[tuple[str, str, str], int] = {}
    for start in range(0, len(distinct), 500):  # bounded bind parameters per statement
        result = await session.execute(upsert, distinct[start : start + 500])
        for raw_id, source, external_id, digest in result.all():
            if external_id is not None:
                ids[(source, external_id, digest)] = int(raw_id)
    return [
        alone[n] if p["external_id"] is None else ids[(p["source"], p["external_id"], p["content_hash"])]
        for n, p in enumerate(params)
    ]


async def mark_raws(
    session: AsyncSession, marks: Sequence[tuple[Sequence[int], str, uuid.UUID | None, str | None]]
) -> None:
    """``mark_raw`` of many groups in one statement; a raw id marked twice keeps its last mark."""
    last: dict[int, tuple[str, uuid.UUID | None, str | None]] = {}
    for raw_ids, status, lead_id, error in marks:
        for raw_id in raw_ids:
            last.pop(raw_id, None)  # re-insert: dict order = order of the last mark
            last[raw_id] = (status, lead_id, error[:4000] if error else None)
    if not last:
        return
    await session.execute(
        text(
            "UPDATE raw_listings AS r SET status = v.status, lead_id = v.lead_id, parse_error = v.error "
            "FROM unnest(CAST(:ids AS bigint[]), CAST(:statuses AS text[]), CAST(:leads AS uuid[]), "
            "CAST(:errors AS text[])) AS v(id, status, lead_id, error) WHERE r.id = v.id"
        ),
        {
            "ids": list(last),
            "statuses": [v[0] for v in last.values()],
            "leads": [v[1] for v in last.values()],
            "errors": [v[2] for v in last.values()],
        },
    )


async def lock_keys_at_once(session: AsyncSession, keys: Sequence[str]) -> None:
    """``lock_keys`` in one round trip: the function scan over the sorted array takes the locks in
    array order, so concurrent batches still never deadlock."""
    ordered = sorted(set(keys))
    if not ordered:
        return
    await session.execute(
        text(
            "SELECT count(pg_advisory_xact_lock(hashtextextended(k, 0))) "
            "FROM unnest(CAST(:keys AS text[])) AS k"
        ),
        {"keys": ordered},
    )


@dataclass
class SourceState:
    """What lead_sources knows of a listing: its lead and the digest of its last version."""

    lead_id: uuid.UUID
    content_hash: str


async def source_states(
    session: AsyncSession, keys: Sequence[tuple[str, str]]
) -> dict[tuple[str, str], SourceState]:
    """``source_record`` of many listings (source, external id) in one statement."""
    if not keys:
        return {}
    rows = await session.execute(
        select(
            LeadSourceRecord.source,
            LeadSourceRecord.external_id,
            LeadSourceRecord.lead_id,
            LeadSourceRecord.content_hash,
        ).where(tuple_(LeadSourceRecord.source, LeadSourceRecord.external_id).in_(list(set(keys))))
    )
    return {(s, e): SourceState(lead_id, digest) for s, e, lead_id, digest in rows.all()}


async def leads_by_id(session: AsyncSession, ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, Lead]:
    """These leads (through the identity map: rows already in the session keep their state)."""
    wanted = list(set(ids))
    if not wanted:
        return {}
    return {lead.id: lead for lead in await session.scalars(select(Lead).where(Lead.id.in_(wanted)))}


async def upsert_sources(
    session: AsyncSession, rows: Sequence[tuple[uuid.UUID, str, str, str | None, str]]
) -> None:
    """Attach listings to leads, or move/refresh them: (lead id, source, external id, url, digest)
    rows in one statement; the last row of a (source, external id) wins."""
    last: dict[tuple[str, str], dict[str, Any]] = {}
    for lead_id, source, external_id, url, digest in rows:
        last.pop((source, external_id), None)
        last[(source, external_id)] = {
            "lead_id": lead_id,
            "source": source,
            "external_id": external_id,
            "url": url,
            "content_hash": digest,
        }
    if not last:
        return
    statement = insert(LeadSourceRecord)
    await session.execute(
        statement.on_conflict_do_update(
            constraint="uq_lead_sources_source_external",
            set_={
                "lead_id": statement.excluded.lead_id,
                "url": statement.excluded.url,
                "content_hash": statement.excluded.content_hash,
                "seen_at": func.now(),
            },
        ),
        list(last.values()),
    )


async def touch_sources(session: AsyncSession, keys: Iterable[tuple[str, str]]) -> None:
    """``touch_source`` of many listings (source, external id) in one statement."""
    wanted = sorted(set(keys))
    if not wanted:
        return
    await session.execute(
        text(
            "UPDATE lead_sources AS s SET seen_at = now() "
            "FROM unnest(CAST(:sources AS text[]), CAST(:ids AS text[])) AS v(source, external_id) "
            "WHERE s.source = v.source AND s.external_id = v.external_id"
        ),
        {"sources": [k[0] for k in wanted], "ids": [k[1] for k in wanted]},
    )


def like_prefix(prefix: str) -> str:
    """The LIKE pattern of dedup keys starting with a street prefix (as ``dedup_candidates``)."""
    return prefix.replace("%", r"\%").replace("_", r"\_") + "%"


async def dedup_candidate_ids(
    session: AsyncSession,
    queries: Sequence[tuple[float, float, str | None]],
    *,
    near_meters: float,
    same_street_meters: float,
    limit: int = 10,
) -> list[list[tuple[uuid.UUID, float]]]:
    """``dedup_candidates`` of many (lat, lng, street prefix) in one statement: for each, the ids
    and distances of the same rows in the same order (the same PostGIS expressions, per query)."""
    if not queries:
        return []
    rows = await session.execute(
        text(
            "SELECT q.n, c.id, c.distance "
            "FROM unnest(CAST(:ns AS int[]), CAST(:wkts AS text[]), CAST(:likes AS text[])) "
            "  AS q(n, wkt, pattern) "
            "CROSS JOIN LATERAL ("
            "  SELECT l.id, ST_Distance(l.location, ST_GeomFromText(q.wkt, 4326)) AS distance "
            "  FROM leads AS l "
            "  WHERE (ST_DWithin(l.location, ST_GeomFromText(q.wkt, 4326), :near) "
            "         OR (q.pattern IS NOT NULL AND l.dedup_key LIKE q.pattern "
            "             AND ST_DWithin(l.location, ST_GeomFromText(q.wkt, 4326), :same_street))) "
            f"    AND l.status NOT IN ({_RETIRED_SQL}) "
            "  ORDER BY distance LIMIT :limit"
            ") AS c ORDER BY q.n, c.distance"
        ),
        {
            "ns": list(range(len(queries))),
            "wkts": [point(lat, lng).data for lat, lng, _ in queries],
            "likes": [like_prefix(prefix) if prefix else None for _, _, prefix in queries],
            "near": float(near_meters),
            "same_street": float(same_street_meters),
            "limit": limit,
        },
    )
    found: list[list[tuple[uuid.UUID, float]]] = [[] for _ in queries]
    for n, lead_id, distance in rows.all():
        found[n].append((lead_id, float(distance)))
    return found


def description_fingerprint(description: str | None) -> str | None:
    """The md5 ``neighbourhood`` compares descriptions by (None when too short to compare)."""
    if not description or len(description) < 60:
        return None
    return hashlib.md5(" ".join(description.lower().split()).encode()).hexdigest()


async def neighbourhoods(
    session: AsyncSession,
    leads: Sequence[tuple[Lead, float, float]],
    *,
    radius_miles: float = 3.0,
    copy_radius_miles: float = 50.0,
) -> list[Neighbourhood]:
    """``neighbourhood`` of many (lead, lat, lng) in one statement, each against the same rows."""
    if not leads:
        return []
    rows = await session.execute(
        text(
            "SELECT q.n, m.median, m.comparables, "
            "  CASE WHEN q.phone IS NULL AND q.email IS NULL THEN 0 ELSE ("
            "    SELECT count(*) FROM leads AS l WHERE l.id != q.id "
            "    AND (l.contact_phone = q.phone OR l.contact_email = q.email)) END, "
            # copies are found by their own index (fingerprint, photos) and only those few are
            # measured: OFFSET 0 keeps the distance out of the scan, which otherwise could read
            # every lead within the 50 miles (half the statement's time with a fresh table's
            # estimates)
            "  CASE WHEN q.fingerprint IS NULL THEN 0 ELSE ("
            "    SELECT count(*) FROM (SELECT l.location, l.dedup_key FROM leads AS l "
            "      WHERE l.id != q.id AND l.description_fingerprint = q.fingerprint OFFSET 0) AS l "
            "    WHERE ST_DWithin(l.location, ST_GeomFromText(q.wkt, 4326), :copy) "
            "    AND (l.dedup_key IS NULL OR l.dedup_key != q.dedup_key)) END, "
            "  CASE WHEN q.photos IS NULL THEN 0 ELSE ("
            "    SELECT count(*) FROM (SELECT l.location, l.dedup_key FROM leads AS l "
            "      WHERE l.id != q.id "
            "      AND l.photos && ARRAY(SELECT jsonb_array_elements_text(CAST(q.photos AS jsonb))) "
            "      OFFSET 0) AS l "
            "    WHERE ST_DWithin(l.location, ST_GeomFromText(q.wkt, 4326), :copy) "
            "    AND (l.dedup_key IS NULL OR l.dedup_key != q.dedup_key)) END "
            "FROM unnest(CAST(:ns AS int[]), CAST(:ids AS uuid[]), CAST(:wkts AS text[]), "
            "  CAST(:phones AS text[]), CAST(:emails AS text[]), CAST(:keys AS text[]), "
            "  CAST(:fingerprints AS text[]), CAST(:photos AS text[])) "
            "  AS q(n, id, wkt, phone, email, dedup_key, fingerprint, photos) "
            "CROSS JOIN LATERAL ("
            "  SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY CAST(l.asking_price AS FLOAT) / l.sqft) "
            "    AS median, count(*) AS comparables "
            "  FROM leads AS l WHERE l.id != q.id AND l.sqft > 0 AND l.asking_price > 0 "
            "    AND l.property_type NOT IN ('LAND') AND l.fraud_score < 0.5 "
            "    AND ST_DWithin(l.location, ST_GeomFromText(q.wkt, 4326), :radius)"
            ") AS m ORDER BY q.n"
        ),
        {
            "ns": list(range(len(leads))),
            "ids": [lead.id for lead, _, _ in leads],
            "wkts": [point(lat, lng).data for _, lat, lng in leads],
            "phones": [lead.contact_phone or None for lead, _, _ in leads],
            "emails": [lead.contact_email or None for lead, _, _ in leads],
            "keys": [lead.dedup_key or "" for lead, _, _ in leads],
            "fingerprints": [description_fingerprint(lead.description) for lead, _, _ in leads],
            "photos": [json.dumps(list(lead.photos)) if lead.photos else None for lead, _, _ in leads],
            "radius": radius_miles * METERS_PER_MILE,
            "copy": copy_radius_miles * METERS_PER_MILE,
        },
    )
    found: list[Neighbourhood] = []
    for _n, median, comparables, reuse, text_copies, photo_copies in rows.all():
        found.append(
            Neighbourhood(
                median_ppsf=float(median) if median is not None else None,
                comparables=int(comparables),
                radius_miles=radius_miles,
                contact_reuse=int(reuse),
                duplicate_text=int(text_copies),
                duplicate_photos=int(photo_copies),
            )
        )
    return found
