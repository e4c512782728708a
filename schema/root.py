"""The one root Schema: Query, Mutation and Subscription merged from every area."""

from __future__ import annotations

from strawberry.extensions import (
    MaxTokensLimiter,
    ParserCache,
    ValidationCache,
)
from strawberry.tools import merge_types

from aiqleads.domain.settings import Settings
from aiqleads.schema.cart import CartMutation, CartQuery, CartSubscription
from aiqleads.schema.credits import CreditsMutation, CreditsQuery
from aiqleads.schema.extensions import OperationBudget, OperationMetrics, masked_errors
from aiqleads.schema.http_pipeline import GatedSchema
from aiqleads.schema.ingest import IngestSubscription
from aiqleads.schema.lead_queries import LeadsQuery
from aiqleads.schema.nodes import NodeQuery
from aiqleads.schema.pricing import PricingSubscription
from aiqleads.schema.recommendation_queries import RecommendationsQuery
from aiqleads.schema.users import UsersMutation, UsersQuery

Query = merge_types(
    "Query", (NodeQuery, UsersQuery, LeadsQuery, RecommendationsQuery, CartQuery, CreditsQuery)
)
Mutation = merge_types("Mutation", (UsersMutation, CartMutation, CreditsMutation))
Subscription = merge_types("Subscription", (CartSubscription, PricingSubscription, IngestSubscription))


def build_schema(settings: Settings | None = None) -> GatedSchema:
    """Build the schema with its protective gate (limits from settings).

    HTTP queries and mutations run the gate in ``GatedSchema.execute``; websocket operations run
    it through these extensions, which call the same functions in the same order.
    """
    limits = settings or Settings()
    return GatedSchema(
        query=Query,
        mutation=Mutation,
        subscription=Subscription,
        max_tokens=limits.max_query_tokens,
        extensions=[
            # depth and aliases are checked by OperationBudget in linear time: strawberry's
            # QueryDepthLimiter and MaxAliasesLimiter expand every fragment spread, so a chain of
            # doubling fragments took seconds (then minutes) per request
            lambda: MaxTokensLimiter(max_token_count=limits.max_query_tokens),
            lambda: ParserCache(maxsize=256),
            lambda: ValidationCache(maxsize=256),
            OperationBudget,  # after validation: cost with the variables sent, then the budget
            masked_errors,
            OperationMetrics,
        ],
    )
