"""Stripe: PaymentIntents through the official ``stripe`` library, and signed webhook events.

The same code path runs in production and in tests; tests point ``stripe_api_base`` at a local
server speaking Stripe's wire format (tests/aiqtest_support/stripe_server.py).
"""

from __future__ import annotations

import logging
from typing import Any, cast

import stripe

from aiqleads.domain.errors import DomainError, ErrorCode
from aiqleads.domain.payments.provider import PaymentEvent, PaymentRequest, ProviderPayment, ProviderStatus

log = logging.getLogger("aiqleads.payments.stripe")

SUCCEEDED_EVENT = "payment_intent.succeeded"
FAILED_EVENT = "payment_intent.payment_failed"
REFUNDED_EVENT = "charge.refunded"  # data.object is the Charge; only a full refund is reversed
DISPUTE_CREATED_EVENT = "charge.dispute.created"  # data.object is the Dispute


class InvalidWebhook(Exception):
    """A webhook delivery whose signature, timestamp or body cannot be trusted."""


def intent_status(status: str | None) -> ProviderStatus:
    """Our view of a PaymentIntent status: succeeded, canceled (failed), or still pending."""
    if status == "succeeded":
        return "SUCCEEDED"
    if status == "canceled":
        return "FAILED"
    return "PENDING"  # requires_payment_method, requires_confirmation, requires_action, processing, ...


def _provider_payment(resource: stripe.PaymentIntent) -> ProviderPayment:
    intent = resource.to_dict()
    error = intent.get("last_payment_error")
    return ProviderPayment(
        provider_payment_id=str(intent["id"]),
        status=intent_status(intent.get("status")),
        client_secret=intent.get("client_secret"),
        failure_reason=str(error.get("message")) if error and error.get("message") else None,
    )


class StripePaymentProvider:
    """Creates PaymentIntents; our idempotency key is sent as Stripe's Idempotency-Key."""

    name = "stripe"

    def __init__(
        self,
        secret_key: str,
        *,
        api_base: str | None = None,
        max_network_retries: int = 2,
        timeout_seconds: float = 20.0,
    ) -> None:
        self._http = stripe.HTTPXClient(timeout=timeout_seconds)
        self._client = stripe.StripeClient(
            secret_key,
            base_addresses={"api": api_base} if api_base else None,
            http_client=self._http,
            max_network_retries=max_network_retries,  # safe: every retry carries the same Idempotency-Key
        )

    async def create_payment(self, request: PaymentRequest) -> ProviderPayment:
        """Create the PaymentIntent (a repeated idempotency key returns Stripe's first answer)."""
        params: dict[str, Any] = {
            "amount": request.amount_cents,
            "currency": request.currency.lower(),
            "description": request.description,
            "metadata": dict(request.metadata),
            "automatic_payment_methods": {"enabled": True},
        }
        try:
            intent = await self._client.v1.payment_intents.create_async(
                cast(Any, params), options={"idempotency_key": request.idempotency_key}
            )
        except stripe.CardError as exc:
            raise DomainError(
                ErrorCode.PAYMENT_DECLINED,
                f"The payment was declined: {exc.user_message or 'no reason given'}.",
            ) from exc
        except stripe.StripeError as exc:
            log.warning("Stripe refused or failed to create a PaymentIntent: %r", exc)
            raise DomainError(
                ErrorCode.PAYMENT_UNAVAILABLE, "The payment service is unavailable; retry with the same key."
            ) from exc
        return _provider_payment(intent)

    async def retrieve_payment(self, provider_payment_id: str) -> ProviderPayment:
        """The PaymentIntent as Stripe has it now."""
        try:
            intent = await self._client.v1.payment_intents.retrieve_async(provider_payment_id)
        except stripe.StripeError as exc:
            log.warning("Stripe failed to return PaymentIntent %s: %r", provider_payment_id, exc)
            raise DomainError(ErrorCode.PAYMENT_UNAVAILABLE, "The payment service is unavailable.") from exc
        return _provider_payment(intent)

    async def aclose(self) -> None:
        """Close the HTTP connections."""
        await self._http.close_async()  # type: ignore[no-untyped-call]


