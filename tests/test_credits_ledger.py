"""Credits: packs through the payment provider, tiers, the monthly allowance, history, no negatives."""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from aiqtest_support.cartkit import (
    BUY,
    ME,
    TIER,
    TRANSACTIONS,
    lead_gid,
)
from sqlalchemy import select, text
from sqlalchemy.exc import IntegrityError
from starlette.applications import Starlette

from aiqleads.domain.bootstrap import Deps
from aiqleads.domain.core.user import User
from aiqleads.domain.credits import ledger
from aiqleads.domain.credits import service as credits
from aiqleads.domain.errors import DomainError
from aiqleads.domain.payments import service as payments
from aiqleads.domain.payments.provider import DevelopmentPaymentProvider, PaymentRequest
from aiqleads.domain.settings import Settings
from aiqleads.workers.cart_jobs import grant_monthly_allowances
from aiqleads.workers.context import for_deps


def _deps(app: Starlette) -> Deps:
    return app.state.deps  # type: ignore[no-any-return]


async def _kinds(app: Starlette, user_id: uuid.UUID) -> list[tuple[str, int, str | None]]:
    async with _deps(app).engine.connect() as conn:
        rows = await conn.execute(
            text("SELECT kind, amount, ref FROM credit_ledger WHERE user_id = :u ORDER BY id"), {"u": user_id}
        )
        return [tuple(r) for r in rows]  # type: ignore[misc]


async def test_buy_packs_with_idempotency(gql: Any, buyers: Any, app: Starlette) -> None:
    user = await buyers()
    first = (await gql(BUY, {"pack": "STARTER", "key": "pack-1"}, token=user.token))["data"]["buyCredits"]
    assert first["errors"] == [] and first["balance"] == 50
    tx = first["transaction"]
    assert tx["amount"] == 50 and tx["balanceAfter"] == 50 and tx["kind"] == "PACK_PURCHASE"
    assert "STARTER" in tx["reason"]
    again = (await gql(BUY, {"pack": "STARTER", "key": "pack-1"}, token=user.token))["data"]["buyCredits"]
    assert again == first
    conflict = (await gql(BUY, {"pack": "GROWTH", "key": "pack-1"}, token=user.token))["data"]["buyCredits"]
    assert [(e["code"], e["field"]) for e in conflict["errors"]] == [
        ("IDEMPOTENCY_CONFLICT", "idempotencyKey")
    ]
    assert conflict["balance"] is None and conflict["transaction"] is None
    growth = (await gql(BUY, {"pack": "GROWTH", "key": "pack-2"}, token=user.token))["data"]["buyCredits"]
    bulk = (await gql(BUY, {"pack": "BULK", "key": "pack-3"}, token=user.token))["data"]["buyCredits"]
    assert (growth["balance"], bulk["balance"]) == (300, 1300)
    assert (await gql(ME, token=user.token))["data"]["me"]["credits"] == 1300
    bad = (await gql(BUY, {"pack": "STARTER", "key": ""}, token=user.token))["data"]["buyCredits"]
    assert [e["code"] for e in bad["errors"]] == ["INVALID_INPUT"]
    assert [k for k, _, _ in await _kinds(app, user.id)] == ["PACK_PURCHASE"] * 3


async def test_parallel_buys_with_one_key_credit_once(gql: Any, buyers: Any, app: Starlette) -> None:
    user = await buyers()
    results = await asyncio.gather(
        *(gql(BUY, {"pack": "GROWTH", "key": "same-pack"}, token=user.token) for _ in range(10))
    )
    payloads = [r["data"]["buyCredits"] for r in results]
    assert {(p["balance"], p["transaction"]["id"]) for p in payloads} == {
        (250, payloads[0]["transaction"]["id"])
    }
    async with _deps(app).engine.connect() as conn:  # one payment, granted once under its own ref
        payment_ids = list(
            await conn.scalars(text("SELECT id FROM payments WHERE user_id = :u"), {"u": user.id})
        )
    assert len(payment_ids) == 1
    assert await _kinds(app, user.id) == [("PACK_PURCHASE", 250, f"payment:{payment_ids[0]}")]


