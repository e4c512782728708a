"""The user row: the account every area reads — its tier and paid period (limits and discounts, see
aiqleads.domain.core.plans) and its credit balance (a cache of the credit ledger)."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import BigInteger, CheckConstraint, DateTime, Index, String, func, text
from sqlalchemy.dialects.postgresql import UUID
from sqlalchemy.orm import Mapped, mapped_column

from aiqleads.domain.db import Base


class User(Base):
    """A buyer (or operator when role is admin); credit balance is a cache of the ledger."""

    __tablename__ = "users"
    __table_args__ = (
        CheckConstraint("tier IN ('FREE','PRO','ENTERPRISE')", name="tier_valid"),
        CheckConstraint("role IN ('user','admin')", name="role_valid"),
        CheckConstraint("credit_balance >= 0", name="balance_not_negative"),
        Index("uq_users_email_lower", text("lower(email)"), unique=True),
    )

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True, default=uuid.uuid4)
    email: Mapped[str] = mapped_column(String(320))
    name: Mapped[str] = mapped_column(String(200))
    password_hash: Mapped[str] = mapped_column(String(255))
    tier: Mapped[str] = mapped_column(String(16), server_default="FREE")
    role: Mapped[str] = mapped_column(String(16), server_default="user")
    credit_balance: Mapped[int] = mapped_column(BigInteger, server_default="0")
    # a paid tier counts only while its period is paid; null on FREE (and on a lapsed paid tier)
    tier_paid_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
