"""Resolvers of similarLeads and recommendedLeads: parse, call the domain, return suggestions."""

from __future__ import annotations

from typing import Any

from aiqleads.domain.recommendations import suggestions
from aiqleads.domain.recommendations.suggestions import Suggestion
from aiqleads.resolvers.context import Context
from aiqleads.resolvers.errors import query_errors
from aiqleads.resolvers.ids import uuid_of
from aiqleads.resolvers.leads import parse_lead_filter


@query_errors
async def similar_leads(ctx: Context, lead_id: str, filter_input: Any, first: int | None) -> list[Suggestion]:
    """Nearest neighbours of one lead under the filter (INVALID_INPUT, NOT_FOUND as typed errors)."""
    source = uuid_of(lead_id, "Lead")
    spec = parse_lead_filter(filter_input)
    size = suggestions.check_first(first)
    async with ctx.snapshot_session() as session:  # HNSW parameters are transaction-local
        return await suggestions.similar_leads(
            session, ctx.settings, ctx.deps.embedding_model, source, spec, size
        )


@query_errors
async def recommended_leads(ctx: Context, filter_input: Any, first: int | None) -> list[Suggestion]:
    """Leads for the viewer's profile (cold start without one)."""
    spec = parse_lead_filter(filter_input)
    size = suggestions.check_first(first)
    user_id = ctx.viewer.id if ctx.viewer is not None else None
    async with ctx.snapshot_session() as session:  # HNSW parameters are transaction-local
        return await suggestions.recommended_leads(
            session, ctx.settings, ctx.deps.embedding_model, user_id, spec, size
        )
