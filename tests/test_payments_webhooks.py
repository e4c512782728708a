"""POST /webhooks/stripe: only signed, fresh deliveries count; a PaymentIntent is fulfilled once.

Deliveries are signed exactly as Stripe signs them and verified by the real stripe library; every
test leaves each buyer's ledger sum equal to their cached balance (the `buyers` fixture checks).
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest_asyncio
from aiqtest_support.asgi import post_scope
from aiqtest_support.stripe_server import (
    StripeHarness,
    event_for,
    signature_header,
    signed_delivery,
    stripe_app,
)
from sqlalchemy import text
from starlette.applications import Starlette

from aiqleads.domain.credits import ledger
from aiqleads.domain.credits import service as credits
from aiqleads.domain.settings import Settings

BUY = """mutation Buy($pack: CreditPack!, $key: String!) {
  buyCredits(pack: $pack, idempotencyKey: $key) {
    balance transaction { id amount kind reason } payment { id status failureReason completedAt }
    errors { code }
  }
}"""
ME = "query { me { credits } }"
SUCCEEDED = "payment_intent.succeeded"
FAILED = "payment_intent.payment_failed"


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def stripe(settings: Settings, app: Starlette) -> AsyncIterator[StripeHarness]:
    """The app with the Stripe provider and webhook secret, against a local Stripe server."""
    async with stripe_app(settings) as harness:
        yield harness


async def pending_pack(stripe: StripeHarness, user: Any, key: str, pack: str = "STARTER") -> dict[str, Any]:
    """Buy a pack through Stripe; returns the payload and the local server's intent for it."""
    payload = (await stripe.gql(BUY, {"pack": pack, "key": key}, user.token))["buyCredits"]
    assert payload["errors"] == [] and payload["payment"]["status"] == "PENDING"
    (intent,) = [i for i in stripe.server.intents.values() if i["metadata"]["user_id"] == str(user.id)]
    return {"payload": payload, "intent": intent}


async def pack_entries(stripe: StripeHarness, user: Any) -> list[tuple[int, str]]:
    """The user's PACK_PURCHASE entries (amount, ref)."""
    async with stripe.app.state.deps.engine.connect() as conn:
        rows = await conn.execute(
            text("SELECT amount, ref FROM credit_ledger WHERE user_id = :u AND kind = 'PACK_PURCHASE'"),
            {"u": user.id},
        )
        return [(r.amount, r.ref) for r in rows]


async def status_of(stripe: StripeHarness, user: Any) -> list[tuple[str, str | None]]:
    """(status, failure_reason) of the user's payments."""
    async with stripe.app.state.deps.engine.connect() as conn:
        rows = await conn.execute(
            text("SELECT status, failure_reason FROM payments WHERE user_id = :u"), {"u": user.id}
        )
        return [(r.status, r.failure_reason) for r in rows]


async def test_bad_missing_or_stale_signatures_are_400_and_change_nothing(
    stripe: StripeHarness, buyers: Any
) -> None:
    user = await buyers(credits=2)
    bought = await pending_pack(stripe, user, "sig")
    event = event_for(SUCCEEDED, stripe.server.succeed(bought["intent"]["id"]))
    wrong_secret = await stripe.deliver(event, secret="whsec_someone_else")
    assert wrong_secret.status_code == 400 and "signature" in wrong_secret.json()["error"].lower()
    payload, headers = signed_delivery(event)
    tampered = payload.replace(b'"amount": 5000', b'"amount": 5001')
    assert tampered != payload
    assert (await stripe.http.post("/webhooks/stripe", content=tampered, headers=headers)).status_code == 400
    missing = await stripe.http.post(
        "/webhooks/stripe", content=payload, headers={"Content-Type": "application/json"}
    )
    assert missing.status_code == 400 and "Stripe-Signature" in missing.json()["error"]
    garbage = await stripe.http.post(
        "/webhooks/stripe", content=payload, headers={"Stripe-Signature": "nonsense"}
    )
    assert garbage.status_code == 400
    stale = await stripe.deliver(event, timestamp=int(time.time()) - 301)  # Stripe's 5-minute tolerance
    assert stale.status_code == 400 and "tolerance" in stale.json()["error"].lower()
    assert await pack_entries(stripe, user) == [] and await status_of(stripe, user) == [("PENDING", None)]
    assert (await stripe.gql(ME, token=user.token))["me"]["credits"] == 2

    late_but_fresh = await stripe.deliver(event, timestamp=int(time.time()) - 240)
    assert late_but_fresh.status_code == 200 and late_but_fresh.json() == {"received": True}
    assert (await stripe.gql(ME, token=user.token))["me"]["credits"] == 52


