"""Idempotency records: the first result of a mutation, replayed for retries with the same key."""

from __future__ import annotations

import functools
import hashlib
import json
import uuid
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Select, TextualSelect, bindparam, delete, select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from aiqleads.domain.core.driver_sql import columns_of, fetch_entities, run
from aiqleads.domain.credits.models import IdempotencyRecord
from aiqleads.domain.db import insert_unless_conflict
from aiqleads.domain.errors import DomainError, ErrorCode, invalid_input

MAX_KEY_LENGTH = 200
MIN_RETENTION = timedelta(hours=24)  # a client may retry for a day and get the first result


@functools.cache
def first_result_insert() -> TextualSelect:
    """``INSERT`` of a first result unless its key holds one (no row then); parameters are named
    after the record's columns (a checkout sends it with its other writes, as one statement)."""
    return insert_unless_conflict(
        IdempotencyRecord,
        ("user_id", "operation", "key", "request_hash", "response"),
        "(user_id, operation, key)",
        ("key",),
    )


def check_key(key: str, field: str = "idempotencyKey") -> str:
    """A usable idempotency key (1..200 printable characters) or INVALID_INPUT."""
    cleaned = key.strip()
    if not cleaned:
        raise invalid_input("The idempotency key must not be empty.", field)
    if len(cleaned) > MAX_KEY_LENGTH:
        raise invalid_input(f"The idempotency key must be at most {MAX_KEY_LENGTH} characters.", field)
    if not cleaned.isprintable():
        raise invalid_input("The idempotency key must contain printable characters only.", field)
    return cleaned


def request_hash(value: Any) -> str:
    """A stable SHA-256 of what a request asked for (compared on retries)."""
    return hashlib.sha256(json.dumps(value, sort_keys=True, default=str).encode()).hexdigest()


async def get_record(
    session: AsyncSession, user_id: uuid.UUID, operation: str, key: str
) -> IdempotencyRecord | None:
    """The stored first result for (user, operation, key), if any."""
    params = {"user_id": user_id, "operation": operation, "key": key}
    rows = await fetch_entities(session, IdempotencyRecord, _get_record, params)
    return rows[0] if rows else None


@functools.cache
def _get_record() -> Select[Any]:
    return select(*columns_of(IdempotencyRecord)).where(
        IdempotencyRecord.user_id == bindparam("user_id"),
        IdempotencyRecord.operation == bindparam("operation"),
        IdempotencyRecord.key == bindparam("key"),
    )


async def save_record(
    session: AsyncSession,
    user_id: uuid.UUID,
    operation: str,
    key: str,
    hashed_request: str,
    response: dict[str, Any],
) -> None:
    """Store the first result; a concurrent first writer with the same key is a conflict."""
    values = {
        "user_id": user_id,
        "operation": operation,
        "key": key,
        "request_hash": hashed_request,
        "response": response,
    }
    if not await run(session, first_result_insert, values):
        raise DomainError(
            ErrorCode.IDEMPOTENCY_CONFLICT,
            "Another request with this idempotency key was processed at the same time.",
            "idempotencyKey",
        )


async def prune_records(session: AsyncSession, now: datetime, retention: timedelta, limit: int) -> int:
    """Delete up to ``limit`` records older than ``retention`` (never less than 24 h); returns how many."""
    cutoff = now - max(retention, MIN_RETENTION)
    oldest = (
        select(IdempotencyRecord.user_id, IdempotencyRecord.operation, IdempotencyRecord.key)
        .where(IdempotencyRecord.created_at < cutoff)
        .order_by(IdempotencyRecord.created_at)
        .limit(limit)
    )
    result = await session.execute(
        delete(IdempotencyRecord)
        .where(
            tuple_(IdempotencyRecord.user_id, IdempotencyRecord.operation, IdempotencyRecord.key).in_(oldest)
        )
        .execution_options(synchronize_session=False)
    )
    return int(getattr(result, "rowcount", 0) or 0)
