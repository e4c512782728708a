"""A loopback server speaking Stripe's wire format for PaymentIntents, and signed webhook deliveries.

The real ``stripe`` library (StripeClient with an HTTPX client) talks to it through
``settings.stripe_api_base``: form-encoded bodies with bracketed nested keys, Bearer auth with the
secret key, Idempotency-Key honoured like Stripe does (the same key and parameters replay the first
response; the same key with other parameters is an ``idempotency_error``), errors in Stripe's JSON
shape. Test helpers move an intent to succeeded or failed and build webhook deliveries signed
exactly as Stripe signs them: ``Stripe-Signature: t=<ts>,v1=<hex hmac_sha256(secret, "t.payload")>``.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import json
import secrets
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import httpx
from aiohttp import web
from asgi_lifespan import LifespanManager
from starlette.applications import Starlette

from aiqleads.app import create_app
from aiqleads.domain.settings import Settings
from aiqtest_support.local_http import LoopbackServer

TEST_SECRET_KEY = "sk_test_aiqleads_local_0123456789"
TEST_WEBHOOK_SECRET = "whsec_aiqleads_local_0123456789"
API_VERSION = "2025-01-27.acacia"


def _error(status: int, type_: str, message: str, **extra: Any) -> web.Response:
    return web.json_response({"error": {"type": type_, "message": message, **extra}}, status=status)


def parse_form(pairs: list[tuple[str, str]]) -> dict[str, Any]:
    """Decode Stripe's form encoding: ``metadata[payment_id]=x`` becomes {"metadata": {"payment_id": "x"}}."""
    out: dict[str, Any] = {}
    for key, value in pairs:
        parts = key.replace("]", "").split("[")
        target = out
        for part in parts[:-1]:
            target = target.setdefault(part, {})
        target[parts[-1]] = value
    return out


@dataclass
class RecordedRequest:
    """One request the server received."""

    method: str
    path: str
    headers: dict[str, str]
    params: dict[str, Any]