async def test_a_replayed_event_grants_once_and_completes_the_payment(
    stripe: StripeHarness, buyers: Any
) -> None:
    user = await buyers()
    bought = await pending_pack(stripe, user, "replay", pack="GROWTH")
    event = event_for(SUCCEEDED, stripe.server.succeed(bought["intent"]["id"]))
    for _ in range(3):
        response = await stripe.deliver(event)
        assert response.status_code == 200 and response.json() == {"received": True}
    payment_id = bought["payload"]["payment"]["id"]
    entries = await pack_entries(stripe, user)
    assert len(entries) == 1 and entries[0][0] == 250 and entries[0][1].startswith("payment:")
    assert await status_of(stripe, user) == [("SUCCEEDED", None)]
    again = (await stripe.gql(BUY, {"pack": "GROWTH", "key": "replay"}, user.token))["buyCredits"]
    assert again["balance"] == 250 and again["payment"]["id"] == payment_id
    assert again["payment"]["status"] == "SUCCEEDED" and again["payment"]["completedAt"] is not None
    assert again["transaction"]["amount"] == 250 and again["transaction"]["kind"] == "PACK_PURCHASE"
    metrics = (await stripe.http.get("/metrics")).text
    assert 'aiq_domain_events_total{kind="credits_bought"}' in metrics


async def test_two_distinct_events_for_one_payment_intent_grant_once(
    stripe: StripeHarness, buyers: Any
) -> None:
    user = await buyers()
    bought = await pending_pack(stripe, user, "two-events")
    intent = stripe.server.succeed(bought["intent"]["id"])
    first, second = event_for(SUCCEEDED, intent), event_for(SUCCEEDED, intent)
    assert first["id"] != second["id"]
    assert (await stripe.deliver(first)).status_code == 200
    assert (await stripe.deliver(second)).status_code == 200
    assert [amount for amount, _ in await pack_entries(stripe, user)] == [50]
    late_failure = event_for(
        FAILED, stripe.server.fail(bought["intent"]["id"])
    )  # out of order, after success
    assert (await stripe.deliver(late_failure)).status_code == 200
    assert await status_of(stripe, user) == [("SUCCEEDED", None)]
    assert (await stripe.gql(ME, token=user.token))["me"]["credits"] == 50


async def test_payment_failed_marks_failed_without_credits_and_a_later_success_still_counts(
    stripe: StripeHarness, buyers: Any
) -> None:
    user = await buyers()
    bought = await pending_pack(stripe, user, "failing")
    failed = event_for(
        FAILED, stripe.server.fail(bought["intent"]["id"], "Your card has insufficient funds.")
    )
    assert (await stripe.deliver(failed)).status_code == 200
    assert await status_of(stripe, user) == [("FAILED", "Your card has insufficient funds.")]
    assert await pack_entries(stripe, user) == []
    replay = (await stripe.gql(BUY, {"pack": "STARTER", "key": "failing"}, user.token))["buyCredits"]
    assert (
        replay["payment"]["status"] == "FAILED" and replay["transaction"] is None and replay["balance"] == 0
    )
    assert replay["payment"]["failureReason"] == "Your card has insufficient funds."

    # the customer tries another card on the same PaymentIntent and it goes through
    assert (
        await stripe.deliver(event_for(SUCCEEDED, stripe.server.succeed(bought["intent"]["id"])))
    ).is_success
    assert await status_of(stripe, user) == [("SUCCEEDED", None)]
    assert (await stripe.gql(ME, token=user.token))["me"]["credits"] == 50


