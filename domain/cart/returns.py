"""Bad-lead returns: a buyer requests a return within the window; what the system can verify is
approved at once, the rest waits for an admin's review; an approval refunds once through the ledger."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from aiqleads.domain.cart import repository as repo
from aiqleads.domain.cart import returns_repository as returns_repo
from aiqleads.domain.cart.checkout import PurchaseView
from aiqleads.domain.cart.events import Effects
from aiqleads.domain.cart.models import LeadReturn
from aiqleads.domain.core.geo import SAME_STREET_METERS
from aiqleads.domain.core.lead import Lead
from aiqleads.domain.core.phones import normalize_phone
from aiqleads.domain.core.seats import Purchase
from aiqleads.domain.credits import ledger
from aiqleads.domain.errors import DomainError, ErrorCode, invalid_input, not_found
from aiqleads.domain.settings import Settings
from aiqleads.domain.text_input import reject_control_characters

RETURN_REASONS = ("BAD_PHONE", "DUPLICATE", "FRAUDULENT", "ALREADY_SOLD")
RETURN_STATUSES = ("PENDING", "APPROVED", "REJECTED")
MAX_NOTE_LENGTH = 2000
LIMIT_PERIOD = timedelta(days=30)
MAX_REVIEW_PAGE = 100


@dataclass(frozen=True)
class ReturnResult:
    """The purchase and its return request after a request or a review, the credits this call
    refunded (0 unless it approved the return), and what to do once it is committed."""

    purchase: PurchaseView
    lead_return: LeadReturn
    refunded: int
    effects: Effects = field(default_factory=Effects)


def _clean_note(note: str | None, field_name: str) -> str | None:
    cleaned = note.strip() if note else None
    if cleaned and len(cleaned) > MAX_NOTE_LENGTH:
        raise invalid_input(f"The note must be at most {MAX_NOTE_LENGTH} characters.", field_name)
    if cleaned:
        reject_control_characters(cleaned, field_name, multiline=True)
    return cleaned or None


def _require_admin(role: str) -> None:
    if role != "admin":
        raise DomainError(ErrorCode.FORBIDDEN, "Only admins review returns.")


def _email_key(email: str | None) -> str | None:
    cleaned = email.strip().casefold() if email else ""
    return cleaned or None


def _same_contact(lead: Lead, other: returns_repo.OwnedDuplicate) -> bool:
    """Whether two leads name one contact: the same valid phone (normalized) or the same e-mail
    (case-insensitively). A missing or invalid value matches nothing."""
    phone = normalize_phone(lead.contact_phone)
    email = _email_key(lead.contact_email)
    return (phone is not None and phone == normalize_phone(other.contact_phone)) or (
        email is not None and email == _email_key(other.contact_email)
    )


async def _verified(
    session: AsyncSession, settings: Settings, purchase: Purchase, lead: Lead, reason: str
) -> str | None:
    """Why the system can confirm the reason by itself (the automatic review note), or None.

    Only what the buyer could not have known, or exploited, when buying is verified; the rest
    waits for an admin:

    - BAD_PHONE: the lead was sold with a contact phone and it fails the cleaning pipeline's
      validation. A lead without any phone is sellable (the contact is optional, an e-mail may be
      all it has), and the buyer saw that before buying: an admin decides.
    - DUPLICATE: the buyer owns another lead that is the same property (see
      ``returns_repository.owned_duplicates`` for the rule) with the same contact (the same
      normalized phone, or the same e-mail case-insensitively). Duplicates with different contacts
      (an agent's and an owner's) would leave the buyer with a contact they did not pay for.
    - FRAUDULENT: the lead's fraud score was below ``settings.fraud_return_threshold`` when it was
      bought and is now at or above it (scores are recomputed whenever a source of the lead is
      ingested again). The score is public: a lead bought as suspicious was bought knowingly, and
      a purchase without a recorded score cannot be verified.
    - ALREADY_SOLD cannot be verified from our data: an admin decides.
    """
    threshold = settings.fraud_return_threshold
    if reason == "BAD_PHONE":
        phone = (lead.contact_phone or "").strip()
        if phone and normalize_phone(phone) is None:
            return "Verified automatically: the contact phone is not a valid number."
        return None
    if reason == "DUPLICATE":
        others = await returns_repo.owned_duplicates(session, purchase.user_id, lead.id, SAME_STREET_METERS)
        if any(_same_contact(lead, other) for other in others):
            return (
                "Verified automatically: you already own another lead for the same property "
                "with the same contact."
            )
        return None
    if reason == "FRAUDULENT":
        before = purchase.fraud_score_at_purchase
        if before is not None and before < threshold <= lead.fraud_score:
            return (
                f"Verified automatically: the lead's fraud score is {lead.fraud_score:.2f}, "
                f"at or above {threshold:.2f}; it was {before:.2f} when you bought it."
            )
        return None
    return None


async def _approve(
    session: AsyncSession,
    lead_return: LeadReturn,
    purchase: Purchase,
    now: datetime,
    reviewer_id: uuid.UUID | None,
    review_note: str | None,
) -> int:
    """Approve a pending return (caller holds the return, purchase and lead locks): free the seat,
    hide the contact again and refund the price once; returns the credits refunded."""
    await repo.free_bought_seat(session, purchase.lead_id)
    refund = purchase.price
    purchase.returned_at = now
    lead_return.status = "APPROVED"
    lead_return.refunded = refund
    lead_return.reviewed_at = now
    lead_return.reviewer_id = reviewer_id
    lead_return.review_note = review_note
    await session.flush()
    if refund > 0:
        await ledger.post(
            session,
            purchase.user_id,
            refund,
            "REFUND",
            f"Return of a lead ({lead_return.reason})",
            ref=f"return:{purchase.id}",
        )
    return refund


async def return_lead(
    session: AsyncSession,
    settings: Settings,
    user_id: uuid.UUID,
    purchase_id: uuid.UUID,
    reason: str,
    note: str | None,
    now: datetime,
) -> ReturnResult:
    """Request the return of a purchased lead for a listed reason, within the return window.

    At most one request per purchase and ``settings.max_returns_per_30_days`` requests per buyer
    in any 30 days (RETURN_LIMIT; requests of one buyer are serialised, so the limit holds under
    concurrency). A reason the system can verify (see ``_verified``) is approved at once: the
    price is refunded, the seat freed and the contact hidden again. Anything else stays PENDING
    for an admin (``review_return``) and changes nothing else.
    """
    if reason not in RETURN_REASONS:
        raise invalid_input(f"Reason must be one of {', '.join(RETURN_REASONS)}.", "reason")
    cleaned_note = _clean_note(note, "note")
    await returns_repo.lock_buyer_requests(session, user_id)
    purchase = await repo.lock_purchase(session, user_id, purchase_id)
    if purchase is None:
        raise not_found("You have no purchase with this id.", "purchaseId")
    existing = await returns_repo.return_of_purchase(session, purchase.id)
    if purchase.returned_at is not None or existing is not None:
        state = existing.status.lower() if existing is not None else "approved"
        raise DomainError(
            ErrorCode.ALREADY_RETURNED,
            f"A return of this purchase was already requested ({state}).",
            "purchaseId",
        )
    deadline = purchase.purchased_at + timedelta(days=settings.return_window_days)
    if now > deadline:
        raise DomainError(
            ErrorCode.RETURN_WINDOW_CLOSED,
            f"Leads can be returned within {settings.return_window_days} days of purchase; "
            f"this one was bought on {purchase.purchased_at.date().isoformat()}.",
            "purchaseId",
        )
    recent = await returns_repo.count_requests_since(session, user_id, now - LIMIT_PERIOD)
    if recent >= settings.max_returns_per_30_days:
        raise DomainError(
            ErrorCode.RETURN_LIMIT,
            f"At most {settings.max_returns_per_30_days} return requests are allowed in 30 days.",
            "purchaseId",
        )
    await repo.lock_leads(session, [purchase.lead_id])
    lead = (await repo.refresh_leads(session, [purchase.lead_id]))[purchase.lead_id]
    verdict = await _verified(session, settings, purchase, lead, reason)
    lead_return = LeadReturn(
        id=uuid.uuid4(),
        purchase_id=purchase.id,
        user_id=user_id,
        reason=reason,
        note=cleaned_note,
        status="PENDING",
        refunded=0,
        created_at=now,
    )
    session.add(lead_return)
    await session.flush()
    if verdict is None:
        return ReturnResult(PurchaseView(purchase, lead), lead_return, 0)
    refund = await _approve(session, lead_return, purchase, now, None, verdict)
    lead = (await repo.refresh_leads(session, [purchase.lead_id]))[purchase.lead_id]
    # the freed seat changes the lead's availability, which search must pick up after the commit
    return ReturnResult(PurchaseView(purchase, lead), lead_return, refund, Effects(changed_leads={lead.id}))


async def review_return(
    session: AsyncSession,
    reviewer_id: uuid.UUID,
    reviewer_role: str,
    return_id: uuid.UUID,
    approve: bool,
    note: str | None,
    now: datetime,
) -> ReturnResult:
    """An admin approves or rejects a pending return, once (FORBIDDEN for others).

    The return row is locked, so concurrent reviews of one return run one after the other and
    all but the first get ALREADY_REVIEWED; an approval refunds the price exactly once (the
    ledger reference ``return:<purchase id>`` backs this up), frees the seat and hides the
    contact again; a rejection changes nothing but the return.
    """
    _require_admin(reviewer_role)
    cleaned_note = _clean_note(note, "note")
    lead_return = await returns_repo.lock_return(session, return_id)
    if lead_return is None:
        raise not_found("There is no return with this id.", "returnId")
    if lead_return.status != "PENDING":
        raise DomainError(
            ErrorCode.ALREADY_REVIEWED, f"This return was already {lead_return.status.lower()}.", "returnId"
        )
    purchase = await returns_repo.lock_purchase_by_id(session, lead_return.purchase_id)
    assert purchase is not None  # a return is deleted with its purchase
    refund = 0
    effects = Effects()
    if approve:
        await repo.lock_leads(session, [purchase.lead_id])
        refund = await _approve(session, lead_return, purchase, now, reviewer_id, cleaned_note)
        effects = Effects(changed_leads={purchase.lead_id})
    else:
        lead_return.status = "REJECTED"
        lead_return.reviewed_at = now
        lead_return.reviewer_id = reviewer_id
        lead_return.review_note = cleaned_note
        await session.flush()
    lead = (await repo.refresh_leads(session, [purchase.lead_id]))[purchase.lead_id]
    return ReturnResult(PurchaseView(purchase, lead), lead_return, refund, effects)


async def returns_to_review(
    session: AsyncSession, reviewer_role: str, first: int, after: uuid.UUID | None
) -> list[LeadReturn]:
    """Pending return requests, oldest first, continuing after the return ``after`` (admins only)."""
    _require_admin(reviewer_role)
    if first < 0 or first > MAX_REVIEW_PAGE:
        raise invalid_input(f"first must be between 0 and {MAX_REVIEW_PAGE}.", "first")
    anchor = None
    if after is not None:
        anchor = await returns_repo.get_return(session, after)
        if anchor is None:
            raise invalid_input("Unknown cursor: pass the id of a return.", "after")
    return await returns_repo.pending_page(session, first, anchor)


async def get_return(
    session: AsyncSession, viewer_id: uuid.UUID, viewer_role: str, return_id: uuid.UUID
) -> LeadReturn | None:
    """A return request as its buyer or an admin may see it (None when missing or not visible)."""
    lead_return = await returns_repo.get_return(session, return_id)
    if lead_return is None or (lead_return.user_id != viewer_id and viewer_role != "admin"):
        return None
    return lead_return


async def returns_of_purchases(
    session: AsyncSession, purchase_ids: list[uuid.UUID]
) -> dict[uuid.UUID, LeadReturn]:
    """The return request of each purchase that has one, by purchase id (callers check ownership)."""
    return await returns_repo.returns_of_purchases(session, purchase_ids)


async def purchases_by_id(
    session: AsyncSession, purchase_ids: list[uuid.UUID]
) -> dict[uuid.UUID, PurchaseView]:
    """These purchases with their leads, by id (callers check who may see them)."""
    rows = await repo.purchases_with_leads(session, purchase_ids)
    return {purchase.id: PurchaseView(purchase, lead) for purchase, lead in rows}


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
