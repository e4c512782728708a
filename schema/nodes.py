"""The Relay `node(id)` entry point over every type that implements Node."""

from __future__ import annotations

from typing import Annotated

import strawberry
from strawberry.types import Info

from aiqleads.resolvers import nodes as resolve
from aiqleads.resolvers.context import Context
from aiqleads.schema.cart import LeadReturn, Purchase
from aiqleads.schema.common import Node
from aiqleads.schema.credits import CreditTransaction, Payment
from aiqleads.schema.leads import Lead
from aiqleads.schema.users import User


@strawberry.type
class NodeQuery:
    """The Relay node(id) query field."""

    @strawberry.field(
        description=(
            "Any object by its global id: any Lead; your own User, Purchase, LeadReturn, "
            "CreditTransaction or Payment (admins: any LeadReturn). "
            "Null when not found or not visible to you."
        )
    )
    async def node(
        self,
        info: Info[Context, None],
        id: Annotated[strawberry.ID, strawberry.argument(description="Global id.")],
    ) -> Node | None:
        found = await resolve.node_by_id(info.context, id)
        if found is None:
            return None
        if found.type_name == "Lead":
            return Lead.from_row(found.value)
        if found.type_name == "User":
            return User.from_domain(found.value)
        if found.type_name == "Purchase":
            return Purchase.from_domain(found.value)
        if found.type_name == "Payment":
            return Payment.from_domain(found.value)
        if found.type_name == "LeadReturn":
            return LeadReturn.from_domain(found.value)
        return CreditTransaction.from_domain(found.value)
