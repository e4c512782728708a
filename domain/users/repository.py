"""SQL for users and API keys."""

from __future__ import annotations

import functools
import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Select, bindparam, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from aiqleads.domain.core.driver_sql import columns_of, fetch_entities
from aiqleads.domain.core.user import User
from aiqleads.domain.users.models import ApiKey


async def get_user(session: AsyncSession, user_id: uuid.UUID) -> User | None:
    """Load one user by id (every signed-in request runs this)."""
    return (await session.scalars(_user_by_id(), {"user_id": user_id})).first()


@functools.cache
def _user_by_id() -> Select[tuple[User]]:
    # built once: statement construction costs more than the lookup (a row the session already
    # holds comes back as that object, unchanged, as with session.get)
    return select(User).where(User.id == bindparam("user_id"))


@functools.cache
def _user_row() -> Select[Any]:
    return select(*columns_of(User)).where(User.id == bindparam("user_id"))


async def signed_in_user(session: AsyncSession, user_id: uuid.UUID) -> User | None:
    """The user a request is signed in as, on the driver (every signed-in request runs this): a
    detached copy, read and never changed (a change to the user goes through ``get_user``)."""
    rows = await fetch_entities(session, User, _user_row, {"user_id": user_id})
    return rows[0] if rows else None


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
