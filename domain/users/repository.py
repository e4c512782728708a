"""SQL for users and API keys."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from aiqleads.domain.core.user import User
from aiqleads.domain.users.models import ApiKey


async def get_user(session: AsyncSession, user_id: uuid.UUID) -> User | None:
    """Load one user by id."""
    return await session.get(User, user_id)


async def get_users(session: AsyncSession, user_ids: Sequence[uuid.UUID]) -> list[User]:
    """Load many users in one statement."""
    rows = await session.scalars(select(User).where(User.id.in_(user_ids)))
    return list(rows)


async def get_user_by_email(session: AsyncSession, email: str) -> User | None:
    """Load a user by case-insensitive email."""
    result = await session.scalars(select(User).where(func.lower(User.email) == email.lower()))
    return result.first()


async def get_api_key(session: AsyncSession, key_hash: str) -> ApiKey | None:
    """Load an unrevoked API key by its hash."""
    result = await session.scalars(
        select(ApiKey).where(ApiKey.key_hash == key_hash, ApiKey.revoked_at.is_(None))
    )
    return result.first()
