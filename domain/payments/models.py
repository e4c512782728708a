"""Payments: one row per charge we asked a payment provider for (credit packs and paid tiers)."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import BigInteger, CheckConstraint, DateTime, ForeignKey, Index, Integer, String, Text, func
from sqlalchemy.dialects.postgresql import UUID
from sqlalchemy.orm import Mapped, mapped_column

from aiqleads.domain.db import Base

PAYMENT_STATUSES = ("CREATING", "PENDING", "SUCCEEDED", "FAILED")
PAYMENT_PURPOSES = ("CREDIT_PACK", "TIER")


class Payment(Base):
    """A charge for a credit pack or a tier period; fulfilled exactly once when it succeeds.

    CREATING: the row exists but the provider has not answered yet (the call happens outside the
    transaction); PENDING: the provider holds a payment waiting for the customer; SUCCEEDED and
    FAILED are final (fulfilment happens on the move to SUCCEEDED, under this row's lock).

    ``refunded_at`` / ``disputed_at``: when the provider reported a full refund / a dispute of the
    charge (each recorded once). The first of them reverses what the payment granted (a paid
    period ended, a pack's credits clawed back, what could not be in ``failure_reason``); the status
    stays SUCCEEDED (it did succeed), or becomes FAILED when the reversal overtook the success.
    A payment with either set is never fulfilled.
    """

    __tablename__ = "payments"
    __table_args__ = (
        CheckConstraint("status IN ('CREATING','PENDING','SUCCEEDED','FAILED')", name="status_valid"),
        CheckConstraint("purpose IN ('CREDIT_PACK','TIER')", name="purpose_valid"),
        CheckConstraint("amount_cents > 0", name="amount_positive"),
        Index("uq_payments_user_purpose_key", "user_id", "purpose", "idempotency_key", unique=True),
        Index(
            "uq_payments_provider_payment_id",
            "provider",
            "provider_payment_id",
            unique=True,
            postgresql_where="provider_payment_id IS NOT NULL",
        ),
        Index("ix_payments_user_created", "user_id", "created_at"),
        # the worker's "awaiting a webhook" gauge reads only recent pending payments
        Index("ix_payments_pending_created", "created_at", postgresql_where="status = 'PENDING'"),
    )

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True, default=uuid.uuid4)
    # RESTRICT: a payment is a financial record, never deleted with its user
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"))
    purpose: Mapped[str] = mapped_column(String(16))
    product: Mapped[str] = mapped_column(String(32))  # the pack name or the tier
    credits: Mapped[int] = mapped_column(Integer, server_default="0")
    amount_cents: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    provider: Mapped[str] = mapped_column(String(16))
    provider_payment_id: Mapped[str | None] = mapped_column(String(255))
    client_secret: Mapped[str | None] = mapped_column(Text)
    idempotency_key: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(16), server_default="CREATING")
    failure_reason: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    completed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    refunded_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    disputed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    @property
    def reversed(self) -> bool:
        """Whether the provider reported a full refund or a dispute of this payment."""
        return self.refunded_at is not None or self.disputed_at is not None
