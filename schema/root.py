"""The one root Schema: Query, Mutation and Subscription merged from every area."""

from __future__ import annotations

import strawberry
from strawberry.extensions import MaxAliasesLimiter, MaxTokensLimiter, QueryDepthLimiter
from strawberry.tools import merge_types

from aiqleads.domain.settings import Settings
from aiqleads.schema.cart import CartSubscription
from aiqleads.schema.extensions import OperationMetrics, masked_errors
from aiqleads.schema.leads import LeadsQuery
from aiqleads.schema.users import UsersMutation, UsersQuery

Query = merge_types("Query", (UsersQuery, LeadsQuery))
Mutation = merge_types("Mutation", (UsersMutation,))
Subscription = merge_types("Subscription", (CartSubscription,))


def build_schema(settings: Settings | None = None) -> strawberry.Schema:
    """Build the schema with its protective extensions (limits from settings)."""
    s = settings or Settings()
    return strawberry.Schema(
        query=Query,
        mutation=Mutation,
        subscription=Subscription,
        extensions=[
            lambda: QueryDepthLimiter(max_depth=s.max_query_depth),
            lambda: MaxAliasesLimiter(max_alias_count=s.max_query_aliases),
            lambda: MaxTokensLimiter(max_token_count=s.max_query_tokens),
            masked_errors,
            OperationMetrics,
        ],
    )
