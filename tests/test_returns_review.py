"""Returns are reviewed: a verifiable reason (a phone sold invalid, a duplicate the buyer owns with
the same contact, a fraud score that crossed the threshold after the purchase) is approved and
refunded at once; anything else (a lead sold without a phone, a duplicate with another contact, a
lead bought already suspicious) waits for an admin, who approves (refund once, seat freed, contact
hidden) or rejects it; requests are limited per buyer."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

from aiqtest_support.cartkit import ADD, CHECKOUT, ME, lead_counts, lead_gid
from sqlalchemy import text
from starlette.applications import Starlette

from aiqleads.domain.bootstrap import Deps
from aiqleads.resolvers.ids import to_global_id

CITY = dict(city="Reviewton", zip="73356")
INVALID_PHONE = "+11234567890"  # area code 123 does not exist
ERRORS = "errors { code message field }"
RETURN_FIELDS = "id status reason note refunded createdAt reviewedAt reviewNote reviewedAutomatically"
RETURN = f"""mutation Return($id: ID!, $reason: ReturnReason!, $note: String) {{
  returnLead(purchaseId: $id, reason: $reason, note: $note) {{
    purchase {{ id returned lead {{ id status buyersCount purchased contact {{ phone email }} }} }}
    refunded return {{ {RETURN_FIELDS} }} {ERRORS}
  }}
}}"""
REVIEW = f"""mutation Review($id: ID!, $approve: Boolean!, $note: String) {{
  reviewReturn(returnId: $id, approve: $approve, note: $note) {{
    purchase {{ id returned lead {{ id status buyersCount purchased contact {{ phone }} }} }}
    refunded return {{ {RETURN_FIELDS} }} {ERRORS}
  }}
}}"""
TO_REVIEW = (
    "query R($first: Int, $after: String) { returnsToReview(first: $first, after: $after) {"
    f" {RETURN_FIELDS} purchase {{ id price lead {{ id }} }} }} }}"
)
PURCHASES = (
    "query { purchases(first: 50) { id returned"
    " lead { id purchased contact { phone } } return { id status refunded purchase { id } } } }"
)
NODE = f"query N($id: ID!) {{ node(id: $id) {{ id ... on LeadReturn {{ {RETURN_FIELDS} }} }} }}"


def _deps(app: Starlette) -> Deps:
    return app.state.deps  # type: ignore[no-any-return]


async def _lead(make_lead: Any, **overrides: Any) -> Any:
    """A lead with its own listing URL (the shared default URL would make every lead a duplicate)."""
    values: dict[str, Any] = {
        "price_credits": 10,
        "source_url": f"https://www.zillow.com/homedetails/{uuid.uuid4().hex}",
        **CITY,
    }
    values.update(overrides)
    return await make_lead(**values)


async def _buy(gql: Any, user: Any, *leads: Any) -> dict[uuid.UUID, str]:
    """Buy the leads in one checkout; the purchase global id of each lead."""
    for lead in leads:
        added = (await gql(ADD, {"id": lead_gid(lead.id)}, token=user.token))["data"]["addToCart"]
        assert added["errors"] == [], added
    done = (await gql(CHECKOUT, {"key": uuid.uuid4().hex}, token=user.token))["data"]["checkout"]
    assert done["errors"] == [], done
    by_gid = {p["lead"]["id"]: p["id"] for p in done["purchases"]}
    return {lead.id: by_gid[lead_gid(lead.id)] for lead in leads}


async def _return(gql: Any, user: Any, purchase_id: str, reason: str, note: str | None = None) -> Any:
    variables = {"id": purchase_id, "reason": reason, "note": note}
    return (await gql(RETURN, variables, token=user.token))["data"]["returnLead"]


async def _review(gql: Any, token: str | None, return_id: str, approve: bool, note: str | None = None) -> Any:
    body = await gql(REVIEW, {"id": return_id, "approve": approve, "note": note}, token=token)
    return body["data"]["reviewReturn"]


async def _refunds(app: Starlette, user_id: uuid.UUID) -> list[tuple[int, str]]:
    async with _deps(app).engine.connect() as conn:
        rows = await conn.execute(
            text("SELECT amount, ref FROM credit_ledger WHERE user_id = :u AND kind = 'REFUND' ORDER BY id"),
            {"u": user_id},
        )
        return [(int(amount), str(ref)) for amount, ref in rows]


async def _credits(gql: Any, user: Any) -> int:
    return int((await gql(ME, token=user.token))["data"]["me"]["credits"])


async def _sql(app: Starlette, statement: str, **params: Any) -> None:
    async with _deps(app).engine.begin() as conn:
        await conn.execute(text(statement), params)


async def test_an_invalid_phone_is_approved_at_once(
    gql: Any, buyers: Any, make_lead: Any, app: Starlette
) -> None:
    user = await buyers(credits=100)
    invalid = await _lead(make_lead, price_credits=20, contact_phone=INVALID_PHONE)
    also_invalid = await _lead(make_lead, price_credits=15, contact_phone="555-0100")  # too short
    bought = await _buy(gql, user, invalid, also_invalid)
    assert await _credits(gql, user) == 65
    for lead, price in ((invalid, 20), (also_invalid, 15)):
        result = await _return(gql, user, bought[lead.id], "BAD_PHONE", "disconnected")
        assert result["errors"] == [] and result["refunded"] == price
        assert result["return"]["status"] == "APPROVED" and result["return"]["refunded"] == price
        assert result["return"]["reason"] == "BAD_PHONE" and result["return"]["reviewedAt"] is not None
        assert result["purchase"]["returned"] is True
        assert result["purchase"]["lead"]["purchased"] is False
        assert result["purchase"]["lead"]["contact"] is None  # hidden again
        counts = await lead_counts(_deps(app).engine, lead.id)
        assert counts["buyers_count"] == 0 and counts["status"] == "AVAILABLE"
    assert await _credits(gql, user) == 100
    async with _deps(app).engine.connect() as conn:
        rows = await conn.execute(
            text(
                "SELECT p.lead_id, p.id, r.reviewer_id, r.reviewed_at IS NOT NULL, r.user_id"
                " FROM lead_returns r JOIN purchases p ON p.id = r.purchase_id WHERE p.user_id = :u"
            ),
            {"u": user.id},
        )
        seen = {
            lead_id: (purchase_id, reviewer, reviewed, owner)
            for lead_id, purchase_id, reviewer, reviewed, owner in rows
        }
    assert set(seen) == {invalid.id, also_invalid.id}
    # approved automatically: no reviewer, reviewed at once; the request belongs to the buyer
    assert all(
        reviewer is None and reviewed and owner == user.id for _, reviewer, reviewed, owner in seen.values()
    )
    assert sorted(await _refunds(app, user.id)) == sorted(
        [(20, f"return:{seen[invalid.id][0]}"), (15, f"return:{seen[also_invalid.id][0]}")]
    )


async def test_a_lead_sold_without_a_phone_waits_for_review(
    gql: Any, buyers: Any, make_lead: Any, app: Starlette
) -> None:
    # the listing pipeline keeps leads without a phone (the contact is optional): the buyer saw
    # that before buying and got the e-mail; an instant refund would hand the contact out for free
    user = await buyers(credits=100)
    missing = await _lead(make_lead, price_credits=15, contact_phone=None, contact_email="only@example.com")
    blank = await _lead(make_lead, price_credits=10, contact_phone="  ", contact_email="blank@example.com")
    bought = await _buy(gql, user, missing, blank)
    for lead, email in ((missing, "only@example.com"), (blank, "blank@example.com")):
        result = await _return(gql, user, bought[lead.id], "BAD_PHONE", "no number")
        assert result["errors"] == [] and result["refunded"] == 0, result
        assert result["return"]["status"] == "PENDING" and result["return"]["reviewedAt"] is None
        assert result["return"]["reviewedAutomatically"] is False
        assert result["purchase"]["returned"] is False and result["purchase"]["lead"]["purchased"] is True
        assert result["purchase"]["lead"]["contact"]["email"] == email
        counts = await lead_counts(_deps(app).engine, lead.id)
        assert counts["buyers_count"] == 1 and counts["status"] == "SOLD_OUT"
    assert await _credits(gql, user) == 75 and await _refunds(app, user.id) == []


async def test_unverifiable_returns_wait_for_review_and_keep_the_contact(
    gql: Any, buyers: Any, make_user: Any, make_lead: Any, app: Starlette
) -> None:
    user = await buyers(credits=100)
    admin = await make_user(role="admin")
    good_phone = await _lead(make_lead, price_credits=20)  # +15125550100 is a valid number
    sold_elsewhere = await _lead(make_lead, price_credits=10)
    not_duplicate = await _lead(make_lead, price_credits=10)
    not_fraud = await _lead(make_lead, price_credits=10, fraud_score=0.4)
    leads = (good_phone, sold_elsewhere, not_duplicate, not_fraud)
    bought = await _buy(gql, user, *leads)
    reasons = ("BAD_PHONE", "ALREADY_SOLD", "DUPLICATE", "FRAUDULENT")
    return_ids = []
    for lead, reason in zip(leads, reasons, strict=True):
        result = await _return(gql, user, bought[lead.id], reason, "please check")
        assert result["errors"] == [] and result["refunded"] == 0, result
        assert result["return"]["status"] == "PENDING" and result["return"]["reviewedAt"] is None
        assert result["purchase"]["returned"] is False
        assert result["purchase"]["lead"]["purchased"] is True
        assert result["purchase"]["lead"]["contact"]["phone"] == "+15125550100"
        assert result["purchase"]["lead"]["status"] == "SOLD_OUT"
        return_ids.append(result["return"]["id"])
    assert await _credits(gql, user) == 50 and await _refunds(app, user.id) == []

    listed = (await gql(PURCHASES, token=user.token))["data"]["purchases"]
    assert {p["return"]["status"] for p in listed} == {"PENDING"}
    assert all(p["lead"]["contact"]["phone"] and p["return"]["purchase"]["id"] == p["id"] for p in listed)

    queue = (await gql(TO_REVIEW, {"first": 100}, token=admin.token))["data"]["returnsToReview"]
    mine = [r for r in queue if r["id"] in return_ids]
    assert [r["id"] for r in mine] == return_ids  # oldest first
    assert [r["reason"] for r in mine] == list(reasons) and mine[0]["note"] == "please check"
    assert mine[0]["purchase"]["id"] == bought[good_phone.id] and mine[0]["purchase"]["price"] == 20
    # keyset pagination continues after the last return seen
    position = [r["id"] for r in queue].index(return_ids[1])
    rest = (await gql(TO_REVIEW, {"first": 100, "after": return_ids[1]}, token=admin.token))["data"]
    assert [r["id"] for r in rest["returnsToReview"]] == [r["id"] for r in queue[position + 1 :]]

    again = await _return(gql, user, bought[good_phone.id], "ALREADY_SOLD")
    assert [(e["code"], e["field"]) for e in again["errors"]] == [("ALREADY_RETURNED", "purchaseId")]


async def test_a_duplicate_the_buyer_owns_is_approved_at_once(
    gql: Any, buyers: Any, make_lead: Any, app: Starlette
) -> None:
    user, other_buyer = await buyers(credits=200), await buyers(credits=200)
    # every lead here has the default contact, so a returned twin gives the buyer nothing new
    # the same normalized street, unit and ZIP a few hundred metres apart (one source on a centroid)
    key = f"{uuid.uuid4().int % 9000 + 100} N CENTRAL EXPY|#210|75205"
    address_a = await _lead(make_lead, dedup_key=key)
    address_b = await _lead(make_lead, dedup_key=key, lat=30.2690, price_credits=12)
    # one listing attached to both: the same URL among their lead_sources
    listing_a, listing_b = await _lead(make_lead), await _lead(make_lead, price_credits=13)
    # one listing that became both leads over time: raw_listings remember each version's lead
    raw_a, raw_b = await _lead(make_lead), await _lead(make_lead, price_credits=14)
    # a duplicate owned by someone else is no proof for this buyer
    theirs, mine = await _lead(make_lead, dedup_key=f"9{key}"), await _lead(make_lead, dedup_key=f"9{key}")
    url = f"https://sfbay.craigslist.org/reo/d/{uuid.uuid4().hex}.html"
    external = f"cl-{uuid.uuid4().hex}"
    await _sql(
        app,
        "INSERT INTO lead_sources (lead_id, source, external_id, url) VALUES"
        " (:a, 'CRAIGSLIST', :xa, :url), (:b, 'FACEBOOK', :xb, :url)",
        a=listing_a.id,
        b=listing_b.id,
        xa=f"a-{external}",
        xb=f"b-{external}",
        url=url,
    )
    for lead_id, digest in ((raw_a.id, "1" * 64), (raw_b.id, "2" * 64)):
        await _sql(
            app,
            "INSERT INTO raw_listings (source, external_id, url, content_hash, body, status, lead_id)"
            " VALUES ('FSBO', :x, 'https://fsbo.example/x', :h, '{}', 'INGESTED', :l)",
            x=external,
            h=digest,
            l=lead_id,
        )
    bought = await _buy(gql, user, address_a, address_b, listing_a, listing_b)  # a FREE cart holds 5
    bought |= await _buy(gql, user, raw_a, raw_b, mine)
    await _buy(gql, other_buyer, theirs)

    for lead, price in ((address_b, 12), (listing_b, 13), (raw_b, 14)):
        result = await _return(gql, user, bought[lead.id], "DUPLICATE")
        assert result["errors"] == [] and result["refunded"] == price, result
        assert result["return"]["status"] == "APPROVED" and result["return"]["reviewedAutomatically"]
        assert result["purchase"]["lead"]["contact"] is None
    # the twin was returned, so the buyer no longer owns a duplicate of the first lead
    first = await _return(gql, user, bought[address_a.id], "DUPLICATE")
    assert first["return"]["status"] == "PENDING" and first["refunded"] == 0
    lonely = await _return(gql, user, bought[mine.id], "DUPLICATE")
    assert lonely["return"]["status"] == "PENDING" and lonely["refunded"] == 0
    assert sorted(amount for amount, _ in await _refunds(app, user.id)) == [12, 13, 14]


async def test_a_fraud_score_raised_after_purchase_is_approved_at_once(
    gql: Any, buyers: Any, make_lead: Any, app: Starlette
) -> None:
    user = await buyers(credits=100)
    flagged, borderline = await _lead(make_lead, price_credits=25), await _lead(make_lead)
    bought = await _buy(gql, user, flagged, borderline)
    # a re-ingest of another source rescored the leads after the purchase
    await _sql(app, "UPDATE leads SET fraud_score = 0.85 WHERE id = :l", l=flagged.id)
    await _sql(app, "UPDATE leads SET fraud_score = 0.69 WHERE id = :l", l=borderline.id)
    result = await _return(gql, user, bought[flagged.id], "FRAUDULENT")
    assert result["errors"] == [] and result["refunded"] == 25
    assert result["return"]["status"] == "APPROVED" and "0.85" in result["return"]["reviewNote"]
    below = await _return(gql, user, bought[borderline.id], "FRAUDULENT")
    assert below["return"]["status"] == "PENDING" and below["refunded"] == 0
    assert [amount for amount, _ in await _refunds(app, user.id)] == [25]


async def test_a_duplicate_with_another_contact_waits_for_review(
    gql: Any, buyers: Any, make_lead: Any, app: Starlette
) -> None:
    user = await buyers(credits=200)

    def key() -> str:
        return f"{uuid.uuid4().int % 9000 + 100} S LAMAR BLVD||78704"

    # one property that dedup left as two leads: the listing agent's and the owner's
    same_property = key()
    agent = await _lead(
        make_lead, dedup_key=same_property, contact_phone="+15125550111", contact_email="agent@realty.example"
    )
    owner = await _lead(
        make_lead, dedup_key=same_property, contact_phone="+15125550122", contact_email="owner@example.com"
    )
    # the same contact, written differently: an e-mail differing only in case ...
    by_email = key()
    email_a = await _lead(make_lead, dedup_key=by_email, contact_phone=None, contact_email="Sam@Example.com")
    email_b = await _lead(
        make_lead,
        dedup_key=by_email,
        price_credits=11,
        contact_phone="+15125550133",
        contact_email=" sam@example.COM",
    )
    # ... or one phone number in two formats (different e-mails)
    by_phone = key()
    phone_a = await _lead(make_lead, dedup_key=by_phone, contact_phone="+15125550144", contact_email=None)
    phone_b = await _lead(
        make_lead,
        dedup_key=by_phone,
        price_credits=12,
        contact_phone="(512) 555-0144",
        contact_email="other@example.com",
    )
    bought = await _buy(gql, user, agent, owner, email_a)
    bought |= await _buy(gql, user, email_b, phone_a, phone_b)

    for lead in (owner, agent):  # either way round: the buyer would keep a contact not paid for
        result = await _return(gql, user, bought[lead.id], "DUPLICATE")
        assert result["errors"] == [] and result["refunded"] == 0, result
        assert result["return"]["status"] == "PENDING" and result["purchase"]["returned"] is False
        assert result["purchase"]["lead"]["contact"]["phone"] is not None
    assert await _refunds(app, user.id) == []
    for lead, price in ((email_b, 11), (phone_b, 12)):
        result = await _return(gql, user, bought[lead.id], "DUPLICATE")
        assert result["errors"] == [] and result["refunded"] == price, result
        assert result["return"]["status"] == "APPROVED" and result["return"]["reviewedAutomatically"]
        assert "same contact" in result["return"]["reviewNote"]
        assert result["purchase"]["lead"]["contact"] is None
    assert sorted(amount for amount, _ in await _refunds(app, user.id)) == [11, 12]


async def test_a_lead_bought_already_suspicious_waits_for_review(
    gql: Any, buyers: Any, make_lead: Any, app: Starlette
) -> None:
    # the fraud score is public: buying a lead at or above the threshold is the buyer's choice
    user = await buyers(credits=200)
    flagged = await _lead(make_lead, price_credits=25, fraud_score=0.9)
    at_threshold = await _lead(make_lead, price_credits=15, fraud_score=0.7)
    rising = await _lead(make_lead, price_credits=12, fraud_score=0.75)
    just_below = await _lead(make_lead, price_credits=11, fraud_score=0.69)
    legacy = await _lead(make_lead, price_credits=10)
    bought = await _buy(gql, user, flagged, at_threshold, rising, just_below, legacy)
    async with _deps(app).engine.connect() as conn:
        rows = await conn.execute(
            text("SELECT lead_id, fraud_score_at_purchase FROM purchases WHERE user_id = :u"), {"u": user.id}
        )
        recorded = {lead_id: score for lead_id, score in rows}
    assert recorded == {
        flagged.id: 0.9,
        at_threshold.id: 0.7,
        rising.id: 0.75,
        just_below.id: 0.69,
        legacy.id: 0.05,
    }
    # rescored after the purchase: higher still, or across the threshold from just below it
    await _sql(app, "UPDATE leads SET fraud_score = 0.95 WHERE id = :l", l=rising.id)
    await _sql(app, "UPDATE leads SET fraud_score = 0.7 WHERE id = :l", l=just_below.id)
    # a purchase without a recorded score (bought before scores were recorded) cannot be verified
    await _sql(app, "UPDATE leads SET fraud_score = 0.9 WHERE id = :l", l=legacy.id)
    await _sql(
        app,
        "UPDATE purchases SET fraud_score_at_purchase = NULL WHERE user_id = :u AND lead_id = :l",
        u=user.id,
        l=legacy.id,
    )
    for lead in (flagged, at_threshold, rising, legacy):
        result = await _return(gql, user, bought[lead.id], "FRAUDULENT")
        assert result["errors"] == [] and result["refunded"] == 0, result
        assert result["return"]["status"] == "PENDING" and result["purchase"]["returned"] is False
        assert result["purchase"]["lead"]["contact"]["phone"] == "+15125550100"
    assert await _refunds(app, user.id) == []
    crossed = await _return(gql, user, bought[just_below.id], "FRAUDULENT")
    assert crossed["errors"] == [] and crossed["refunded"] == 11
    assert crossed["return"]["status"] == "APPROVED" and "0.69" in crossed["return"]["reviewNote"]
    assert [amount for amount, _ in await _refunds(app, user.id)] == [11]


async def test_an_admin_approval_refunds_once_frees_the_seat_and_hides_the_contact(
    gql: Any, buyers: Any, make_user: Any, make_lead: Any, app: Starlette
) -> None:
    user, next_buyer = await buyers(credits=60), await buyers(credits=60)
    admin = await make_user(role="admin")
    lead = await _lead(make_lead, price_credits=30, max_buyers=1)
    bought = await _buy(gql, user, lead)
    pending = await _return(gql, user, bought[lead.id], "ALREADY_SOLD", "the owner sold it last week")
    return_id = pending["return"]["id"]
    assert pending["return"]["status"] == "PENDING" and await _credits(gql, user) == 30

    approved = await _review(gql, admin.token, return_id, True, "  confirmed with the county  ")
    assert approved["errors"] == [] and approved["refunded"] == 30
    lead_return = approved["return"]
    assert lead_return["status"] == "APPROVED" and lead_return["refunded"] == 30
    assert lead_return["reviewNote"] == "confirmed with the county"
    assert lead_return["reviewedAutomatically"] is False and lead_return["reviewedAt"] is not None
    assert approved["purchase"]["returned"] is True
    assert approved["purchase"]["lead"]["status"] == "AVAILABLE"  # (admins see contacts: not checked here)
    counts = await lead_counts(_deps(app).engine, lead.id)
    assert counts["buyers_count"] == 0 and counts["purchase_rows"] == 0 and counts["status"] == "AVAILABLE"
    assert await _credits(gql, user) == 60
    refunds = await _refunds(app, user.id)
    assert [amount for amount, _ in refunds] == [30] and refunds[0][1].startswith("return:")
    async with _deps(app).engine.connect() as conn:
        reviewer = await conn.scalar(
            text("SELECT reviewer_id FROM lead_returns WHERE user_id = :u"), {"u": user.id}
        )
    assert reviewer == admin.id

    for approve in (True, False):
        twice = await _review(gql, admin.token, return_id, approve)
        assert [(e["code"], e["field"]) for e in twice["errors"]] == [("ALREADY_REVIEWED", "returnId")]
    assert [amount for amount, _ in await _refunds(app, user.id)] == [30]
    listed = (await gql(PURCHASES, token=user.token))["data"]["purchases"]
    assert [(p["returned"], p["return"]["status"], p["lead"]["contact"]) for p in listed] == [
        (True, "APPROVED", None)
    ]
    queue = (await gql(TO_REVIEW, {"first": 100}, token=admin.token))["data"]["returnsToReview"]
    assert return_id not in [r["id"] for r in queue]
    taken = (await gql(ADD, {"id": lead_gid(lead.id)}, token=next_buyer.token))["data"]["addToCart"]
    assert taken["errors"] == []  # the seat is free again


async def test_an_admin_rejection_refunds_nothing(
    gql: Any, buyers: Any, make_user: Any, make_lead: Any, app: Starlette
) -> None:
    user = await buyers(credits=40)
    admin = await make_user(role="admin")
    lead = await _lead(make_lead, price_credits=20)
    bought = await _buy(gql, user, lead)
    pending = await _return(gql, user, bought[lead.id], "BAD_PHONE", "nobody answers")
    assert pending["return"]["status"] == "PENDING"
    rejected = await _review(gql, admin.token, pending["return"]["id"], False, "the number rings")
    assert rejected["errors"] == [] and rejected["refunded"] == 0
    assert rejected["return"]["status"] == "REJECTED" and rejected["return"]["refunded"] == 0
    assert rejected["return"]["reviewNote"] == "the number rings"
    assert rejected["purchase"]["returned"] is False
    counts = await lead_counts(_deps(app).engine, lead.id)
    assert counts["buyers_count"] == 1 and counts["status"] == "SOLD_OUT"
    assert await _refunds(app, user.id) == [] and await _credits(gql, user) == 20
    listed = (await gql(PURCHASES, token=user.token))["data"]["purchases"]
    assert [(p["returned"], p["return"]["status"]) for p in listed] == [(False, "REJECTED")]
    assert listed[0]["lead"]["purchased"] and listed[0]["lead"]["contact"]["phone"] == "+15125550100"
    # one request per purchase: a rejected return is final
    again = await _return(gql, user, bought[lead.id], "ALREADY_SOLD")
    assert [e["code"] for e in again["errors"]] == ["ALREADY_RETURNED"]
    late = await _review(gql, admin.token, pending["return"]["id"], True)
    assert [e["code"] for e in late["errors"]] == ["ALREADY_REVIEWED"]
    assert await _refunds(app, user.id) == []


async def test_only_admins_review_returns(
    gql: Any, buyers: Any, make_user: Any, make_lead: Any, app: Starlette
) -> None:
    user = await buyers(credits=40)
    admin = await make_user(role="admin")
    lead = await _lead(make_lead, price_credits=20)
    bought = await _buy(gql, user, lead)
    return_id = (await _return(gql, user, bought[lead.id], "ALREADY_SOLD"))["return"]["id"]

    own = await _review(gql, user.token, return_id, True)
    assert [e["code"] for e in own["errors"]] == ["FORBIDDEN"] and own["refunded"] == 0
    assert own["return"] is None and await _refunds(app, user.id) == []
    anonymous = await gql(REVIEW, {"id": return_id, "approve": True}, expect_errors=True)
    assert anonymous["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    forbidden = await gql(TO_REVIEW, {"first": 5}, token=user.token, expect_errors=True)
    assert forbidden["data"] is None and forbidden["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    nobody = await gql(TO_REVIEW, {"first": 5}, expect_errors=True)
    assert nobody["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"

    unknown = await _review(gql, admin.token, to_global_id("LeadReturn", uuid.uuid4()), True)
    assert [(e["code"], e["field"]) for e in unknown["errors"]] == [("NOT_FOUND", "returnId")]
    malformed = await _review(gql, admin.token, bought[lead.id], True)  # a Purchase id
    assert [(e["code"], e["field"]) for e in malformed["errors"]] == [("INVALID_INPUT", "returnId")]
    bad_note = await _review(gql, admin.token, return_id, True, "nul\x00")
    assert [(e["code"], e["field"]) for e in bad_note["errors"]] == [("INVALID_INPUT", "note")]
    assert await _refunds(app, user.id) == []


async def test_concurrent_approvals_refund_once(
    gql: Any, buyers: Any, make_user: Any, make_lead: Any, app: Starlette
) -> None:
    user = await buyers(credits=50)
    admins = [await make_user(role="admin") for _ in range(3)]
    lead = await _lead(make_lead, price_credits=17, max_buyers=2)
    bought = await _buy(gql, user, lead)
    return_id = (await _return(gql, user, bought[lead.id], "ALREADY_SOLD"))["return"]["id"]
    results = await asyncio.gather(*(_review(gql, admins[n % 3].token, return_id, n != 3) for n in range(10)))
    succeeded = [r for r in results if not r["errors"]]
    assert len(succeeded) == 1
    assert {e["code"] for r in results for e in r["errors"]} == {"ALREADY_REVIEWED"}
    refunds = await _refunds(app, user.id)
    if succeeded[0]["return"]["status"] == "APPROVED":
        assert [amount for amount, _ in refunds] == [17] and succeeded[0]["refunded"] == 17
        counts = await lead_counts(_deps(app).engine, lead.id)
        assert counts["buyers_count"] == 0 and counts["status"] == "AVAILABLE"
    else:  # the one rejection won the race
        assert refunds == [] and succeeded[0]["refunded"] == 0


async def test_return_requests_are_limited_per_buyer_even_under_concurrency(
    gql: Any, buyers: Any, make_lead: Any, app: Starlette
) -> None:
    user = await buyers(tier="PRO", credits=200)
    leads = [await _lead(make_lead, price_credits=5) for _ in range(8)]
    bought = await _buy(gql, user, *leads)
    results = await asyncio.gather(*(_return(gql, user, bought[lead.id], "ALREADY_SOLD") for lead in leads))
    accepted = [r for r in results if not r["errors"]]
    limited = [r for r in results if r["errors"]]
    assert len(accepted) == 5 and all(r["return"]["status"] == "PENDING" for r in accepted)
    assert len(limited) == 3
    assert {(e["code"], e["field"]) for r in limited for e in r["errors"]} == {("RETURN_LIMIT", "purchaseId")}
    async with _deps(app).engine.connect() as conn:
        made = await conn.scalar(text("SELECT count(*) FROM lead_returns WHERE user_id = :u"), {"u": user.id})
    assert made == 5
    left = [lead for lead, r in zip(leads, results, strict=True) if r["errors"]]
    # automatic approvals count too: the limit is on requests, whatever their outcome
    sixth = await _return(gql, user, bought[left[0].id], "ALREADY_SOLD")
    assert [e["code"] for e in sixth["errors"]] == ["RETURN_LIMIT"]
    # a request older than 30 days no longer counts
    await _sql(
        app,
        "UPDATE lead_returns SET created_at = now() - interval '31 days'"
        " WHERE id = (SELECT id FROM lead_returns WHERE user_id = :u ORDER BY created_at LIMIT 1)",
        u=user.id,
    )
    freed = await _return(gql, user, bought[left[0].id], "ALREADY_SOLD")
    assert freed["errors"] == [] and freed["return"]["status"] == "PENDING"
    again = await _return(gql, user, bought[left[1].id], "ALREADY_SOLD")
    assert [e["code"] for e in again["errors"]] == ["RETURN_LIMIT"]
    # the window is checked for each purchase as before
    await _sql(
        app,
        "UPDATE purchases SET purchased_at = now() - interval '8 days' WHERE user_id = :u AND lead_id = :l",
        u=user.id,
        l=left[2].id,
    )
    late = await _return(gql, user, bought[left[2].id], "ALREADY_SOLD")
    assert [e["code"] for e in late["errors"]] == ["RETURN_WINDOW_CLOSED"]


async def test_a_return_is_a_node_for_its_buyer_and_admins(
    gql: Any, buyers: Any, make_user: Any, make_lead: Any
) -> None:
    user, stranger = await buyers(credits=40), await buyers()
    admin = await make_user(role="admin")
    lead = await _lead(make_lead, price_credits=20)
    bought = await _buy(gql, user, lead)
    return_id = (await _return(gql, user, bought[lead.id], "ALREADY_SOLD", "sold"))["return"]["id"]
    for viewer in (user, admin):
        node = (await gql(NODE, {"id": return_id}, token=viewer.token))["data"]["node"]
        assert node["id"] == return_id and node["status"] == "PENDING" and node["note"] == "sold"
    assert (await gql(NODE, {"id": return_id}, token=stranger.token))["data"]["node"] is None
    assert (await gql(NODE, {"id": return_id}))["data"]["node"] is None


async def test_purchase_returns_are_batched(
    gql: Any, make_user: Any, make_lead: Any, count_statements: Any
) -> None:
    counts = []
    for size in (2, 6):
        buyer = await make_user(tier="PRO", credits=200)
        leads = [await _lead(make_lead, price_credits=5) for _ in range(size)]
        bought = await _buy(gql, buyer, *leads)
        for lead in leads[:-1]:
            assert not (await _return(gql, buyer, bought[lead.id], "ALREADY_SOLD"))["errors"]
        best = None
        for _ in range(3):  # the shared engine's reconciliation may add a statement to one window
            with count_statements() as counter:
                body = await gql(PURCHASES, token=buyer.token)
            best = counter.count if best is None else min(best, counter.count)
        listed = body["data"]["purchases"]
        assert len(listed) == size and sum(1 for p in listed if p["return"] is None) == 1
        counts.append(best)
    assert counts[0] == counts[1], counts
