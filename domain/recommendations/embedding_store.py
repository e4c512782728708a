"""SQL of lead embeddings: which leads need a vector, vectors already computed for a text, writes."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from sqlalchemy import Row, bindparam, select, text
from sqlalchemy.dialects.postgresql import ARRAY, TEXT, UUID
from sqlalchemy.ext.asyncio import AsyncSession

from aiqleads.domain.core.lead import Lead
from aiqleads.domain.recommendations.models import LeadEmbedding

# what the embedded text is built from (the contact columns only so the title can be redacted),
# and the model and text hash of the lead's current vector (None without one)
TEXT_COLUMNS = (
    Lead.id,
    Lead.property_type,
    Lead.city,
    Lead.state,
    Lead.title,
    Lead.street,
    Lead.contact_name,
    Lead.contact_phone,
    Lead.contact_email,
    LeadEmbedding.embedding_model,
    LeadEmbedding.text_hash.label("embedding_text_hash"),
)


def _with_vectors() -> Any:
    return select(*TEXT_COLUMNS).outerjoin(LeadEmbedding, LeadEmbedding.lead_id == Lead.id)


@dataclass(frozen=True)
class EmbeddedRow:
    """One lead's new vector, the model that computed it and the hash of the text it embedded."""

    lead_id: uuid.UUID
    vector: np.ndarray
    text_hash: str


async def rows_by_id(
    session: AsyncSession, lead_ids: Sequence[uuid.UUID]
) -> Sequence[Row[tuple[object, ...]]]:
    """The text columns of these leads (missing ids are skipped)."""
    if not lead_ids:
        return []
    result = await session.execute(_with_vectors().where(Lead.id.in_(list(lead_ids))))
    return result.all()


async def rows_needing_model(
    session: AsyncSession, model_id: str, after: uuid.UUID | None, limit: int
) -> Sequence[Row[tuple[object, ...]]]:
    """The next leads (in id order, after ``after``) without a vector of ``model_id``."""
    query = _with_vectors().where(LeadEmbedding.embedding_model.is_distinct_from(model_id))
    if after is not None:
        query = query.where(Lead.id > after)
    result = await session.execute(query.order_by(Lead.id).limit(limit))
    return result.all()


async def count_needing_model(session: AsyncSession, model_id: str) -> int:
    """How many leads have no vector of ``model_id``."""
    result = await session.execute(
        text(
            "SELECT count(*) FROM leads l LEFT JOIN lead_embeddings e ON e.lead_id = l.id "
            "WHERE e.embedding_model IS DISTINCT FROM :m"
        ).bindparams(m=model_id)
    )
    return int(result.scalar_one())


async def vectors_for_texts(
    session: AsyncSession, model_id: str, hashes: Sequence[str]
) -> dict[str, np.ndarray]:
    """Vectors ``model_id`` already computed for these text hashes (another lead with the same text)."""
    if not hashes:
        return {}
    query = text(
        "SELECT DISTINCT ON (text_hash) text_hash, embedding::text FROM lead_embeddings "
        "WHERE text_hash = ANY(:hashes) AND embedding_model = :m"
    ).bindparams(bindparam("hashes", type_=ARRAY(TEXT)), m=model_id)
    result = await session.execute(query, {"hashes": list(hashes)})
    return {h: parse_vector(v) for h, v in result.tuples()}


def parse_vector(value: str) -> np.ndarray:
    """pgvector's text form ``[0.1,0.2,...]`` as a float32 array."""
    return np.array(value.strip("[]").split(","), dtype=np.float32)


def vector_literal(vector: np.ndarray) -> str:
    """A float array in pgvector's text form."""
    return "[" + ",".join(format(float(x), ".7g") for x in vector) + "]"


async def write_embeddings(session: AsyncSession, model_id: str, rows: Sequence[EmbeddedRow]) -> int:
    """Store vectors, their model and text hashes in one statement; returns how many were written.

    Leads deleted meanwhile are skipped; the lead row itself is not touched.
    """
    if not rows:
        return 0
    query = text(
        "INSERT INTO lead_embeddings (lead_id, embedding_model, text_hash, embedding) "
        "SELECT v.id, :m, v.text_hash, v.embedding::vector "
        "FROM unnest(:ids, :vectors, :hashes) AS v(id, embedding, text_hash) JOIN leads l ON l.id = v.id "
        "ON CONFLICT (lead_id) DO UPDATE SET embedding_model = excluded.embedding_model, "
        "text_hash = excluded.text_hash, embedding = excluded.embedding"
    ).bindparams(
        bindparam("ids", type_=ARRAY(UUID(as_uuid=True))),
        bindparam("vectors", type_=ARRAY(TEXT)),
        bindparam("hashes", type_=ARRAY(TEXT)),
        m=model_id,
    )
    result = await session.execute(
        query,
        {
            "ids": [r.lead_id for r in rows],
            "vectors": [vector_literal(r.vector) for r in rows],
            "hashes": [r.text_hash for r in rows],
        },
    )
    return int(getattr(result, "rowcount", 0) or 0)
