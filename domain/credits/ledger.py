"""The append-only credit ledger: every movement is one row; users.credit_balance caches the sum.

Every write locks the user's row first (SELECT ... FOR UPDATE), so entries of one user are
chained in order and ``balance_after`` is exact; the database CHECKs (balance_after >= 0,
credit_balance >= 0) and the unique (user_id, kind, ref) index back this up.
"""

from __future__ import annotations

import base64
import binascii
import functools
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Literal, cast

from sqlalchemy import (
    CTE,
    BigInteger,
    ColumnElement,
    Select,
    Table,
    TextClause,
    TextualSelect,
    Uuid,
    and_,
    bindparam,
    column,
    func,
    select,
    text,
)
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.attributes import set_committed_value

from aiqleads.domain.core.driver_sql import columns_of, fetch_entities
from aiqleads.domain.core.user import User
from aiqleads.domain.credits.models import CreditLedgerEntry
from aiqleads.domain.errors import DomainError, ErrorCode, invalid_input, not_found
from aiqleads.domain.unit_of_work import note_credit_move

LedgerKind = Literal[
    "GRANT", "PACK_PURCHASE", "MONTHLY_ALLOWANCE", "SPEND", "REFUND", "REVERSAL", "ADJUSTMENT"
]
MAX_PAGE = 100
# a post with a reference is exactly-once: the partial unique index answers a repeat, no pre-check
MAX_ENTRY_ID = 2**63 - 1  # credit_ledger.id is a BIGINT: larger ids cannot exist and cannot be bound


@dataclass(frozen=True)
class Posting:
    """The outcome of posting an entry: the entry (new or the earlier one with the same ref)."""

    entry: CreditLedgerEntry
    balance: int
    created: bool


# built once, with bound parameters (constructing a statement costs more than running it)
@functools.cache
def _lock_user() -> Select[tuple[User]]:
    return (
        select(User)
        .where(User.id == bindparam("user_id"))
        .with_for_update()
        .execution_options(populate_existing=True)
    )


_POSTED = ("user_id", "amount", "balance_after", "kind", "reason", "ref")
# the cached balance moves only when the entry was written (the CTE named entry returned a row)
_MOVE = (
    "UPDATE users SET credit_balance = credit_balance + :amount"
    " WHERE id = :user_id AND EXISTS (SELECT 1 FROM entry)"
)


def _entry_sql(once: bool, returned: str) -> str:
    conflict = " ON CONFLICT (user_id, kind, ref) WHERE ref IS NOT NULL DO NOTHING" if once else ""
    names = ", ".join(_POSTED)
    values = ", ".join(f":{name}" for name in _POSTED)
    return f"INSERT INTO credit_ledger ({names}) VALUES ({values}){conflict} RETURNING {returned}"


def _typed(sql: str) -> TextClause:
    table = cast(Table, CreditLedgerEntry.__table__)
    used = [name for name in _POSTED if f":{name}" in sql]
    return text(sql).bindparams(*(bindparam(name, type_=table.c[name].type) for name in used))


@functools.cache
def _post_statement(once: bool) -> TextualSelect:
    """Append an entry and move the cached balance in ONE statement (the balance moves only when
    the entry was written); ``once``: a (user, kind, ref) already posted writes nothing, returns
    no row (the partial unique index answers a repeat, no pre-check)."""
    columns = columns_of(CreditLedgerEntry)
    returned = ", ".join(column.name for column in columns)
    sql = f"WITH entry AS ({_entry_sql(once, returned)}), moved AS ({_MOVE}) SELECT {returned} FROM entry"
    return _typed(sql).columns(*columns)


@functools.cache
def spend_ctes() -> tuple[CTE, CTE]:
    """``post``'s two writes with a reference, as the CTEs ``entry`` (its id; no row when the
    reference was posted before) and ``moved`` of a larger statement (a checkout's sale), for a
    caller holding the user's row lock that checked the balance as ``post`` does; parameters
    named after the entry's columns. ``note_posted`` then counts it."""
    entry = _typed(_entry_sql(True, "id")).columns(column("id", BigInteger)).cte("entry")
    moved = _typed(f"{_MOVE} RETURNING id").columns(column("id", Uuid)).cte("moved")
    return entry, moved


def note_posted(session: AsyncSession, user: User, kind: LedgerKind, amount: int) -> int:
    """After ``spend_ctes`` wrote an entry: the loaded row mirrors the new balance, the move is
    counted at commit; returns that balance."""
    balance = user.credit_balance + amount
    set_committed_value(user, "credit_balance", balance)
    note_credit_move(session, kind, amount)
    return balance


async def lock_user(session: AsyncSession, user_id: uuid.UUID) -> User:
    """Load the user row FOR UPDATE (serialises every ledger write of this user)."""
    user = (await session.scalars(_lock_user(), {"user_id": user_id})).first()
    if user is None:
        raise not_found("No such user.", "userId")
    return user


async def find_by_ref(
    session: AsyncSession, user_id: uuid.UUID, kind: LedgerKind, ref: str
) -> CreditLedgerEntry | None:
    """The entry of this kind and reference, if it was already posted."""
    rows = await session.scalars(
        select(CreditLedgerEntry).where(
            CreditLedgerEntry.user_id == user_id, CreditLedgerEntry.kind == kind, CreditLedgerEntry.ref == ref
        )
    )
    return rows.first()


