"""Resolve a Relay global id to whatever it names, within what the viewer may see."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from aiqleads.domain.cart import returns
from aiqleads.domain.core.visibility import may_look_up_node
from aiqleads.domain.credits import ledger
from aiqleads.domain.leads import repository as leads_repo
from aiqleads.domain.payments import service as payments
from aiqleads.domain.users import service as users
from aiqleads.resolvers.context import Context
from aiqleads.resolvers.errors import query_errors
from aiqleads.resolvers.ids import from_global_id, uuid_of
from aiqleads.resolvers.leads import viewer_kind


@dataclass(frozen=True)
class FoundNode:
    """The object behind an id and the GraphQL type it is shown as."""

    type_name: str
    value: Any


@query_errors
async def node_by_id(ctx: Context, global_id: str) -> FoundNode | None:
    """Any Lead; the viewer's own User, Purchases, LeadReturns, CreditTransactions and Payments (admins:
    any User and any LeadReturn)."""
    type_name, raw = from_global_id(global_id)
    if not may_look_up_node(viewer_kind(ctx), type_name):  # the visibility policy decides
        return None
    if type_name == "Lead":
        lead_id = uuid_of(global_id, "Lead")
        async with ctx.read_session() as session:
            lead = await leads_repo.get_lead(session, lead_id)
        return FoundNode("Lead", lead) if lead is not None else None
    viewer = ctx.viewer
    if viewer is None:  # the policy lets only signed-in viewers look up the other types
        return None
    async with ctx.read_session() as session:
        if type_name == "User":
            user = await users.user_visible_to(session, viewer, uuid_of(global_id, "User"))
            return FoundNode("User", user) if user is not None else None
        if type_name == "Purchase":
            purchase = await returns.get_purchase(session, viewer.id, uuid_of(global_id, "Purchase"))
            return FoundNode("Purchase", purchase) if purchase is not None else None
        if type_name == "Payment":
            payment = await payments.get_payment(session, viewer.id, uuid_of(global_id, "Payment"))
            return FoundNode("Payment", payment) if payment is not None else None
        if type_name == "LeadReturn":
            lead_return = await returns.get_return(
                session, viewer.id, viewer.role, uuid_of(global_id, "LeadReturn")
            )
            return FoundNode("LeadReturn", lead_return) if lead_return is not None else None
        if not (raw.isascii() and raw.isdigit()):  # "²" passes isdigit() but int() rejects it
            return None
        entry = await ledger.get_entry(session, viewer.id, int(raw))
        return FoundNode("CreditTransaction", entry) if entry is not None else None
