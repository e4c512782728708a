"""Checkout: buy every actively held lead, all or nothing, in one transaction."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from aiqleads.domain.cart import repository as repo
from aiqleads.domain.cart.events import CartEvent, Effects
from aiqleads.domain.cart.repository import LockedLead
from aiqleads.domain.core.lead import Lead
from aiqleads.domain.core.plans import discounted, effective_tier, plan_for
from aiqleads.domain.core.seats import Hold, Purchase
from aiqleads.domain.core.visibility import redact
from aiqleads.domain.credits import idempotency, ledger
from aiqleads.domain.errors import DomainError, ErrorCode
from aiqleads.domain.pricing.signals import user_actor

OPERATION = "checkout"
SPEND: ledger.LedgerKind = "SPEND"


class HoldExpiredError(DomainError):
    """HOLD_EXPIRED for one lead of the cart (the edge names the lead by its public id)."""

    def __init__(self, lead: LockedLead) -> None:
        super().__init__(
            ErrorCode.HOLD_EXPIRED,
            # the buyer has not bought it yet: the title as any non-buyer may read it
            f"Your hold on “{redact(lead.title, lead)}” expired before checkout; "
            "add the lead again to buy it.",
            str(lead.id),
        )
        self.lead_id = lead.id


@dataclass(frozen=True)
class PurchaseView:
    """A purchase with its lead."""

    purchase: Purchase
    lead: Lead


@dataclass
class CheckoutResult:
    """What a checkout bought, what it cost and the balance after it."""

    purchases: list[PurchaseView]
    credits_spent: int
    balance: int
    replayed: bool = False
    effects: Effects = field(default_factory=Effects)


def checkout_price(hold: Hold, tier: str) -> int:
    """What a held lead costs at checkout: its frozen price, unless the tier's discount shrank since."""
    if hold.base_price is None:
        return hold.price
    return max(hold.price, discounted(hold.base_price, tier))


async def _replay(session: AsyncSession, response: dict[str, object]) -> CheckoutResult:
    raw_ids = response.get("purchase_ids")
    ids = [uuid.UUID(str(i)) for i in raw_ids] if isinstance(raw_ids, list) else []
    rows = await repo.purchases_with_leads(session, ids)
    by_id = {purchase.id: PurchaseView(purchase, lead) for purchase, lead in rows}
    spent = response.get("credits_spent", 0)
    balance = response.get("balance", 0)
    return CheckoutResult(
        [by_id[i] for i in ids if i in by_id],
        int(spent) if isinstance(spent, int) else 0,
        int(balance) if isinstance(balance, int) else 0,
        replayed=True,
    )


async def _expired(session: AsyncSession, lead_id: uuid.UUID) -> HoldExpiredError:
    # the lead is read only for the error's message (the transaction is rolled back)
    leads = await repo.lock_leads(session, [lead_id])
    return HoldExpiredError(leads[lead_id])


async def checkout(session: AsyncSession, user_id: uuid.UUID, key: str, now: datetime) -> CheckoutResult:
    """Buy the cart: debit the ledger, create purchases, fill seats, empty the cart.

    The same key returns the first result; the same key with a different cart is
    IDEMPOTENCY_CONFLICT; an expired hold is HOLD_EXPIRED naming the lead; a short balance is
    INSUFFICIENT_CREDITS. Any failure leaves everything as it was.
    """
    key = idempotency.check_key(key)
    cart = await repo.lock_cart_row(session, user_id)  # serialises checkouts (and retries) of this buyer
    # the user locked, the holds, the first result under the key, and the timer cleared (a
    # checkout empties the cart); the leads are locked last, by the sale (repository: lock order)
    user, holds, record = await repo.take_cart(session, user_id, OPERATION, key)
    lead_ids = sorted(h.lead_id for h in holds)
    hashed = idempotency.request_hash({"leads": [str(i) for i in lead_ids]})
    if record is not None:
        if not holds or record.request_hash == hashed:
            return await _replay(session, record.response)
        raise DomainError(
            ErrorCode.IDEMPOTENCY_CONFLICT,
            "This idempotency key was already used for a checkout of a different cart.",
            "idempotencyKey",
        )
    if not holds:
        raise DomainError(ErrorCode.CART_EMPTY, "Your cart is empty: add leads before checking out.")
    cart_deadline = cart.expires_at  # as locked, before take_cart cleared it
    for hold in sorted(holds, key=lambda h: h.held_until):
        if hold.held_until <= now or (cart_deadline is not None and cart_deadline <= now):
            raise await _expired(session, hold.lead_id)
    # the tier's limits are those in effect now: upgrade → hold → downgrade gains nothing
    tier = effective_tier(user.tier, user.tier_paid_until, now)
    plan = plan_for(tier)
    if len(holds) > plan.max_cart_items:
        raise DomainError(
            ErrorCode.CART_FULL,
            f"The {plan.tier} tier buys at most {plan.max_cart_items} leads at once; "
            f"your cart holds {len(holds)}. Remove some, or upgrade, to check out.",
        )
    prices = {h.id: checkout_price(h, tier) for h in holds}
    total = sum(prices.values())
    if user.credit_balance < total:
        raise DomainError(
            ErrorCode.INSUFFICIENT_CREDITS,
            f"The cart costs {total} credits but your balance is {user.credit_balance}.",
        )
    balance = user.credit_balance - total
    spend = None
    if total > 0:  # as ledger.post posts it, in the sale's statement
        spend = {
            "amount": -total,
            "balance_after": balance,
            "kind": SPEND,
            "reason": f"Checkout of {len(holds)} lead(s)",
            "ref": f"checkout:{key}",
        }
    # each with its lead's score as sold (the sale reads it with the lead's lock, so no rescoring
    # lands before the commit): a FRAUDULENT return is verified only when the score crossed the
    # threshold after the purchase
    bought = [
        {
            "id": uuid.uuid4(),
            "user_id": user_id,
            "lead_id": h.lead_id,
            "price": prices[h.id],
            "checkout_key": key,
            "purchased_at": now,
        }
        for h in holds
    ]
    response = {"purchase_ids": [str(p["id"]) for p in bought], "credits_spent": total, "balance": balance}
    first_result = {"user_id": user_id, "operation": OPERATION, "key": key, "request_hash": hashed}
    # lead locks, seats, holds, spend, purchases and the first result under the key: one
    # statement, after which only the commit is left of the lead locks' hold time; a part that did
    # not take is raised, rolling the rest back
    sale = await repo.complete_sale(
        session, [h.id for h in holds], bought, spend, {**first_result, "response": response}
    )
    if len(sale.released) != len(holds):  # another buyer reclaimed a seat whose hold had just run out
        raise await _expired(session, min({h.lead_id for h in holds} - sale.released))
    if sale.spent is False:
        raise DomainError(
            ErrorCode.IDEMPOTENCY_CONFLICT,
            "This idempotency key was already used for a checkout.",
            "idempotencyKey",
        )
    if not sale.result_stored:
        raise DomainError(
            ErrorCode.IDEMPOTENCY_CONFLICT,
            "Another request with this idempotency key was processed at the same time.",
            "idempotencyKey",
        )
    if sale.spent:
        ledger.note_posted(session, user, SPEND, -total)
    views = [PurchaseView(p, sale.leads[p.lead_id]) for p in sale.purchases]
    effects = Effects()
    effects.events.append(CartEvent(user_id, "CHECKED_OUT", None, None, None, now))
    effects.signals.extend((lead_id, "purchase", user_actor(user_id)) for lead_id in lead_ids)
    return CheckoutResult(views, total, balance, effects=effects)
