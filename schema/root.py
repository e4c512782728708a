"""The one root Schema: Query, Mutation and Subscription merged from every area."""

from __future__ import annotations

from strawberry.tools import merge_types

from aiqleads.domain.settings import Settings
from aiqleads.schema.admin import AdminMutation, AdminQuery
from aiqleads.schema.cart import CartMutation, CartQuery, CartSubscription
from aiqleads.schema.credits import CreditsMutation, CreditsQuery
from aiqleads.schema.ingest import IngestSubscription
from aiqleads.schema.lead_queries import LeadsQuery
from aiqleads.schema.nodes import NodeQuery
from aiqleads.schema.pipeline import GatedSchema
from aiqleads.schema.pricing import PricingSubscription
from aiqleads.schema.recommendation_queries import RecommendationsQuery
from aiqleads.schema.users import UsersMutation, UsersQuery

Query = merge_types(
    "Query", (NodeQuery, UsersQuery, LeadsQuery, RecommendationsQuery, CartQuery, CreditsQuery, AdminQuery)
)
Mutation = merge_types("Mutation", (UsersMutation, CartMutation, CreditsMutation, AdminMutation))
Subscription = merge_types("Subscription", (CartSubscription, PricingSubscription, IngestSubscription))


def build_schema(settings: Settings | None = None) -> GatedSchema:
    """Build the schema with its protective gate (limits from settings).

    Every operation, over HTTP (``GatedSchema.execute``) or a websocket (``GatedSchema.stream``),
    runs the gate of ``schema.gate``: no Strawberry extension is registered, so none can be skipped.
    """
    limits = settings or Settings()
    return GatedSchema(
        query=Query,
        mutation=Mutation,
        subscription=Subscription,
        max_tokens=limits.max_query_tokens,
    )
