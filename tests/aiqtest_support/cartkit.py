"""Helpers for the cart, checkout, credits and returns suites: operations, ledger checks, events."""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.applications import Starlette

from aiqleads.resolvers.ids import to_global_id

CART_FIELDS = """
  items { lead { id title availableSeats } price heldUntil extensionsUsed extensionsLeft }
  expiresAt total serverTime
"""
ERRORS = "errors { code message field }"

ADD = f"mutation Add($id: ID!) {{ addToCart(leadId: $id) {{ cart {{ {CART_FIELDS} }} {ERRORS} }} }}"
REMOVE = (
    f"mutation Remove($id: ID!) {{ removeFromCart(leadId: $id) {{ cart {{ {CART_FIELDS} }} {ERRORS} }} }}"
)
EXTEND = f"mutation Extend($id: ID!) {{ extendHold(leadId: $id) {{ cart {{ {CART_FIELDS} }} {ERRORS} }} }}"
CART = f"query Cart {{ cart {{ {CART_FIELDS} }} }}"
CHECKOUT = f"""mutation Checkout($key: String!) {{
  checkout(idempotencyKey: $key) {{
    purchases {{ id price purchasedAt returned
      lead {{ id purchased status buyersCount contact {{ name phone email }} address {{ street }} }} }}
    creditsSpent balance {ERRORS}
  }}
}}"""
RETURN = f"""mutation Return($id: ID!, $reason: ReturnReason!, $note: String) {{
  returnLead(purchaseId: $id, reason: $reason, note: $note) {{
    purchase {{ id returned lead {{ id status buyersCount purchased contact {{ phone }} }} }}
    refunded return {{ id status reason refunded reviewedAt }} {ERRORS}
  }}
}}"""
BUY = f"""mutation Buy($pack: CreditPack!, $key: String!) {{
  buyCredits(pack: $pack, idempotencyKey: $key) {{
    balance transaction {{ id amount balanceAfter kind reason createdAt }} {ERRORS}
  }}
}}"""
TIER = f"mutation Tier($tier: Tier!) {{ changeTier(tier: $tier) {{ user {{ id tier credits }} {ERRORS} }} }}"
ME = "query Me { me { id tier credits } }"
TRANSACTIONS = """query Tx($first: Int, $after: String) {
  creditTransactions(first: $first, after: $after) {
    edges { cursor node { id amount balanceAfter kind reason createdAt } }
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
    totalCount
  }
}"""
PURCHASES = (
    "query P($first: Int, $after: String) {"
    " purchases(first: $first, after: $after) { id price lead { id } } }"
)
CART_EVENTS = "subscription { cartEvents { kind leadId heldUntil cartExpiresAt at } }"


def lead_gid(lead_id: uuid.UUID) -> str:
    """The public id of a lead."""
    return to_global_id("Lead", lead_id)


def purchase_gid(purchase_id: uuid.UUID) -> str:
    """The public id of a purchase."""
    return to_global_id("Purchase", purchase_id)


def cart_lead_ids(payload: dict[str, Any]) -> list[str]:
    """Lead ids in a cart payload."""
    return [item["lead"]["id"] for item in payload["items"]]


async def ledger_mismatches(engine: AsyncEngine, user_ids: list[uuid.UUID]) -> list[tuple[Any, ...]]:
    """Users whose cached balance differs from the ledger sum or from the last balance_after."""
    if not user_ids:
        return []
    async with engine.connect() as conn:
        rows = await conn.execute(
            text(
                """
                SELECT u.id, u.credit_balance, COALESCE(s.total, 0), COALESCE(l.balance_after, 0)
                FROM users u
                LEFT JOIN (SELECT user_id, SUM(amount) AS total FROM credit_ledger GROUP BY user_id) s
                  ON s.user_id = u.id
                LEFT JOIN LATERAL (
                  SELECT balance_after FROM credit_ledger c WHERE c.user_id = u.id ORDER BY c.id DESC LIMIT 1
                ) l ON TRUE
                WHERE u.id = ANY(:ids)
                  AND (u.credit_balance <> COALESCE(s.total, 0)
                       OR u.credit_balance <> COALESCE(l.balance_after, 0))
                """
            ),
            {"ids": user_ids},
        )
        return [tuple(r) for r in rows]


async def lead_counts(engine: AsyncEngine, lead_id: uuid.UUID) -> dict[str, Any]:
    """holds_count, buyers_count, status and the actual hold/purchase rows of a lead."""
    async with engine.connect() as conn:
        row = (
            await conn.execute(
                text(
                    "SELECT holds_count, buyers_count, status, max_buyers,"
                    " (SELECT count(*) FROM holds h WHERE h.lead_id = l.id) AS hold_rows,"
                    " (SELECT count(*) FROM purchases p WHERE p.lead_id = l.id AND p.returned_at IS NULL)"
                    "   AS purchase_rows"
                    " FROM leads l WHERE id = :id"
                ),
                {"id": lead_id},
            )
        ).one()
    return dict(row._mapping)


@dataclass
class Buyers:
    """Creates users for a test and checks their ledgers at teardown."""

    make_user: Any
    created: list[uuid.UUID] = field(default_factory=list)

    async def __call__(self, tier: str = "FREE", credits: int = 0) -> Any:
        user = await self.make_user(tier=tier, credits=credits)
        self.created.append(user.id)
        return user


@contextlib.asynccontextmanager
async def checked_buyers(make_user: Any, app: Starlette) -> AsyncIterator[Buyers]:
    """A factory of users whose ledgers must balance when the block ends (use it in a fixture)."""
    factory = Buyers(make_user)
    yield factory
    mismatches = await ledger_mismatches(app.state.deps.engine, factory.created)
    assert not mismatches, f"ledger and balances disagree: {mismatches}"


async def wait_for(predicate: Any, seconds: float, interval: float = 0.05) -> bool:
    """Poll an async or sync predicate until it is true or the time is up."""
    deadline = time.monotonic() + seconds
    while True:
        value = predicate()
        if asyncio.iscoroutine(value):
            value = await value
        if value:
            return True
        if time.monotonic() > deadline:
            return False
        await asyncio.sleep(interval)


@contextlib.asynccontextmanager
async def hub_events(hub: Any, channel: str) -> AsyncIterator[list[dict[str, Any]]]:
    """Collect the events a process's EventHub delivers on a channel while the block runs."""
    received: list[dict[str, Any]] = []
    baseline = hub.subscriber_count

    async def collect() -> None:
        async for event in hub.subscribe(channel):
            received.append(event)

    task = asyncio.create_task(collect())
    assert await wait_for(lambda: hub.subscriber_count > baseline, 5), "subscription never registered"
    try:
        yield received
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def next_cart_event(ws: Any) -> dict[str, Any]:
    """The next cartEvents payload on a subscribed websocket (within 5 s)."""
    message = await asyncio.wait_for(ws.receive(), 5)
    assert message["type"] == "next", message
    return message["payload"]["data"]["cartEvents"]  # type: ignore[no-any-return]
