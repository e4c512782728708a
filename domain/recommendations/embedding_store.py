"""SQL of lead embeddings: which leads need a vector, vectors already computed for a text, writes."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from sqlalchemy import Row, bindparam, or_, select, text
from sqlalchemy.dialects.postgresql import ARRAY, TEXT, UUID
from sqlalchemy.ext.asyncio import AsyncSession

from aiqleads.domain.core.lead import Lead

# what the embedded text is built from (the contact columns only so the title can be redacted)
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
    Lead.embedding_model,
    Lead.embedding_text_hash,
)


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
    result = await session.execute(select(*TEXT_COLUMNS).where(Lead.id.in_(list(lead_ids))))
    return result.all()


async def rows_needing_model(
    session: AsyncSession, model_id: str, after: uuid.UUID | None, limit: int
) -> Sequence[Row[tuple[object, ...]]]:
    """The next leads (in id order, after ``after``) without a vector of ``model_id``."""
    query = select(*TEXT_COLUMNS).where(
        or_(Lead.embedding.is_(None), Lead.embedding_model.is_distinct_from(model_id))
    )
    if after is not None:
        query = query.where(Lead.id > after)
    result = await session.execute(query.order_by(Lead.id).limit(limit))
    return result.all()


async def count_needing_model(session: AsyncSession, model_id: str) -> int:
    """How many leads have no vector of ``model_id``."""
    result = await session.execute(
        text(
            "SELECT count(*) FROM leads WHERE embedding IS NULL OR embedding_model IS DISTINCT FROM :m"
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
        "SELECT DISTINCT ON (embedding_text_hash) embedding_text_hash, embedding::text FROM leads "
        "WHERE embedding_text_hash = ANY(:hashes) AND embedding_model = :m AND embedding IS NOT NULL"
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
    """Store vectors, their model and text hashes in one statement; returns how many rows changed.

    ``updated_at`` is left alone: a vector changes nothing a viewer or the search index sees.
    """
    if not rows:
        return 0
    query = text(
        "UPDATE leads SET embedding = v.embedding::vector, embedding_model = :m, "
        "embedding_text_hash = v.text_hash "
        "FROM unnest(:ids, :vectors, :hashes) AS v(id, embedding, text_hash) WHERE leads.id = v.id"
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
