"""GraphQL types and operations for accounts, tiers and plans."""

from __future__ import annotations

from datetime import datetime
from enum import Enum
from typing import Annotated, Any

import strawberry
from strawberry.types import Info

from aiqleads.resolvers import users as resolve
from aiqleads.resolvers.context import Context
from aiqleads.resolvers.ids import to_global_id
from aiqleads.schema.common import Node, UserError


@strawberry.enum(description="Subscription tier of a buyer.")
class Tier(Enum):
    FREE = "FREE"
    PRO = "PRO"
    ENTERPRISE = "ENTERPRISE"


@strawberry.type(description="A buyer account.")
class User(Node):
    id: strawberry.ID = strawberry.field(description="Opaque global id.")
    email: str = strawberry.field(description="Login email (normalised).")
    name: str = strawberry.field(description="Display name.")
    tier: Tier = strawberry.field(
        description="Current subscription tier: a paid tier whose period has lapsed shows as FREE."
    )
    credits: int = strawberry.field(description="Credit balance, derived from the ledger.")
    tier_paid_until: datetime | None = strawberry.field(
        default=None, description="End of the paid period of a paid tier; null on FREE."
    )

    @classmethod
    def from_domain(cls, user: Any) -> User:
        """Map a domain user row."""
        return cls(
            id=strawberry.ID(to_global_id("User", user.id)),
            email=user.email,
            name=user.name,
            tier=Tier(resolve.tier_in_effect(user)),
            credits=user.credit_balance,
            tier_paid_until=user.tier_paid_until,
        )


@strawberry.type(description="What a tier includes.")
class Plan:
    tier: Tier = strawberry.field(description="The tier.")
    monthly_credits: int = strawberry.field(description="Credits granted each month.")
    discount_percent: int = strawberry.field(description="Discount on every lead price, in percent.")
    max_cart_items: int = strawberry.field(description="Most leads held in the cart at once.")
    hold_extensions: int = strawberry.field(description="How many times each hold may be extended.")
    monthly_price_cents: int = strawberry.field(
        default=0, description="Price of 30 days on this tier, in USD cents (0 for FREE)."
    )


@strawberry.input(description="A new account.")
class RegisterInput:
    email: str = strawberry.field(description="A valid email address; must not be registered yet.")
    password: str = strawberry.field(description="At least 8 characters.")
    name: str = strawberry.field(description="Display name.")


@strawberry.type(description="Result of register and login.")
class AuthPayload:
    token: str | None = strawberry.field(default=None, description="JWT bearer token, when successful.")
    user: User | None = strawberry.field(default=None, description="The signed-in user, when successful.")
    errors: list[UserError] = strawberry.field(default_factory=list, description="Expected failures.")

    @classmethod
    def from_result(cls, result: Any) -> AuthPayload:
        """Map an AuthResult or a DomainError."""
        if hasattr(result, "token"):
            return cls(token=result.token, user=User.from_domain(result.user))
        return cls(errors=[UserError.from_domain(result)])


@strawberry.type
class UsersQuery:
    """Query fields of accounts: the viewer and plans."""

    @strawberry.field(description="The signed-in user; null for anonymous and partner callers.")
    def me(self, info: Info[Context, None]) -> User | None:
        user = resolve.me(info.context)
        return User.from_domain(user) if user is not None else None

    @strawberry.field(description="The plans of every tier.")
    def plans(self) -> list[Plan]:
        return [
            Plan(
                tier=Tier(p.tier),
                monthly_credits=p.monthly_credits,
                discount_percent=p.discount_percent,
                max_cart_items=p.max_cart_items,
                hold_extensions=p.hold_extensions,
                monthly_price_cents=p.monthly_price_cents,
            )
            for p in resolve.plans()
        ]


@strawberry.type
class UsersMutation:
    """Mutations of accounts: register and login."""

    @strawberry.mutation(description="Create an account and sign in.")
    async def register(
        self,
        info: Info[Context, None],
        input: Annotated[RegisterInput, strawberry.argument(description="The new account.")],
    ) -> AuthPayload:
        result = await resolve.register(
            info.context, email=input.email, password=input.password, name=input.name
        )
        return AuthPayload.from_result(result)

    @strawberry.mutation(description="Sign in with email and password; returns a bearer token.")
    async def login(
        self,
        info: Info[Context, None],
        email: Annotated[str, strawberry.argument(description="Account email.")],
        password: Annotated[str, strawberry.argument(description="Account password.")],
    ) -> AuthPayload:
        return AuthPayload.from_result(await resolve.login(info.context, email=email, password=password))