async def test_unknown_payment_intents_and_other_events_are_acknowledged_and_ignored(
    stripe: StripeHarness, buyers: Any
) -> None:
    user = await buyers()
    bought = await pending_pack(stripe, user, "ignored")
    stranger = dict(bought["intent"], id="pi_not_ours_0001", metadata={})
    assert (await stripe.deliver(event_for(SUCCEEDED, stranger))).json() == {"received": True}
    forged = dict(bought["intent"], id="pi_not_ours_0002")  # our metadata, someone else's intent id
    forged["metadata"] = dict(forged["metadata"], user_id="00000000-0000-0000-0000-000000000000")
    assert (await stripe.deliver(event_for(SUCCEEDED, forged))).status_code == 200
    customer = event_for("customer.created", {"id": "cus_1", "object": "customer"})
    assert (await stripe.deliver(customer)).status_code == 200
    other_type = event_for("payment_intent.created", bought["intent"])
    assert (await stripe.deliver(other_type)).status_code == 200
    assert await status_of(stripe, user) == [("PENDING", None)] and await pack_entries(stripe, user) == []


async def test_an_amount_or_currency_mismatch_is_not_fulfilled(stripe: StripeHarness, buyers: Any) -> None:
    user = await buyers()
    bought = await pending_pack(stripe, user, "mismatch")
    intent = stripe.server.succeed(bought["intent"]["id"])
    assert (await stripe.deliver(event_for(SUCCEEDED, dict(intent, amount=50)))).status_code == 200
    assert (await stripe.deliver(event_for(SUCCEEDED, dict(intent, currency="eur")))).status_code == 200
    assert await status_of(stripe, user) == [("PENDING", None)] and await pack_entries(stripe, user) == []


async def test_twenty_concurrent_deliveries_grant_exactly_once(stripe: StripeHarness, buyers: Any) -> None:
    user = await buyers(credits=1)
    bought = await pending_pack(stripe, user, "storm", pack="BULK")
    intent = stripe.server.succeed(bought["intent"]["id"])
    events = [event_for(SUCCEEDED, intent, event_id="evt_storm")] * 10 + [
        event_for(SUCCEEDED, intent) for _ in range(10)
    ]
    responses = await asyncio.gather(*(stripe.deliver(e) for e in events))
    assert [r.status_code for r in responses] == [200] * 20
    assert [amount for amount, _ in await pack_entries(stripe, user)] == [1000]
    assert (await stripe.gql(ME, token=user.token))["me"]["credits"] == 1001


async def test_a_malformed_but_signed_body_is_400(stripe: StripeHarness) -> None:
    payload = b"not json at all"
    headers = {"Stripe-Signature": signature_header(payload, stripe.settings.stripe_webhook_secret or "")}
    assert (await stripe.http.post("/webhooks/stripe", content=payload, headers=headers)).status_code == 400
    listed = json.dumps([1, 2]).encode()
    headers = {"Stripe-Signature": signature_header(listed, stripe.settings.stripe_webhook_secret or "")}
    assert (await stripe.http.post("/webhooks/stripe", content=listed, headers=headers)).status_code == 400


async def test_without_a_webhook_secret_the_endpoint_says_so(client: httpx.AsyncClient) -> None:
    payload, headers = signed_delivery(event_for(SUCCEEDED, {"id": "pi_1", "object": "payment_intent"}))
    response = await client.post("/webhooks/stripe", content=payload, headers=headers)
    assert response.status_code == 404 and "AIQ_STRIPE_WEBHOOK_SECRET" in response.json()["error"]


REFUNDED = "charge.refunded"
DISPUTED = "charge.dispute.created"


def charge_of(intent: dict[str, Any], *, full: bool = True) -> dict[str, Any]:
    """The Charge of a succeeded intent as charge.refunded carries it (fully or partly refunded)."""
    return {
        "id": f"ch_{intent['id'][3:]}",
        "object": "charge",
        "amount": intent["amount"],
        "amount_refunded": intent["amount"] if full else 100,
        "currency": intent["currency"],
        "payment_intent": intent["id"],
        "refunded": full,
        "status": "succeeded",
        "metadata": {},
    }


def dispute_of(intent: dict[str, Any], reason: str = "fraudulent") -> dict[str, Any]:
    """The Dispute object of charge.dispute.created."""
    return {
        "id": f"dp_{intent['id'][3:]}",
        "object": "dispute",
        "amount": intent["amount"],
        "currency": intent["currency"],
        "charge": f"ch_{intent['id'][3:]}",
        "payment_intent": intent["id"],
        "reason": reason,
        "status": "needs_response",
    }


