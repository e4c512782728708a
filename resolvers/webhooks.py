"""The edge of provider webhooks: verify the delivery, apply it in one transaction, answer Stripe.

app.py routes ``POST /webhooks/stripe`` to ``stripe_webhook``, which reads at most
``MAX_BODY_BYTES`` of the body (a bigger one is refused with 413 before it is read whole); the
rules live in domain/payments/provider_events.py (which event applies to which payment, exactly
once) and domain/payments/fulfilment.py (granting, failing and reversing what a payment bought).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from starlette.types import Receive, Scope

from aiqleads.domain.bootstrap import Deps
from aiqleads.domain.payments.provider_events import apply_event
from aiqleads.domain.payments.stripe_provider import InvalidWebhook, parse_webhook
from aiqleads.domain.unit_of_work import UnitOfWork
from aiqleads.request_body import BodyTooLarge, read_limited
from aiqleads.resolvers.metrics import ApiMetrics

log = logging.getLogger("aiqleads.webhooks")

STRIPE = "stripe"
MAX_BODY_BYTES = 1_000_000  # Stripe events are a few kilobytes


@dataclass(frozen=True)
class WebhookResponse:
    """The HTTP status and JSON body to answer a delivery with."""

    status: int
    body: dict[str, Any] = field(default_factory=lambda: {"received": True})


async def stripe_webhook(
    deps: Deps, metrics: ApiMetrics | None, scope: Scope, receive: Receive, signature: str | None
) -> WebhookResponse:
    """Read the delivery's body, at most MAX_BODY_BYTES, and handle it (``handle_stripe_delivery``).

    A declared Content-Length over the limit is refused with 413 without reading anything; a
    chunked body is abandoned at the first byte past the limit.
    """
    try:
        payload = await read_limited(scope, receive, MAX_BODY_BYTES)
    except BodyTooLarge:
        log.warning("refused a Stripe webhook delivery larger than %d bytes", MAX_BODY_BYTES)
        return WebhookResponse(413, {"error": "The webhook body is too large."})
    return await handle_stripe_delivery(deps, metrics, payload, signature)


async def handle_stripe_delivery(
    deps: Deps, metrics: ApiMetrics | None, payload: bytes, signature: str | None
) -> WebhookResponse:
    """Handle one Stripe delivery: 400 unless signed with our secret within the tolerance, else 200.

    ``payment_intent.succeeded`` / ``payment_intent.payment_failed``, ``charge.refunded`` (full
    refunds) and ``charge.dispute.created`` are applied; events about PaymentIntents we did not
    create, and other event types, are acknowledged and ignored (Stripe stops retrying them). A
    database failure propagates as a 500: Stripe retries.
    """
    settings = deps.settings
    secret = settings.stripe_webhook_secret
    if not secret:
        return WebhookResponse(
            404, {"error": "Stripe webhooks are not configured here (AIQ_STRIPE_WEBHOOK_SECRET is not set)."}
        )
    if len(payload) > MAX_BODY_BYTES:
        return WebhookResponse(413, {"error": "The webhook body is too large."})
    try:
        event = parse_webhook(payload, signature, secret, settings.stripe_webhook_tolerance_seconds)
    except InvalidWebhook as exc:
        log.warning("rejected a Stripe webhook delivery: %s", exc)
        _count_delivery(metrics, "invalid_signature")
        return WebhookResponse(400, {"error": f"Invalid webhook delivery: {exc}."})
    try:
        async with UnitOfWork(deps) as uow:
            outcome = await apply_event(uow.session, STRIPE, event)
    except Exception:
        _count_delivery(metrics, "failed")  # answered 500: Stripe retries
        raise
    _count_delivery(metrics, DELIVERY_OUTCOMES[outcome.result])
    if metrics is not None and outcome.payment is not None:
        if outcome.result == "fulfilled":
            kind = "credits_bought" if outcome.payment.purpose == "CREDIT_PACK" else "tier_paid"
            metrics.domain_events.labels(kind).inc()
        elif outcome.result == "failed":
            metrics.domain_events.labels("payment_failed").inc()
        elif outcome.result == "reversed":
            metrics.domain_events.labels("payment_reversed").inc()
    return WebhookResponse(200)


# what a verified delivery did, as aiq_payment_webhooks_total counts it: an amount or currency that
# disagrees with our payment is a failed delivery (nothing was fulfilled, an operator must look)
DELIVERY_OUTCOMES = {
    "fulfilled": "processed",
    "failed": "processed",
    "reversed": "processed",
    "duplicate": "duplicate",
    "ignored": "ignored",
    "mismatch": "failed",
}


def _count_delivery(metrics: ApiMetrics | None, outcome: str) -> None:
    if metrics is not None:
        metrics.payment_webhooks.labels(outcome).inc()
