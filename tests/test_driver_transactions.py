"""Statements sent on the driver inside a transaction (``domain/core/driver_sql.transaction_driver``)
belong to the session's transaction: committed and rolled back with it, seeing and seen by the ORM's
statements, their errors raised as SQLAlchemy's; and the rows they return are the ORM's rows."""

from __future__ import annotations

import functools
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy.exc
from sqlalchemy import bindparam, select, update
from sqlalchemy import inspect as orm_inspect

from aiqleads.domain.bootstrap import Deps
from aiqleads.domain.cart import repository as cart_repo
from aiqleads.domain.cart.models import Cart
from aiqleads.domain.core.driver_sql import columns_of, fetch_entities, loaded_columns, run
from aiqleads.domain.core.lead import Lead
from aiqleads.domain.core.seats import Hold, Purchase
from aiqleads.domain.core.user import User
from aiqleads.domain.credits import idempotency, ledger
from aiqleads.domain.errors import DomainError

pytestmark = pytest.mark.integration
NOW = datetime.now(UTC)


@functools.cache
def _retitle() -> Any:
    return (
        update(Lead).where(Lead.id == bindparam("id")).values(title=bindparam("title")).returning(Lead.title)
    )


@functools.cache
def _title() -> Any:
    return select(Lead.title).where(Lead.id == bindparam("id"))


@functools.cache
def _negative_price() -> Any:
    return update(Lead).where(Lead.id == bindparam("id")).values(price_credits=-1)


async def _title_elsewhere(deps: Deps, lead_id: uuid.UUID) -> str:
    async with deps.sessionmaker() as other:
        return str(await other.scalar(select(Lead.title).where(Lead.id == lead_id)))


async def test_a_driver_statement_commits_and_rolls_back_with_the_session(deps: Deps, make_lead: Any) -> None:
    lead = await make_lead(title="Before")
    async with deps.sessionmaker() as session:
        async with session.begin():
            # the first statement of the transaction goes to the driver: it must begin it
            assert await run(session, _retitle, {"id": lead.id, "title": "Rolled back"}) == [["Rolled back"]]
            assert await _title_elsewhere(deps, lead.id) == "Before"  # not committed yet
            await session.rollback()
        assert await _title_elsewhere(deps, lead.id) == "Before"
        async with session.begin():
            await run(session, _retitle, {"id": lead.id, "title": "Committed"})
        assert await _title_elsewhere(deps, lead.id) == "Committed"


async def test_driver_and_orm_statements_see_each_other_in_one_transaction(
    deps: Deps, make_lead: Any
) -> None:
    lead = await make_lead(title="Shared")
    async with deps.sessionmaker() as session, session.begin():
        await run(session, _retitle, {"id": lead.id, "title": "From the driver"})
        assert await session.scalar(select(Lead.title).where(Lead.id == lead.id)) == "From the driver"
        loaded = await session.get(Lead, lead.id)
        assert loaded is not None
        loaded.title = "From the ORM, not flushed yet"
        # a pending ORM change is flushed before a driver statement, as autoflush would
        assert await run(session, _title, {"id": lead.id}) == [["From the ORM, not flushed yet"]]
        await session.rollback()
    assert await _title_elsewhere(deps, lead.id) == "Shared"


async def test_a_violated_constraint_is_sqlalchemys_integrity_error_and_the_session_recovers(
    deps: Deps, make_lead: Any
) -> None:
    lead = await make_lead(title="Checked")
    async with deps.sessionmaker() as session:
        with pytest.raises(sqlalchemy.exc.IntegrityError):
            async with session.begin():
                await run(session, _retitle, {"id": lead.id, "title": "Never"})
                await run(session, _negative_price, {"id": lead.id})
        async with session.begin():  # the same session and pool go on
            assert await run(session, _title, {"id": lead.id}) == [["Checked"]]


