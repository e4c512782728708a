"""node(id) resolves every Node type, and only within what the viewer may see."""

from __future__ import annotations

import uuid
from typing import Any

from aiqtest_support.cartkit import ADD, CHECKOUT, TRANSACTIONS, lead_gid

from aiqleads.resolvers.ids import to_global_id

NODE = """
query N($id: ID!) {
  node(id: $id) {
    __typename id
    ... on Lead { title }
    ... on User { email }
    ... on Purchase { price lead { id } }
    ... on CreditTransaction { amount kind }
  }
}
"""


async def test_node_resolves_purchases_and_transactions_for_their_owner_only(
    gql: Any, make_user: Any, make_lead: Any
) -> None:
    owner = await make_user(credits=200)
    stranger = await make_user(credits=10)
    lead = await make_lead(price_credits=30, city="Nodeville")
    added = await gql(ADD, {"id": lead_gid(lead.id)}, token=owner.token)
    assert added["data"]["addToCart"]["errors"] == []
    bought = (await gql(CHECKOUT, {"key": uuid.uuid4().hex}, token=owner.token))["data"]["checkout"]
    assert bought["errors"] == []
    purchase_id = bought["purchases"][0]["id"]
    spend_id = (await gql(TRANSACTIONS, {"first": 1}, token=owner.token))["data"]["creditTransactions"][
        "edges"
    ][0]["node"]["id"]

    purchase = (await gql(NODE, {"id": purchase_id}, token=owner.token))["data"]["node"]
    assert purchase == {
        "__typename": "Purchase",
        "id": purchase_id,
        "price": 30,
        "lead": {"id": lead_gid(lead.id)},
    }
    spend = (await gql(NODE, {"id": spend_id}, token=owner.token))["data"]["node"]
    assert spend == {"__typename": "CreditTransaction", "id": spend_id, "amount": -30, "kind": "SPEND"}
    own_user = (await gql(NODE, {"id": to_global_id("User", owner.id)}, token=owner.token))["data"]["node"]
    assert own_user["__typename"] == "User" and own_user["email"] == owner.email
    a_lead = (await gql(NODE, {"id": lead_gid(lead.id)}))["data"]["node"]
    assert a_lead["__typename"] == "Lead" and a_lead["title"] == lead.title

    for foreign in (purchase_id, spend_id, to_global_id("User", owner.id)):
        assert (await gql(NODE, {"id": foreign}, token=stranger.token))["data"]["node"] is None
        assert (await gql(NODE, {"id": foreign}))["data"]["node"] is None


async def test_node_with_a_malformed_id_is_invalid_input(gql: Any) -> None:
    body = await gql(NODE, {"id": "%%%not-an-id"}, expect_errors=True)
    assert body["errors"][0]["extensions"]["code"] == "INVALID_INPUT"
    assert (await gql(NODE, {"id": to_global_id("Spaceship", uuid.uuid4())}))["data"]["node"] is None
