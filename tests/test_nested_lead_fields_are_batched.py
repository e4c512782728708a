"""No N+1 under cart and purchases: nested lead fields are batched, so the SQL statement count of
`cart` and `purchases` stays the same whether they hold two items or eight."""

from __future__ import annotations

import uuid
from typing import Any

from starlette.applications import Starlette

from aiqleads.resolvers.ids import to_global_id

LEAD_FIELDS = """
  id title price availableSeats purchased status buyersCount
  address { city street } contact { name phone } location { lat lng }
  priceHistory(first: 5) { price at reason }
"""
CART = f"query {{ cart {{ items {{ price heldUntil extensionsLeft lead {{ {LEAD_FIELDS} }} }} total }} }}"
PURCHASES = f"query {{ purchases(first: 50) {{ id price returned lead {{ {LEAD_FIELDS} }} }} }}"
ADD = "mutation($id: ID!) { addToCart(leadId: $id) { errors { code message } } }"
CHECKOUT = (
    "mutation($key: String!) { checkout(idempotencyKey: $key) { purchases { id } errors { code message } } }"
)
SMALL, LARGE = 2, 8


async def _fill_cart(gql: Any, token: str, lead_ids: list[uuid.UUID]) -> None:
    for lead_id in lead_ids:
        body = await gql(ADD, {"id": to_global_id("Lead", lead_id)}, token=token)
        assert body["data"]["addToCart"]["errors"] == [], body


async def _fewest_statements(gql: Any, count_statements: Any, query: str, token: str) -> tuple[int, Any]:
    """Best of three runs: the app's engine is shared with the hold-timer reconciliation, whose
    occasional statements may land inside one measuring window."""
    best: tuple[int, Any] | None = None
    for _ in range(3):
        with count_statements() as counter:
            body = await gql(query, token=token)
        if best is None or counter.count < best[0]:
            best = (counter.count, (body, [s[:100] for s in counter.statements]))
    assert best is not None
    return best


async def test_cart_and_purchases_use_a_constant_number_of_statements(
    app: Starlette, gql: Any, make_user: Any, make_lead: Any, count_statements: Any
) -> None:
    city = f"Nplusone{uuid.uuid4().hex[:8]}"
    leads = [
        await make_lead(city=city, max_buyers=3, price_credits=10 + n, title=f"Lead {n}")
        for n in range(SMALL + LARGE)
    ]
    small_buyer = await make_user(tier="ENTERPRISE", credits=1_000)
    large_buyer = await make_user(tier="ENTERPRISE", credits=1_000)
    other = await make_user(tier="ENTERPRISE", credits=500)  # a hold needs a balance covering the cart
    small_ids = [lead.id for lead in leads[:SMALL]]
    large_ids = [lead.id for lead in leads[SMALL:]]
    await _fill_cart(gql, small_buyer.token, small_ids)
    await _fill_cart(gql, large_buyer.token, large_ids)

    small_count, (small_body, _) = await _fewest_statements(gql, count_statements, CART, small_buyer.token)
    large_count, (large_body, large_seen) = await _fewest_statements(
        gql, count_statements, CART, large_buyer.token
    )
    assert len(small_body["data"]["cart"]["items"]) == SMALL
    assert len(large_body["data"]["cart"]["items"]) == LARGE
    # the viewer's own hold does not take a seat away from the viewer
    assert all(item["lead"]["availableSeats"] == 3 for item in large_body["data"]["cart"]["items"])
    # auth + cart row + holds with their leads, then one batch each: purchased, others' holds,
    # price history (the tier comes from the viewer loaded by auth)
    assert large_count <= 6, large_seen
    assert large_count == small_count, large_seen

    for buyer, key in ((small_buyer, "small"), (large_buyer, "large")):
        body = await gql(CHECKOUT, {"key": f"review-{key}-{uuid.uuid4().hex[:6]}"}, token=buyer.token)
        assert body["data"]["checkout"]["errors"] == [], body
    # someone else holds a seat of every bought lead, so the others'-holds loader is needed too
    await _fill_cart(gql, other.token, small_ids + large_ids)

    small_count, (small_body, _) = await _fewest_statements(
        gql, count_statements, PURCHASES, small_buyer.token
    )
    large_count, (large_body, large_seen) = await _fewest_statements(
        gql, count_statements, PURCHASES, large_buyer.token
    )
    bought = large_body["data"]["purchases"]
    assert len(small_body["data"]["purchases"]) == SMALL
    assert len(bought) == LARGE
    assert all(p["lead"]["purchased"] and p["lead"]["contact"]["phone"] for p in bought)
    assert all(p["lead"]["availableSeats"] == 1 for p in bought)  # 3 seats − 1 bought − 1 held by other
    # auth + purchases with their leads, then one batch each: purchased, others' holds, price history
    assert large_count <= 5, large_seen
    assert large_count == small_count, large_seen