async def test_detached_rows_are_the_orm_rows_and_no_change_to_them_is_written(
    deps: Deps, make_lead: Any, make_user: Any
) -> None:
    lead = await make_lead(title="Detached", photos=["https://img.example/a.jpg"], fraud_signals=["x"])
    buyer = await make_user(credits=7)

    @functools.cache
    def by_id(model: type[Any]) -> Any:
        key = model.__mapper__.primary_key[0]
        return select(*columns_of(model)).where(key == bindparam("id"))

    async with deps.sessionmaker() as session, session.begin():
        for model, row_id in ((Lead, lead.id), (User, buyer.id)):
            [copy] = await fetch_entities(session, model, by_id, {"id": row_id}, model)
            loaded = await session.get(model, row_id)
            assert orm_inspect(copy).detached and copy is not loaded
            for key, _ in loaded_columns(model):
                assert getattr(copy, key) == getattr(loaded, key), key
    copy.name = "Changed on a detached copy"
    async with deps.sessionmaker() as session:
        assert await session.scalar(select(User.name).where(User.id == buyer.id)) != copy.name


async def test_checkout_rows_on_the_driver_match_what_the_database_holds(
    deps: Deps, make_lead: Any, make_user: Any
) -> None:
    """The cart repository's driver statements: holds with the first result under a key and the
    timer cleared (one statement, with and without either), leads locked and holds deleted by one
    array parameter, and the sale written as one statement: leads locked, holds deleted, the spend
    posted with its balance, purchases in the order given with their leads' fraud scores, seats
    filled, the first result stored once."""
    buyer = await make_user(credits=100)
    leads = [await make_lead(price_credits=3, max_buyers=1 + i % 2) for i in range(3)]
    async with deps.sessionmaker() as session, session.begin():
        taken = await cart_repo.take_cart(session, buyer.id, "checkout", "k")
        assert (taken[0].id, taken[1:]) == (buyer.id, ([], None))
        with pytest.raises(DomainError):  # no such user
            await cart_repo.take_cart(session, uuid.uuid4(), "checkout", "k")
        session.add(Cart(user_id=buyer.id, expires_at=NOW + timedelta(minutes=5), started_at=NOW))
        await session.flush()
        for i, lead in enumerate(leads):
            session.add(
                Hold(user_id=buyer.id, lead_id=lead.id, price=3, held_until=NOW + timedelta(minutes=5))
            )
            await session.execute(
                update(Lead).where(Lead.id == lead.id).values(holds_count=1, fraud_score=0.1 * (i + 1))
            )
    async with deps.sessionmaker() as session, session.begin():
        cart = await cart_repo.lock_cart_row(session, buyer.id)
        assert cart.expires_at is not None and orm_inspect(cart).detached
        savepoint = await session.begin_nested()  # a failed checkout rolls the cleared timer back
        await cart_repo.take_cart(session, buyer.id, "checkout", "driver")
        await savepoint.rollback()
        assert (await cart_repo.lock_cart_row(session, buyer.id)).expires_at == cart.expires_at
        user, holds, record = await cart_repo.take_cart(session, buyer.id, "checkout", "driver")
        assert (await cart_repo.lock_cart_row(session, buyer.id)).expires_at is None
        assert record is None
        alone = await cart_repo.holds_of(session, buyer.id)
        assert [(h.id, h.lead_id, h.held_until) for h in holds] == [
            (h.id, h.lead_id, h.held_until) for h in alone
        ]
        assert sorted(h.lead_id for h in holds) == sorted(lead.id for lead in leads)
        locked = await cart_repo.lock_leads(session, [lead.id for lead in leads])
        assert sorted(locked) == sorted(lead.id for lead in leads)
        assert user.credit_balance == 100 and orm_inspect(user).detached
        values = [
            {
                "id": uuid.uuid4(),
                "user_id": buyer.id,
                "lead_id": lead.id,
                "price": 3 + i,
                "checkout_key": "driver",
                "purchased_at": NOW,
            }
            for i, lead in enumerate(reversed(leads))
        ]
        first = {"user_id": buyer.id, "operation": "checkout", "key": "driver", "request_hash": "h"}
        spend = {"amount": -9, "balance_after": 91, "kind": "SPEND", "reason": "test", "ref": "t:driver"}
        released = [h.id for h in holds[:2]]
        sale = await cart_repo.complete_sale(
            session, released, values, spend, {**first, "response": {"ok": True}}
        )
        assert sale.result_stored and sale.spent is True
        assert sale.released == {h.lead_id for h in holds[:2]}
        # each purchase records its lead's fraud score as the sale locked it
        scores = {lead.id: 0.1 * (i + 1) for i, lead in enumerate(leads)}
        expected = [(v["id"], v["lead_id"], v["price"], scores[v["lead_id"]]) for v in values]
        assert [(p.id, p.lead_id, p.price, p.fraud_score_at_purchase) for p in sale.purchases] == expected
        assert sorted(sale.leads) == sorted(lead.id for lead in leads)
        _, _, record = await cart_repo.take_cart(session, buyer.id, "checkout", "driver")
        assert record is not None and record.response == {"ok": True} and orm_inspect(record).detached
    async with deps.sessionmaker() as session:
        stored = (await session.scalars(select(Purchase).where(Purchase.user_id == buyer.id))).all()
        assert {(p.id, p.price, p.fraud_score_at_purchase, p.purchased_at) for p in stored} == {
            (v["id"], v["price"], scores[v["lead_id"]], v["purchased_at"]) for v in values
        }
        for lead in leads:
            row = await session.get(Lead, lead.id)
            assert row is not None
            filled = sale.leads[lead.id]
            assert (row.buyers_count, row.holds_count, row.status) == (
                filled.buyers_count,
                filled.holds_count,
                filled.status,
            )
            assert row.buyers_count == 1
            assert row.status == ("SOLD_OUT" if row.max_buyers == 1 else "AVAILABLE")
        assert (await session.get(Cart, buyer.id)).expires_at is None  # type: ignore[union-attr]
        left = (await session.scalars(select(Hold.lead_id).where(Hold.user_id == buyer.id))).all()
        assert list(left) == [holds[2].lead_id]
        assert (await session.get(User, buyer.id)).credit_balance == 91  # type: ignore[union-attr]
        record = await idempotency.get_record(session, buyer.id, "checkout", "driver")
        assert record is not None and record.request_hash == "h"