async def ledger_of(stripe: StripeHarness, user: Any) -> list[tuple[str, int]]:
    """The user's ledger entries (kind, amount), oldest first."""
    async with stripe.app.state.deps.engine.connect() as conn:
        rows = await conn.execute(
            text("SELECT kind, amount FROM credit_ledger WHERE user_id = :u ORDER BY id"), {"u": user.id}
        )
        return [(r.kind, r.amount) for r in rows]


async def reversal_marks(stripe: StripeHarness, user: Any) -> list[tuple[bool, bool]]:
    """(refunded, disputed) of the user's payments."""
    async with stripe.app.state.deps.engine.connect() as conn:
        rows = await conn.execute(
            text("SELECT refunded_at, disputed_at FROM payments WHERE user_id = :u"), {"u": user.id}
        )
        return [(r.refunded_at is not None, r.disputed_at is not None) for r in rows]


async def paid_pack(stripe: StripeHarness, user: Any, key: str, pack: str = "STARTER") -> dict[str, Any]:
    """A pack bought and paid through the webhook; returns the succeeded intent."""
    bought = await pending_pack(stripe, user, key, pack)
    intent = stripe.server.succeed(bought["intent"]["id"])
    assert (await stripe.deliver(event_for(SUCCEEDED, intent))).status_code == 200
    return intent


async def test_a_refunded_pack_takes_its_credits_back_once(stripe: StripeHarness, buyers: Any) -> None:
    user = await buyers(credits=3)
    intent = await paid_pack(stripe, user, "refund-me")
    assert (await stripe.gql(ME, token=user.token))["me"]["credits"] == 53
    refund = event_for(REFUNDED, charge_of(intent))
    responses = await asyncio.gather(*(stripe.deliver(refund) for _ in range(5)))
    responses.append(await stripe.deliver(event_for(REFUNDED, charge_of(intent))))  # another event id
    assert {r.status_code for r in responses} == {200}
    assert await ledger_of(stripe, user) == [("GRANT", 3), ("PACK_PURCHASE", 50), ("REVERSAL", -50)]
    assert (await stripe.gql(ME, token=user.token))["me"]["credits"] == 3
    ((status, note),) = await status_of(stripe, user)
    assert status == "SUCCEEDED" and note == "Refunded: 50 of 50 credits of the STARTER pack were taken back."
    assert await reversal_marks(stripe, user) == [(True, False)]

    # a dispute of the same charge is recorded once and reverses nothing more
    for _ in range(2):
        assert (await stripe.deliver(event_for(DISPUTED, dispute_of(intent)))).status_code == 200
    assert await reversal_marks(stripe, user) == [(True, True)]
    assert await ledger_of(stripe, user) == [("GRANT", 3), ("PACK_PURCHASE", 50), ("REVERSAL", -50)]
    ((_, note),) = await status_of(stripe, user)
    assert note is not None and note.endswith("Disputed (fraudulent) as well; it was already reversed.")
    # a late success event never grants it again
    assert (await stripe.deliver(event_for(SUCCEEDED, intent))).status_code == 200
    assert (await stripe.gql(ME, token=user.token))["me"]["credits"] == 3
    metrics = (await stripe.http.get("/metrics")).text
    assert 'aiq_domain_events_total{kind="payment_reversed"}' in metrics


async def test_a_disputed_pack_takes_back_only_what_is_left(stripe: StripeHarness, buyers: Any) -> None:
    user = await buyers()
    intent = await paid_pack(stripe, user, "spent", pack="GROWTH")
    async with stripe.app.state.deps.sessionmaker() as session, session.begin():
        await ledger.post(session, user.id, -200, "SPEND", "bought leads", ref="test-spend")
    assert (await stripe.deliver(event_for(DISPUTED, dispute_of(intent, "unrecognized")))).status_code == 200
    assert await ledger_of(stripe, user) == [("PACK_PURCHASE", 250), ("SPEND", -200), ("REVERSAL", -50)]
    assert (await stripe.gql(ME, token=user.token))["me"]["credits"] == 0  # never below zero
    ((status, note),) = await status_of(stripe, user)
    assert status == "SUCCEEDED" and note == (
        "Disputed (unrecognized): 50 of 250 credits of the GROWTH pack were taken back; "
        "200 could not be (already spent)."
    )
    assert await reversal_marks(stripe, user) == [(False, True)]


