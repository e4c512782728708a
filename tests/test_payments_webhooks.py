"""POST /webhooks/stripe: only signed, fresh deliveries count; a PaymentIntent is fulfilled once.

Deliveries are signed exactly as Stripe signs them and verified by the real stripe library; every
test leaves each buyer's ledger sum equal to their cached balance (the `buyers` fixture checks).
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest_asyncio
from aiqtest_support.stripe_server import (
    StripeHarness,
    event_for,
    signature_header,
    signed_delivery,
    stripe_app,
)
from sqlalchemy import text
from starlette.applications import Starlette

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
    async with stripe.app.state.resources.engine.connect() as conn:
        rows = await conn.execute(
            text("SELECT amount, ref FROM credit_ledger WHERE user_id = :u AND kind = 'PACK_PURCHASE'"),
            {"u": user.id},
        )
        return [(r.amount, r.ref) for r in rows]


async def status_of(stripe: StripeHarness, user: Any) -> list[tuple[str, str | None]]:
    """(status, failure_reason) of the user's payments."""
    async with stripe.app.state.resources.engine.connect() as conn:
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
