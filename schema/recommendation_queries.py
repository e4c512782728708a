"""Query fields of recommendations: similarLeads and recommendedLeads."""

from __future__ import annotations

from typing import Annotated

import strawberry
from strawberry.types import Info

from aiqleads.domain.recommendations.suggestions import Suggestion
from aiqleads.resolvers import recommendations as resolve
from aiqleads.resolvers.context import Context
from aiqleads.resolvers.leads import prime_views
from aiqleads.schema.lead_queries import FilterArg
from aiqleads.schema.leads import Lead

SuggestionsFirst = Annotated[
    int | None, strawberry.argument(description="How many leads, 0..50 (default 10).")
]


async def _leads(ctx: Context, found: list[Suggestion]) -> list[Lead]:
    await prime_views(ctx, [s.lead for s in found])
    return [Lead.from_row(s.lead, s.distance_miles, s.public_distance_miles, s.reason) for s in found]


@strawberry.type
class RecommendationsQuery:
    """Query fields of embedding-based suggestions."""

    @strawberry.field(
        description=(
            "Leads most like this one (cosine distance of their embeddings), closest first, with every "
            "filter applied (available leads by default); the lead itself is excluded. Empty while the "
            "lead has no embedding yet."
        )
    )
    async def similar_leads(
        self,
        info: Info[Context, None],
        lead_id: Annotated[strawberry.ID, strawberry.argument(description="The lead to find neighbours of.")],
        filter: FilterArg = None,
        first: SuggestionsFirst = 10,
    ) -> list[Lead]:
        return await _leads(info.context, await resolve.similar_leads(info.context, lead_id, filter, first))

    @strawberry.field(
        description=(
            "Leads for the signed-in buyer: closest to their profile (leads they viewed, held and bought, "
            "recent ones weighing more), re-ranked for variety, none they bought or hold. Without a "
            "history: the best-quality leads matching the filter, newest first."
        )
    )
    async def recommended_leads(
        self,
        info: Info[Context, None],
        filter: FilterArg = None,
        first: SuggestionsFirst = 10,
    ) -> list[Lead]:
        return await _leads(info.context, await resolve.recommended_leads(info.context, filter, first))
