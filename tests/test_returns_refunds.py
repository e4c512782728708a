"""Returns: within the window, refunded once through the ledger when approved, seat freed; purchases
listing. (Which reasons are approved at once and the admin review: test_returns_review.py.)"""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

from aiqtest_support.cartkit import (
    ADD,
    CHECKOUT,
    ME,
    PURCHASES,
    RETURN,
    lead_counts,
    lead_gid,
    purchase_gid,
)
from sqlalchemy import text
from starlette.applications import Starlette

from aiqleads.domain.bootstrap import Deps

CITY = dict(city="Returnsburg", zip="73355")
BAD_PHONE = "+11234567890"  # area code 123 does not exist: fails validation, so BAD_PHONE is verified


def _deps(app: Starlette) -> Deps:
    return app.state.deps  # type: ignore[no-any-return]


async def _buy(gql: Any, user: Any, *leads: Any) -> list[dict[str, Any]]:
    for lead in leads:
        added = (await gql(ADD, {"id": lead_gid(lead.id)}, token=user.token))["data"]["addToCart"]
        assert added["errors"] == [], added
    done = (await gql(CHECKOUT, {"key": uuid.uuid4().hex}, token=user.token))["data"]["checkout"]
    assert done["errors"] == [], done
    return done["purchases"]  # type: ignore[no-any-return]


async def _refunds(app: Starlette, user_id: uuid.UUID) -> list[tuple[int, str]]:
    async with _deps(app).engine.connect() as conn:
        rows = await conn.execute(
            text("SELECT amount, ref FROM credit_ledger WHERE user_id = :u AND kind = 'REFUND'"),
            {"u": user_id},
        )
        return [tuple(r) for r in rows]  # type: ignore[misc]


async def test_return_refunds_and_frees_the_seat(
    gql: Any, buyers: Any, make_lead: Any, app: Starlette
) -> None:
    user, other = await buyers(credits=50), await buyers(credits=50)
    lead = await make_lead(price_credits=20, max_buyers=1, contact_phone=BAD_PHONE, **CITY)
    (purchase,) = await _buy(gql, user, lead)
    assert purchase["lead"]["status"] == "SOLD_OUT"
    variables = {"id": purchase["id"], "reason": "BAD_PHONE", "note": "  number disconnected  "}
    result = (await gql(RETURN, variables, token=user.token))["data"]["returnLead"]
    assert result["errors"] == [] and result["refunded"] == 20
    assert result["return"]["status"] == "APPROVED" and result["return"]["refunded"] == 20
    returned = result["purchase"]
    assert returned["returned"] is True
    assert returned["lead"]["status"] == "AVAILABLE" and returned["lead"]["buyersCount"] == 0
    assert returned["lead"]["purchased"] is False and returned["lead"]["contact"] is None
    assert (await gql(ME, token=user.token))["data"]["me"]["credits"] == 50
    raw_id = uuid.UUID(str(await _purchase_raw_id(app, user.id)))
    assert await _refunds(app, user.id) == [(20, f"return:{raw_id}")]
    async with _deps(app).engine.connect() as conn:
        note = await conn.scalar(text("SELECT note FROM lead_returns WHERE purchase_id = :p"), {"p": raw_id})
    assert note == "number disconnected"
    counts = await lead_counts(_deps(app).engine, lead.id)
    assert counts["buyers_count"] == 0 and counts["purchase_rows"] == 0

    again = (await gql(RETURN, variables, token=user.token))["data"]["returnLead"]
    assert [(e["code"], e["field"]) for e in again["errors"]] == [("ALREADY_RETURNED", "purchaseId")]
    rebuy = (await gql(ADD, {"id": lead_gid(lead.id)}, token=user.token))["data"]["addToCart"]
    assert [e["code"] for e in rebuy["errors"]] == ["ALREADY_PURCHASED"]  # never the same lead twice
    taken = (await gql(ADD, {"id": lead_gid(lead.id)}, token=other.token))["data"]["addToCart"]
    assert taken["errors"] == []


async def _purchase_raw_id(app: Starlette, user_id: uuid.UUID) -> uuid.UUID:
    async with _deps(app).engine.connect() as conn:
        return await conn.scalar(text("SELECT id FROM purchases WHERE user_id = :u"), {"u": user_id})  # type: ignore[no-any-return]