async def test_a_sale_whose_key_was_stored_first_writes_its_rows_but_reports_it(
    deps: Deps, make_lead: Any, make_user: Any
) -> None:
    """The caller raises IDEMPOTENCY_CONFLICT (rolling the sale back) when ``result_stored`` or
    ``spent`` is False; the sale reports each."""
    buyer = await make_user(credits=10)
    lead = await make_lead(price_credits=1, max_buyers=2)
    async with deps.sessionmaker() as session, session.begin():
        await idempotency.save_record(session, buyer.id, "checkout", "taken", "first", {"first": True})
    async with deps.sessionmaker() as session, session.begin():
        row = {
            "id": uuid.uuid4(),
            "user_id": buyer.id,
            "lead_id": lead.id,
            "price": 1,
            "checkout_key": "taken",
            "purchased_at": NOW,
            "fraud_score_at_purchase": None,
        }
        first = {"user_id": buyer.id, "operation": "checkout", "key": "taken", "request_hash": "second"}
        await session.execute(update(Lead).where(Lead.id == lead.id).values(holds_count=1))
        sale = await cart_repo.complete_sale(
            session, [], [row], None, {**first, "response": {"second": True}}
        )
        assert not sale.result_stored and sale.spent is None and sale.released == set()
        await session.rollback()
    async with deps.sessionmaker() as session, session.begin():  # a spend whose reference was posted
        await ledger.post(session, buyer.id, -1, "SPEND", "first", ref="checkout:taken")
    async with deps.sessionmaker() as session, session.begin():
        await session.execute(update(Lead).where(Lead.id == lead.id).values(holds_count=1))
        spend = {
            "amount": -1,
            "balance_after": 8,
            "kind": "SPEND",
            "reason": "again",
            "ref": "checkout:taken",
        }
        row["id"] = uuid.uuid4()
        first["key"] = "free"
        sale = await cart_repo.complete_sale(session, [], [row], spend, {**first, "response": {}})
        assert sale.spent is False and sale.result_stored
        await session.rollback()
    async with deps.sessionmaker() as session:
        record = await idempotency.get_record(session, buyer.id, "checkout", "taken")
        assert record is not None and record.response == {"first": True}
