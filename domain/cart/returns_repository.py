"""SQL of bad-lead return requests and their review.

Lock order (a refinement of the cart's "cart → leads → user"): the buyer's return-request lock
(an advisory lock, taken only by requests) → the return row → the purchase row → the lead → the
user row (taken by the ledger). No path takes them in another order, so no two transactions
deadlock.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from aiqleads.domain.cart.models import LeadReturn
from aiqleads.domain.core.lead import Lead, LeadSourceRecord, RawListing
from aiqleads.domain.core.seats import Purchase


async def lock_buyer_requests(session: AsyncSession, user_id: uuid.UUID) -> None:
    """Serialise the return requests of one buyer until the transaction ends.

    A transaction-scoped advisory lock rather than the user row: the user row comes last in the
    lock order (the ledger takes it), so taking it first here could deadlock with checkout.
    """
    await session.execute(select(func.pg_advisory_xact_lock(func.hashtextextended(f"returns:{user_id}", 0))))


async def return_of_purchase(session: AsyncSession, purchase_id: uuid.UUID) -> LeadReturn | None:
    """The return request of a purchase, if one was made (there is at most one)."""
    rows = await session.scalars(
        select(LeadReturn)
        .where(LeadReturn.purchase_id == purchase_id)
        .execution_options(populate_existing=True)
    )
    return rows.first()


async def count_requests_since(session: AsyncSession, user_id: uuid.UUID, since: datetime) -> int:
    """How many return requests (any status) the buyer made at or after ``since``."""
    value = await session.scalar(
        select(func.count())
        .select_from(LeadReturn)
        .where(LeadReturn.user_id == user_id, LeadReturn.created_at >= since)
    )
    return int(value or 0)


async def lock_return(session: AsyncSession, return_id: uuid.UUID) -> LeadReturn | None:
    """A return request locked FOR UPDATE (current values, even after a concurrent review)."""
    rows = await session.scalars(
        select(LeadReturn)
        .where(LeadReturn.id == return_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    return rows.first()


async def lock_purchase_by_id(session: AsyncSession, purchase_id: uuid.UUID) -> Purchase | None:
    """A purchase locked FOR UPDATE, whoever made it."""
    rows = await session.scalars(
        select(Purchase)
        .where(Purchase.id == purchase_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    return rows.first()


async def get_return(session: AsyncSession, return_id: uuid.UUID) -> LeadReturn | None:
    """One return request by id, whoever made it."""
    return await session.get(LeadReturn, return_id)


async def returns_of_purchases(
    session: AsyncSession, purchase_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, LeadReturn]:
    """The return request of each of these purchases that has one, by purchase id (one statement)."""
    if not purchase_ids:
        return {}
    rows = await session.scalars(select(LeadReturn).where(LeadReturn.purchase_id.in_(list(purchase_ids))))
    return {row.purchase_id: row for row in rows}


async def pending_page(session: AsyncSession, first: int, after: LeadReturn | None) -> list[LeadReturn]:
    """Return requests waiting for review, oldest first, continuing after ``after`` (keyset)."""
    stmt = select(LeadReturn).where(LeadReturn.status == "PENDING")
    if after is not None:
        stmt = stmt.where(
            (LeadReturn.created_at > after.created_at)
            | ((LeadReturn.created_at == after.created_at) & (LeadReturn.id > after.id))
        )
    rows = await session.scalars(stmt.order_by(LeadReturn.created_at, LeadReturn.id).limit(first))
    return list(rows)


MAX_DUPLICATES = 20


@dataclass(frozen=True)
class OwnedDuplicate:
    """A lead the buyer owns that is the same property as another, with its contact (the caller
    compares contacts: a duplicate with another contact is no proof)."""

    id: uuid.UUID
    contact_phone: str | None
    contact_email: str | None


async def owned_duplicates(
    session: AsyncSession, user_id: uuid.UUID, lead_id: uuid.UUID, same_street_meters: float
) -> list[OwnedDuplicate]:
    """Other leads the buyer owns (bought, not returned) that are the same property as ``lead_id``.

    Ingestion merges every listing of one property into one lead (``lead_sources`` keeps them
    all); two leads for one property exist only when dedup could not join them. They are taken to
    be the same property when the evidence is as strong as what dedup itself merges on:

    - the same dedup key (USPS-normalized street line, unit and ZIP) within ``same_street_meters``
      of each other, the rule by which dedup merges with full confidence; or
    - a listing in common: one (source, external id) that was attached to both leads (a listing
      moves between leads when it is re-ingested, and ``raw_listings`` remembers the lead each
      version became), or the same listing URL among their sources.

    Returns at most ``MAX_DUPLICATES`` such leads, by id (none when there is none).
    """
    this = aliased(Lead)
    other = aliased(Lead)
    mine_src = aliased(LeadSourceRecord)
    their_src = aliased(LeadSourceRecord)
    mine_raw = aliased(RawListing)
    their_raw = aliased(RawListing)
    same_address = and_(
        this.dedup_key.is_not(None),
        other.dedup_key == this.dedup_key,
        func.ST_DWithin(other.location, this.location, same_street_meters),
    )
    same_listing = (
        select(mine_src.id)
        .join(
            their_src,
            or_(
                and_(their_src.source == mine_src.source, their_src.external_id == mine_src.external_id),
                and_(mine_src.url.is_not(None), their_src.url == mine_src.url),
            ),
        )
        .where(mine_src.lead_id == this.id, their_src.lead_id == other.id)
        .exists()
    )
    same_raw_listing = (
        select(mine_raw.id)
        .join(
            their_raw,
            and_(their_raw.source == mine_raw.source, their_raw.external_id == mine_raw.external_id),
        )
        .where(mine_raw.lead_id == this.id, their_raw.lead_id == other.id, mine_raw.external_id.is_not(None))
        .exists()
    )
    same_url = and_(this.source_url.is_not(None), other.source_url == this.source_url)
    rows = await session.execute(
        select(other.id, other.contact_phone, other.contact_email)
        .join(Purchase, Purchase.lead_id == other.id)
        .join(this, this.id == lead_id)
        .where(
            Purchase.user_id == user_id,
            Purchase.returned_at.is_(None),
            other.id != lead_id,
            or_(same_address, same_url, same_listing, same_raw_listing),
        )
        .order_by(other.id)
        .limit(MAX_DUPLICATES)
    )
    return [OwnedDuplicate(*row) for row in rows.tuples()]
