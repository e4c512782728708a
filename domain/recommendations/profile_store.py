"""SQL of buyer profiles: interactions, the inputs of one profile, and the profile row itself."""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import bindparam, text
from sqlalchemy.dialects.postgresql import ARRAY, TEXT, TIMESTAMP, UUID
from sqlalchemy.ext.asyncio import AsyncSession

from aiqleads.domain.core.interactions import Interaction, InteractionKind
from aiqleads.domain.recommendations.embedding_store import parse_vector, vector_literal
from aiqleads.domain.recommendations.profiles import Profile, ProfileInput

MAX_PROFILE_INPUTS = 500  # the newest interactions; older ones weigh almost nothing after decay


@dataclass(frozen=True)
class StoredProfile:
    """A profile as stored: its vector, model and what built it."""

    user_id: uuid.UUID
    embedding_model: str
    vector: Any
    interactions: int
    summary: list[dict[str, Any]]


async def upsert_interactions(session: AsyncSession, items: Sequence[Interaction]) -> int:
    """Record the latest view/hold of each (user, lead); entries for deleted users or leads are dropped."""
    rows = [i for i in items if i.kind in (InteractionKind.VIEW, InteractionKind.HOLD)]
    if not rows:
        return 0
    latest: dict[tuple[uuid.UUID, uuid.UUID, str], datetime] = {}
    for item in rows:
        key = (item.user_id, item.lead_id, item.kind.value)
        at = datetime.fromtimestamp(item.at, UTC)
        latest[key] = max(at, latest.get(key, at))
    query = text(
        "INSERT INTO lead_interactions (user_id, lead_id, kind, at) "
        "SELECT v.user_id, v.lead_id, v.kind, v.at "
        "FROM unnest(:users, :leads, :kinds, :ats) AS v(user_id, lead_id, kind, at) "
        "JOIN users u ON u.id = v.user_id JOIN leads l ON l.id = v.lead_id "
        "ON CONFLICT (user_id, lead_id, kind) DO UPDATE SET at = GREATEST(lead_interactions.at, excluded.at)"
    ).bindparams(
        bindparam("users", type_=ARRAY(UUID(as_uuid=True))),
        bindparam("leads", type_=ARRAY(UUID(as_uuid=True))),
        bindparam("kinds", type_=ARRAY(TEXT)),
        bindparam("ats", type_=ARRAY(TIMESTAMP(timezone=True))),
    )
    keys = list(latest)
    result = await session.execute(
        query,
        {
            "users": [k[0] for k in keys],
            "leads": [k[1] for k in keys],
            "kinds": [k[2] for k in keys],
            "ats": [latest[k] for k in keys],
        },
    )
    return int(getattr(result, "rowcount", 0) or 0)


_INPUTS = text(
    "SELECT i.kind, extract(epoch FROM i.at) AS at, e.embedding::text AS embedding, "
    "l.property_type, l.city, l.state "
    "FROM (SELECT lead_id, kind, at FROM lead_interactions WHERE user_id = :user "
    "      UNION ALL "
    "      SELECT lead_id, 'BUY', purchased_at FROM purchases "
    "      WHERE user_id = :user AND returned_at IS NULL) i "
    "JOIN leads l ON l.id = i.lead_id JOIN lead_embeddings e ON e.lead_id = i.lead_id "
    "WHERE e.embedding_model = :model "
    "ORDER BY i.at DESC LIMIT :limit"
)


async def profile_inputs(session: AsyncSession, user_id: uuid.UUID, model_id: str) -> list[ProfileInput]:
    """The newest interactions of a user with leads that have a vector of ``model_id``."""
    result = await session.execute(_INPUTS, {"user": user_id, "model": model_id, "limit": MAX_PROFILE_INPUTS})
    return [
        ProfileInput(
            InteractionKind(r.kind), float(r.at), parse_vector(r.embedding), r.property_type, r.city, r.state
        )
        for r in result
    ]


async def save_profile(
    session: AsyncSession, user_id: uuid.UUID, model_id: str, profile: Profile | None
) -> None:
    """Store (or, with no profile, delete) a user's profile row."""
    if profile is None:
        await session.execute(text("DELETE FROM buyer_profiles WHERE user_id = :u"), {"u": user_id})
        return
    await session.execute(
        text(
            "INSERT INTO buyer_profiles "
            "(user_id, embedding_model, embedding, interactions, summary, updated_at) "
            "SELECT :u, :m, CAST(:v AS vector), :n, CAST(:s AS jsonb), now() WHERE EXISTS "
            "(SELECT 1 FROM users WHERE id = :u) "
            "ON CONFLICT (user_id) DO UPDATE SET embedding_model = excluded.embedding_model, "
            "embedding = excluded.embedding, interactions = excluded.interactions, "
            "summary = excluded.summary, updated_at = now()"
        ),
        {
            "u": user_id,
            "m": model_id,
            "v": vector_literal(profile.vector),
            "n": profile.interactions,
            "s": json.dumps(profile.summary),
        },
    )


async def load_profile(session: AsyncSession, user_id: uuid.UUID) -> StoredProfile | None:
    """A user's stored profile (None before their first interaction)."""
    row = (
        await session.execute(
            text(
                "SELECT user_id, embedding_model, embedding::text AS embedding, interactions, summary "
                "FROM buyer_profiles WHERE user_id = :u"
            ),
            {"u": user_id},
        )
    ).first()
    if row is None:
        return None
    return StoredProfile(
        row.user_id, row.embedding_model, parse_vector(row.embedding), row.interactions, row.summary
    )


async def users_with_profiles(session: AsyncSession) -> list[uuid.UUID]:
    """Every user who has a profile or any interaction (what ``reembed`` rebuilds)."""
    result = await session.execute(
        text(
            "SELECT user_id FROM buyer_profiles UNION SELECT user_id FROM lead_interactions "
            "UNION SELECT user_id FROM purchases WHERE returned_at IS NULL"
        )
    )
    return [r[0] for r in result]
