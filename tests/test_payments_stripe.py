"""Packs and paid tiers through Stripe: the real stripe client against a local Stripe server.

Buying opens a PaymentIntent and changes nothing until Stripe's signed webhook says it succeeded;
retries converge on one intent; Stripe outages and declines are typed errors; tiers upgrade only
once paid, downgrade at once; the monthly allowance only goes to paid periods.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import pytest_asyncio
from aiqtest_support.stripe_server import (
    TEST_SECRET_KEY,
    StripeHarness,
    event_for,
    stripe_app,
)
from sqlalchemy import text
from starlette.applications import Starlette

from aiqleads.domain.errors import DomainError
from aiqleads.domain.payments.provider import PaymentRequest, build_payment_provider
from aiqleads.domain.payments.stripe_provider import StripePaymentProvider
from aiqleads.domain.settings import Settings
from aiqleads.workers import context as worker_context
from aiqleads.workers.cart_jobs import grant_monthly_allowances

PAYMENT = "id status purpose clientSecret amountCents currency pack credits tier failureReason createdAt"
PAYMENT += " completedAt"
ERRORS = "errors { code message field }"
BUY = f"""mutation Buy($pack: CreditPack!, $key: String!) {{
  buyCredits(pack: $pack, idempotencyKey: $key) {{
    balance transaction {{ id amount kind }} payment {{ {PAYMENT} }} {ERRORS}
  }}
}}"""
TIER = f"""mutation Tier($tier: Tier!, $key: String) {{
  changeTier(tier: $tier, idempotencyKey: $key) {{
    user {{ id tier credits tierPaidUntil }} payment {{ {PAYMENT} }} {ERRORS}
  }}
}}"""
ME = "query { me { tier credits tierPaidUntil } }"
GET_PAYMENT = f"query P($id: ID!) {{ payment(id: $id) {{ {PAYMENT} }} }}"
NODE = "query N($id: ID!) { node(id: $id) { __typename ... on Payment { id status amountCents } } }"


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def stripe(settings: Settings, app: Starlette) -> AsyncIterator[StripeHarness]:
    """The app with the Stripe provider, against a local Stripe server (the session app stays dev)."""
    async with stripe_app(settings) as harness:
        yield harness


def payment_uuid(payment: dict[str, Any]) -> uuid.UUID:
    """The database id inside a Payment's global id."""
    import base64

    raw = base64.urlsafe_b64decode(payment["id"] + "=" * (-len(payment["id"]) % 4)).decode()
    assert raw.startswith("Payment:")
    return uuid.UUID(raw.removeprefix("Payment:"))


def intent_of(stripe: StripeHarness, payment: dict[str, Any]) -> dict[str, Any]:
    """The local server's PaymentIntent created for a payment."""
    found = [
        i for i in stripe.server.intents.values() if i["metadata"]["payment_id"] == str(payment_uuid(payment))
    ]
    assert len(found) == 1, found
    return found[0]


async def row(stripe: StripeHarness, payment_id: uuid.UUID) -> dict[str, Any]:
    """The payments row as stored."""
    async with stripe.app.state.deps.engine.connect() as conn:
        result = await conn.execute(text("SELECT * FROM payments WHERE id = :id"), {"id": payment_id})
        return dict(result.one()._mapping)


