"""GraphQL types and operations of the cart, holds, checkout, purchases, returns and live cart events."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterable
from datetime import datetime
from enum import Enum
from typing import Annotated, Any

import strawberry
from strawberry.types import Info

from aiqleads.domain.errors import DomainError
from aiqleads.resolvers import cart as resolve
from aiqleads.resolvers import subscriptions
from aiqleads.resolvers.context import Context
from aiqleads.resolvers.ids import to_global_id
from aiqleads.schema.common import Node, UserError
from aiqleads.schema.leads import Lead


@strawberry.enum(description="What happened in a cart.")
class CartEventKind(Enum):
    HOLD_CREATED = "HOLD_CREATED"
    HOLD_EXTENDED = "HOLD_EXTENDED"
    HOLD_RELEASED = "HOLD_RELEASED"
    HOLD_EXPIRED = "HOLD_EXPIRED"
    CART_EXPIRED = "CART_EXPIRED"
    CHECKED_OUT = "CHECKED_OUT"
    LEAD_WITHDRAWN = strawberry.enum_value(
        "LEAD_WITHDRAWN",
        description="The held lead left the market (withdrawn, or expired): its hold is released.",
    )


@strawberry.type(description="A change in the viewer's cart, with the timers to draw countdowns.")
class CartEvent:
    kind: CartEventKind = strawberry.field(description="What happened.")
    lead_id: strawberry.ID | None = strawberry.field(
        default=None, description="The lead concerned; null for cart-wide events."
    )
    held_until: datetime | None = strawberry.field(default=None, description="The item hold's deadline.")
    cart_expires_at: datetime | None = strawberry.field(default=None, description="The cart-wide deadline.")
    at: datetime = strawberry.field(description="When it happened (server time).")

    @classmethod
    def from_event(cls, event: dict[str, Any]) -> CartEvent:
        """Map an event published on the cart channel."""

        def _dt(value: Any) -> datetime | None:
            return datetime.fromisoformat(value) if value else None

        lead_id = event.get("lead_id")
        return cls(
            kind=CartEventKind(event["kind"]),
            lead_id=strawberry.ID(to_global_id("Lead", lead_id)) if lead_id else None,
            held_until=_dt(event.get("held_until")),
            cart_expires_at=_dt(event.get("cart_expires_at")),
            at=_dt(event["at"]) or datetime.min,
        )


@strawberry.type
class CartSubscription:
    """Subscription fields of the cart area."""

    @strawberry.subscription(description="The viewer's own cart: holds created, extended, released, expired.")
    def cart_events(self, info: Info[Context, None]) -> AsyncIterable[CartEvent]:
        return subscriptions.cart_events(info.context).presented(CartEvent.from_event)


@strawberry.enum(description="Why a bought lead is returned.")
class ReturnReason(Enum):
    BAD_PHONE = "BAD_PHONE"
    DUPLICATE = "DUPLICATE"
    FRAUDULENT = "FRAUDULENT"
    ALREADY_SOLD = "ALREADY_SOLD"


@strawberry.type(description="A lead held in the cart at a frozen price until heldUntil.")
class CartItem:
    lead: Lead = strawberry.field(description="The held lead.")
    price: int = strawberry.field(description="Credit price, frozen while the hold is active.")
    held_until: datetime = strawberry.field(description="When this hold expires (never after the cart).")
    extensions_used: int = strawberry.field(description="How many times this hold was extended.")
    extensions_left: int = strawberry.field(description="Extensions still allowed by the viewer's tier.")

    @classmethod
    def from_domain(cls, item: Any) -> CartItem:
        """Map a domain cart item (hold + lead)."""
        return cls(
            lead=Lead.from_row(item.lead),
            price=item.hold.price,
            held_until=item.hold.held_until,
            extensions_used=item.hold.extensions_used,
            extensions_left=item.extensions_left,
        )


@strawberry.type(description="The viewer's cart: active holds and the cart-wide timer.")
class Cart:
    items: list[CartItem] = strawberry.field(description="Active holds, oldest first.")
    expires_at: datetime | None = strawberry.field(
        default=None, description="The cart-wide deadline; null when the cart is empty."
    )
    total: int = strawberry.field(description="Sum of the frozen prices, in credits.")
    server_time: datetime = strawberry.field(
        description="The server's clock, so clients can draw countdowns without clock skew."
    )

    @classmethod
    def from_domain(cls, view: Any) -> Cart:
        """Map a domain cart view."""
        return cls(
            items=[CartItem.from_domain(item) for item in view.items],
            expires_at=view.expires_at,
            total=view.total,
            server_time=view.server_time,
        )


@strawberry.enum(description="Where a return request stands.")
class ReturnStatus(Enum):
    PENDING = "PENDING"
    APPROVED = "APPROVED"
    REJECTED = "REJECTED"


@strawberry.type(
    description=(
        "A request to return a bought lead: approved at once when the system can verify the reason, "
        "otherwise waiting for an admin's review. Visible to its buyer and to admins."
    )
)
class LeadReturn(Node):
    id: strawberry.ID = strawberry.field(description="Opaque global id.")
    status: ReturnStatus = strawberry.field(description="PENDING until reviewed, then APPROVED or REJECTED.")
    reason: ReturnReason = strawberry.field(description="Why the buyer returns the lead.")
    note: str | None = strawberry.field(default=None, description="The buyer's details, if any.")
    created_at: datetime = strawberry.field(description="When the return was requested.")
    reviewed_at: datetime | None = strawberry.field(
        default=None, description="When it was approved or rejected; null while pending."
    )
    reviewed_automatically: bool = strawberry.field(
        description="Whether the system approved it by itself (the reason was verified from the lead's data)."
    )
    review_note: str | None = strawberry.field(
        default=None, description="The reviewer's note (or why it was approved automatically)."
    )
    refunded: int = strawberry.field(description="Credits refunded (0 unless approved).")
    row: strawberry.Private[Any]

    @classmethod
    def from_domain(cls, row: Any) -> LeadReturn:
        """Map a domain return request row."""
        return cls(
            id=strawberry.ID(to_global_id("LeadReturn", row.id)),
            status=ReturnStatus(row.status),
            reason=ReturnReason(row.reason),
            note=row.note,
            created_at=row.created_at,
            reviewed_at=row.reviewed_at,
            reviewed_automatically=row.reviewed_at is not None and row.reviewer_id is None,
            review_note=row.review_note,
            refunded=row.refunded,
            row=row,
        )

    @strawberry.field(description="The purchase being returned.")
    async def purchase(self, info: Info[Context, None]) -> Purchase | None:
        view = await resolve.return_purchase(info.context, self.row)
        return Purchase.from_domain(view) if view is not None else None


@strawberry.type(description="A lead bought by the viewer.")
class Purchase(Node):
    id: strawberry.ID = strawberry.field(description="Opaque global id.")
    price: int = strawberry.field(description="Credits paid.")
    purchased_at: datetime = strawberry.field(description="When it was bought.")
    returned: bool = strawberry.field(
        description="Whether the lead was returned for a refund (the return was approved)."
    )
    lead_row: strawberry.Private[Any]
    purchase_id: strawberry.Private[uuid.UUID]

    @classmethod
    def from_domain(cls, view: Any) -> Purchase:
        """Map a domain purchase view (purchase + lead)."""
        purchase = view.purchase
        return cls(
            id=strawberry.ID(to_global_id("Purchase", purchase.id)),
            price=purchase.price,
            purchased_at=purchase.purchased_at,
            returned=purchase.returned_at is not None,
            lead_row=view.lead,
            purchase_id=purchase.id,
        )

    @strawberry.field(description="The bought lead (contact and street visible unless returned).")
    def lead(self) -> Lead:
        return Lead.from_row(self.lead_row)

    @strawberry.field(
        name="return",
        description="The return request of this purchase and its status; null if none was made.",
    )
    async def return_(self, info: Info[Context, None]) -> LeadReturn | None:
        row = await resolve.purchase_return(info.context, self.purchase_id)
        return LeadReturn.from_domain(row) if row is not None else None


@strawberry.type(description="Result of addToCart, removeFromCart and extendHold.")
class CartPayload:
    cart: Cart | None = strawberry.field(default=None, description="The cart after the change.")
    errors: list[UserError] = strawberry.field(default_factory=list, description="Expected failures.")

    @classmethod
    def from_result(cls, result: Any) -> CartPayload:
        """Map a domain cart view or a DomainError."""
        if isinstance(result, DomainError):
            return cls(errors=[UserError.from_domain(result)])
        return cls(cart=Cart.from_domain(result))


@strawberry.type(description="Result of checkout.")
class CheckoutPayload:
    purchases: list[Purchase] = strawberry.field(
        default_factory=list, description="The purchases made (empty on failure)."
    )
    credits_spent: int = strawberry.field(default=0, description="Credits debited by this checkout.")
    balance: int = strawberry.field(default=0, description="The viewer's credit balance afterwards.")
    errors: list[UserError] = strawberry.field(default_factory=list, description="Expected failures.")


@strawberry.type(description="Result of returnLead and reviewReturn.")
class ReturnPayload:
    purchase: Purchase | None = strawberry.field(default=None, description="The purchase being returned.")
    refunded: int = strawberry.field(
        default=0, description="Credits refunded by this call (0 while the return waits for review)."
    )
    return_: LeadReturn | None = strawberry.field(
        default=None, name="return", description="The return request and its status."
    )
    errors: list[UserError] = strawberry.field(default_factory=list, description="Expected failures.")

    @classmethod
    def from_result(cls, result: Any) -> ReturnPayload:
        """Map a domain return result or a DomainError."""
        if isinstance(result, DomainError):
            return cls(errors=[UserError.from_domain(result)])
        return cls(
            purchase=Purchase.from_domain(result.purchase),
            refunded=result.refunded,
            return_=LeadReturn.from_domain(result.lead_return),
        )


@strawberry.type
class CartQuery:
    """Query fields of the cart area: the cart and purchases."""

    @strawberry.field(description="The viewer's cart (active holds, timers and server time).")
    async def cart(self, info: Info[Context, None]) -> Cart:
        return Cart.from_domain(await resolve.cart(info.context))

    @strawberry.field(
        description="The viewer's purchases, newest first; `after` is the id of the last purchase seen."
    )
    async def purchases(
        self,
        info: Info[Context, None],
        first: Annotated[int | None, strawberry.argument(description="Page size, 0..100.")] = 20,
        after: Annotated[
            str | None, strawberry.argument(description="Id of the last purchase of the previous page.")
        ] = None,
    ) -> list[Purchase]:
        views = await resolve.purchases(info.context, 20 if first is None else first, after)
        return [Purchase.from_domain(view) for view in views]

    @strawberry.field(
        description=(
            "Admins: return requests waiting for review, oldest first; `after` is the id of the last "
            "return seen. FORBIDDEN for everyone else."
        )
    )
    async def returns_to_review(
        self,
        info: Info[Context, None],
        first: Annotated[int | None, strawberry.argument(description="Page size, 0..100.")] = 20,
        after: Annotated[
            str | None, strawberry.argument(description="Id of the last return of the previous page.")
        ] = None,
    ) -> list[LeadReturn]:
        rows = await resolve.returns_to_review(info.context, 20 if first is None else first, after)
        return [LeadReturn.from_domain(row) for row in rows]


@strawberry.type
class CartMutation:
    """Mutations of the cart area: holds, checkout and returns."""

    @strawberry.mutation(
        description="Hold one seat of a lead at the viewer's current price (item and cart timers start)."
    )
    async def add_to_cart(
        self,
        info: Info[Context, None],
        lead_id: Annotated[strawberry.ID, strawberry.argument(description="The lead to hold.")],
    ) -> CartPayload:
        return CartPayload.from_result(await resolve.add_to_cart(info.context, lead_id))

    @strawberry.mutation(description="Release the viewer's hold on a lead; the seat is free at once.")
    async def remove_from_cart(
        self,
        info: Info[Context, None],
        lead_id: Annotated[strawberry.ID, strawberry.argument(description="The held lead to release.")],
    ) -> CartPayload:
        return CartPayload.from_result(await resolve.remove_from_cart(info.context, lead_id))

    @strawberry.mutation(
        description="Extend a hold (PRO once, ENTERPRISE three times); may push the cart timer within a cap."
    )
    async def extend_hold(
        self,
        info: Info[Context, None],
        lead_id: Annotated[
            strawberry.ID, strawberry.argument(description="The held lead whose hold to extend.")
        ],
    ) -> CartPayload:
        return CartPayload.from_result(await resolve.extend_hold(info.context, lead_id))

    @strawberry.mutation(
        description="Buy every held lead, all or nothing; a retry with the same key returns the first result."
    )
    async def checkout(
        self,
        info: Info[Context, None],
        idempotency_key: Annotated[
            str,
            strawberry.argument(
                description="Client-chosen key; a retry with the same key returns the first result."
            ),
        ],
    ) -> CheckoutPayload:
        result = await resolve.checkout(info.context, idempotency_key)
        if isinstance(result, DomainError):
            return CheckoutPayload(
                balance=resolve.current_balance(info.context), errors=[UserError.from_domain(result)]
            )
        return CheckoutPayload(
            purchases=[Purchase.from_domain(view) for view in result.purchases],
            credits_spent=result.credits_spent,
            balance=result.balance,
        )

    @strawberry.mutation(
        description=(
            "Request the return of a bought lead within the return window: approved and refunded at once "
            "when the reason can be verified (invalid phone, a duplicate you own, fraud score now over the "
            "threshold), otherwise pending until an admin reviews it. Limited per buyer per 30 days."
        )
    )
    async def return_lead(
        self,
        info: Info[Context, None],
        purchase_id: Annotated[strawberry.ID, strawberry.argument(description="The purchase to return.")],
        reason: Annotated[ReturnReason, strawberry.argument(description="Why the lead is bad.")],
        note: Annotated[
            str | None, strawberry.argument(description="Optional details for the reviewer.")
        ] = None,
    ) -> ReturnPayload:
        result = await resolve.return_lead(info.context, purchase_id, reason.value, note)
        return ReturnPayload.from_result(result)

    @strawberry.mutation(
        description=(
            "Admins: approve (refund once, seat freed, contact hidden again) or reject a pending return. "
            "FORBIDDEN for everyone else; ALREADY_REVIEWED when it was reviewed before."
        )
    )
    async def review_return(
        self,
        info: Info[Context, None],
        return_id: Annotated[strawberry.ID, strawberry.argument(description="The return to review.")],
        approve: Annotated[
            bool, strawberry.argument(description="True to approve and refund, false to reject.")
        ],
        note: Annotated[
            str | None, strawberry.argument(description="Optional note for the buyer and the audit trail.")
        ] = None,
    ) -> ReturnPayload:
        result = await resolve.review_return(info.context, return_id, approve, note)
        return ReturnPayload.from_result(result)