async def post(
    session: AsyncSession,
    user_id: uuid.UUID,
    amount: int,
    kind: LedgerKind,
    reason: str,
    ref: str | None = None,
    *,
    locked: User | None = None,
) -> Posting:
    """Append one entry and move the cached balance, under the user's row lock.

    A negative result is refused with INSUFFICIENT_CREDITS. With a ``ref``, posting is
    exactly-once: a second post with the same (kind, ref) returns the first entry unchanged.
    ``locked`` is the user's row when the caller already holds its lock (one statement fewer).
    """
    if amount == 0:
        raise invalid_input("A ledger entry must move at least one credit.", "amount")
    user = locked if locked is not None and locked.id == user_id else await lock_user(session, user_id)
    new_balance = user.credit_balance + amount
    if new_balance < 0 and ref is not None:
        # a repeated post answers with its first entry even when the balance could not pay it now
        existing = await find_by_ref(session, user_id, kind, ref)
        if existing is not None:
            return Posting(existing, user.credit_balance, created=False)
    if new_balance < 0:
        raise DomainError(
            ErrorCode.INSUFFICIENT_CREDITS,
            f"This needs {-amount} credits but the balance is {user.credit_balance}.",
        )
    values = {
        "user_id": user_id,
        "amount": amount,
        "balance_after": new_balance,
        "kind": kind,
        "reason": reason,
        "ref": ref,
    }
    entries = await fetch_entities(session, CreditLedgerEntry, _post_statement, values, ref is not None)
    entry = entries[0] if entries else None
    if entry is None:  # posted before with this reference: the unique index answers, no pre-check
        assert ref is not None
        existing = await find_by_ref(session, user_id, kind, ref)
        assert existing is not None
        return Posting(existing, user.credit_balance, created=False)
    return Posting(entry, note_posted(session, user, kind, amount), created=True)


async def users_without_entry(
    session: AsyncSession,
    tiers: Sequence[str],
    kind: LedgerKind,
    ref: str | ColumnElement[str],
    limit: int,
    paid_after: datetime | None = None,
) -> list[uuid.UUID]:
    """Users on one of these tiers with no ledger entry of this kind and reference yet, by id.

    ``ref`` is a constant or a SQL expression over the user's row (a per-user reference, such as
    the allowance of the user's paid period). With ``paid_after``, only users whose tier is paid
    beyond that moment.
    """
    posted = and_(
        CreditLedgerEntry.user_id == User.id, CreditLedgerEntry.kind == kind, CreditLedgerEntry.ref == ref
    )
    stmt = select(User.id).where(
        User.tier.in_(list(tiers)), ~select(CreditLedgerEntry.id).where(posted).exists()
    )
    if paid_after is not None:
        stmt = stmt.where(User.tier_paid_until > paid_after)
    rows = await session.scalars(stmt.order_by(User.id).limit(limit))
    return list(rows)


async def balance_of(session: AsyncSession, user_id: uuid.UUID) -> int:
    """The cached balance of a user (0 for an unknown user)."""
    value = await session.scalar(select(User.credit_balance).where(User.id == user_id))
    return int(value or 0)


def encode_cursor(entry_id: int) -> str:
    """Opaque cursor of a ledger entry."""
    return base64.urlsafe_b64encode(f"ledger:{entry_id}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> int:
    """The entry id inside a cursor; INVALID_INPUT when malformed."""
    try:
        raw = base64.urlsafe_b64decode((cursor + "=" * (-len(cursor) % 4)).encode()).decode()
        prefix, _, value = raw.partition(":")
        if prefix != "ledger" or not (value.isascii() and value.isdigit()):
            raise ValueError(raw)
        entry_id = int(value)
        if entry_id > MAX_ENTRY_ID:
            raise ValueError(raw)
        return entry_id
    except (binascii.Error, UnicodeDecodeError, ValueError) as exc:
        raise invalid_input("Malformed cursor.", "after") from exc


@dataclass(frozen=True)
class TransactionPage:
    """One page of a user's ledger, newest first."""

    entries: list[CreditLedgerEntry]
    has_next_page: bool
    has_previous_page: bool
    total_count: int


async def list_transactions(
    session: AsyncSession, user_id: uuid.UUID, first: int, after: str | None
) -> TransactionPage:
    """The user's ledger entries, newest first, keyset-paginated by entry id."""
    if first < 0 or first > MAX_PAGE:
        raise invalid_input(f"first must be between 0 and {MAX_PAGE}.", "first")
    stmt = select(CreditLedgerEntry).where(CreditLedgerEntry.user_id == user_id)
    after_id = decode_cursor(after) if after else None
    if after_id is not None:
        stmt = stmt.where(CreditLedgerEntry.id < after_id)
    rows = list(await session.scalars(stmt.order_by(CreditLedgerEntry.id.desc()).limit(first + 1)))
    total = await session.scalar(
        select(func.count()).select_from(CreditLedgerEntry).where(CreditLedgerEntry.user_id == user_id)
    )
    return TransactionPage(
        entries=rows[:first],
        has_next_page=len(rows) > first,
        has_previous_page=after_id is not None,
        total_count=int(total or 0),
    )


async def get_entry(session: AsyncSession, user_id: uuid.UUID, entry_id: int) -> CreditLedgerEntry | None:
    """One of the user's ledger entries (None when missing or someone else's)."""
    if not 0 < entry_id <= MAX_ENTRY_ID:
        return None
    entry = await session.get(CreditLedgerEntry, entry_id)
    return entry if entry is not None and entry.user_id == user_id else None
