"""The read side of recommendations: ``similarLeads`` and ``recommendedLeads``.

Both only read: vectors are written by the worker after ingestion, profiles after the buyer's
interactions, so a request never waits for a model.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

import numpy as np
from sqlalchemy.ext.asyncio import AsyncSession

from aiqleads.domain.core.filters.spec import LeadFilterSpec
from aiqleads.domain.core.lead import Lead
from aiqleads.domain.errors import DomainError, ErrorCode
from aiqleads.domain.recommendations import neighbours
from aiqleads.domain.recommendations.mmr import mmr_order
from aiqleads.domain.recommendations.profile_store import load_profile
from aiqleads.domain.recommendations.reasons import cold_start_reason, recommendation_reason, similar_reason
from aiqleads.domain.settings import Settings

MAX_FIRST = 50
QUALITY_BAND = 1  # cold start: quality rounded to one decimal, then newest first


@dataclass(frozen=True)
class Suggestion:
    """A suggested lead, why it is suggested, and its distances from the filter's centre."""

    lead: Lead
    reason: str
    distance_miles: float | None = None
    public_distance_miles: float | None = None


def check_first(first: int | None) -> int:
    """``first`` between 0 and 50 (default 10), else INVALID_INPUT."""
    size = 10 if first is None else first
    if not 0 <= size <= MAX_FIRST:
        raise DomainError(ErrorCode.INVALID_INPUT, f"first must be between 0 and {MAX_FIRST}", field="first")
    return size


def _suggestion(n: neighbours.Neighbour, reason: str) -> Suggestion:
    return Suggestion(n.lead, reason, n.distance_miles, n.public_distance_miles)


async def similar_leads(
    session: AsyncSession,
    settings: Settings,
    model_id: str,
    lead_id: uuid.UUID,
    spec: LeadFilterSpec,
    first: int,
) -> list[Suggestion]:
    """The leads closest to this lead's vector under the filter, the lead itself excluded.

    NOT_FOUND when the lead does not exist; an empty list while it has no vector of the current
    model yet (the worker embeds new leads within seconds).
    """
    source = await neighbours.source_vector(session, lead_id)
    if source is None:
        raise DomainError(ErrorCode.NOT_FOUND, "no such lead", field="leadId")
    lead, vector, model = source
    if first == 0 or vector is None or model != model_id:
        return []
    await neighbours.use_iterative_scan(session, settings.hnsw_ef_search)
    found = await neighbours.nearest(session, vector, model_id, spec, first, extra=[Lead.id != lead_id])
    return [_suggestion(n, similar_reason(n.lead, lead, n.vector_distance)) for n in found]


def _cold_start(found: list[neighbours.Neighbour], first: int) -> list[Suggestion]:
    ranked = sorted(
        found,
        key=lambda n: (round(n.lead.quality_score, QUALITY_BAND), n.lead.posted_at, n.lead.id),
        reverse=True,
    )
    return [_suggestion(n, cold_start_reason(n.lead)) for n in ranked[:first]]


async def recommended_leads(
    session: AsyncSession,
    settings: Settings,
    model_id: str,
    user_id: uuid.UUID | None,
    spec: LeadFilterSpec,
    first: int,
) -> list[Suggestion]:
    """Leads for this buyer: nearest to their profile, re-ranked by MMR, none they bought or hold.

    Without a profile (anonymous, partners, new buyers): the best-quality leads matching the
    filter, newest first within a quality band.
    """
    if first == 0:
        return []
    extra = neighbours.not_taken_by(user_id, datetime.now(UTC)) if user_id is not None else []
    profile = await load_profile(session, user_id) if user_id is not None else None
    if profile is None or profile.embedding_model != model_id:
        return _cold_start(await neighbours.best_quality(session, spec, first * 5, extra=extra), first)
    await neighbours.use_iterative_scan(session, settings.hnsw_ef_search)
    pool = min(200, max(40, first * 4))
    found = await neighbours.nearest(
        session, profile.vector, model_id, spec, pool, extra=extra, with_vectors=True
    )
    if not found:
        return []
    relevance = np.array([1.0 - n.vector_distance for n in found])
    vectors = np.stack([n.vector for n in found if n.vector is not None])
    order = mmr_order(relevance, vectors, first, settings.recommend_mmr_lambda)
    return [_suggestion(found[i], recommendation_reason(found[i].lead, profile.summary)) for i in order]
