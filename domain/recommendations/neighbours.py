"""Nearest-neighbour SQL on the HNSW index of ``lead_embeddings.embedding`` (cosine distance), with
every lead filter applied (the index scan feeds a join to ``leads``, where the filter runs).

Filtered queries use pgvector's iterative index scans: with ``hnsw.iterative_scan =
relaxed_order`` the scan keeps walking the graph until ``limit`` rows pass the filter (up to
``hnsw.max_scan_tuples``), so a narrow geo filter still fills the page; relaxed order may return
rows slightly out of order, so callers re-sort by the distance they get back. ``hnsw.ef_search``
(settings.hnsw_ef_search, 100 by default) is the candidate list per step; bench/bench_recommend.py
measured recall@10 0.972/0.987/0.991 at 40/100/200 on 100k leads for 9.1/9.6/11.3 ms of SQL, so
100. Narrow geo filters are planned on the GiST index instead (then the sort by distance is exact).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np
from sqlalchemy import ColumnElement, and_, exists, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from aiqleads.domain.core.filters.spec import LeadFilterSpec
from aiqleads.domain.core.lead import Lead
from aiqleads.domain.core.seats import Hold, Purchase
from aiqleads.domain.leads.repository import LIST_OPTIONS
from aiqleads.domain.leads.sql_filter import distance_columns, filter_conditions
from aiqleads.domain.recommendations.models import LeadEmbedding


@dataclass(frozen=True)
class Neighbour:
    """A lead found near a query vector: its cosine distance, vector (when asked) and geo distances."""

    lead: Lead
    vector_distance: float
    vector: np.ndarray | None
    distance_miles: float | None
    public_distance_miles: float | None


def _neighbour(
    row: Any, spec: LeadFilterSpec, vector_distance: float, vector: np.ndarray | None
) -> Neighbour:
    """A result row (lead, then the labelled columns) as a Neighbour, with geo distances if any."""
    near = spec.near is not None
    return Neighbour(
        lead=row[0],
        vector_distance=vector_distance,
        vector=vector,
        distance_miles=float(row.distance_miles) if near else None,
        public_distance_miles=float(row.public_distance_miles) if near else None,
    )


async def use_iterative_scan(session: AsyncSession, ef_search: int) -> None:
    """Set this transaction's HNSW search parameters (one statement)."""
    await session.execute(
        text(
            "SELECT set_config('hnsw.ef_search', :ef, true), "
            "set_config('hnsw.iterative_scan', 'relaxed_order', true)"
        ),
        {"ef": str(ef_search)},
    )


async def source_vector(session: AsyncSession, lead_id: uuid.UUID) -> tuple[Lead, Any, str | None] | None:
    """A lead with its vector and the vector's model (None when the lead does not exist)."""
    row = (
        await session.execute(
            select(Lead, LeadEmbedding.embedding, LeadEmbedding.embedding_model)
            .outerjoin(LeadEmbedding, LeadEmbedding.lead_id == Lead.id)
            .options(*LIST_OPTIONS)
            .where(Lead.id == lead_id)
        )
    ).first()
    return None if row is None else (row[0], row[1], row[2])


def not_taken_by(user_id: uuid.UUID, now: datetime) -> list[ColumnElement[bool]]:
    """Leads the user neither bought (and kept) nor holds right now."""
    bought = exists().where(
        and_(Purchase.lead_id == Lead.id, Purchase.user_id == user_id, Purchase.returned_at.is_(None))
    )
    held = exists().where(and_(Hold.lead_id == Lead.id, Hold.user_id == user_id, Hold.held_until > now))
    return [~bought, ~held]


async def nearest(
    session: AsyncSession,
    vector: Any,
    model_id: str,
    spec: LeadFilterSpec,
    limit: int,
    *,
    extra: Sequence[ColumnElement[bool]] = (),
    with_vectors: bool = False,
) -> list[Neighbour]:
    """The ``limit`` leads closest to ``vector`` among those the filter (and ``extra``) admits,
    closest first; only vectors of ``model_id`` are compared."""
    distance = LeadEmbedding.embedding.cosine_distance(vector)
    columns: list[Any] = [Lead, distance.label("vector_distance")]
    if with_vectors:
        columns.append(LeadEmbedding.embedding.label("vector"))
    if spec.near is not None:
        columns.extend(distance_columns(spec.near))
    query = (
        select(*columns)
        .select_from(LeadEmbedding)
        .join(Lead, Lead.id == LeadEmbedding.lead_id)
        .options(*LIST_OPTIONS)
        .where(*filter_conditions(spec), LeadEmbedding.embedding_model == model_id, *extra)
        .order_by(distance)
        .limit(limit)
    )
    found = [
        _neighbour(
            row,
            spec,
            float(row.vector_distance),
            np.asarray(row.vector, dtype=np.float32) if with_vectors else None,
        )
        for row in (await session.execute(query)).all()
    ]
    found.sort(key=lambda n: (n.vector_distance, n.lead.id))  # relaxed order: re-sort
    return found


async def best_quality(
    session: AsyncSession, spec: LeadFilterSpec, limit: int, *, extra: Sequence[ColumnElement[bool]] = ()
) -> list[Neighbour]:
    """The highest-quality leads the filter admits (the quality index), for buyers with no profile."""
    columns: list[Any] = [Lead]
    if spec.near is not None:
        columns.extend(distance_columns(spec.near))
    query = (
        select(*columns)
        .options(*LIST_OPTIONS)
        .where(*filter_conditions(spec), *extra)
        .order_by(Lead.quality_score.desc(), Lead.id.desc())
        .limit(limit)
    )
    return [_neighbour(row, spec, 0.0, None) for row in (await session.execute(query)).all()]
