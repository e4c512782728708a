"""SQL of carts, holds and purchases.

Lock order: cart → leads (sorted, one batch) → user, except a checkout: cart → user → leads, so
that its lead locks last only for the sale's statement and the commit. The two orders never meet
on one user and lead: the paths that lock a lead and then a user are a return's (its buyer's
purchase of that lead) and a hold's seat change (no user lock), and a buyer cannot hold, so
cannot check out, a lead bought before (ALREADY_PURCHASED, returned or not)."""

from __future__ import annotations

import functools
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import (
    Integer,
    Select,
    Table,
    and_,
    any_,
    bindparam,
    case,
    column,
    delete,
    func,
    or_,
    select,
    text,
    update,
)
from sqlalchemy.dialects.postgresql import ARRAY, insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.dml import ReturningDelete, ReturningUpdate

from aiqleads.domain.cart.models import Cart
from aiqleads.domain.core.driver_sql import columns_of, detached, fetch_entities, loaded_columns, run
from aiqleads.domain.core.lead import Lead
from aiqleads.domain.core.plans import effective_tier
from aiqleads.domain.core.seats import Hold, Purchase
from aiqleads.domain.core.user import User
from aiqleads.domain.credits import idempotency, ledger
from aiqleads.domain.credits.models import IdempotencyRecord
from aiqleads.domain.errors import not_found


async def lock_cart(session: AsyncSession, user_id: uuid.UUID) -> Cart:
    """The user's cart row, created if missing, locked for the rest of the transaction."""
    # the row exists after a buyer's first hold: a plain locking read (SQLAlchemy caches its
    # compiled form; the upsert, a PostgreSQL insert construct, is compiled on every execution)
    existing = await lock_existing_cart(session, user_id)
    if existing is not None:
        return existing
    stmt = (
        insert(Cart)
        .values(user_id=user_id)
        .on_conflict_do_update(index_elements=[Cart.user_id], set_={"updated_at": func.now()})
        .returning(Cart)
    )
    result = await session.scalars(stmt, execution_options={"populate_existing": True})
    return result.one()


# The statements of the checkout and hold paths are built once, with bound parameters: building a
# SQLAlchemy statement costs more Python time than PostgreSQL takes to run it (profiled: most of
# fill_seats was its construction), and the prebuilt ones hit the compiled cache directly.
@functools.cache
def _lock_cart() -> Select[tuple[Cart]]:
    return (
        select(Cart)
        .where(Cart.user_id == bindparam("user_id"))
        .with_for_update(key_share=True)
        .execution_options(populate_existing=True)
    )


async def lock_existing_cart(session: AsyncSession, user_id: uuid.UUID) -> Cart | None:
    """The user's cart row locked FOR UPDATE, or None when the user never had a cart."""
    return (await session.scalars(_lock_cart(), {"user_id": user_id})).first()


@functools.cache
def _lock_cart_row() -> Select[Any]:
    return (
        select(*columns_of(Cart)).where(Cart.user_id == bindparam("user_id")).with_for_update(key_share=True)
    )


async def lock_cart_row(session: AsyncSession, user_id: uuid.UUID) -> Cart:
    """``lock_cart`` for a caller that only reads the row (a checkout): a detached copy, on the driver;
    the checkout clears its timer with ``take_cart``."""
    rows = await fetch_entities(session, Cart, _lock_cart_row, {"user_id": user_id})
    return rows[0] if rows else await lock_cart(session, user_id)


async def get_cart(session: AsyncSession, user_id: uuid.UUID) -> Cart | None:
    """The user's cart row without locking."""
    return await session.get(Cart, user_id)


@functools.cache
def _holds_of() -> Select[Any]:
    return (
        select(*columns_of(Hold))
        .where(Hold.user_id == bindparam("user_id"))
        .order_by(Hold.created_at, Hold.id)
    )


async def holds_of(session: AsyncSession, user_id: uuid.UUID) -> list[Hold]:
    """Every hold row of a user (expired or not), oldest first (detached rows: read, never changed)."""
    return await fetch_entities(session, Hold, _holds_of, {"user_id": user_id})