async def test_a_partial_refund_is_ignored_and_a_refund_before_success_grants_nothing(
    stripe: StripeHarness, buyers: Any
) -> None:
    user = await buyers()
    intent = await paid_pack(stripe, user, "partly")
    assert (await stripe.deliver(event_for(REFUNDED, charge_of(intent, full=False)))).status_code == 200
    assert await reversal_marks(stripe, user) == [(False, False)]
    assert (await stripe.gql(ME, token=user.token))["me"]["credits"] == 50

    other = await buyers()
    bought = await pending_pack(stripe, other, "overtaken")
    intent = stripe.server.succeed(bought["intent"]["id"])
    assert (await stripe.deliver(event_for(REFUNDED, charge_of(intent)))).status_code == 200  # overtook it
    assert (await stripe.deliver(event_for(SUCCEEDED, intent))).status_code == 200
    assert await status_of(stripe, other) == [
        ("FAILED", "Refunded before it was fulfilled; nothing was granted.")
    ]
    assert await pack_entries(stripe, other) == [] and await reversal_marks(stripe, other) == [(True, False)]
    stranger = dict(charge_of(intent), payment_intent="pi_not_ours_0003")
    assert (await stripe.deliver(event_for(REFUNDED, stranger))).status_code == 200


TIER = """mutation Tier($tier: Tier!, $key: String) {
  changeTier(tier: $tier, idempotencyKey: $key) { user { tier tierPaidUntil } payment { id } errors { code } }
}"""
ME_TIER = "query { me { tier credits tierPaidUntil } }"


async def paid_tier(stripe: StripeHarness, user: Any, tier: str, key: str) -> dict[str, Any]:
    """Open a tier payment and pay it through the webhook; returns the succeeded intent."""
    await stripe.gql(TIER, {"tier": tier, "key": key}, user.token)
    (intent,) = [
        i
        for i in stripe.server.intents.values()
        if i["metadata"]["user_id"] == str(user.id) and i["status"] != "succeeded"
    ]
    intent = stripe.server.succeed(intent["id"])
    assert (await stripe.deliver(event_for(SUCCEEDED, intent))).status_code == 200
    return intent


async def test_a_disputed_tier_period_ends_now_and_its_allowance_is_taken_back(
    stripe: StripeHarness, buyers: Any
) -> None:
    user = await buyers()
    deps = stripe.app.state.deps
    intent = await paid_tier(stripe, user, "PRO", "pro-disputed")
    async with deps.sessionmaker() as session, session.begin():
        assert await credits.grant_allowances(session, [user.id]) == 1
        await ledger.post(session, user.id, -30, "SPEND", "bought a lead", ref="test-spend")
    assert (await stripe.gql(ME_TIER, token=user.token))["me"]["credits"] == 70
    assert (await stripe.deliver(event_for(DISPUTED, dispute_of(intent)))).status_code == 200
    assert (await stripe.deliver(event_for(DISPUTED, dispute_of(intent)))).status_code == 200
    me = (await stripe.gql(ME_TIER, token=user.token))["me"]
    assert (me["tier"], me["tierPaidUntil"], me["credits"]) == ("FREE", None, 0)
    assert await ledger_of(stripe, user) == [("MONTHLY_ALLOWANCE", 100), ("SPEND", -30), ("REVERSAL", -70)]
    ((status, note),) = await status_of(stripe, user)
    assert status == "SUCCEEDED" and note is not None
    assert note.startswith("Disputed (fraudulent): the PRO period ended now (back to FREE)")
    assert "30 could not be" in note