async def test_buy_credits_opens_a_pending_payment_intent_and_grants_nothing_yet(
    stripe: StripeHarness, buyers: Any
) -> None:
    user, other = await buyers(credits=5), await buyers()
    before = len(stripe.server.created())
    first = (await stripe.gql(BUY, {"pack": "STARTER", "key": "k-1"}, user.token))["buyCredits"]
    assert first["errors"] == [] and first["balance"] == 5 and first["transaction"] is None
    payment = first["payment"]
    assert payment["status"] == "PENDING" and payment["completedAt"] is None
    assert (payment["purpose"], payment["pack"], payment["credits"], payment["tier"]) == (
        "CREDIT_PACK",
        "STARTER",
        50,
        None,
    )
    assert (payment["amountCents"], payment["currency"]) == (5000, "USD")
    intent = intent_of(stripe, payment)
    assert (
        payment["clientSecret"] == intent["client_secret"] and intent["status"] == "requires_payment_method"
    )
    (sent,) = stripe.server.created()[before:]
    assert sent.headers["idempotency-key"] == f"aiqleads:{user.id}:credit_pack:k-1"
    assert sent.headers["authorization"] == f"Bearer {TEST_SECRET_KEY}"
    assert sent.params["amount"] == "5000" and sent.params["currency"] == "usd"
    assert sent.params["metadata"]["payment_id"] == str(payment_uuid(payment))
    assert sent.params["metadata"]["user_id"] == str(user.id)
    assert sent.params["automatic_payment_methods"] == {"enabled": "true"}

    again = (await stripe.gql(BUY, {"pack": "STARTER", "key": "k-1"}, user.token))["buyCredits"]
    assert again == first  # the same payment, the same intent: Stripe is not even asked again
    assert len(stripe.server.created()) == before + 1
    conflict = (await stripe.gql(BUY, {"pack": "GROWTH", "key": "k-1"}, user.token))["buyCredits"]
    assert [(e["code"], e["field"]) for e in conflict["errors"]] == [
        ("IDEMPOTENCY_CONFLICT", "idempotencyKey")
    ]
    assert conflict["payment"] is None and conflict["balance"] is None
    assert (await stripe.gql(ME, token=user.token))["me"]["credits"] == 5

    polled = (await stripe.gql(GET_PAYMENT, {"id": payment["id"]}, user.token))["payment"]
    assert polled == payment
    node = (await stripe.gql(NODE, {"id": payment["id"]}, user.token))["node"]
    assert node == {"__typename": "Payment", "id": payment["id"], "status": "PENDING", "amountCents": 5000}
    assert (await stripe.gql(GET_PAYMENT, {"id": payment["id"]}, other.token))["payment"] is None
    assert (await stripe.gql(NODE, {"id": payment["id"]}, other.token))["node"] is None
    assert (await row(stripe, payment_uuid(payment)))["provider"] == "stripe"


async def test_concurrent_retries_with_one_key_converge_on_one_payment_intent(
    stripe: StripeHarness, buyers: Any
) -> None:
    user = await buyers()
    results = await asyncio.gather(
        *(stripe.gql(BUY, {"pack": "BULK", "key": "same"}, user.token) for _ in range(10))
    )
    payments = [r["buyCredits"]["payment"] for r in results]
    assert {(p["id"], p["clientSecret"], p["status"]) for p in payments} == {
        (payments[0]["id"], payments[0]["clientSecret"], "PENDING")
    }
    mine = [i for i in stripe.server.intents.values() if i["metadata"]["user_id"] == str(user.id)]
    assert len(mine) == 1 and mine[0]["amount"] == 80_000


async def test_stripe_unreachable_is_payment_unavailable_and_a_retry_converges(
    stripe: StripeHarness, buyers: Any
) -> None:
    user = await buyers()
    runtime = stripe.app.state.runtime
    deps = working = runtime.deps
    unreachable = StripePaymentProvider(TEST_SECRET_KEY, api_base="http://127.0.0.1:9", max_network_retries=0)
    runtime.deps = replace(working, payments=unreachable)  # Deps are frozen: swap the process's copy
    try:
        down = (await stripe.gql(BUY, {"pack": "GROWTH", "key": "outage"}, user.token))["buyCredits"]
    finally:
        runtime.deps = working
        await unreachable.aclose()
    assert [e["code"] for e in down["errors"]] == ["PAYMENT_UNAVAILABLE"]
    assert down["payment"] is None and down["balance"] is None
    async with deps.engine.connect() as conn:
        statuses = list(
            await conn.scalars(text("SELECT status FROM payments WHERE user_id = :u"), {"u": user.id})
        )
    assert statuses == ["CREATING"]  # opened, never answered: the retry asks Stripe again

    retry = (await stripe.gql(BUY, {"pack": "GROWTH", "key": "outage"}, user.token))["buyCredits"]
    assert retry["errors"] == [] and retry["payment"]["status"] == "PENDING"
    assert intent_of(stripe, retry["payment"])["amount"] == 22_500
    assert (await stripe.gql(ME, token=user.token))["me"]["credits"] == 0