async def take_cart(
    session: AsyncSession, user_id: uuid.UUID, operation: str, key: str
) -> tuple[User, list[Hold], IdempotencyRecord | None]:
    """What a checkout reads right after locking the cart, in ONE statement, detached: the user's
    row locked FOR UPDATE (as ``ledger.lock_user``: the tier and balance the checkout charges
    by), the cart's holds (``holds_of``) and the first result under its key
    (``idempotency.get_record``); and the cart's timer cleared, since a checkout empties the cart
    (one that fails rolls back; a replay finds an empty cart, which has no timer, and a key reused
    on a new cart is refused, rolling back). Holds and first results change only under the cart
    lock this caller holds, so waiting here for the user's lock leaves them current."""
    values = {"user_id": user_id, "operation": operation, "key": key}
    rows = await run(session, _take_cart, values)
    if not rows:
        raise not_found("No such user.", "userId")
    user_width = len(loaded_columns(User))
    width = user_width + len(loaded_columns(IdempotencyRecord))
    user = detached(User, rows[0])
    record = detached(IdempotencyRecord, rows[0], user_width) if rows[0][user_width] is not None else None
    holds = [detached(Hold, row, width) for row in rows if row[width] is not None]
    return user, holds, record


@functools.cache
def _take_cart() -> Select[Any]:
    record = IdempotencyRecord
    user = bindparam("user_id", type_=Hold.user_id.type)
    # a data-modifying CTE runs whether or not the query reads it; no write when there is no timer
    timed = or_(Cart.started_at.is_not(None), Cart.expires_at.is_not(None))
    cleared = (
        update(Cart)
        .where(Cart.user_id == user, timed)
        .values(started_at=None, expires_at=None)
        .returning(Cart.user_id)
        .cte("cleared")
    )
    # one row per hold (none: one row of nulls for them), each with the user's and the record's
    found = and_(
        record.user_id == user, record.operation == bindparam("operation"), record.key == bindparam("key")
    )
    return (
        select(*columns_of(User), *columns_of(record), *columns_of(Hold))
        .select_from(User)
        .outerjoin(record, found)
        .outerjoin(Hold, Hold.user_id == user)
        .where(User.id == user)
        .order_by(Hold.created_at, Hold.id)
        .with_for_update(of=User)
        .add_cte(cleared)
    )


@dataclass(frozen=True)
class LockedLead:
    """What a locker needs to know about a lead it locked (the full row is loaded only for responses)."""

    id: uuid.UUID
    status: str
    title: str
    # read only so that messages can name the lead without its contact (see core.visibility)
    street: str | None = None
    contact_name: str | None = None
    contact_phone: str | None = None
    contact_email: str | None = None
    fraud_score: float = 0.0  # as of the lock (a purchase records the score it was sold at)


async def lock_leads(session: AsyncSession, lead_ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, LockedLead]:
    """Lock leads FOR NO KEY UPDATE in id order (one batch, so no two transactions deadlock)."""
    ids = sorted(set(lead_ids))
    if not ids:
        return {}
    rows = await run(session, _lock_leads, {"ids": ids})
    return {row[0]: LockedLead(*row) for row in rows}


@functools.cache
def _lock_leads() -> Select[
    tuple[uuid.UUID, str, str, str | None, str | None, str | None, str | None, float]
]:
    # one array parameter (``= ANY``), not an expanding IN: the statement is compiled once
    return (
        select(
            Lead.id,
            Lead.status,
            Lead.title,
            Lead.street,
            Lead.contact_name,
            Lead.contact_phone,
            Lead.contact_email,
            Lead.fraud_score,
        )
        .where(Lead.id == any_(bindparam("ids", type_=ARRAY(Lead.id.type))))
        .order_by(Lead.id)
        .with_for_update(key_share=True)
    )


async def refresh_leads(session: AsyncSession, lead_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, Lead]:
    """Reload leads after SQL updates (counts and status) so returned rows are current."""
    if not lead_ids:
        return {}
    rows = await session.scalars(
        select(Lead).where(Lead.id.in_(lead_ids)).execution_options(populate_existing=True)
    )
    return {row.id: row for row in rows}


