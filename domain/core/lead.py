"""The lead row (and its sources, raw scraped listings and price history): the table every area reads."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from geoalchemy2 import Geography, Geometry
from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Computed,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    cast,
    func,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB, TSVECTOR, UUID
from sqlalchemy.orm import Mapped, mapped_column

from aiqleads.domain.core.vocabulary import LEAD_SOURCES, LEAD_STATUSES, PROPERTY_TYPES
from aiqleads.domain.db import Base, sql_in

EMBEDDING_DIM = 384  # the lead embedding (aiqleads.domain.recommendations.models.LeadEmbedding)
# The values PostgreSQL fills in when an insert leaves these columns out. A row added in another
# session may not have them loaded yet; readers that must not round-trip (the search document) use
# these same values, so the two can never disagree.
SERVER_DEFAULTS: dict[str, Any] = {
    "quality_score": 0.5,
    "fraud_score": 0.0,
    "price_credits": 10,
    "max_buyers": 1,
    "buyers_count": 0,
    "holds_count": 0,
    "status": "AVAILABLE",
}

PUBLIC_LOCATION_SQL = "ST_SnapToGrid(location::geometry, 0.01)::geography"
_SEARCH_TSV = (
    "setweight(to_tsvector('english', coalesce(title, '')), 'A') || "
    "setweight(to_tsvector('english', coalesce(city, '') || ' ' || coalesce(state, '')), 'B') || "
    "setweight(to_tsvector('english', coalesce(description, '')), 'C')"
)

# what the fraud signals compare descriptions by (``repository.description_fingerprint`` is the
# other side): stored and indexed, so a copied-text check is an index lookup instead of an md5 of
# every description within 50 miles for each new lead
DESCRIPTION_FINGERPRINT_SQL = r"md5(lower(regexp_replace(description, '\s+', ' ', 'g')))"


def _default(column: str) -> str:
    value = SERVER_DEFAULTS[column]
    return format(value, "g") if isinstance(value, float) else str(value)


class Lead(Base):
    """A sellable lead: a cleaned, scored, priced property listing."""

    __tablename__ = "leads"
    __table_args__ = (
        CheckConstraint(sql_in("source", LEAD_SOURCES), name="source_valid"),
        CheckConstraint(sql_in("property_type", PROPERTY_TYPES), name="property_type_valid"),
        CheckConstraint(sql_in("status", LEAD_STATUSES), name="status_valid"),
        CheckConstraint("max_buyers BETWEEN 1 AND 5", name="max_buyers_range"),
        CheckConstraint("buyers_count >= 0 AND holds_count >= 0", name="counts_not_negative"),
        CheckConstraint("buyers_count + holds_count <= max_buyers", name="no_oversell"),
        CheckConstraint("quality_score BETWEEN 0 AND 1", name="quality_range"),
        CheckConstraint("fraud_score BETWEEN 0 AND 1", name="fraud_range"),
        CheckConstraint("price_credits >= 0", name="price_not_negative"),
        Index("ix_leads_location_gist", "location", postgresql_using="gist"),
        Index("ix_leads_public_location_gist", "public_location", postgresql_using="gist"),
        Index("ix_leads_search_tsv", "search_tsv", postgresql_using="gin"),
        Index("ix_leads_posted_at_id", "posted_at", "id"),
        Index("ix_leads_price_id", "price_credits", "id"),
        Index("ix_leads_quality_id", "quality_score", "id"),
        Index("ix_leads_city_state", "city", "state"),
        Index("ix_leads_zip", "zip"),
        Index("ix_leads_dedup_key", "dedup_key"),
        # the fraud signals' lookups (contact reuse, copied text, copied photos): without them each
        # new lead's check read every lead (contacts) or every lead in its metro (text, photos)
        Index("ix_leads_contact_phone", "contact_phone"),
        Index("ix_leads_contact_email", "contact_email"),
        Index("ix_leads_description_fingerprint", "description_fingerprint"),
        # no pending list (migration 0011): each new lead looks its photos up right after inserts
        Index("ix_leads_photos_gin", "photos", postgresql_using="gin", postgresql_with={"fastupdate": "off"}),
        Index("ix_leads_reprice_due", "reprice_due_at", postgresql_where="reprice_due_at IS NOT NULL"),
        # the hourly age sweep (domain/ingest/expiry.py) reads only leads still on the market
        Index(
            "ix_leads_on_market_posted_at",
            "posted_at",
            postgresql_where="status IN ('AVAILABLE', 'SOLD_OUT')",
        ),
    )

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True, default=uuid.uuid4)
    source: Mapped[str] = mapped_column(String(16))
    source_url: Mapped[str | None] = mapped_column(Text)
    property_type: Mapped[str] = mapped_column(String(20))
    title: Mapped[str] = mapped_column(Text)
    description: Mapped[str | None] = mapped_column(Text)
    description_fingerprint: Mapped[str | None] = mapped_column(
        Text, Computed(DESCRIPTION_FINGERPRINT_SQL, persisted=True), deferred=True, deferred_raiseload=True
    )
    street: Mapped[str | None] = mapped_column(Text)
    city: Mapped[str] = mapped_column(String(120))
    state: Mapped[str] = mapped_column(String(2))
    zip: Mapped[str] = mapped_column(String(10))
    location: Mapped[Any] = mapped_column(Geography("POINT", srid=4326, spatial_index=False))
    # the point everyone may know (0.01° grid): every geo filter, sort and distance shown to
    # non-buyers runs on it, so no sequence of queries can home in on the exact point
    public_location: Mapped[Any] = mapped_column(
        Geography("POINT", srid=4326, spatial_index=False),
        Computed(PUBLIC_LOCATION_SQL, persisted=True),
        deferred=True,
        deferred_raiseload=True,
    )
    asking_price: Mapped[int | None] = mapped_column(BigInteger)
    bedrooms: Mapped[int | None] = mapped_column(Integer)
    bathrooms: Mapped[float | None] = mapped_column(Float)
    sqft: Mapped[int | None] = mapped_column(Integer)
    year_built: Mapped[int | None] = mapped_column(Integer)
    photos: Mapped[list[str]] = mapped_column(ARRAY(Text), server_default="{}")
    posted_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    quality_score: Mapped[float] = mapped_column(Float, server_default=_default("quality_score"))
    fraud_score: Mapped[float] = mapped_column(Float, server_default=_default("fraud_score"))
    fraud_signals: Mapped[list[str]] = mapped_column(ARRAY(Text), server_default="{}")
    contact_name: Mapped[str | None] = mapped_column(Text)
    contact_phone: Mapped[str | None] = mapped_column(String(20))
    contact_email: Mapped[str | None] = mapped_column(String(320))
    price_credits: Mapped[int] = mapped_column(Integer, server_default=_default("price_credits"))
    max_buyers: Mapped[int] = mapped_column(Integer, server_default=_default("max_buyers"))
    buyers_count: Mapped[int] = mapped_column(Integer, server_default=_default("buyers_count"))
    holds_count: Mapped[int] = mapped_column(Integer, server_default=_default("holds_count"))
    status: Mapped[str] = mapped_column(String(16), server_default=_default("status"))
    dedup_key: Mapped[str | None] = mapped_column(Text)
    search_tsv: Mapped[Any] = mapped_column(
        TSVECTOR, Computed(_SEARCH_TSV, persisted=True), deferred=True, deferred_raiseload=True
    )
    reprice_due_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    priced_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), onupdate=func.now()
    )


class LeadSourceRecord(Base):
    """One listing on one source that was merged into a lead (dedup keeps all of them)."""

    __tablename__ = "lead_sources"
    __table_args__ = (
        UniqueConstraint("source", "external_id", name="uq_lead_sources_source_external"),
        Index("ix_lead_sources_source_region", "source", "region"),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    lead_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("leads.id", ondelete="CASCADE"), index=True)
    source: Mapped[str] = mapped_column(String(16))
    external_id: Mapped[str] = mapped_column(Text)
    url: Mapped[str | None] = mapped_column(Text)
    content_hash: Mapped[str | None] = mapped_column(String(64))
    seen_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    # the region of the last recorded scrape that saw the listing, and how many complete scrapes of
    # that source and region have missed it since (domain/ingest/expiry.py): NULL/0 until then
    region: Mapped[str | None] = mapped_column(Text)
    missed_scrapes: Mapped[int] = mapped_column(Integer, server_default="0")


class RawListing(Base):
    """A page or record exactly as fetched, kept for audit and re-parsing."""

    __tablename__ = "raw_listings"
    __table_args__ = (
        UniqueConstraint("source", "external_id", "content_hash", name="uq_raw_listings_version"),
        Index("ix_raw_listings_status", "status"),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    source: Mapped[str] = mapped_column(String(16))
    external_id: Mapped[str | None] = mapped_column(Text)
    url: Mapped[str] = mapped_column(Text)
    region: Mapped[str | None] = mapped_column(Text)
    fetched_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    http_status: Mapped[int | None] = mapped_column(Integer)
    content_hash: Mapped[str] = mapped_column(String(64))
    body: Mapped[str] = mapped_column(Text)
    parsed: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    parse_error: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), server_default="NEW")
    lead_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("leads.id", ondelete="SET NULL"))


class PriceHistory(Base):
    """Every change of a lead's credit price, with the explanation of the factors."""

    __tablename__ = "price_history"
    __table_args__ = (Index("ix_price_history_lead_at", "lead_id", "at"),)

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    lead_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("leads.id", ondelete="CASCADE"))
    price: Mapped[int] = mapped_column(Integer)
    reason: Mapped[str] = mapped_column(Text)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


# The one column set of a lead as the search index sees it (the document is built from these, with
# latitude/longitude extracted in SQL). The street and contact are read only to redact them from
# the indexed text: they are never indexed.
INDEX_COLUMNS = (
    Lead.id,
    Lead.source,
    Lead.property_type,
    Lead.title,
    Lead.description,
    Lead.street,
    Lead.source_url,
    Lead.contact_name,
    Lead.contact_phone,
    Lead.contact_email,
    Lead.city,
    Lead.state,
    Lead.zip,
    Lead.asking_price,
    Lead.bedrooms,
    Lead.bathrooms,
    Lead.sqft,
    Lead.year_built,
    Lead.posted_at,
    Lead.quality_score,
    Lead.fraud_score,
    Lead.price_credits,
    Lead.max_buyers,
    Lead.buyers_count,
    Lead.holds_count,
    Lead.status,
    Lead.updated_at,
    func.ST_Y(cast(Lead.location, Geometry)).label("lat"),
    func.ST_X(cast(Lead.location, Geometry)).label("lng"),
)
