"""GraphQL types and operations of credits: the ledger, packs and tier changes."""

from __future__ import annotations

from datetime import datetime
from enum import Enum
from typing import Annotated, Any

import strawberry
from strawberry.types import Info

from aiqleads.domain.errors import DomainError
from aiqleads.resolvers import credits as resolve
from aiqleads.resolvers.context import Context
from aiqleads.resolvers.ids import to_global_id
from aiqleads.schema.common import Node, PageInfo, UserError
from aiqleads.schema.users import Tier, User


@strawberry.enum(description="Credit packs for sale: STARTER 50, GROWTH 250, BULK 1000 credits.")
class CreditPack(Enum):
    STARTER = "STARTER"
    GROWTH = "GROWTH"
    BULK = "BULK"


@strawberry.type(description="One entry of the viewer's append-only credit ledger.")
class CreditTransaction(Node):
    id: strawberry.ID = strawberry.field(description="Opaque global id.")
    amount: int = strawberry.field(description="Signed amount: positive credits in, negative credits spent.")
    balance_after: int = strawberry.field(description="The balance right after this entry.")
    kind: str = strawberry.field(description="GRANT, PACK_PURCHASE, MONTHLY_ALLOWANCE, SPEND or REFUND.")
    reason: str = strawberry.field(description="Human-readable explanation.")
    created_at: datetime = strawberry.field(description="When it was recorded.")

    @classmethod
    def from_domain(cls, row: Any) -> CreditTransaction:
        """Map a ledger entry."""
        return cls(
            id=strawberry.ID(to_global_id("CreditTransaction", row.id)),
            amount=row.amount,
            balance_after=row.balance_after,
            kind=row.kind,
            reason=row.reason,
            created_at=row.created_at,
        )


@strawberry.type(description="A ledger entry in a connection, with its cursor.")
class CreditTransactionEdge:
    cursor: str = strawberry.field(description="Opaque cursor for pagination.")
    node: CreditTransaction = strawberry.field(description="The ledger entry.")


@strawberry.type(description="A page of the viewer's ledger, newest first.")
class CreditTransactionConnection:
    edges: list[CreditTransactionEdge] = strawberry.field(description="The entries of this page.")
    page_info: PageInfo = strawberry.field(description="Pagination state.")
    total_count: int = strawberry.field(description="Number of entries in the viewer's ledger.")


@strawberry.type(description="Result of buyCredits.")
class CreditPayload:
    balance: int | None = strawberry.field(default=None, description="The balance afterwards.")
    transaction: CreditTransaction | None = strawberry.field(
        default=None, description="The ledger entry crediting the pack."
    )
    errors: list[UserError] = strawberry.field(default_factory=list, description="Expected failures.")


@strawberry.type(description="Result of changeTier.")
class UserPayload:
    user: User | None = strawberry.field(default=None, description="The user after the change.")
    errors: list[UserError] = strawberry.field(default_factory=list, description="Expected failures.")


@strawberry.type
class CreditsQuery:
    """Query fields of the credits area: the ledger."""

    @strawberry.field(description="The viewer's credit ledger, newest first, with cursor pagination.")
    async def credit_transactions(
        self,
        info: Info[Context, None],
        first: Annotated[int | None, strawberry.argument(description="Page size, 0..100.")] = 20,
        after: Annotated[
            str | None, strawberry.argument(description="endCursor of the previous page.")
        ] = None,
    ) -> CreditTransactionConnection:
        page = await resolve.credit_transactions(info.context, 20 if first is None else first, after)
        edges = [
            CreditTransactionEdge(cursor=resolve.cursor_of(row), node=CreditTransaction.from_domain(row))
            for row in page.entries
        ]
        return CreditTransactionConnection(
            edges=edges,
            page_info=PageInfo(
                has_next_page=page.has_next_page,
                has_previous_page=page.has_previous_page,
                start_cursor=edges[0].cursor if edges else None,
                end_cursor=edges[-1].cursor if edges else None,
            ),
            total_count=page.total_count,
        )


@strawberry.type
class CreditsMutation:
    """Mutations of the credits area: packs and tier changes."""

    @strawberry.mutation(
        description="Buy a credit pack through the payment provider; the same key never charges twice."
    )
    async def buy_credits(
        self,
        info: Info[Context, None],
        pack: Annotated[CreditPack, strawberry.argument(description="Which pack to buy.")],
        idempotency_key: Annotated[
            str, strawberry.argument(description="Client-chosen key; a retry with the same key charges once.")
        ],
    ) -> CreditPayload:
        result = await resolve.buy_credits(info.context, pack.value, idempotency_key)
        if isinstance(result, DomainError):
            return CreditPayload(errors=[UserError.from_domain(result)])
        entry = CreditTransaction.from_domain(result.entry) if result.entry is not None else None
        return CreditPayload(balance=result.balance, transaction=entry)

    @strawberry.mutation(description="Move the viewer to another tier (allowance, discount, cart size).")
    async def change_tier(
        self,
        info: Info[Context, None],
        tier: Annotated[Tier, strawberry.argument(description="The new tier.")],
    ) -> UserPayload:
        result = await resolve.change_tier(info.context, tier.value)
        if isinstance(result, DomainError):
            return UserPayload(errors=[UserError.from_domain(result)])
        return UserPayload(user=User.from_domain(result))
