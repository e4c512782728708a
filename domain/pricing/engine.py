"""The pricing engine: a pure function from lead facts and demand to a credit price.

price = clamp(base(property type) × band(asking price) × quality × freshness × demand × scarcity
              [× AI hint], floor, ceiling), then moved at most ``max_change`` from the previous
price in one run. Every factor is listed in the explanation stored as the price-history reason.

No I/O here: callers pass everything in (facts, demand counts, previous price, ``now``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Protocol

SECONDS_PER_DAY = 86_400.0

# Base credit price of a lead by property type (an average lead of that type).
PROPERTY_BASE: dict[str, int] = {
    "SINGLE_FAMILY": 20,
    "CONDO": 16,
    "TOWNHOUSE": 17,
    "MULTI_FAMILY": 28,
    "LAND": 10,
    "MANUFACTURED": 9,
    "OTHER": 10,
}
DEFAULT_BASE = 10

# Asking-price bands: (upper bound exclusive in USD or None for the top band, multiplier, label).
PRICE_BANDS: tuple[tuple[int | None, float, str], ...] = (
    (100_000, 0.70, "<$100k"),
    (250_000, 0.85, "$100k-250k"),
    (500_000, 1.00, "$250k-500k"),
    (1_000_000, 1.25, "$500k-1M"),
    (2_000_000, 1.50, "$1M-2M"),
    (None, 1.80, ">=$2M"),
)
UNKNOWN_BAND = (0.80, "unknown")


@dataclass(frozen=True)
class PricingPolicy:
    """Tunable constants of the engine (defaults are the product rules)."""

    floor: int = 2
    ceiling: int = 250
    max_change: float = 0.15  # fraction of the previous price one run may move
    min_step: int = 1  # a run may always move at least this many credits (small prices)
    quality_low: float = 0.6  # multiplier at quality 0
    quality_high: float = 1.4  # multiplier at quality 1
    half_life_days: float = 14.0  # freshness halves every half-life ...
    min_freshness: float = 0.35  # ... down to this floor
    view_weight: float = 1.0
    cart_add_weight: float = 4.0
    purchase_weight: float = 10.0
    demand_scale: float = 20.0  # weighted signals giving 1 + strength × ln 2
    demand_strength: float = 0.35
    max_demand: float = 2.0
    shared_base: float = 0.6  # shared lead with every seat free
    shared_span: float = 0.5  # added as seats fill up (last seat: base + span × (1 − 1/max))
    hint_low: float = 0.9  # bounds of an AI hint multiplier
    hint_high: float = 1.1
    converge_seconds: int = 300  # re-run soon while the bounded step has not reached the target
    demand_recheck_seconds: int = 900  # counters slide out of the window: re-run while demand > 0
    decay_recheck_seconds: int = 6 * 3600  # freshness decay tick


DEFAULT_POLICY = PricingPolicy()


class PricedLead(Protocol):
    """A lead as the engine reads it: the ORM row or a repository row (read-only attributes)."""

    @property
    def property_type(self) -> str: ...
    @property
    def asking_price(self) -> int | None: ...
    @property
    def quality_score(self) -> float: ...
    @property
    def posted_at(self) -> datetime: ...
    @property
    def max_buyers(self) -> int: ...
    @property
    def buyers_count(self) -> int: ...
    @property
    def holds_count(self) -> int: ...


@dataclass(frozen=True)
class LeadFacts:
    """What the engine needs to know about a lead."""

    property_type: str
    asking_price: int | None
    quality_score: float
    posted_at: datetime
    max_buyers: int = 1
    buyers_count: int = 0
    holds_count: int = 0

    @classmethod
    def of(cls, lead: PricedLead) -> LeadFacts:
        """Engine input from a lead (the one mapping, for the first price and every reprice)."""
        return cls(
            property_type=lead.property_type,
            asking_price=lead.asking_price,
            quality_score=lead.quality_score,
            posted_at=lead.posted_at,
            max_buyers=lead.max_buyers,
            buyers_count=lead.buyers_count,
            holds_count=lead.holds_count,
        )


@dataclass(frozen=True)
class DemandSignals:
    """Demand signals counted over the recent sliding window."""

    views: int = 0
    cart_adds: int = 0
    purchases: int = 0

    @property
    def total(self) -> int:
        """Number of signals of any kind."""
        return self.views + self.cart_adds + self.purchases


NO_DEMAND = DemandSignals()


@dataclass(frozen=True)
class PriceHint:
    """An external suggestion (e.g. from an LLM) applied as a bounded multiplier."""

    multiplier: float
    reason: str
    source: str = "ai"


@dataclass(frozen=True)
class Factor:
    """One multiplicative factor of the price, with what it was computed from."""

    name: str
    value: float
    detail: str

    def describe(self) -> str:
        """'name detail x1.23' for the explanation."""
        return f"{self.name} {self.detail} x{self.value:.2f}"


@dataclass(frozen=True)
class PriceQuote:
    """The engine's answer: the new price, the unbounded target, and why."""

    price: int
    target: int
    raw: float
    previous: int | None
    factors: tuple[Factor, ...] = field(default_factory=tuple)
    reason: str = ""
    next_reprice_at: datetime | None = None

    @property
    def changed(self) -> bool:
        """True when the price differs from the previous one (always for a first price)."""
        return self.previous is None or self.price != self.previous


