"""Ledger hygiene: users cannot take their ledger with them, amounts are 64-bit, idempotency
records live at least a day and are then pruned by a job."""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import IntegrityError
from starlette.applications import Starlette

from aiqleads.domain.credits import idempotency, ledger
from aiqleads.domain.credits.models import CreditLedgerEntry, IdempotencyRecord
from aiqleads.workers.basic_jobs import prune_idempotency_records
from aiqleads.workers.context import for_deps


async def test_deleting_a_user_never_deletes_their_ledger(app: Starlette, make_user: Any) -> None:
    res = app.state.deps
    user = await make_user(credits=40)
    with pytest.raises(IntegrityError):
        async with res.sessionmaker() as session, session.begin():
            await session.execute(text("DELETE FROM users WHERE id = :u"), {"u": user.id})
    async with res.sessionmaker() as session:
        rows = await session.scalar(
            select(func.count()).select_from(CreditLedgerEntry).where(CreditLedgerEntry.user_id == user.id)
        )
    assert rows == 1


async def test_credit_amounts_are_64_bit(app: Starlette, make_user: Any) -> None:
    res = app.state.deps
    user = await make_user()
    big = 3 * 2**31  # more than a 32-bit column holds
    async with res.sessionmaker() as session, session.begin():
        posting = await ledger.post(session, user.id, big, "GRANT", "a very large grant")
    assert posting.balance == big
    async with res.sessionmaker() as session, session.begin():
        spent = await ledger.post(session, user.id, -(big - 5), "SPEND", "and spent again")
    assert spent.balance == 5
    async with res.sessionmaker() as session:
        assert await ledger.balance_of(session, user.id) == 5


async def test_idempotency_records_are_kept_a_day_then_pruned(
    app: Starlette, make_user: Any, settings: Any
) -> None:
    res = app.state.deps
    user = await make_user()
    now = datetime.now(UTC)
    ages = {"fresh": timedelta(hours=1), "day-old": timedelta(hours=23), "stale": timedelta(hours=49)}
    async with res.sessionmaker() as session, session.begin():
        for key, age in ages.items():
            await idempotency.save_record(session, user.id, "checkout", key, "h", {"ok": True})
            await session.execute(
                text("UPDATE idempotency_records SET created_at = :t WHERE user_id = :u AND key = :k"),
                {"t": now - age, "u": user.id, "k": key},
            )
    # a retention below a day is raised to a day: a client may retry for 24 h
    async with res.sessionmaker() as session, session.begin():
        assert await idempotency.prune_records(session, now, timedelta(hours=1), 1000) >= 1
    remaining = await _keys(app, user.id)
    assert remaining == {"fresh", "day-old"}
    # the worker's job prunes in batches with the configured retention (48 h by default)
    async with res.sessionmaker() as session, session.begin():
        await idempotency.save_record(session, user.id, "checkout", "older", "h", {"ok": True})
        await session.execute(
            text("UPDATE idempotency_records SET created_at = :t WHERE user_id = :u AND key = 'older'"),
            {"t": now - timedelta(days=3), "u": user.id},
        )
    pruned = await prune_idempotency_records(for_deps(replace(res, settings=settings)), batch_size=1)
    assert pruned >= 1
    assert await _keys(app, user.id) == {"fresh", "day-old"}


async def _keys(app: Starlette, user_id: uuid.UUID) -> set[str]:
    async with app.state.deps.sessionmaker() as session:
        rows = await session.scalars(
            select(IdempotencyRecord.key).where(IdempotencyRecord.user_id == user_id)
        )
        return set(rows)
