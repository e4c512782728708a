"""What recommendations keep in PostgreSQL: a buyer's interactions and the profile built from them."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from pgvector.sqlalchemy import Vector
from sqlalchemy import CheckConstraint, DateTime, ForeignKey, Index, Integer, String, func
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlalchemy.orm import Mapped, mapped_column

from aiqleads.domain.core.lead import EMBEDDING_DIM
from aiqleads.domain.db import Base


class LeadEmbedding(Base):
    """A lead's vector, the model that computed it and a hash of the text it embedded.

    A table of its own, not columns of ``leads``: writing a vector then touches one narrow row and
    two indexes, instead of rewriting the wide lead row, its twelve indexes and its generated
    search text (which capped bulk embedding near 285 rows/s before the model did any work).
    """

    __tablename__ = "lead_embeddings"
    __table_args__ = (
        Index(
            "ix_lead_embeddings_hnsw",
            "embedding",
            postgresql_using="hnsw",
            postgresql_with={"m": 16, "ef_construction": 64},
            postgresql_ops={"embedding": "vector_cosine_ops"},
        ),
        Index("ix_lead_embeddings_text_hash", "text_hash"),
    )

    lead_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("leads.id", ondelete="CASCADE"), primary_key=True
    )
    # vectors of different models are never compared; a lead is re-embedded when its text changes
    embedding_model: Mapped[str] = mapped_column(String(64))
    text_hash: Mapped[str] = mapped_column(String(32))
    embedding: Mapped[Any] = mapped_column(Vector(EMBEDDING_DIM))


class LeadInteraction(Base):
    """The latest time a user viewed or held a lead (purchases are read from `purchases`)."""

    __tablename__ = "lead_interactions"
    __table_args__ = (
        CheckConstraint("kind IN ('VIEW','HOLD')", name="kind_valid"),
        Index("ix_lead_interactions_user_at", "user_id", "at"),
    )

    user_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    lead_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("leads.id", ondelete="CASCADE"), primary_key=True
    )
    kind: Mapped[str] = mapped_column(String(8), primary_key=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class BuyerProfile(Base):
    """A user's taste as one vector: the recency-weighted mean of the leads they viewed, held, bought."""

    __tablename__ = "buyer_profiles"

    user_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    embedding_model: Mapped[str] = mapped_column(String(64))
    embedding: Mapped[Any] = mapped_column(Vector(EMBEDDING_DIM))
    interactions: Mapped[int] = mapped_column(Integer)
    # [{kind, property_type, city, state, count}] of the leads behind the vector (for the reasons)
    summary: Mapped[list[dict[str, Any]]] = mapped_column(JSONB)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