async def test_stripe_errors_and_declines_are_typed(stripe: StripeHarness, buyers: Any) -> None:
    user = await buyers()
    stripe.server.fail_with = "card_declined"
    try:
        declined = (await stripe.gql(BUY, {"pack": "STARTER", "key": "decline"}, user.token))["buyCredits"]
    finally:
        stripe.server.fail_with = None
    assert [e["code"] for e in declined["errors"]] == ["PAYMENT_DECLINED"]
    assert "declined" in declined["errors"][0]["message"]
    replay = (await stripe.gql(BUY, {"pack": "STARTER", "key": "decline"}, user.token))["buyCredits"]
    assert replay["errors"] == [] and replay["payment"]["status"] == "FAILED"
    assert "declined" in replay["payment"]["failureReason"] and replay["transaction"] is None

    stripe.server.secret_key = "sk_test_rotated"  # our key no longer valid: Stripe answers 401
    try:
        refused = (await stripe.gql(BUY, {"pack": "STARTER", "key": "auth"}, user.token))["buyCredits"]
    finally:
        stripe.server.secret_key = TEST_SECRET_KEY
    assert [e["code"] for e in refused["errors"]] == ["PAYMENT_UNAVAILABLE"]
    assert (await stripe.gql(ME, token=user.token))["me"]["credits"] == 0


async def test_change_tier_waits_for_the_payment_then_downgrades_at_once(
    stripe: StripeHarness, buyers: Any
) -> None:
    user = await buyers()
    pending = (await stripe.gql(TIER, {"tier": "PRO"}, user.token))["changeTier"]
    assert pending["errors"] == [] and pending["user"]["tier"] == "FREE"
    payment = pending["payment"]
    assert (payment["status"], payment["purpose"], payment["tier"], payment["amountCents"]) == (
        "PENDING",
        "TIER",
        "PRO",
        4900,
    )
    assert payment["pack"] is None and payment["credits"] is None
    again = (await stripe.gql(TIER, {"tier": "PRO"}, user.token))["changeTier"]
    assert again["payment"]["id"] == payment["id"]  # no key: the unfinished payment is reused
    assert (await stripe.gql(ME, token=user.token))["me"]["tier"] == "FREE"

    intent = intent_of(stripe, payment)
    delivered = await stripe.deliver(
        event_for("payment_intent.succeeded", stripe.server.succeed(intent["id"]))
    )
    assert delivered.status_code == 200 and delivered.json() == {"received": True}
    me = (await stripe.gql(ME, token=user.token))["me"]
    assert me["tier"] == "PRO"
    paid_until = datetime.fromisoformat(me["tierPaidUntil"])
    assert abs(paid_until - (datetime.now(UTC) + timedelta(days=30))) < timedelta(minutes=1)
    done = (await stripe.gql(GET_PAYMENT, {"id": payment["id"]}, user.token))["payment"]
    assert done["status"] == "SUCCEEDED" and done["completedAt"] is not None
    same = (await stripe.gql(TIER, {"tier": "PRO"}, user.token))["changeTier"]
    assert [e["code"] for e in same["errors"]] == ["ALREADY_ON_TIER"]

    upgrade = (await stripe.gql(TIER, {"tier": "ENTERPRISE", "key": "ent-1"}, user.token))["changeTier"]
    assert upgrade["user"]["tier"] == "PRO" and upgrade["payment"]["amountCents"] == 19_900
    enterprise = intent_of(stripe, upgrade["payment"])
    await stripe.deliver(event_for("payment_intent.succeeded", stripe.server.succeed(enterprise["id"])))
    me = (await stripe.gql(ME, token=user.token))["me"]
    assert me["tier"] == "ENTERPRISE"  # its 30 days start now: the rest of PRO is forfeited
    assert abs(datetime.fromisoformat(me["tierPaidUntil"]) - paid_until) < timedelta(minutes=1)

    before = len(stripe.server.created())
    down = (await stripe.gql(TIER, {"tier": "PRO"}, user.token))["changeTier"]
    assert down["errors"] == [] and down["payment"] is None
    assert down["user"]["tier"] == "PRO" and down["user"]["tierPaidUntil"] == me["tierPaidUntil"]
    free = (await stripe.gql(TIER, {"tier": "FREE"}, user.token))["changeTier"]
    assert (
        free["payment"] is None and free["user"]["tier"] == "FREE" and free["user"]["tierPaidUntil"] is None
    )
    assert len(stripe.server.created()) == before  # downgrades never charge
    assert (await stripe.gql(ME, token=user.token))["me"]["credits"] == 0  # and never refund


