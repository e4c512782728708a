"""Inputs that used to reach PostgreSQL unchecked are typed errors now, never masked internal errors:
NUL and other control characters in text, ledger ids beyond BIGINT, over-long login fields."""

from __future__ import annotations

import base64
import uuid
from typing import Any

import pytest

from aiqleads.domain.bootstrap import Deps
from aiqleads.domain.errors import DomainError
from aiqleads.domain.text_input import has_control_characters, reject_control_characters
from aiqleads.domain.users import service as users
from aiqleads.resolvers.ids import to_global_id

ERRORS = "errors { code field }"
REGISTER = (
    "mutation($email: String!, $name: String!) { register(input: {email: $email, "
    f'password: "correct horse battery", name: $name}}) {{ user {{ name }} {ERRORS} }} }}'
)
LOGIN = (
    f"mutation($email: String!, $pw: String!) {{ login(email: $email, password: $pw) {{ token {ERRORS} }} }}"
)
LEADS = "query($city: String) { leads(filter: {city: $city}) { totalCount } }"
TRANSACTIONS = "query($after: String) { creditTransactions(after: $after) { totalCount } }"
NODE = "query($id: ID!) { node(id: $id) { id } }"
ADD = f"mutation($id: ID!) {{ addToCart(leadId: $id) {{ {ERRORS} }} }}"
CHECKOUT = f"mutation($key: String!) {{ checkout(idempotencyKey: $key) {{ purchases {{ id }} {ERRORS} }} }}"
RETURN = (
    "mutation($id: ID!, $note: String) { returnLead(purchaseId: $id, reason: BAD_PHONE, note: $note) "
    f"{{ refunded {ERRORS} }} }}"
)


def _gid(raw: str) -> str:
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def test_control_characters_are_found_but_line_breaks_may_be_allowed() -> None:
    assert has_control_characters("a\x00b") and has_control_characters("bell\x07")
    assert not has_control_characters("Zoë 👨‍👩‍👧 O'Neil")
    assert has_control_characters("two\nlines") and not has_control_characters("two\nlines", multiline=True)
    assert reject_control_characters("fine", "name") == "fine"
    with pytest.raises(DomainError) as caught:
        reject_control_characters("nul\x00", "name")
    assert (caught.value.code, caught.value.field) == ("INVALID_INPUT", "name")


async def test_register_rejects_a_name_with_nul_as_a_payload_error(gql: Any) -> None:
    email = f"nul-{uuid.uuid4().hex[:8]}@example.com"
    body = await gql(REGISTER, {"email": email, "name": "Pat\x00Owner"})
    assert body["data"]["register"] == {"user": None, "errors": [{"code": "INVALID_INPUT", "field": "name"}]}
    ok = await gql(REGISTER, {"email": email, "name": "Pat Owner"})
    assert ok["data"]["register"] == {"user": {"name": "Pat Owner"}, "errors": []}


async def test_login_with_impossible_credentials_is_invalid_credentials(gql: Any, make_user: Any) -> None:
    user = await make_user()
    for email, password in (
        ("a\x00b@example.com", "correct horse battery"),
        ("x" * 400 + "@example.com", "correct horse battery"),
        (user.email, "p" * 10_000),
    ):
        body = await gql(LOGIN, {"email": email, "pw": password})
        assert body["data"]["login"] == {
            "token": None,
            "errors": [{"code": "INVALID_CREDENTIALS", "field": None}],
        }
    good = await gql(LOGIN, {"email": user.email, "pw": "correct horse battery"})
    assert good["data"]["login"]["token"] and good["data"]["login"]["errors"] == []


async def test_lead_filter_text_with_nul_is_invalid_input(gql: Any) -> None:
    body = await gql(LEADS, {"city": "Aus\x00tin"}, expect_errors=True)
    assert body["data"] is None
    assert body["errors"][0]["extensions"] == {"code": "INVALID_INPUT", "field": "filter.city"}


async def test_ledger_ids_beyond_bigint_are_typed_errors_or_null(gql: Any, make_user: Any) -> None:
    user = await make_user(credits=5)
    huge = "9" * 25
    body = await gql(TRANSACTIONS, {"after": _gid(f"ledger:{huge}")}, token=user.token, expect_errors=True)
    assert body["data"] is None
    assert body["errors"][0]["extensions"] == {"code": "INVALID_INPUT", "field": "after"}
    for raw in (huge, "²", "0"):
        node = await gql(NODE, {"id": _gid(f"CreditTransaction:{raw}")}, token=user.token)
        assert node["data"]["node"] is None


async def test_return_note_with_nul_is_invalid_input_but_line_breaks_are_kept(
    gql: Any, make_user: Any, make_lead: Any
) -> None:
    buyer = await make_user(credits=100)
    # a phone that fails validation: BAD_PHONE is verified, so the return is approved at once
    leads = [
        await make_lead(price_credits=10, city="Returnville", contact_phone="+11234567890") for _ in range(2)
    ]
    for lead in leads:
        added = await gql(ADD, {"id": to_global_id("Lead", lead.id)}, token=buyer.token)
        assert added["data"]["addToCart"]["errors"] == []
    bought = await gql(CHECKOUT, {"key": uuid.uuid4().hex}, token=buyer.token)
    first, second = (p["id"] for p in bought["data"]["checkout"]["purchases"])

    refused = await gql(RETURN, {"id": first, "note": "bad\x00number"}, token=buyer.token)
    assert refused["data"]["returnLead"] == {
        "refunded": 0,
        "errors": [{"code": "INVALID_INPUT", "field": "note"}],
    }
    accepted = await gql(
        RETURN, {"id": first, "note": "Number disconnected.\nTried twice."}, token=buyer.token
    )
    assert accepted["data"]["returnLead"] == {"refunded": 10, "errors": []}
    plain = await gql(RETURN, {"id": second, "note": None}, token=buyer.token)
    assert plain["data"]["returnLead"] == {"refunded": 10, "errors": []}


async def test_api_key_names_are_checked_before_the_insert(deps: Deps) -> None:
    async with deps.sessionmaker() as session:
        for name, message in (("x" * 201, "at most 200"), ("Acme\x00", "control characters")):
            with pytest.raises(DomainError) as caught:
                await users.create_api_key(session, name)
            assert caught.value.code == "INVALID_INPUT" and message in caught.value.message
        with pytest.raises(DomainError) as caught:
            await users.set_role(session, "admin\x00@example.com", "admin")
        assert (caught.value.code, caught.value.field) == ("INVALID_INPUT", "email")