@dataclass
class StripeServer:
    """PaymentIntents in memory. ``fail_with``: None, "card_declined", "api_error" or "rate_limit"."""

    secret_key: str = TEST_SECRET_KEY
    fail_with: str | None = None
    intents: dict[str, dict[str, Any]] = field(default_factory=dict)
    requests: list[RecordedRequest] = field(default_factory=list)
    base_url: str = ""
    _idempotent: dict[str, tuple[dict[str, Any], int, dict[str, Any]]] = field(default_factory=dict)
    _server: LoopbackServer = field(default_factory=LoopbackServer)

    async def start(self) -> str:
        """Bind to a free loopback port; returns the base URL (the library appends /v1/...)."""
        app = web.Application()
        app.router.add_post("/v1/payment_intents", self._create)
        app.router.add_get("/v1/payment_intents/{id}", self._retrieve)
        self.base_url = await self._server.serve(app)
        return self.base_url

    async def stop(self) -> None:
        """Stop the server."""
        await self._server.stop()

    def created(self) -> list[RecordedRequest]:
        """The POST /v1/payment_intents requests received (including replays)."""
        return [r for r in self.requests if r.method == "POST" and r.path == "/v1/payment_intents"]

    def _authorised(self, request: web.Request) -> web.Response | None:
        auth = request.headers.get("Authorization", "")
        if auth != f"Bearer {self.secret_key}":
            return _error(401, "invalid_request_error", "Invalid API Key provided.")
        return None

    async def _create(self, request: web.Request) -> web.Response:
        params = parse_form(list((await request.post()).items()))  # type: ignore[arg-type]
        headers = {k.lower(): v for k, v in request.headers.items()}
        self.requests.append(RecordedRequest("POST", request.path, headers, params))
        refused = self._authorised(request)
        if refused is not None:
            return refused
        key = headers.get("idempotency-key")
        if key is not None and key in self._idempotent:
            first_params, status, body = self._idempotent[key]
            if first_params != params:
                return _error(
                    400,
                    "idempotency_error",
                    "Keys for idempotent requests can only be used with the same parameters they were "
                    "first used with. Try using a key other than '" + key + "' if you meant to execute "
                    "a different request.",
                )
            return web.json_response(body, status=status, headers={"Idempotent-Replayed": "true"})
        if self.fail_with == "rate_limit":  # not saved under the key, as Stripe does for 429s
            return _error(429, "invalid_request_error", "Too many requests.", code="rate_limit")
        status, body = self._new_intent(params)
        if key is not None and status != 400:  # Stripe saves every result that began executing
            self._idempotent[key] = (params, status, body)
        return web.json_response(body, status=status)

    def _new_intent(self, params: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        try:
            amount = int(params.get("amount", ""))
        except ValueError:
            return 400, {
                "error": {"type": "invalid_request_error", "message": "Missing amount.", "param": "amount"}
            }
        currency = str(params.get("currency", "")).lower()
        if amount < 50 or currency != "usd":
            message = "Amount must be at least $0.50 usd" if amount < 50 else "Invalid currency."
            param = "amount" if amount < 50 else "currency"
            return 400, {"error": {"type": "invalid_request_error", "message": message, "param": param}}
        if self.fail_with == "api_error":
            return 500, {"error": {"type": "api_error", "message": "An unknown error occurred."}}
        intent_id = f"pi_{secrets.token_hex(12)}"
        if self.fail_with == "card_declined":
            return 402, {
                "error": {
                    "type": "card_error",
                    "code": "card_declined",
                    "decline_code": "generic_decline",
                    "message": "Your card was declined.",
                    "payment_intent": {"id": intent_id, "object": "payment_intent"},
                }
            }
        intent = {
            "id": intent_id,
            "object": "payment_intent",
            "amount": amount,
            "amount_received": 0,
            "automatic_payment_methods": {
                "enabled": params.get("automatic_payment_methods", {}).get("enabled") == "true"
            },
            "client_secret": f"{intent_id}_secret_{secrets.token_hex(12)}",
            "created": int(time.time()),
            "currency": currency,
            "description": params.get("description"),
            "last_payment_error": None,
            "livemode": False,
            "metadata": dict(params.get("metadata", {})),
            "status": "requires_payment_method",
        }
        self.intents[intent_id] = intent
        return 200, intent

    async def _retrieve(self, request: web.Request) -> web.Response:
        self.requests.append(RecordedRequest("GET", request.path, dict(request.headers), {}))
        refused = self._authorised(request)
        if refused is not None:
            return refused
        intent = self.intents.get(request.match_info["id"])
        if intent is None:
            return _error(
                404,
                "invalid_request_error",
                f"No such payment_intent: '{request.match_info['id']}'",
                code="resource_missing",
                param="intent",
            )
        return web.json_response(intent)

    # test helpers: what the customer's browser and Stripe would do

    def succeed(self, intent_id: str) -> dict[str, Any]:
        """The customer paid: the intent is succeeded; returns it."""
        intent = self.intents[intent_id]
        intent.update(status="succeeded", amount_received=intent["amount"], last_payment_error=None)
        return dict(intent)

    def fail(self, intent_id: str, message: str = "Your card was declined.") -> dict[str, Any]:
        """The customer's card was declined: the intent needs another payment method; returns it."""
        intent = self.intents[intent_id]
        intent.update(
            status="requires_payment_method",
            last_payment_error={"type": "card_error", "code": "card_declined", "message": message},
        )
        return dict(intent)


def event_for(event_type: str, intent: dict[str, Any], event_id: str | None = None) -> dict[str, Any]:
    """A Stripe event object carrying a snapshot of the intent."""
    return {
        "id": event_id or f"evt_{secrets.token_hex(12)}",
        "object": "event",
        "api_version": API_VERSION,
        "created": int(time.time()),
        "data": {"object": dict(intent)},
        "livemode": False,
        "pending_webhooks": 1,
        "request": {"id": None, "idempotency_key": None},
        "type": event_type,
    }


def signature_header(payload: bytes, secret: str, timestamp: int | None = None) -> str:
    """Stripe-Signature for a payload, as Stripe computes it."""
    t = int(time.time()) if timestamp is None else timestamp
    mac = hmac.new(secret.encode(), f"{t}.".encode() + payload, hashlib.sha256).hexdigest()
    return f"t={t},v1={mac}"


def signed_delivery(
    event: dict[str, Any], secret: str = TEST_WEBHOOK_SECRET, timestamp: int | None = None
) -> tuple[bytes, dict[str, str]]:
    """The body and headers of a webhook delivery of an event."""
    payload = json.dumps(event, indent=2).encode()
    return payload, {
        "Content-Type": "application/json; charset=utf-8",
        "Stripe-Signature": signature_header(payload, secret, timestamp),
    }


@dataclass
class StripeHarness:
    """The app built with the Stripe provider against the local server, and ways to talk to it."""

    server: StripeServer
    app: Starlette
    http: httpx.AsyncClient
    settings: Settings

    async def gql(self, query: str, variables: dict[str, Any] | None = None, token: str | None = None) -> Any:
        """Post a GraphQL operation; asserts it has no top-level errors and returns data."""
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        response = await self.http.post(
            "/graphql", json={"query": query, "variables": variables or {}}, headers=headers
        )
        body = response.json()
        assert response.status_code == 200 and not body.get("errors"), body
        return body["data"]

    async def deliver(
        self, event: dict[str, Any], *, secret: str = TEST_WEBHOOK_SECRET, timestamp: int | None = None
    ) -> httpx.Response:
        """Deliver a signed event to POST /webhooks/stripe."""
        payload, headers = signed_delivery(event, secret, timestamp)
        return await self.http.post("/webhooks/stripe", content=payload, headers=headers)


@contextlib.asynccontextmanager
async def stripe_app(settings: Settings) -> AsyncIterator[StripeHarness]:
    """Start the local Stripe server and an app whose payment provider is Stripe pointed at it."""
    server = StripeServer()
    await server.start()
    stripe_settings = settings.replace(
        payment_provider="stripe",
        stripe_secret_key=TEST_SECRET_KEY,
        stripe_webhook_secret=TEST_WEBHOOK_SECRET,
        stripe_api_base=server.base_url,
    )
    app = create_app(stripe_settings)
    try:
        async with LifespanManager(app, startup_timeout=60, shutdown_timeout=30):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://testserver", timeout=30) as c:
                yield StripeHarness(server, app, c, stripe_settings)
    finally:
        await server.stop()
