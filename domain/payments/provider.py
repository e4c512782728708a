"""The payment-provider interface and the development provider that approves at once.

A production provider (a card processor's client) implements the same ``charge`` contract: it
must be idempotent on ``idempotency_key`` so that a retried request never charges twice.
"""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class Charge:
    """A request to take money from a customer."""

    customer_id: uuid.UUID
    amount_cents: int
    currency: str
    description: str
    idempotency_key: str


@dataclass(frozen=True)
class PaymentResult:
    """The provider's answer: approved with a payment reference, or declined with a reason."""

    approved: bool
    payment_id: str
    decline_reason: str | None = None


class PaymentProvider(Protocol):
    """Takes payments; the same idempotency key always yields the same result."""

    name: str

    async def charge(self, charge: Charge) -> PaymentResult:
        """Charge a customer (idempotent on charge.idempotency_key)."""
        ...


class DevelopmentPaymentProvider:
    """Approves every charge at once; remembers results per idempotency key like a real provider."""

    name = "development"
    REMEMBERED = 10_000

    def __init__(self) -> None:
        self._results: dict[str, PaymentResult] = {}
        self._lock = asyncio.Lock()

    async def charge(self, charge: Charge) -> PaymentResult:
        """Approve immediately (a repeated idempotency key returns the first result)."""
        if charge.amount_cents <= 0:
            return PaymentResult(False, "", "The amount must be positive.")
        async with self._lock:
            result = self._results.get(charge.idempotency_key)
            if result is None:
                result = PaymentResult(True, f"dev_{uuid.uuid4().hex}")
                self._results[charge.idempotency_key] = result
                while len(self._results) > self.REMEMBERED:
                    self._results.pop(next(iter(self._results)))
            return result


def provider_for(name: str = "development") -> PaymentProvider:
    """Build the configured provider (only the development provider exists in this deployment)."""
    if name == "development":
        return DevelopmentPaymentProvider()
    raise ValueError(f"unknown payment provider {name!r}")
