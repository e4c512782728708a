"""Bad-lead returns: within the window, once per purchase, refunded through the ledger."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from aiqleads.domain.cart import repository as repo
from aiqleads.domain.cart.checkout import PurchaseView
from aiqleads.domain.cart.events import Effects
from aiqleads.domain.cart.models import LeadReturn
from aiqleads.domain.credits import ledger
from aiqleads.domain.errors import DomainError, invalid_input, not_found
from aiqleads.domain.settings import Settings
from aiqleads.domain.text_input import reject_control_characters

RETURN_REASONS = ("BAD_PHONE", "DUPLICATE", "FRAUDULENT", "ALREADY_SOLD")
MAX_NOTE_LENGTH = 2000


@dataclass(frozen=True)
class ReturnResult:
    """The returned purchase, the credits refunded, and what to do once the return is committed."""

    purchase: PurchaseView
    refunded: int
    effects: Effects = field(default_factory=Effects)


async def return_lead(
    session: AsyncSession,
    settings: Settings,
    user_id: uuid.UUID,
    purchase_id: uuid.UUID,
    reason: str,
    note: str | None,
    now: datetime,
) -> ReturnResult:
    """Return a purchased lead for a listed reason: refund its price and free its seat."""
    if reason not in RETURN_REASONS:
        raise invalid_input(f"Reason must be one of {', '.join(RETURN_REASONS)}.", "reason")
    cleaned_note = note.strip() if note else None
    if cleaned_note and len(cleaned_note) > MAX_NOTE_LENGTH:
        raise invalid_input(f"The note must be at most {MAX_NOTE_LENGTH} characters.", "note")
    if cleaned_note:
        reject_control_characters(cleaned_note, "note", multiline=True)
    purchase = await repo.lock_purchase(session, user_id, purchase_id)
    if purchase is None:
        raise not_found("You have no purchase with this id.", "purchaseId")
    if purchase.returned_at is not None:
        raise DomainError("ALREADY_RETURNED", "This purchase was already returned.", "purchaseId")
    deadline = purchase.purchased_at + timedelta(days=settings.return_window_days)
    if now > deadline:
        raise DomainError(
            "RETURN_WINDOW_CLOSED",
            f"Leads can be returned within {settings.return_window_days} days of purchase; "
            f"this one was bought on {purchase.purchased_at.date().isoformat()}.",
            "purchaseId",
        )
    await repo.lock_leads(session, [purchase.lead_id])
    await repo.free_bought_seat(session, purchase.lead_id)
    refund = purchase.price
    session.add(
        LeadReturn(
            id=uuid.uuid4(),
            purchase_id=purchase.id,
            reason=reason,
            note=cleaned_note,
            status="APPROVED",
            refunded=refund,
            created_at=now,
        )
    )
    purchase.returned_at = now
    await session.flush()
    if refund > 0:
        await ledger.post(
            session, user_id, refund, "REFUND", f"Return of a lead ({reason})", ref=f"return:{purchase.id}"
        )
    lead = (await repo.refresh_leads(session, [purchase.lead_id]))[purchase.lead_id]
    # the freed seat changes the lead's availability, which search must pick up after the commit
    return ReturnResult(PurchaseView(purchase, lead), refund, Effects(changed_leads={lead.id}))


async def list_purchases(
    session: AsyncSession, user_id: uuid.UUID, first: int, after: uuid.UUID | None
) -> list[PurchaseView]:
    """The user's purchases, newest first, continuing after the purchase ``after``."""
    if first < 0 or first > 100:
        raise invalid_input("first must be between 0 and 100.", "first")
    anchor = None
    if after is not None:
        anchor = await repo.get_purchase(session, after)
        if anchor is None or anchor.user_id != user_id:
            raise invalid_input("Unknown cursor: pass the id of one of your purchases.", "after")
    rows = await repo.purchases_page(session, user_id, first, anchor)
    return [PurchaseView(purchase, lead) for purchase, lead in rows]


async def get_purchase(
    session: AsyncSession, user_id: uuid.UUID, purchase_id: uuid.UUID
) -> PurchaseView | None:
    """One of the user's purchases with its lead (None when missing or someone else's)."""
    row = await repo.purchase_with_lead(session, user_id, purchase_id)
    return PurchaseView(*row) if row is not None else None