async def test_parallel_returns_refund_once(gql: Any, buyers: Any, make_lead: Any, app: Starlette) -> None:
    user = await buyers(credits=40)
    lead = await make_lead(price_credits=15, max_buyers=2, contact_phone=BAD_PHONE, **CITY)
    (purchase,) = await _buy(gql, user, lead)
    variables = {"id": purchase["id"], "reason": "BAD_PHONE"}
    results = await asyncio.gather(*(gql(RETURN, variables, token=user.token) for _ in range(8)))
    payloads = [r["data"]["returnLead"] for r in results]
    assert sum(1 for p in payloads if not p["errors"]) == 1
    assert {e["code"] for p in payloads for e in p["errors"]} == {"ALREADY_RETURNED"}
    assert [amount for amount, _ in await _refunds(app, user.id)] == [15]
    counts = await lead_counts(_deps(app).engine, lead.id)
    assert counts["buyers_count"] == 0 and counts["status"] == "AVAILABLE"


async def test_return_window_and_ownership(gql: Any, buyers: Any, make_lead: Any, app: Starlette) -> None:
    user, stranger = await buyers(credits=40), await buyers()
    old, recent = await make_lead(price_credits=10, **CITY), await make_lead(price_credits=10, **CITY)
    purchases = await _buy(gql, user, old, recent)
    by_lead = {p["lead"]["id"]: p["id"] for p in purchases}
    async with _deps(app).engine.begin() as conn:
        await conn.execute(
            text(
                "UPDATE purchases SET purchased_at = now() - interval '8 days'"
                " WHERE user_id = :u AND lead_id = :l"
            ),
            {"u": user.id, "l": old.id},
        )
    late = await gql(RETURN, {"id": by_lead[lead_gid(old.id)], "reason": "FRAUDULENT"}, token=user.token)
    late = late["data"]["returnLead"]
    assert [(e["code"], e["field"]) for e in late["errors"]] == [("RETURN_WINDOW_CLOSED", "purchaseId")]
    foreign = await gql(
        RETURN, {"id": by_lead[lead_gid(recent.id)], "reason": "ALREADY_SOLD"}, token=stranger.token
    )
    assert [e["code"] for e in foreign["data"]["returnLead"]["errors"]] == ["NOT_FOUND"]
    malformed = await gql(RETURN, {"id": lead_gid(recent.id), "reason": "ALREADY_SOLD"}, token=user.token)
    assert [e["code"] for e in malformed["data"]["returnLead"]["errors"]] == ["INVALID_INPUT"]
    ok = await gql(RETURN, {"id": by_lead[lead_gid(recent.id)], "reason": "ALREADY_SOLD"}, token=user.token)
    ok = ok["data"]["returnLead"]
    # accepted as a request; ALREADY_SOLD cannot be verified, so it waits for an admin, unrefunded
    assert ok["errors"] == [] and ok["return"]["status"] == "PENDING"
    assert ok["refunded"] == 0 and ok["purchase"]["returned"] is False
    assert await _refunds(app, user.id) == []


async def test_purchases_are_listed_newest_first(gql: Any, buyers: Any, make_lead: Any) -> None:
    user = await buyers(credits=100)
    leads = [await make_lead(price_credits=5, **CITY) for _ in range(3)]
    for lead in leads:
        await _buy(gql, user, lead)
    listed = (await gql(PURCHASES, {"first": 2}, token=user.token))["data"]["purchases"]
    assert [p["lead"]["id"] for p in listed] == [lead_gid(leads[2].id), lead_gid(leads[1].id)]
    rest = (await gql(PURCHASES, {"first": 5, "after": listed[-1]["id"]}, token=user.token))["data"][
        "purchases"
    ]
    assert [p["lead"]["id"] for p in rest] == [lead_gid(leads[0].id)]
    bad = await gql(
        PURCHASES, {"first": 2, "after": purchase_gid(uuid.uuid4())}, token=user.token, expect_errors=True
    )
    assert bad["errors"][0]["extensions"]["code"] == "INVALID_INPUT"