async def test_the_allowance_goes_only_to_paid_periods(
    stripe: StripeHarness, buyers: Any, settings: Settings
) -> None:
    paid, lapsed, never_paid = (
        await buyers(tier="PRO"),
        await buyers(tier="PRO"),
        await buyers(tier="ENTERPRISE"),
    )
    deps = stripe.app.state.deps
    async with deps.engine.begin() as conn:
        await conn.execute(
            text("UPDATE users SET tier_paid_until = now() - interval '1 minute' WHERE id = :u"),
            {"u": lapsed.id},
        )
        await conn.execute(
            text("UPDATE users SET tier_paid_until = NULL WHERE id = :u"), {"u": never_paid.id}
        )
    ctx = worker_context.for_deps(deps)
    await grant_monthly_allowances(ctx)
    assert await grant_monthly_allowances(ctx) == 0
    async with deps.engine.connect() as conn:
        kinds = {
            u.id: list(
                await conn.scalars(text("SELECT kind FROM credit_ledger WHERE user_id = :u"), {"u": u.id})
            )
            for u in (paid, lapsed, never_paid)
        }
    assert kinds == {paid.id: ["MONTHLY_ALLOWANCE"], lapsed.id: [], never_paid.id: []}

    # paying for the lapsed tier again brings the allowance back with the next run
    renewal = (await stripe.gql(TIER, {"tier": "PRO"}, lapsed.token))["changeTier"]
    assert renewal["errors"] == [] and renewal["payment"]["status"] == "PENDING"
    intent = intent_of(stripe, renewal["payment"])
    await stripe.deliver(event_for("payment_intent.succeeded", stripe.server.succeed(intent["id"])))
    assert await grant_monthly_allowances(ctx) >= 1
    me = (await stripe.gql(ME, token=lapsed.token))["me"]
    assert (me["tier"], me["credits"]) == ("PRO", 100)


async def test_a_tier_payment_is_fulfilled_once_whatever_the_deliveries(
    stripe: StripeHarness, buyers: Any
) -> None:
    user = await buyers()
    payment = (await stripe.gql(TIER, {"tier": "ENTERPRISE", "key": "once"}, user.token))["changeTier"][
        "payment"
    ]
    intent = stripe.server.succeed(intent_of(stripe, payment)["id"])
    events = [event_for("payment_intent.succeeded", intent) for _ in range(5)]
    responses = await asyncio.gather(*(stripe.deliver(e) for e in events * 2))
    assert {r.status_code for r in responses} == {200}
    me = (await stripe.gql(ME, token=user.token))["me"]
    assert me["tier"] == "ENTERPRISE"
    paid_until = datetime.fromisoformat(me["tierPaidUntil"])
    assert abs(paid_until - (datetime.now(UTC) + timedelta(days=30))) < timedelta(minutes=1)  # one period


async def test_the_provider_is_built_from_settings(stripe: StripeHarness, settings: Settings) -> None:
    assert stripe.app.state.deps.payments.name == "stripe"
    production = settings.replace(env="production")
    assert build_payment_provider(production) is None  # the start-up check refuses to serve this
    with pytest.raises(ValueError, match="only with AIQ_ENV=development"):
        build_payment_provider(production.replace(payment_provider="development"))
    with pytest.raises(ValueError, match="AIQ_STRIPE_SECRET_KEY"):
        build_payment_provider(settings.replace(payment_provider="stripe"))
    keyed = build_payment_provider(production.replace(stripe_secret_key=TEST_SECRET_KEY))
    assert keyed is not None and keyed.name == "stripe"
    await keyed.aclose()
    assert build_payment_provider(settings).name == "development"  # type: ignore[union-attr]