async def test_development_provider_is_idempotent_per_key(settings: Settings) -> None:
    provider = DevelopmentPaymentProvider(settings)
    request = PaymentRequest(uuid.uuid4(), 5000, "USD", "pack", "key-1")
    first, second = await provider.create_payment(request), await provider.create_payment(request)
    assert first.status == "SUCCEEDED" and first == second
    other = await provider.create_payment(PaymentRequest(request.user_id, 5000, "USD", "pack", "key-2"))
    assert other.provider_payment_id != first.provider_payment_id
    with pytest.raises(DomainError) as refused:
        await provider.create_payment(PaymentRequest(request.user_id, 0, "USD", "pack", "key-3"))
    assert refused.value.code == "PAYMENT_DECLINED"
    with pytest.raises(ValueError, match="only with AIQ_ENV=development"):
        DevelopmentPaymentProvider(settings.replace(env="production"))


async def test_change_tier_changes_discount(gql: Any, buyers: Any, make_lead: Any) -> None:
    user = await buyers()
    lead = await make_lead(price_credits=50, city="Tierton", zip="73399")
    query = "query($id: ID!) { lead(id: $id) { price } }"
    assert (await gql(query, {"id": lead_gid(lead.id)}, token=user.token))["data"]["lead"]["price"] == 50
    changed = (await gql(TIER, {"tier": "ENTERPRISE"}, token=user.token))["data"]["changeTier"]
    assert changed["errors"] == [] and changed["user"]["tier"] == "ENTERPRISE"
    assert (await gql(query, {"id": lead_gid(lead.id)}, token=user.token))["data"]["lead"]["price"] == 40
    invalid = await gql(TIER, {"tier": "PLATINUM"}, token=user.token, expect_errors=True)
    assert invalid["errors"]