@dataclass(frozen=True)
class Standing:
    """What a buyer's limits depend on: the tier in effect now and the credit balance."""

    tier: str
    balance: int


async def user_standing(session: AsyncSession, user_id: uuid.UUID, now: datetime) -> Standing:
    """The user's effective tier (a lapsed paid period counts as FREE) and balance; FREE/0 when unknown."""
    row = (
        await session.execute(
            select(User.tier, User.tier_paid_until, User.credit_balance).where(User.id == user_id)
        )
    ).first()
    if row is None:
        return Standing("FREE", 0)
    tier, paid_until, balance = row
    return Standing(effective_tier(tier, paid_until, now), int(balance))


async def user_tier(session: AsyncSession, user_id: uuid.UUID, now: datetime) -> str:
    """The user's effective tier now (FREE when unknown)."""
    return (await user_standing(session, user_id, now)).tier


async def delete_holds(
    session: AsyncSession, user_id: uuid.UUID, hold_ids: Sequence[uuid.UUID]
) -> list[tuple[uuid.UUID, datetime]]:
    """Delete some holds of a user; returns (lead_id, held_until) of the rows actually deleted."""
    if not hold_ids:
        return []
    rows = await run(session, _delete_holds, {"user_id": user_id, "ids": list(hold_ids)})
    return [(lead_id, held_until) for lead_id, held_until in rows]


@functools.cache
def _delete_holds() -> ReturningDelete[tuple[uuid.UUID, datetime]]:
    return (
        delete(Hold)
        .where(
            Hold.user_id == bindparam("user_id"), Hold.id == any_(bindparam("ids", type_=ARRAY(Hold.id.type)))
        )
        .returning(Hold.lead_id, Hold.held_until)
    )


async def release_seats(session: AsyncSession, lead_ids: Sequence[uuid.UUID]) -> None:
    """Give back one held seat on each lead (caller holds the lead locks)."""
    if not lead_ids:
        return
    await session.execute(
        update(Lead)
        .where(Lead.id.in_(lead_ids))
        .values(holds_count=Lead.holds_count - 1)
        .execution_options(synchronize_session=False)
    )


async def take_seat(session: AsyncSession, lead_id: uuid.UUID) -> int | None:
    """Take one seat of an AVAILABLE lead if one is free; returns its credit price, or None."""
    price = (await session.execute(_take_seat(), {"lead_id": lead_id})).scalar_one_or_none()
    return int(price) if price is not None else None


@functools.cache
def _take_seat() -> ReturningUpdate[tuple[int]]:
    return (
        update(Lead)
        .where(
            Lead.id == bindparam("lead_id"),
            Lead.status == "AVAILABLE",
            Lead.buyers_count + Lead.holds_count < Lead.max_buyers,
        )
        .values(holds_count=Lead.holds_count + 1)
        .returning(Lead.price_credits)
        .execution_options(synchronize_session=False)
    )


async def release_expired_on_lead(
    session: AsyncSession, lead_id: uuid.UUID, now: datetime
) -> list[tuple[uuid.UUID, datetime]]:
    """Delete every expired hold on a lead (caller holds its lock); returns (user_id, held_until)."""
    result = await session.execute(_release_expired_on_lead(), {"lead_id": lead_id, "now": now})
    rows = [(user_id, held_until) for user_id, held_until in result.tuples()]
    if rows:
        await session.execute(
            update(Lead)
            .where(Lead.id == lead_id)
            .values(holds_count=Lead.holds_count - len(rows))
            .execution_options(synchronize_session=False)
        )
    return rows


@functools.cache
def _release_expired_on_lead() -> ReturningDelete[tuple[uuid.UUID, datetime]]:
    return (
        delete(Hold)
        .where(Hold.lead_id == bindparam("lead_id"), Hold.held_until <= bindparam("now"))
        .returning(Hold.user_id, Hold.held_until)
        .execution_options(synchronize_session=False)
    )


