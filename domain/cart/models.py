"""Carts and return requests (the seat rows, holds and purchases, are in aiqleads.domain.core.seats)."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import CheckConstraint, DateTime, ForeignKey, Index, Integer, func
from sqlalchemy.dialects.postgresql import UUID
from sqlalchemy.orm import Mapped, mapped_column

from aiqleads.domain.db import Base


class Cart(Base):
    """A buyer's cart; expires_at is the cart-wide timer set by the first hold."""

    __tablename__ = "carts"

    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    expires_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    started_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class LeadReturn(Base):
    """A bad-lead return request of a purchase (at most one per purchase), reviewed once."""

    __tablename__ = "lead_returns"
    __table_args__ = (
        CheckConstraint(
            "reason IN ('BAD_PHONE','DUPLICATE','FRAUDULENT','ALREADY_SOLD')", name="reason_valid"
        ),
        CheckConstraint("status IN ('PENDING','APPROVED','REJECTED')", name="status_valid"),
        CheckConstraint("refunded >= 0", name="refunded_not_negative"),
        Index("ix_lead_returns_user_created", "user_id", "created_at"),
        Index("ix_lead_returns_status_created", "status", "created_at"),
    )

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True, default=uuid.uuid4)
    purchase_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("purchases.id", ondelete="CASCADE"), unique=True
    )
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    reason: Mapped[str] = mapped_column()
    note: Mapped[str | None] = mapped_column()
    status: Mapped[str] = mapped_column(server_default="PENDING")
    refunded: Mapped[int] = mapped_column(Integer, server_default="0")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    reviewed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # null with a reviewed_at: approved automatically by a check the system could verify
    reviewer_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    review_note: Mapped[str | None] = mapped_column()