async def test_transactions_are_paginated_newest_first(gql: Any, buyers: Any, app: Starlette) -> None:
    user = await buyers(credits=5)
    for n, pack in enumerate(["STARTER", "GROWTH", "STARTER", "BULK"]):
        await gql(BUY, {"pack": pack, "key": f"p{n}"}, token=user.token)
    page1 = (await gql(TRANSACTIONS, {"first": 2}, token=user.token))["data"]["creditTransactions"]
    assert page1["totalCount"] == 5
    assert [e["node"]["amount"] for e in page1["edges"]] == [1000, 50]
    assert page1["pageInfo"]["hasNextPage"] is True and page1["pageInfo"]["hasPreviousPage"] is False
    page2 = await gql(TRANSACTIONS, {"first": 2, "after": page1["pageInfo"]["endCursor"]}, token=user.token)
    page2 = page2["data"]["creditTransactions"]
    assert [e["node"]["amount"] for e in page2["edges"]] == [250, 50]
    page3 = await gql(TRANSACTIONS, {"first": 2, "after": page2["pageInfo"]["endCursor"]}, token=user.token)
    last = page3["data"]["creditTransactions"]
    assert [e["node"]["kind"] for e in last["edges"]] == ["GRANT"] and last["pageInfo"][
        "hasNextPage"
    ] is False
    balances = [e["node"]["balanceAfter"] for p in (page1, page2, last) for e in p["edges"]]
    assert balances == [1355, 355, 305, 55, 5]
    bad = await gql(TRANSACTIONS, {"first": 2, "after": "garbage"}, token=user.token, expect_errors=True)
    assert bad["errors"][0]["extensions"]["code"] == "INVALID_INPUT"
    anonymous = await gql(TRANSACTIONS, {"first": 2}, expect_errors=True)
    assert anonymous["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


async def test_parallel_spends_never_go_below_zero(buyers: Any, app: Starlette) -> None:
    res = _deps(app)
    user = await buyers(credits=50)

    async def spend(n: int) -> bool:
        try:
            async with res.sessionmaker() as session, session.begin():
                await ledger.post(session, user.id, -7, "SPEND", f"spend {n}", ref=f"spend-{n}")
            return True
        except DomainError as error:
            assert error.code == "INSUFFICIENT_CREDITS"
            return False

    outcomes = await asyncio.gather(*(spend(n) for n in range(20)))
    assert sum(outcomes) == 7
    async with res.engine.connect() as conn:
        balance = await conn.scalar(text("SELECT credit_balance FROM users WHERE id = :u"), {"u": user.id})
        lowest = await conn.scalar(
            text("SELECT min(balance_after) FROM credit_ledger WHERE user_id = :u"), {"u": user.id}
        )
    assert balance == 1 and lowest == 1
    with pytest.raises(IntegrityError):  # the database refuses a negative balance on its own
        async with res.engine.begin() as conn:
            await conn.execute(text("UPDATE users SET credit_balance = -1 WHERE id = :u"), {"u": user.id})


async def test_monthly_allowance_is_granted_exactly_once(buyers: Any, app: Starlette, settings: Any) -> None:
    res = _deps(app)
    free, pro, ent = await buyers(), await buyers(tier="PRO"), await buyers(tier="ENTERPRISE", credits=3)
    ctx = for_deps(replace(res, settings=settings))
    await asyncio.gather(*(grant_monthly_allowances(ctx) for _ in range(4)))
    assert await grant_monthly_allowances(ctx) == 0
    assert [k for k, _, _ in await _kinds(app, free.id)] == []
    pro_rows = await _kinds(app, pro.id)
    assert len(pro_rows) == 1 and pro_rows[0][:2] == ("MONTHLY_ALLOWANCE", 100)
    assert pro_rows[0][2] and pro_rows[0][2].startswith("allowance:")
    assert [row[:2] for row in await _kinds(app, ent.id)] == [("GRANT", 3), ("MONTHLY_ALLOWANCE", 500)]

    async with (
        res.sessionmaker() as session,
        session.begin(),
    ):  # upgrading mid-period: granted by the next run
        await credits.grant_tier(session, free.id, "PRO")
    assert await grant_monthly_allowances(ctx) >= 1
    assert [row[:2] for row in await _kinds(app, free.id)] == [("MONTHLY_ALLOWANCE", 100)]
    async with res.engine.begin() as conn:  # a downgrade keeps the paid period: nothing new
        await conn.execute(text("UPDATE users SET tier = 'PRO' WHERE id = :u"), {"u": ent.id})
    assert await grant_monthly_allowances(ctx) == 0
    assert [row[:2] for row in await _kinds(app, ent.id)] == [("GRANT", 3), ("MONTHLY_ALLOWANCE", 500)]
    async with res.sessionmaker() as session, session.begin():  # a new (operator) period grants once
        await credits.grant_tier(session, free.id, "FREE")
        later = datetime.now(UTC) + timedelta(seconds=2)  # refs name the period's end to the second
        await credits.grant_tier(session, free.id, "ENTERPRISE", now=later)
    await asyncio.gather(*(grant_monthly_allowances(ctx) for _ in range(3)))
    assert [row[:2] for row in await _kinds(app, free.id)] == [
        ("MONTHLY_ALLOWANCE", 100),
        ("MONTHLY_ALLOWANCE", 500),
    ]


BASE = datetime(2031, 1, 31, 23, 0, tzinfo=UTC)  # far ahead of the real clock: no other user is paid then


async def _set_tier(app: Starlette, user_id: uuid.UUID, tier: str, paid_until: datetime | None) -> None:
    async with _deps(app).engine.begin() as conn:
        await conn.execute(
            text("UPDATE users SET tier = :t, tier_paid_until = :p WHERE id = :u"),
            {"t": tier, "p": paid_until, "u": user_id},
        )


async def _run(app: Starlette, user_id: uuid.UUID, now: datetime) -> tuple[bool, int]:
    """One allowance pass at ``now``: whether the user was due (the SQL), and the grants made."""
    async with _deps(app).sessionmaker() as session, session.begin():
        due = await credits.users_due_allowance(session, 1000, now)
        made = await credits.grant_allowances(session, [u for u in due if u == user_id], now)
    return user_id in due, made


async def test_a_paid_period_grants_one_allowance_across_a_month_boundary(
    buyers: Any, app: Starlette
) -> None:
    user = await buyers()
    await _set_tier(app, user.id, "PRO", BASE + timedelta(days=30))  # paid Jan 31 23:00
    runs = [BASE + timedelta(minutes=30), BASE + timedelta(hours=1, minutes=10), BASE + timedelta(days=15)]
    runs.append(BASE + timedelta(days=29, hours=23))
    assert [await _run(app, user.id, now) for now in runs] == [(True, 1), (False, 0), (False, 0), (False, 0)]
    assert await _run(app, user.id, BASE + timedelta(days=30, minutes=1)) == (False, 0)  # lapsed
    (entry,) = await _kinds(app, user.id)
    assert entry == ("MONTHLY_ALLOWANCE", 100, f"allowance:{int((BASE + timedelta(days=30)).timestamp())}")

    # renewed early (one more period after the current one): granted when that period starts
    await _set_tier(app, user.id, "PRO", BASE + timedelta(days=60))
    assert await _run(app, user.id, BASE + timedelta(days=10)) == (False, 0)
    assert await _run(app, user.id, BASE + timedelta(days=30, seconds=1)) == (True, 1)
    assert await _run(app, user.id, BASE + timedelta(days=45)) == (False, 0)
    # lapsed, then a new paid period: granted once
    await _set_tier(app, user.id, "PRO", BASE + timedelta(days=100))
    assert [await _run(app, user.id, BASE + timedelta(days=70, hours=h)) for h in (0, 1)] == [
        (True, 1),
        (False, 0),
    ]
    assert [k for k, _, _ in await _kinds(app, user.id)] == ["MONTHLY_ALLOWANCE"] * 3


async def test_a_downgrade_keeps_the_period_and_grants_nothing_new(buyers: Any, app: Starlette) -> None:
    user = await buyers()
    await _set_tier(app, user.id, "ENTERPRISE", BASE + timedelta(days=30))
    assert await _run(app, user.id, BASE) == (True, 1)
    await _set_tier(app, user.id, "PRO", BASE + timedelta(days=30))
    assert await _run(app, user.id, BASE + timedelta(hours=1)) == (False, 0)
    assert [(k, a) for k, a, _ in await _kinds(app, user.id)] == [("MONTHLY_ALLOWANCE", 500)]


async def test_the_sql_and_python_allowance_refs_agree(buyers: Any, app: Starlette) -> None:
    user = await buyers()
    offsets = [
        timedelta(microseconds=1),
        timedelta(days=1, seconds=0.5),
        timedelta(days=30) - timedelta(microseconds=1),
        timedelta(days=30),
        timedelta(days=30, microseconds=1),
        timedelta(days=60),
        timedelta(days=89, hours=23, microseconds=999_999),
    ]
    for offset in offsets:
        paid_until = BASE + offset
        await _set_tier(app, user.id, "PRO", paid_until)
        async with _deps(app).sessionmaker() as session:
            sql_ref = await session.scalar(select(credits.allowance_ref_sql(BASE)).where(User.id == user.id))
        assert sql_ref == payments.allowance_ref(paid_until, BASE), offset


async def test_concurrent_allowance_passes_grant_a_period_once(buyers: Any, app: Starlette) -> None:
    user = await buyers()
    await _set_tier(app, user.id, "PRO", BASE + timedelta(days=30))
    results = await asyncio.gather(*(_run(app, user.id, BASE + timedelta(seconds=n)) for n in range(8)))
    assert sum(made for _, made in results) == 1
    assert [(k, a) for k, a, _ in await _kinds(app, user.id)] == [("MONTHLY_ALLOWANCE", 100)]
