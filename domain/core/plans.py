"""Subscription tiers, what each one includes, and the tier discount on a credit price."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class Plan:
    """What a tier gives: monthly credits, discount, cart size and hold extensions, and its price."""

    tier: str
    monthly_credits: int
    discount_percent: int
    max_cart_items: int
    hold_extensions: int
    monthly_price_cents: int = 0  # USD cents per 30-day period, charged through the payment provider


PLANS: dict[str, Plan] = {
    "FREE": Plan("FREE", 0, 0, 5, 0),
    "PRO": Plan("PRO", 100, 10, 20, 1, monthly_price_cents=4_900),
    "ENTERPRISE": Plan("ENTERPRISE", 500, 20, 50, 3, monthly_price_cents=19_900),
}


def plan_for(tier: str) -> Plan:
    """The plan of a tier (unknown tiers fall back to FREE)."""
    return PLANS.get(tier, PLANS["FREE"])


def effective_tier(tier: str, paid_until: datetime | None, now: datetime) -> str:
    """The tier whose limits apply now: a paid tier counts only while its period is paid."""
    if plan_for(tier).tier == "FREE":
        return "FREE"
    return tier if paid_until is not None and paid_until > now else "FREE"


def discounted(price: int, tier: str) -> int:
    """Credit price after the tier discount, rounded half up, never below 1 for a paid lead."""
    if price <= 0:
        return 0
    pct = plan_for(tier).discount_percent
    return max(1, (price * (100 - pct) + 50) // 100)
