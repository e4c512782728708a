"""Leased budgets: a process spends units it took from Redis in small blocks, and the processes
sharing a budget never admit more than its limit, even when they charge concurrently."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

from aiqleads.domain.users import rate_limit
from aiqleads.domain.users.rate_limit import BudgetLeases, lease_size

WINDOW_START = 1_900_000_020.0  # any instant well inside a minute window (the tests pass `now`)


async def _charge_until_refused(deps: Any, leases: BudgetLeases, principal: str, limit: int) -> int:
    admitted = 0
    while (await rate_limit.charge(deps.redis, principal, limit, 1, WINDOW_START, leases)).allowed:
        admitted += 1
    return admitted


async def test_processes_sharing_a_budget_never_admit_more_than_its_limit(deps: Any) -> None:
    limit, principal = 1000, f"test:lease:{uuid.uuid4().hex}"
    processes = [BudgetLeases(), BudgetLeases()]
    # 2 processes × 25 concurrent clients, each charging until it is refused
    counts = await asyncio.gather(
        *(_charge_until_refused(deps, leases, principal, limit) for leases in processes for _ in range(25))
    )
    stranded = sum(leases.held.get(principal, 0) for leases in processes)
    assert lease_size(limit) == 20
    assert sum(counts) + stranded == limit  # every unit Redis granted was spent or is still held
    assert sum(counts) <= limit
    assert stranded <= len(processes) * (lease_size(limit) - 1)
    window = int(WINDOW_START // rate_limit.WINDOW_SECONDS)
    assert int(await deps.redis.get(f"aiq:rl:{principal}:{window}")) >= limit  # refusals still count


async def test_a_small_budget_is_leased_one_unit_at_a_time_and_counts_exactly(deps: Any) -> None:
    limit, principal = 30, f"test:lease:{uuid.uuid4().hex}"
    processes = [BudgetLeases(), BudgetLeases()]
    counts = await asyncio.gather(
        *(_charge_until_refused(deps, leases, principal, limit) for leases in processes for _ in range(4))
    )
    assert lease_size(limit) == 1
    assert sum(counts) == limit


async def test_most_charges_need_no_round_trip(deps: Any) -> None:
    limit, principal = 10_000, f"test:lease:{uuid.uuid4().hex}"
    leases = BudgetLeases()
    window = int(WINDOW_START // rate_limit.WINDOW_SECONDS)
    key = f"aiq:rl:{principal}:{window}"
    for _ in range(40):
        assert (await rate_limit.charge(deps.redis, principal, limit, 1, WINDOW_START, leases)).allowed
    assert int(await deps.redis.get(key)) == 40  # two leases of 20, each taken by one charge


async def test_an_operation_dearer_than_the_lease_takes_its_cost_and_a_lease(deps: Any) -> None:
    limit, principal = 10_000, f"test:lease:{uuid.uuid4().hex}"
    leases = BudgetLeases()
    decision = await rate_limit.charge(deps.redis, principal, limit, 150, WINDOW_START, leases)
    assert decision.allowed and decision.used == 150 + lease_size(limit) - 1
    assert leases.held[principal] == lease_size(limit) - 1


async def test_a_refused_dear_operation_keeps_what_fits_for_cheaper_ones(deps: Any) -> None:
    limit, principal = 100, f"test:lease:{uuid.uuid4().hex}"  # a lease of 2
    leases = BudgetLeases()
    assert (await rate_limit.charge(deps.redis, principal, limit, 90, WINDOW_START, leases)).allowed
    refused = await rate_limit.charge(deps.redis, principal, limit, 50, WINDOW_START, leases)
    assert not refused.allowed and 1 <= refused.retry_after <= 60
    cheap = [
        (await rate_limit.charge(deps.redis, principal, limit, 1, WINDOW_START, leases)).allowed
        for _ in range(11)
    ]
    assert cheap == [True] * 10 + [False]  # the 10 units under the limit were admitted, none more


async def test_last_minutes_leases_are_void_in_the_next_window(deps: Any) -> None:
    limit, principal = 10_000, f"test:lease:{uuid.uuid4().hex}"
    leases = BudgetLeases()
    assert (await rate_limit.charge(deps.redis, principal, limit, 1, WINDOW_START, leases)).allowed
    assert leases.held[principal] == lease_size(limit) - 1
    later = WINDOW_START + rate_limit.WINDOW_SECONDS
    assert (await rate_limit.charge(deps.redis, principal, limit, 1, later, leases)).allowed
    next_window = int(later // rate_limit.WINDOW_SECONDS)
    assert int(await deps.redis.get(f"aiq:rl:{principal}:{next_window}")) == lease_size(limit)
