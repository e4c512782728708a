"""Property-based tests of the pure pricing engine."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import assume, given, settings
from hypothesis import strategies as st

from aiqleads.domain.core.vocabulary import PROPERTY_TYPES
from aiqleads.domain.pricing.engine import (
    DEFAULT_POLICY,
    DemandSignals,
    LeadFacts,
    PriceHint,
    compute_price,
    initial_price,
    max_step,
)

NOW = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)
P = DEFAULT_POLICY

property_types = st.sampled_from(PROPERTY_TYPES)
asking = st.one_of(st.none(), st.integers(min_value=0, max_value=20_000_000))
quality = st.floats(min_value=0, max_value=1, allow_nan=False)
age = st.floats(min_value=0, max_value=400, allow_nan=False)
counts = st.integers(min_value=0, max_value=10_000)
previous = st.one_of(st.none(), st.integers(min_value=P.floor, max_value=P.ceiling))


@st.composite
def leads(draw: st.DrawFn) -> LeadFacts:
    max_buyers = draw(st.integers(min_value=1, max_value=5))
    buyers = draw(st.integers(min_value=0, max_value=max_buyers))
    holds = draw(st.integers(min_value=0, max_value=max_buyers - buyers))
    return LeadFacts(
        property_type=draw(property_types),
        asking_price=draw(asking),
        quality_score=draw(quality),
        posted_at=NOW - timedelta(days=draw(age)),
        max_buyers=max_buyers,
        buyers_count=buyers,
        holds_count=holds,
    )


demands = st.builds(DemandSignals, views=counts, cart_adds=counts, purchases=counts)


def _with(facts: LeadFacts, **changes: object) -> LeadFacts:
    values = facts.__dict__ | changes
    return LeadFacts(**values)  # type: ignore[arg-type]


@settings(max_examples=300)
@given(leads(), demands, previous)
def test_never_outside_floor_and_ceiling(facts: LeadFacts, demand: DemandSignals, prev: int | None) -> None:
    quote = compute_price(facts, demand, prev, NOW)
    assert P.floor <= quote.price <= P.ceiling
    assert P.floor <= quote.target <= P.ceiling


@settings(max_examples=300)
@given(leads(), demands, st.integers(min_value=P.floor, max_value=P.ceiling))
def test_bounded_change_per_run(facts: LeadFacts, demand: DemandSignals, prev: int) -> None:
    quote = compute_price(facts, demand, prev, NOW)
    assert abs(quote.price - prev) <= max(P.min_step, prev * P.max_change)
    # and it moves toward the target, never past it
    assert min(prev, quote.target) <= quote.price <= max(prev, quote.target)


@settings(max_examples=300)
@given(leads(), demands, previous, quality, quality)
def test_monotone_in_quality(
    facts: LeadFacts, demand: DemandSignals, prev: int | None, q1: float, q2: float
) -> None:
    lo, hi = sorted((q1, q2))
    low = compute_price(_with(facts, quality_score=lo), demand, prev, NOW)
    high = compute_price(_with(facts, quality_score=hi), demand, prev, NOW)
    assert high.price >= low.price
    assert high.raw >= low.raw


@settings(max_examples=300)
@given(leads(), demands, demands, previous)
def test_monotone_in_demand(
    facts: LeadFacts, d1: DemandSignals, extra: DemandSignals, prev: int | None
) -> None:
    more = DemandSignals(
        d1.views + extra.views, d1.cart_adds + extra.cart_adds, d1.purchases + extra.purchases
    )
    assert compute_price(facts, more, prev, NOW).price >= compute_price(facts, d1, prev, NOW).price
    assert compute_price(facts, more, prev, NOW).raw >= compute_price(facts, d1, prev, NOW).raw


@settings(max_examples=300)
@given(leads(), demands, previous, age, age)
def test_decays_with_age(
    facts: LeadFacts, demand: DemandSignals, prev: int | None, a1: float, a2: float
) -> None:
    young, old = sorted((a1, a2))
    fresh = compute_price(_with(facts, posted_at=NOW - timedelta(days=young)), demand, prev, NOW)
    stale = compute_price(_with(facts, posted_at=NOW - timedelta(days=old)), demand, prev, NOW)
    assert stale.price <= fresh.price
    assert stale.raw <= fresh.raw


@given(leads(), demands)
def test_strictly_decays_over_a_half_life_before_the_floor(facts: LeadFacts, demand: DemandSignals) -> None:
    fresh = compute_price(_with(facts, posted_at=NOW), demand, None, NOW)
    later = compute_price(_with(facts, posted_at=NOW - timedelta(days=P.half_life_days)), demand, None, NOW)
    assert later.raw < fresh.raw
    assert abs(later.raw - fresh.raw * 0.5) < 1e-9


@given(leads(), demands, previous, st.floats(min_value=-100, max_value=100, allow_nan=False))
def test_hint_is_bounded(
    facts: LeadFacts, demand: DemandSignals, prev: int | None, multiplier: float
) -> None:
    plain = compute_price(facts, demand, prev, NOW)
    hinted = compute_price(facts, demand, prev, NOW, hint=PriceHint(multiplier, "because"))
    ratio = hinted.raw / plain.raw
    assert P.hint_low - 1e-9 <= ratio <= P.hint_high + 1e-9
    assert "ai (because)" in hinted.reason


@given(leads(), demands, st.integers(min_value=P.floor, max_value=P.ceiling))
def test_repeated_runs_converge_to_the_target(facts: LeadFacts, demand: DemandSignals, prev: int) -> None:
    price = prev
    for _ in range(60):
        price = compute_price(facts, demand, price, NOW).price
    assert price == compute_price(facts, demand, None, NOW).target


@given(leads(), st.integers(min_value=1, max_value=5))
def test_scarcity_fewer_seats_costs_more(facts: LeadFacts, taken: int) -> None:
    assume(taken < 5)
    shared_free = _with(facts, max_buyers=5, buyers_count=0, holds_count=0)
    shared_filling = _with(facts, max_buyers=5, buyers_count=taken, holds_count=0)
    assert (
        compute_price(shared_filling, DemandSignals(), None, NOW).raw
        > compute_price(shared_free, DemandSignals(), None, NOW).raw
    )


def test_explanation_lists_every_factor() -> None:
    facts = LeadFacts("CONDO", 350_000, 0.8, NOW - timedelta(days=3), max_buyers=3, buyers_count=1)
    quote = compute_price(facts, DemandSignals(12, 3, 0), 20, NOW)
    for part in (
        "base CONDO 16",
        "asking $250k-500k",
        "quality 0.80",
        "freshness 3.0d",
        "demand 12v/3c/0p",
        "scarcity shared 2/3 seats left",
        "target",
        "floor 2",
        "ceiling 250",
        "from 20",
    ):
        assert part in quote.reason, (part, quote.reason)
    assert quote.next_reprice_at is not None and quote.next_reprice_at > NOW


def test_initial_price_of_a_typical_lead() -> None:
    facts = LeadFacts("SINGLE_FAMILY", 400_000, 1.0, NOW)
    quote = initial_price(facts, NOW)
    assert quote.previous is None and quote.changed
    assert quote.price == round(20 * 1.0 * 1.4)  # base x band x quality x fresh x no demand x exclusive
    assert quote.next_reprice_at == NOW + timedelta(seconds=P.decay_recheck_seconds)


def test_fully_decayed_lead_without_demand_needs_no_tick() -> None:
    facts = LeadFacts("LAND", None, 0.5, NOW - timedelta(days=365))
    quote = compute_price(facts, DemandSignals(), initial_price(facts, NOW).price, NOW)
    assert quote.next_reprice_at is None
    assert max_step(100) == 15 and max_step(3) == 1
