"""GraphQL types and operations of credits: the ledger, packs, tier changes and their payments."""

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
from aiqleads.schema.common import Node, UserError
from aiqleads.schema.connections import Connection, Edge, describe_fields, page_info
from aiqleads.schema.users import Tier, User


@strawberry.enum(description="Credit packs for sale: STARTER 50, GROWTH 250, BULK 1000 credits.")
class CreditPack(Enum):
    STARTER = "STARTER"
    GROWTH = "GROWTH"
    BULK = "BULK"


@strawberry.enum(description="Where a payment stands: waiting for the customer, succeeded, or failed.")
class PaymentStatus(Enum):
    PENDING = "PENDING"
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"


@strawberry.enum(description="What a payment pays for.")
class PaymentPurpose(Enum):
    CREDIT_PACK = "CREDIT_PACK"
    TIER = "TIER"


@strawberry.type(
    description=(
        "A charge through the payment provider for a credit pack or a tier period; what it pays for "
        "is granted once, when it succeeds."
    )
)
class Payment(Node):
    id: strawberry.ID = strawberry.field(description="Opaque global id.")
    status: PaymentStatus = strawberry.field(
        description="PENDING until the provider confirms the payment (poll `payment` or `node`), then final."
    )
    purpose: PaymentPurpose = strawberry.field(description="Credit pack or tier period.")
    client_secret: str | None = strawberry.field(
        default=None,
        description=(
            "Secret the client confirms the payment with (Stripe.js confirmPayment); null when the "
            "provider needs no confirmation (development)."
        ),
    )
    amount_cents: int = strawberry.field(description="Amount charged, in the currency's minor unit (cents).")
    currency: str = strawberry.field(description="ISO 4217 currency code, e.g. USD.")
    pack: CreditPack | None = strawberry.field(default=None, description="The pack bought; null for a tier.")
    credits: int | None = strawberry.field(
        default=None, description="Credits granted when it succeeds; null for a tier payment."
    )
    tier: Tier | None = strawberry.field(
        default=None, description="The tier paid for (30 days); null for a credit pack."
    )
    failure_reason: str | None = strawberry.field(
        default=None, description="Why the payment failed, as the provider reported it; null otherwise."
    )
    created_at: datetime = strawberry.field(description="When the payment was opened.")
    completed_at: datetime | None = strawberry.field(
        default=None, description="When it succeeded and was fulfilled; null until then."
    )

    @classmethod
    def from_domain(cls, row: Any) -> Payment:
        """Map a payment row (CREATING shows as PENDING)."""
        is_pack = row.purpose == "CREDIT_PACK"
        return cls(
            id=strawberry.ID(to_global_id("Payment", row.id)),
            status=PaymentStatus("PENDING" if row.status == "CREATING" else row.status),
            purpose=PaymentPurpose(row.purpose),
            client_secret=row.client_secret,
            amount_cents=row.amount_cents,
            currency=row.currency,
            pack=CreditPack(row.product) if is_pack else None,
            credits=row.credits if is_pack else None,
            tier=None if is_pack else Tier(row.product),
            failure_reason=row.failure_reason if row.status == "FAILED" else None,
            created_at=row.created_at,
            completed_at=row.completed_at,
        )


@strawberry.type(description="One entry of the viewer's append-only credit ledger.")
class CreditTransaction(Node):
    id: strawberry.ID = strawberry.field(description="Opaque global id.")
    amount: int = strawberry.field(description="Signed amount: positive credits in, negative credits spent.")
    balance_after: int = strawberry.field(description="The balance right after this entry.")
    kind: str = strawberry.field(
        description="GRANT, PACK_PURCHASE, MONTHLY_ALLOWANCE, SPEND, REFUND, REVERSAL or ADJUSTMENT (admin)."
    )
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


@describe_fields(node="The ledger entry.")
@strawberry.type(description="A ledger entry in a connection, with its cursor.")
class CreditTransactionEdge(Edge[CreditTransaction]):
    pass


@describe_fields(edges="The entries of this page.", total_count="Number of entries in the viewer's ledger.")
@strawberry.type(description="A page of the viewer's ledger, newest first.")
class CreditTransactionConnection(Connection[CreditTransactionEdge]):
    pass


@strawberry.type(description="Result of buyCredits.")
class CreditPayload:
    balance: int | None = strawberry.field(
        default=None, description="The viewer's balance now (unchanged while the payment is pending)."
    )
    transaction: CreditTransaction | None = strawberry.field(
        default=None, description="The ledger entry crediting the pack; null until the payment succeeds."
    )
    payment: Payment | None = strawberry.field(
        default=None, description="The payment of this pack (the same one for every retry with the key)."
    )
    errors: list[UserError] = strawberry.field(default_factory=list, description="Expected failures.")


@strawberry.type(description="Result of changeTier.")
class UserPayload:
    user: User | None = strawberry.field(default=None, description="The user after the change.")
    payment: Payment | None = strawberry.field(
        default=None,
        description="For an upgrade, the payment of the tier period; the tier changes when it succeeds.",
    )
    errors: list[UserError] = strawberry.field(default_factory=list, description="Expected failures.")


@strawberry.type
class CreditsQuery:
    """Query fields of the credits area: the ledger and payments."""

    @strawberry.field(
        description="One of the viewer's payments by id (poll it until it is no longer PENDING); else null."
    )
    async def payment(
        self,
        info: Info[Context, None],
        id: Annotated[strawberry.ID, strawberry.argument(description="Global id of the payment.")],
    ) -> Payment | None:
        row = await resolve.payment(info.context, id)
        return Payment.from_domain(row) if row is not None else None

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
            page_info=page_info(
                edges, has_next_page=page.has_next_page, has_previous_page=page.has_previous_page
            ),
            total_count=page.total_count,
        )


@strawberry.type
class CreditsMutation:
    """Mutations of the credits area: packs and tier changes."""

    @strawberry.mutation(
        description=(
            "Buy a credit pack: opens a payment with the provider (confirm it with payment.clientSecret); "
            "the credits are granted once it succeeds. The same key never charges twice."
        )
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
        payment = Payment.from_domain(result.payment) if result.payment is not None else None
        return CreditPayload(balance=result.balance, transaction=entry, payment=payment)

    @strawberry.mutation(
        description=(
            "Move the viewer to another tier. An upgrade opens a payment of the tier's monthly price and "
            "takes effect when it succeeds; a downgrade takes effect at once (no refund)."
        )
    )
    async def change_tier(
        self,
        info: Info[Context, None],
        tier: Annotated[Tier, strawberry.argument(description="The new tier.")],
        idempotency_key: Annotated[
            str | None,
            strawberry.argument(
                description=(
                    "Client-chosen key for an upgrade's payment; a retry with the same key pays once. "
                    "Without one, an unfinished payment for the same tier is reused."
                )
            ),
        ] = None,
    ) -> UserPayload:
        result = await resolve.change_tier(info.context, tier.value, idempotency_key)
        if isinstance(result, DomainError):
            return UserPayload(errors=[UserError.from_domain(result)])
        payment = Payment.from_domain(result.payment) if result.payment is not None else None
        return UserPayload(user=User.from_domain(result.user), payment=payment)