# ---------------------------------------------------------------------------------------------
# Factors
# ---------------------------------------------------------------------------------------------


def base_price(property_type: str) -> int:
    """Base credits for a property type."""
    return PROPERTY_BASE.get(property_type, DEFAULT_BASE)


def band(asking_price: int | None) -> tuple[float, str]:
    """Multiplier and label of the asking-price band (unknown prices get a discount)."""
    if asking_price is None or asking_price <= 0:
        return UNKNOWN_BAND
    for upper, multiplier, label in PRICE_BANDS:
        if upper is None or asking_price < upper:
            return multiplier, label
    return PRICE_BANDS[-1][1], PRICE_BANDS[-1][2]  # pragma: no cover - the top band has no bound


def quality_multiplier(quality: float, policy: PricingPolicy = DEFAULT_POLICY) -> float:
    """Linear in the quality score (clamped to 0..1)."""
    q = _clamp_float(quality, 0.0, 1.0) if math.isfinite(quality) else 0.0
    return policy.quality_low + (policy.quality_high - policy.quality_low) * q


def age_days(posted_at: datetime, now: datetime) -> float:
    """Days since posting (never negative)."""
    return max(0.0, (now - posted_at).total_seconds() / SECONDS_PER_DAY)


def freshness_multiplier(days: float, policy: PricingPolicy = DEFAULT_POLICY) -> float:
    """Exponential decay with the policy's half-life, down to a floor."""
    return max(policy.min_freshness, math.pow(0.5, max(0.0, days) / policy.half_life_days))


def demand_score(demand: DemandSignals, policy: PricingPolicy = DEFAULT_POLICY) -> float:
    """Weighted count of recent signals."""
    return (
        policy.view_weight * max(0, demand.views)
        + policy.cart_add_weight * max(0, demand.cart_adds)
        + policy.purchase_weight * max(0, demand.purchases)
    )


def demand_multiplier(demand: DemandSignals, policy: PricingPolicy = DEFAULT_POLICY) -> float:
    """1 without demand, growing logarithmically with the weighted signals, capped."""
    score = demand_score(demand, policy)
    return min(policy.max_demand, 1.0 + policy.demand_strength * math.log1p(score / policy.demand_scale))


def seats_left(facts: LeadFacts) -> int:
    """Seats not bought nor held (never negative)."""
    return max(0, facts.max_buyers - facts.buyers_count - facts.holds_count)


def scarcity_multiplier(facts: LeadFacts, policy: PricingPolicy = DEFAULT_POLICY) -> float:
    """1 for exclusive leads; shared leads start cheaper and rise as their seats fill up."""
    if facts.max_buyers <= 1:
        return 1.0
    taken = 1.0 - seats_left(facts) / facts.max_buyers
    return policy.shared_base + policy.shared_span * taken


def hint_multiplier(hint: PriceHint | None, policy: PricingPolicy = DEFAULT_POLICY) -> float:
    """The hint clamped to the policy's bounds (1 without a hint or for a non-finite value)."""
    if hint is None or not math.isfinite(hint.multiplier):
        return 1.0
    return _clamp_float(hint.multiplier, policy.hint_low, policy.hint_high)