async def cart_timers(
    session: AsyncSession, user_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, tuple[datetime | None, int]]:
    """For each user: the cart-wide deadline and how many hold rows the cart still has."""
    if not user_ids:
        return {}
    counts = (
        select(Hold.user_id, func.count().label("n")).where(Hold.user_id.in_(user_ids)).group_by(Hold.user_id)
    ).subquery()
    rows = await session.execute(
        select(Cart.user_id, Cart.expires_at, func.coalesce(counts.c.n, 0))
        .outerjoin(counts, counts.c.user_id == Cart.user_id)
        .where(Cart.user_id.in_(user_ids))
    )
    return {user_id: (expires_at, int(n)) for user_id, expires_at, n in rows.tuples()}


async def purchase_of(session: AsyncSession, user_id: uuid.UUID, lead_id: uuid.UUID) -> Purchase | None:
    """The user's purchase of a lead (returned or not), if any."""
    return (await session.scalars(_purchase_of(), {"user_id": user_id, "lead_id": lead_id})).first()


@functools.cache
def _purchase_of() -> Select[tuple[Purchase]]:
    return select(Purchase).where(
        Purchase.user_id == bindparam("user_id"), Purchase.lead_id == bindparam("lead_id")
    )


async def due_users(session: AsyncSession, now: datetime, limit: int) -> list[uuid.UUID]:
    """Users with at least one hold past its deadline (what reconciliation must release)."""
    rows = await session.scalars(
        select(Hold.user_id).where(Hold.held_until <= now).group_by(Hold.user_id).limit(limit)
    )
    return list(rows)


async def upcoming_deadlines(
    session: AsyncSession, after: datetime, until: datetime, limit: int
) -> list[tuple[uuid.UUID, datetime]]:
    """(user, earliest deadline) for holds whose deadline falls in (after, until]."""
    rows = await session.execute(
        select(Hold.user_id, func.min(Hold.held_until))
        .where(Hold.held_until > after, Hold.held_until <= until)
        .group_by(Hold.user_id)
        .limit(limit)
    )
    return [(user_id, deadline) for user_id, deadline in rows.tuples()]


async def active_holds_with_leads(
    session: AsyncSession, user_id: uuid.UUID, now: datetime
) -> list[tuple[Hold, Lead]]:
    """The user's holds whose deadline is still ahead, each with its lead, oldest first (one statement)."""
    rows = await session.execute(_active_holds_with_leads(), {"user_id": user_id, "now": now})
    return [(hold, lead) for hold, lead in rows.tuples()]


@functools.cache
def _active_holds_with_leads() -> Select[tuple[Hold, Lead]]:
    return (
        select(Hold, Lead)
        .join(Lead, Lead.id == Hold.lead_id)
        .where(Hold.user_id == bindparam("user_id"), Hold.held_until > bindparam("now"))
        .order_by(Hold.created_at, Hold.id)
        .execution_options(populate_existing=True)
    )


async def extend_hold(
    session: AsyncSession, hold_id: uuid.UUID, held_until: datetime, max_extensions: int
) -> None:
    """Move a hold's deadline and count the extension, unless it already used max_extensions."""
    await session.execute(
        update(Hold)
        .where(Hold.id == hold_id, Hold.extensions_used < max_extensions)
        .values(held_until=held_until, extensions_used=Hold.extensions_used + 1)
        .execution_options(synchronize_session=False)
    )


async def purchases_with_leads(
    session: AsyncSession, purchase_ids: Sequence[uuid.UUID]
) -> list[tuple[Purchase, Lead]]:
    """These purchases, each with its lead (missing ids are simply absent)."""
    rows = await session.execute(
        select(Purchase, Lead).join(Lead, Lead.id == Purchase.lead_id).where(Purchase.id.in_(purchase_ids))
    )
    return [(purchase, lead) for purchase, lead in rows.tuples()]


@dataclass(frozen=True)
class Sale:
    """What ``complete_sale`` wrote: the purchases, the leads after their seats filled, the leads
    whose holds it deleted, whether the spend was posted (None: nothing to pay) and whether the
    first result was stored under its key (False: another request stored one first)."""

    purchases: list[Purchase]
    leads: dict[uuid.UUID, Lead]
    released: set[uuid.UUID]
    spent: bool | None
    result_stored: bool