def parse_webhook(payload: bytes, signature_header: str | None, secret: str, tolerance: int) -> PaymentEvent:
    """Verify a delivery's Stripe-Signature (HMAC-SHA256 over "t.payload", tolerance in seconds).

    Raises InvalidWebhook for a missing or wrong signature, a stale timestamp or a malformed body.
    """
    if not signature_header:
        raise InvalidWebhook("missing Stripe-Signature header")
    try:
        text = payload.decode("utf-8")
        event = stripe.Webhook.construct_event(text, signature_header, secret, tolerance)
    except stripe.SignatureVerificationError as exc:
        raise InvalidWebhook(f"bad signature: {exc.user_message or exc}") from exc
    except (ValueError, KeyError, TypeError, AttributeError, IndexError) as exc:  # not a JSON event
        raise InvalidWebhook("malformed webhook delivery") from exc
    data = event.to_dict()
    return _payment_event(str(data.get("id") or ""), str(data.get("type") or ""), data)


def _intent_id(value: Any) -> str | None:
    """A PaymentIntent reference as Stripe sends it: an id, or the expanded object."""
    if isinstance(value, dict):
        value = value.get("id")
    return value if isinstance(value, str) and value else None


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _payment_event(event_id: str, event_type: str, data: dict[str, Any]) -> PaymentEvent:
    obj = (data.get("data") or {}).get("object") if isinstance(data.get("data"), dict) else None
    if not isinstance(obj, dict):
        return PaymentEvent(event_id, "other", None)
    currency = obj.get("currency") if isinstance(obj.get("currency"), str) else None
    if event_type in (REFUNDED_EVENT, DISPUTE_CREATED_EVENT):
        return _reversal_event(event_id, event_type, obj, currency)
    if obj.get("object") != "payment_intent" or not isinstance(obj.get("id"), str):
        return PaymentEvent(event_id, "other", None)
    kind = {SUCCEEDED_EVENT: "succeeded", FAILED_EVENT: "failed"}.get(event_type, "other")
    metadata = obj.get("metadata") if isinstance(obj.get("metadata"), dict) else {}
    error = obj.get("last_payment_error")
    return PaymentEvent(
        event_id=event_id,
        type=cast(Any, kind),
        provider_payment_id=obj["id"],
        amount_cents=_int(obj.get("amount")),
        currency=currency,
        metadata={str(k): str(v) for k, v in (metadata or {}).items()},
        failure_reason=str(error["message"]) if isinstance(error, dict) and error.get("message") else None,
    )


def _reversal_event(
    event_id: str, event_type: str, obj: dict[str, Any], currency: str | None
) -> PaymentEvent:
    """charge.refunded (a Charge) and charge.dispute.created (a Dispute), by their PaymentIntent.

    Only a full refund (``refunded: true``) counts; a partial one is logged and ignored.
    """
    intent_id = _intent_id(obj.get("payment_intent"))
    if event_type == REFUNDED_EVENT:
        if obj.get("object") != "charge" or intent_id is None:
            return PaymentEvent(event_id, "other", None)
        if obj.get("refunded") is not True:
            log.warning(
                "Stripe event %s: a partial refund (%s of %s) of PaymentIntent %s is not reversed",
                event_id,
                obj.get("amount_refunded"),
                obj.get("amount"),
                intent_id,
            )
            return PaymentEvent(event_id, "other", None)
        return PaymentEvent(
            event_id, "refunded", intent_id, amount_cents=_int(obj.get("amount")), currency=currency
        )
    if obj.get("object") != "dispute" or intent_id is None:
        if obj.get("object") == "dispute":
            log.error("Stripe event %s: a dispute without a payment_intent cannot be matched", event_id)
        return PaymentEvent(event_id, "other", None)
    reason = obj.get("reason")
    return PaymentEvent(
        event_id,
        "disputed",
        intent_id,
        amount_cents=_int(obj.get("amount")),
        currency=currency,
        failure_reason=str(reason) if isinstance(reason, str) and reason else None,
    )
