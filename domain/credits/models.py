"""The append-only credit ledger and idempotency records."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, CheckConstraint, DateTime, ForeignKey, Index, String, Text, func
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from aiqleads.domain.db import Base

LEDGER_KINDS = ("GRANT", "PACK_PURCHASE", "MONTHLY_ALLOWANCE", "SPEND", "REFUND", "REVERSAL", "ADJUSTMENT")


class CreditLedgerEntry(Base):
    """One signed movement of credits; balance_after chains entries and is never negative."""

    __tablename__ = "credit_ledger"
    __table_args__ = (
        CheckConstraint("balance_after >= 0", name="balance_after_not_negative"),
        CheckConstraint("amount <> 0", name="amount_not_zero"),
        CheckConstraint(
            "kind IN ('GRANT','PACK_PURCHASE','MONTHLY_ALLOWANCE','SPEND','REFUND','REVERSAL','ADJUSTMENT')",
            name="kind_valid",
        ),
        Index("ix_credit_ledger_user_id_id", "user_id", "id"),
        # exactly-once grants: one allowance per paid period, one pack per payment, one refund per return,
        # one REVERSAL (clawback of a refunded or disputed payment) per payment
        Index(
            "uq_credit_ledger_user_kind_ref",
            "user_id",
            "kind",
            "ref",
            unique=True,
            postgresql_where="ref IS NOT NULL",
        ),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    # RESTRICT: the ledger is the financial record; deleting a user never deletes it
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"))
    amount: Mapped[int] = mapped_column(BigInteger)
    balance_after: Mapped[int] = mapped_column(BigInteger)
    kind: Mapped[str] = mapped_column(String(24))
    reason: Mapped[str] = mapped_column(Text)
    ref: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class IdempotencyRecord(Base):
    """The first result of an idempotent mutation, replayed for retries with the same key."""

    __tablename__ = "idempotency_records"
    __table_args__ = (Index("ix_idempotency_records_created_at", "created_at"),)

    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    operation: Mapped[str] = mapped_column(String(40), primary_key=True)
    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    request_hash: Mapped[str] = mapped_column(String(64))
    response: Mapped[dict[str, Any]] = mapped_column(JSONB)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