async def test_the_stripe_provider_speaks_to_the_api(stripe: StripeHarness) -> None:
    provider = StripePaymentProvider(TEST_SECRET_KEY, api_base=stripe.server.base_url)
    try:
        request = PaymentRequest(uuid.uuid4(), 4900, "USD", "direct", "direct-key", {"payment_id": "p"})
        created = await provider.create_payment(request)
        assert created.status == "PENDING" and created.client_secret
        assert (await provider.create_payment(request)) == created  # Idempotency-Key replay
        stripe.server.succeed(created.provider_payment_id)
        fetched = await provider.retrieve_payment(created.provider_payment_id)
        assert fetched.status == "SUCCEEDED" and fetched.provider_payment_id == created.provider_payment_id
        with pytest.raises(DomainError) as missing:
            await provider.retrieve_payment("pi_missing")
        assert missing.value.code == "PAYMENT_UNAVAILABLE"
    finally:
        await provider.aclose()


async def pay(stripe: StripeHarness, payment: dict[str, Any]) -> None:
    """The customer pays the payment's intent and Stripe's signed webhook arrives."""
    intent = stripe.server.succeed(intent_of(stripe, payment)["id"])
    assert (await stripe.deliver(event_for("payment_intent.succeeded", intent))).status_code == 200


async def test_cheaper_tier_time_never_turns_into_enterprise_time(stripe: StripeHarness, buyers: Any) -> None:
    user = await buyers()
    opened = [
        (await stripe.gql(TIER, {"tier": "PRO", "key": f"pro-{n}"}, user.token))["changeTier"]["payment"]
        for n in range(4)
    ]
    assert len({p["id"] for p in opened}) == 4  # a FREE user may open several PRO payments
    enterprise = (await stripe.gql(TIER, {"tier": "ENTERPRISE", "key": "ent"}, user.token))["changeTier"][
        "payment"
    ]
    for payment in opened[:3]:  # the same tier stacks: each payment adds one period after the last
        await pay(stripe, payment)
    me = (await stripe.gql(ME, token=user.token))["me"]
    assert me["tier"] == "PRO"
    pro_until = datetime.fromisoformat(me["tierPaidUntil"])
    assert abs(pro_until - (datetime.now(UTC) + timedelta(days=90))) < timedelta(minutes=1)

    await pay(stripe, enterprise)  # an upgrade starts now; the 90 PRO days are not converted
    me = (await stripe.gql(ME, token=user.token))["me"]
    assert me["tier"] == "ENTERPRISE"
    ent_until = datetime.fromisoformat(me["tierPaidUntil"])
    assert abs(ent_until - (datetime.now(UTC) + timedelta(days=30))) < timedelta(minutes=1)

    await pay(stripe, opened[3])  # a late PRO payment neither downgrades nor extends ENTERPRISE
    me = (await stripe.gql(ME, token=user.token))["me"]
    assert me["tier"] == "ENTERPRISE" and datetime.fromisoformat(me["tierPaidUntil"]) == ent_until
    late = await row(stripe, payment_uuid(opened[3]))  # recorded, with a note for the operators
    assert late["status"] == "SUCCEEDED" and late["failure_reason"].startswith("Not applied: ENTERPRISE")
    paid = await row(stripe, payment_uuid(enterprise))
    assert paid["status"] == "SUCCEEDED" and paid["failure_reason"] is None

    # back down to PRO (keeps ENTERPRISE's paid time), then a PRO payment: one more period after it
    lower = (await stripe.gql(TIER, {"tier": "PRO"}, user.token))["changeTier"]
    assert (
        lower["user"]["tier"] == "PRO" and datetime.fromisoformat(lower["user"]["tierPaidUntil"]) == ent_until
    )
    async with stripe.app.state.deps.engine.begin() as conn:  # lapse it, then pay PRO again
        await conn.execute(
            text("UPDATE users SET tier_paid_until = now() - interval '1 second' WHERE id = :u"),
            {"u": user.id},
        )
    renewal = (await stripe.gql(TIER, {"tier": "PRO", "key": "pro-again"}, user.token))["changeTier"]
    await pay(stripe, renewal["payment"])
    me = (await stripe.gql(ME, token=user.token))["me"]
    assert me["tier"] == "PRO"
    assert abs(
        datetime.fromisoformat(me["tierPaidUntil"]) - (datetime.now(UTC) + timedelta(days=30))
    ) < timedelta(minutes=1)