def max_step(previous: int, policy: PricingPolicy = DEFAULT_POLICY) -> int:
    """How many credits one run may move a price from `previous`."""
    return max(policy.min_step, math.floor(previous * policy.max_change))


# ---------------------------------------------------------------------------------------------
# The engine
# ---------------------------------------------------------------------------------------------


def compute_price(
    facts: LeadFacts,
    demand: DemandSignals,
    previous_price: int | None,
    now: datetime,
    *,
    hint: PriceHint | None = None,
    policy: PricingPolicy = DEFAULT_POLICY,
) -> PriceQuote:
    """The new credit price of a lead, its unbounded target and the explanation of every factor."""
    base = base_price(facts.property_type)
    band_mult, band_label = band(facts.asking_price)
    days = age_days(facts.posted_at, now)
    factors: list[Factor] = [
        Factor("asking", band_mult, band_label),
        Factor("quality", quality_multiplier(facts.quality_score, policy), f"{facts.quality_score:.2f}"),
        Factor("freshness", freshness_multiplier(days, policy), f"{days:.1f}d"),
        Factor(
            "demand",
            demand_multiplier(demand, policy),
            f"{demand.views}v/{demand.cart_adds}c/{demand.purchases}p",
        ),
        Factor("scarcity", scarcity_multiplier(facts, policy), _scarcity_detail(facts)),
    ]
    if hint is not None:
        factors.append(Factor(hint.source, hint_multiplier(hint, policy), f"({_short(hint.reason)})"))

    raw = float(base)
    for factor in factors:
        raw *= factor.value
    target = _clamp_int(_round_half_up(raw), policy.floor, policy.ceiling)

    parts = [f"base {facts.property_type} {base}", *(f.describe() for f in factors)]
    reason = (
        " * ".join(parts)
        + f" = {raw:.2f} -> target {target} [floor {policy.floor}, ceiling {policy.ceiling}]"
    )

    if previous_price is None:
        price = target
    else:
        step = max_step(previous_price, policy)
        price = _clamp_int(target, previous_price - step, previous_price + step)
        price = _clamp_int(price, policy.floor, policy.ceiling)
        if price != target:
            reason += f"; bounded +/-{step} from {previous_price} -> {price}"
        else:
            reason += f"; from {previous_price} -> {price}"

    return PriceQuote(
        price=price,
        target=target,
        raw=raw,
        previous=previous_price,
        factors=tuple(factors),
        reason=reason,
        next_reprice_at=_next_reprice_at(price, target, demand, days, now, policy),
    )


def initial_price(facts: LeadFacts, now: datetime, *, policy: PricingPolicy = DEFAULT_POLICY) -> PriceQuote:
    """The first price of a newly ingested lead (no demand yet, no previous price).

    Store ``quote.price`` in ``price_credits``, ``quote.next_reprice_at`` in ``reprice_due_at`` and
    a price_history row with ``quote.reason``.
    """
    return compute_price(facts, NO_DEMAND, None, now, policy=policy)


def _next_reprice_at(
    price: int, target: int, demand: DemandSignals, days: float, now: datetime, policy: PricingPolicy
) -> datetime | None:
    """When the inputs will have drifted enough to be worth another run without new signals."""
    if price != target:
        return now + timedelta(seconds=policy.converge_seconds)
    if demand.total > 0:
        return now + timedelta(seconds=policy.demand_recheck_seconds)
    if freshness_multiplier(days, policy) > policy.min_freshness:
        return now + timedelta(seconds=policy.decay_recheck_seconds)
    return None  # fully decayed, no demand: only a new signal changes the price


def _scarcity_detail(facts: LeadFacts) -> str:
    if facts.max_buyers <= 1:
        return "exclusive"
    return f"shared {seats_left(facts)}/{facts.max_buyers} seats left"


def _short(text: str, limit: int = 120) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 3] + "..."


def _round_half_up(value: float) -> int:
    return math.floor(value + 0.5)


def _clamp_int(value: int, low: int, high: int) -> int:
    return max(low, min(high, value))


def _clamp_float(value: float, low: float, high: float) -> float:
    return max(low, min(high, value))
