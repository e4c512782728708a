"""The payment-provider interface, the development provider, and the builder from settings.

A provider creates a payment (a Stripe PaymentIntent, say) and answers at once with its id, its
status and the client secret the customer's browser confirms it with. It must be idempotent on
``idempotency_key``: a retried request returns the payment of the first one, never a second one.
Money only counts when the payment succeeds: at once (development) or through the provider's
signed webhook (Stripe).
"""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass, field
from typing import Literal, Protocol

from aiqleads.domain.errors import DomainError, ErrorCode
from aiqleads.domain.settings import Settings

ProviderStatus = Literal["PENDING", "SUCCEEDED", "FAILED"]


@dataclass(frozen=True)
class PaymentRequest:
    """What we ask a provider to charge, and the key that makes the request idempotent."""

    user_id: uuid.UUID
    amount_cents: int
    currency: str  # ISO 4217, upper case ("USD"); providers convert to their own spelling
    description: str
    idempotency_key: str
    metadata: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class ProviderPayment:
    """The provider's answer: its payment id, where the payment stands and the client secret."""

    provider_payment_id: str
    status: ProviderStatus
    client_secret: str | None = None
    failure_reason: str | None = None


class PaymentProvider(Protocol):
    """Creates payments; the same idempotency key always yields the same payment."""

    name: str

    async def create_payment(self, request: PaymentRequest) -> ProviderPayment:
        """Create (or, for a repeated key, find) the payment; DomainError PAYMENT_* when it cannot."""
        ...

    async def aclose(self) -> None:
        """Release the provider's connections."""
        ...


class DevelopmentPaymentProvider:
    """Approves every payment at once; remembers results per idempotency key like a real provider.

    It exists only in development deployments: constructing it with other settings raises.
    """

    name = "development"
    REMEMBERED = 10_000

    def __init__(self, settings: Settings) -> None:
        if not settings.is_development:
            raise ValueError("the development payment provider exists only with AIQ_ENV=development")
        self._results: dict[str, ProviderPayment] = {}
        self._lock = asyncio.Lock()

    async def create_payment(self, request: PaymentRequest) -> ProviderPayment:
        """Succeed immediately (a repeated idempotency key returns the first result)."""
        if request.amount_cents <= 0:
            raise DomainError(
                ErrorCode.PAYMENT_DECLINED, "The payment was declined: the amount must be positive."
            )
        async with self._lock:
            result = self._results.get(request.idempotency_key)
            if result is None:
                result = ProviderPayment(f"dev_{uuid.uuid4().hex}", "SUCCEEDED")
                self._results[request.idempotency_key] = result
                while len(self._results) > self.REMEMBERED:
                    self._results.pop(next(iter(self._results)))
            return result

    async def aclose(self) -> None:
        """Nothing to release."""


def build_payment_provider(settings: Settings) -> PaymentProvider | None:
    """The provider these settings configure (None when there is none; production refuses that).

    ``stripe`` needs AIQ_STRIPE_SECRET_KEY; ``development`` is refused outside development.
    """
    name = settings.effective_payment_provider
    if name is None:
        return None
    if name == "development":
        return DevelopmentPaymentProvider(settings)
    if name == "stripe":
        if not settings.stripe_secret_key:
            raise ValueError("AIQ_PAYMENT_PROVIDER=stripe needs AIQ_STRIPE_SECRET_KEY")
        from aiqleads.domain.payments.stripe_provider import StripePaymentProvider

        return StripePaymentProvider(settings.stripe_secret_key, api_base=settings.stripe_api_base)
    raise ValueError(f"unknown payment provider {name!r}")


@dataclass(frozen=True)
class PaymentEvent:
    """A verified notification from a provider about one of its payments (a webhook event)."""

    event_id: str
    # succeeded / failed: the payment's outcome; refunded: fully refunded; disputed: a dispute opened
    type: Literal["succeeded", "failed", "refunded", "disputed", "other"]
    provider_payment_id: str | None
    amount_cents: int | None = None
    currency: str | None = None
    metadata: dict[str, str] = field(default_factory=dict)
    failure_reason: str | None = None  # the decline message, or the dispute's reason