async def complete_sale(
    session: AsyncSession,
    hold_ids: Sequence[uuid.UUID],
    purchases: Sequence[dict[str, Any]],
    spend: dict[str, Any] | None,
    first_result: dict[str, Any],
) -> Sale:
    """Write a checkout in ONE statement, under the cart and user locks the caller holds: the
    purchases' leads locked FOR NO KEY UPDATE in id order (the lock order's last step), one held
    seat of each turned into a bought one (a lead with every seat bought is SOLD_OUT), its holds
    deleted, the spend posted (``spend``: the parameters of ``ledger.spend_ctes``), the purchase
    rows inserted (one unnest insert, each with its lead's fraud score as locked: the score it was
    sold at), and the first result stored under its idempotency key (``first_result``: the
    columns of ``idempotency.save_record``). The caller checks the outcome and raises (rolling all
    of it back) when a part did not take. Rows returned are detached."""
    values: dict[str, Any] = {f"bought_{name}": [row[name] for row in purchases] for name in _PURCHASE_VALUES}
    values.update(first_result, released_ids=list(hold_ids))
    values.update(spend or {})
    rows = await run(session, _complete_sale, values, spend is not None)
    width = len(loaded_columns(Lead))
    leads = {lead.id: lead for lead in (detached(Lead, row) for row in rows)}
    columns = loaded_columns(Purchase)
    bought = [detached(Purchase, [_sold(row, leads).get(key) for key, _ in columns]) for row in purchases]
    outcome: list[Any] = rows[0][width:] if rows else [0, 0, None, 0]
    written, stored, released = outcome[0], outcome[1], outcome[2]
    if rows and written != len(purchases):  # the insert wrote a row for every seated lead or raised
        raise RuntimeError(f"checkout wrote {written} of {len(purchases)} purchases")
    spent = bool(outcome[3]) if spend is not None else None
    return Sale(bought, leads, set(released or ()), spent, stored == 1)


def _sold(purchase: dict[str, Any], leads: dict[uuid.UUID, Lead]) -> dict[str, Any]:
    lead = leads.get(purchase["lead_id"])
    return {**purchase, "fraud_score_at_purchase": lead.fraud_score if lead is not None else None}


_PURCHASE_VALUES = (
    "id",
    "user_id",
    "lead_id",
    "price",
    "checkout_key",
    "purchased_at",
)


