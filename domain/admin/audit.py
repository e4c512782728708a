"""The audit log's repository: append one entry per admin operation, read it newest first."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from aiqleads.domain.admin.models import AuditLogEntry

MAX_PAGE = 100
# a refused call's target comes from the caller's input before it is validated (runScrape's region):
# the log keeps enough of it to see what was tried, not whatever a non-admin chose to send
MAX_TARGET_CHARS = 200


async def record(
    session: AsyncSession,
    actor_id: uuid.UUID | None,
    action: str,
    target_type: str,
    target_id: object,
    *,
    reason: str | None = None,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
) -> AuditLogEntry:
    """Append one entry in the caller's transaction (so it commits or rolls back with the change)."""
    entry = AuditLogEntry(
        actor_id=actor_id,
        action=action,
        target_type=target_type,
        target_id=bounded_target(target_id),
        reason=reason,
        before=before,
        after=after,
    )
    session.add(entry)
    await session.flush()
    return entry


def bounded_target(target_id: object) -> str:
    """The target as the log keeps it: its text, cut to MAX_TARGET_CHARS with an ellipsis."""
    text = str(target_id)
    return text if len(text) <= MAX_TARGET_CHARS else text[: MAX_TARGET_CHARS - 1] + "…"


async def entries(session: AsyncSession, first: int, after: int | None) -> list[AuditLogEntry]:
    """Entries newest first, after the entry with id ``after`` (ids only grow)."""
    stmt = select(AuditLogEntry).order_by(AuditLogEntry.id.desc()).limit(max(0, min(first, MAX_PAGE)))
    if after is not None:
        stmt = stmt.where(AuditLogEntry.id < after)
    return list(await session.scalars(stmt))