async def test_refunding_one_of_two_paid_periods_keeps_the_other(stripe: StripeHarness, buyers: Any) -> None:
    user = await buyers()
    deps = stripe.app.state.deps
    first = await paid_tier(stripe, user, "ENTERPRISE", "ent-1")
    async with deps.engine.begin() as conn:  # as if a second payment were opened while FREE
        await conn.execute(text("UPDATE users SET tier = 'FREE' WHERE id = :u"), {"u": user.id})
    await stripe.gql(TIER, {"tier": "ENTERPRISE", "key": "ent-2"}, user.token)
    async with deps.engine.begin() as conn:
        await conn.execute(text("UPDATE users SET tier = 'ENTERPRISE' WHERE id = :u"), {"u": user.id})
    (second,) = [
        i
        for i in stripe.server.intents.values()
        if i["metadata"]["user_id"] == str(user.id) and i["status"] != "succeeded"
    ]
    await stripe.deliver(event_for(SUCCEEDED, stripe.server.succeed(second["id"])))
    me = (await stripe.gql(ME_TIER, token=user.token))["me"]
    sixty = datetime.fromisoformat(me["tierPaidUntil"])
    assert abs(sixty - (datetime.now(UTC) + timedelta(days=60))) < timedelta(minutes=1)
    async with deps.sessionmaker() as session, session.begin():
        assert await credits.grant_allowances(session, [user.id]) == 1

    assert (await stripe.deliver(event_for(REFUNDED, charge_of(first)))).status_code == 200
    me = (await stripe.gql(ME_TIER, token=user.token))["me"]
    assert me["tier"] == "ENTERPRISE"
    assert datetime.fromisoformat(me["tierPaidUntil"]) == sixty - timedelta(days=30)
    async with deps.sessionmaker() as session, session.begin():  # the same period: nothing new
        assert await credits.grant_allowances(session, [user.id]) == 0
    assert me["credits"] == 500 and await ledger_of(stripe, user) == [("MONTHLY_ALLOWANCE", 500)]


async def test_refunding_a_tier_replaced_by_an_upgrade_changes_nothing(
    stripe: StripeHarness, buyers: Any
) -> None:
    user = await buyers()
    pro = await paid_tier(stripe, user, "PRO", "pro-then-ent")
    await paid_tier(stripe, user, "ENTERPRISE", "ent-after-pro")
    before = (await stripe.gql(ME_TIER, token=user.token))["me"]
    assert before["tier"] == "ENTERPRISE"
    assert (await stripe.deliver(event_for(REFUNDED, charge_of(pro)))).status_code == 200
    assert (await stripe.gql(ME_TIER, token=user.token))["me"] == before
    notes = [note for _, note in await status_of(stripe, user)]
    assert "Refunded: its paid period was already over or replaced; nothing to end." in notes


async def test_a_webhook_body_over_one_megabyte_is_refused_without_being_read(stripe: StripeHarness) -> None:
    async def call(headers: list[tuple[bytes, bytes]], chunks: list[bytes]) -> tuple[int, int]:
        """Drive the ASGI app directly; returns (status, body chunks it asked for)."""
        asked = 0
        sent: list[dict[str, Any]] = []

        async def receive() -> dict[str, Any]:
            nonlocal asked
            asked += 1
            if asked > len(chunks):
                return {"type": "http.disconnect"}
            return {"type": "http.request", "body": chunks[asked - 1], "more_body": asked < len(chunks)}

        async def send(message: dict[str, Any]) -> None:
            sent.append(message)

        await stripe.app(post_scope("/webhooks/stripe", headers), receive, send)
        return next(m["status"] for m in sent if m["type"] == "http.response.start"), asked

    megabyte = 1_000_000
    declared = [(b"content-length", str(50 * megabyte).encode()), (b"stripe-signature", b"t=1,v1=00")]
    assert await call(declared, [b"x" * 65_536] * 800) == (413, 0)  # refused before reading anything
    status, asked = await call([(b"stripe-signature", b"t=1,v1=00")], [b"x" * 65_536] * 800)  # chunked
    assert status == 413 and asked == megabyte // 65_536 + 1  # abandoned at the first chunk past 1 MB

    over = await stripe.http.post("/webhooks/stripe", content=b"x" * (megabyte + 1))
    assert over.status_code == 413 and over.json() == {"error": "The webhook body is too large."}
    at_limit = b" " * (megabyte - 2) + b"{}"
    headers = {"Stripe-Signature": signature_header(at_limit, stripe.settings.stripe_webhook_secret or "")}
    response = await stripe.http.post("/webhooks/stripe", content=at_limit, headers=headers)
    assert response.status_code == 200 and response.json() == {"received": True}  # exactly 1 MB is read