@functools.cache
def _complete_sale(charged: bool) -> Select[Any]:
    table = cast(Table, Purchase.__table__)
    lead_ids = bindparam("bought_lead_id", type_=ARRAY(Lead.id.type))
    # the leads locked in id order, so two checkouts of shared leads never wait on each other
    # crosswise; a lock that waited reads the lead as its last writer left it
    locked = (
        select(Lead.id)
        .where(Lead.id == any_(lead_ids))
        .order_by(Lead.id)
        .with_for_update(key_share=True)
        .cte("locked")
        .prefix_with("MATERIALIZED")
    )
    seated = (
        update(Lead)
        .where(Lead.id.in_(select(locked.c.id)))
        .values(
            buyers_count=Lead.buyers_count + 1,
            holds_count=Lead.holds_count - 1,
            status=case((Lead.buyers_count + 1 >= Lead.max_buyers, "SOLD_OUT"), else_=Lead.status),
        )
        .returning(*columns_of(Lead))
        .cte("seated")
    )
    released = (
        delete(Hold)
        .where(Hold.user_id == bindparam("user_id", type_=Hold.user_id.type))
        .where(Hold.id == any_(bindparam("released_ids", type_=ARRAY(Hold.id.type))))
        # evaluated once before any hold is deleted, this reads every seated lead: the leads are
        # locked before the holds, whatever order PostgreSQL runs the statement's parts in (an
        # expiry locks a lead before deleting its holds: the other order could deadlock with it)
        .where(select(func.count()).select_from(seated).scalar_subquery() >= 0)
        .returning(Hold.lead_id)
        .cte("released")
    )
    # one array per purchase column, unnested into rows: one statement whatever the cart size
    names = ", ".join(_PURCHASE_VALUES)
    arrays = ", ".join(f":bought_{name}" for name in _PURCHASE_VALUES)
    typed = (bindparam(f"bought_{name}", type_=ARRAY(table.c[name].type)) for name in _PURCHASE_VALUES)
    picked = ", ".join(f"b.{name}" for name in _PURCHASE_VALUES)
    bought = (
        text(
            f"INSERT INTO purchases ({names}, fraud_score_at_purchase) "
            f"SELECT {picked}, seated.fraud_score FROM unnest({arrays}) AS b({names}) "
            "JOIN seated ON seated.id = b.lead_id RETURNING 1"
        )
        .bindparams(*typed)
        .columns(column("one", Integer))
        .cte("bought")
    )
    stored = idempotency.first_result_insert().cte("stored")
    outcome: list[Any] = [
        select(func.count()).select_from(bought).scalar_subquery(),
        select(func.count()).select_from(stored).scalar_subquery(),
        select(func.array_agg(released.c.lead_id)).scalar_subquery(),
    ]
    ctes: list[Any] = [locked, seated, released]
    if charged:
        entry, moved = ledger.spend_ctes()
        ctes += [entry, moved]
        outcome.append(select(func.count()).select_from(entry).scalar_subquery())
    lead_columns = [seated.c[name] for name, _ in loaded_columns(Lead)]
    statement = select(*lead_columns, *outcome).select_from(seated)
    for cte in [*ctes, bought, stored]:
        statement = statement.add_cte(cte)
    return statement


async def lock_purchase(session: AsyncSession, user_id: uuid.UUID, purchase_id: uuid.UUID) -> Purchase | None:
    """One of the user's purchases locked FOR UPDATE (None when missing or someone else's)."""
    rows = await session.scalars(
        select(Purchase)
        .where(Purchase.id == purchase_id, Purchase.user_id == user_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    return rows.first()


async def free_bought_seat(session: AsyncSession, lead_id: uuid.UUID) -> None:
    """Give back one bought seat of a lead (caller holds its lock); a SOLD_OUT lead is AVAILABLE again."""
    await session.execute(
        update(Lead)
        .where(Lead.id == lead_id)
        .values(
            buyers_count=Lead.buyers_count - 1,
            status=case((Lead.status == "SOLD_OUT", "AVAILABLE"), else_=Lead.status),
        )
        .execution_options(synchronize_session=False)
    )


async def get_purchase(session: AsyncSession, purchase_id: uuid.UUID) -> Purchase | None:
    """One purchase by id, whoever made it."""
    return await session.get(Purchase, purchase_id)


async def purchases_page(
    session: AsyncSession, user_id: uuid.UUID, first: int, before: Purchase | None
) -> list[tuple[Purchase, Lead]]:
    """The user's purchases with their leads, newest first, continuing after ``before`` (keyset)."""
    stmt = select(Purchase, Lead).join(Lead, Lead.id == Purchase.lead_id).where(Purchase.user_id == user_id)
    if before is not None:
        stmt = stmt.where(
            (Purchase.purchased_at < before.purchased_at)
            | ((Purchase.purchased_at == before.purchased_at) & (Purchase.id < before.id))
        )
    rows = await session.execute(stmt.order_by(Purchase.purchased_at.desc(), Purchase.id.desc()).limit(first))
    return [(purchase, lead) for purchase, lead in rows.tuples()]


async def purchase_with_lead(
    session: AsyncSession, user_id: uuid.UUID, purchase_id: uuid.UUID
) -> tuple[Purchase, Lead] | None:
    """One of the user's purchases with its lead (None when missing or someone else's)."""
    row = (
        await session.execute(
            select(Purchase, Lead)
            .join(Lead, Lead.id == Purchase.lead_id)
            .where(Purchase.id == purchase_id, Purchase.user_id == user_id)
        )
    ).first()
    return (row[0], row[1]) if row is not None else None
