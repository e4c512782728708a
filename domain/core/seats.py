"""Seat accounting: the rows that take a lead's seats (holds and purchases) and the rules over them.

A lead has ``max_buyers`` seats; each purchase (not returned) and each hold takes one, and the database
enforces ``buyers_count + holds_count <= max_buyers``. The cart takes seats, the leads listing shows
what is left and filters on availability, the search document indexes it: they all read it here.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import (
    CheckConstraint,
    ColumnElement,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    UniqueConstraint,
    and_,
    func,
    select,
)
from sqlalchemy.dialects.postgresql import UUID
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from aiqleads.domain.core.lead import Lead
from aiqleads.domain.db import Base

AVAILABLE = "AVAILABLE"
MAX_SEATS = 5  # the schema's bound on max_buyers (check constraint max_buyers_range)


def seats_for_quality(quality: float, exclusive_threshold: float, shared_seats: int) -> int:
    """The seats policy of a newly scraped lead: exclusive (one buyer) at or above the quality
    threshold, else shared by up to ``shared_seats`` buyers (clamped to 1..5).

    A shared lead is cheaper per seat and rises as seats fill (the pricing engine's scarcity
    multiplier), so a middling lead sells to several buyers while a strong one is sold once, dearly.
    """
    if quality >= exclusive_threshold:
        return 1
    return max(1, min(MAX_SEATS, shared_seats))


class Hold(Base):
    """One seat of a lead reserved by a buyer, at a frozen price, until held_until."""

    __tablename__ = "holds"
    __table_args__ = (
        UniqueConstraint("user_id", "lead_id", name="uq_holds_user_lead"),
        CheckConstraint("extensions_used >= 0", name="extensions_not_negative"),
        Index("ix_holds_held_until", "held_until"),
        Index("ix_holds_lead_id", "lead_id"),
    )

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True, default=uuid.uuid4)
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("carts.user_id", ondelete="CASCADE"))
    lead_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("leads.id", ondelete="CASCADE"))
    price: Mapped[int] = mapped_column(Integer)
    # the lead's price before the tier discount, so checkout can re-apply the tier the buyer has then
    base_price: Mapped[int | None] = mapped_column(Integer)
    held_until: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    extensions_used: Mapped[int] = mapped_column(Integer, server_default="0")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class Purchase(Base):
    """A lead bought by a buyer; unique per buyer and lead."""

    __tablename__ = "purchases"
    __table_args__ = (
        UniqueConstraint("user_id", "lead_id", name="uq_purchases_user_lead"),
        CheckConstraint("price >= 0", name="price_not_negative"),
        Index("ix_purchases_user_purchased", "user_id", "purchased_at"),
        Index("ix_purchases_lead_id", "lead_id"),
    )

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True, default=uuid.uuid4)
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    lead_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("leads.id", ondelete="RESTRICT"))
    price: Mapped[int] = mapped_column(Integer)
    checkout_key: Mapped[str | None] = mapped_column()
    # what the lead's fraud score was when bought: a FRAUDULENT return is verifiable only if the
    # score crossed the threshold afterwards (a lead bought as suspicious is the buyer's choice)
    fraud_score_at_purchase: Mapped[float | None] = mapped_column()
    purchased_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    returned_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


def is_available(
    status: str | None, buyers_count: int | None, holds_count: int | None, max_buyers: int
) -> bool:
    """Whether a lead can still be held: listed as AVAILABLE with a seat neither bought nor held."""
    return status == AVAILABLE and (buyers_count or 0) + (holds_count or 0) < max_buyers


def available_sql() -> ColumnElement[bool]:
    """`is_available` as a SQL condition on the leads table."""
    return and_(Lead.status == AVAILABLE, Lead.buyers_count + Lead.holds_count < Lead.max_buyers)


def seats_for_viewer(lead: Any, held_by_others: int = 0) -> int:
    """Seats the viewer could still take: max buyers − purchases − others' active holds, never negative.

    The viewer's own hold is not subtracted: the seat it holds is the viewer's to buy.
    """
    return max(0, int(lead.max_buyers) - int(lead.buyers_count) - held_by_others)


async def purchased_lead_ids(
    session: AsyncSession, user_id: uuid.UUID, lead_ids: Sequence[uuid.UUID]
) -> set[uuid.UUID]:
    """Which of these leads the user bought (and did not return)."""
    rows = await session.scalars(
        select(Purchase.lead_id).where(
            Purchase.user_id == user_id, Purchase.lead_id.in_(lead_ids), Purchase.returned_at.is_(None)
        )
    )
    return set(rows)


async def active_holds_of_others(
    session: AsyncSession, user_id: uuid.UUID | None, lead_ids: Sequence[uuid.UUID], now: datetime
) -> dict[uuid.UUID, int]:
    """Count of unexpired holds on each lead by anyone other than the user."""
    conditions = [Hold.lead_id.in_(lead_ids), Hold.held_until > now]
    if user_id is not None:
        conditions.append(Hold.user_id != user_id)
    rows = await session.execute(
        select(Hold.lead_id, func.count()).where(and_(*conditions)).group_by(Hold.lead_id)
    )
    return {lead_id: count for lead_id, count in rows.tuples()}
