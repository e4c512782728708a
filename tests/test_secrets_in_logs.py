"""Secrets never reach logs: SQL parameters are hidden by every engine, and a full buyer journey
through the in-process app (register, login, buy credits, add to cart, checkout revealing the
contact, return), plus its usual failure paths, logs neither the bearer token, nor the password,
nor the seller's name, phone or e-mail — at any level, in any logger, in messages, arguments or
exception tracebacks."""

from __future__ import annotations

import logging
import traceback
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from aiqtest_support.cartkit import ADD, BUY, CHECKOUT, RETURN, lead_gid
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from aiqleads.domain.db import make_engine
from aiqleads.domain.settings import Settings

REGISTER = """mutation($input: RegisterInput!) {
  register(input: $input) { token user { id } errors { code message field } } }"""
LOGIN = """mutation($email: String!, $password: String!) {
  login(email: $email, password: $password) { token errors { code message field } } }"""


_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {"message", "asctime"}


class Everything(logging.Handler):
    """Keeps the full text of every record: message, raw arguments, traceback and stack."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.texts: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        parts = [record.name, str(record.msg), repr(record.args)]
        try:
            parts.append(record.getMessage())
        except Exception as exc:  # a broken format string still shows its arguments above
            parts.append(repr(exc))
        if record.exc_info and record.exc_info[1] is not None:
            parts.append("".join(traceback.format_exception(*record.exc_info)))
            parts.append(repr(record.exc_info[1]))
        if record.stack_info:
            parts.append(record.stack_info)
        extras = {k: v for k, v in vars(record).items() if k not in _STANDARD}
        parts.append(repr(extras))
        self.texts.append("\n".join(parts))


@pytest.fixture
def all_logs() -> Iterator[Everything]:
    root = logging.getLogger()
    handler = Everything()
    old_level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    try:
        yield handler
    finally:
        root.removeHandler(handler)
        root.setLevel(old_level)


async def test_engine_errors_do_not_carry_bound_parameter_values(settings: Settings) -> None:
    engine = make_engine(settings.database_url, connections=3)
    secret = f"s3cret-{uuid.uuid4().hex}"
    try:
        async with engine.connect() as conn:
            with pytest.raises(DBAPIError) as error:
                await conn.execute(text("SELECT CAST(:secret AS text), 1 / 0"), {"secret": secret})
    finally:
        await engine.dispose()
    assert "division by zero" in str(error.value)
    assert secret not in str(error.value) and secret not in repr(error.value)
    assert "hidden" in str(error.value)


async def test_sql_statements_rows_and_parameters_stay_out_of_logs_at_debug(
    settings: Settings, all_logs: Everything
) -> None:
    secret = f"row-{uuid.uuid4().hex}"
    engine = make_engine(settings.database_url, connections=3)
    try:
        async with engine.connect() as conn:
            row = (await conn.execute(text("SELECT CAST(:v AS text) AS v"), {"v": secret})).one()
    finally:
        await engine.dispose()
    assert row.v == secret
    assert secret not in "\n".join(all_logs.texts)


async def test_a_buyer_journey_logs_no_token_password_or_contact(
    gql: Any, make_lead: Any, all_logs: Everything
) -> None:
    tag = uuid.uuid4().hex[:8]
    email, password = f"logbuyer-{tag}@example.com", f"Pw-{tag}-horse-battery"
    seller = {
        "contact_name": f"Quintessa Vandermolen{tag}",
        "contact_phone": "+15125558313",
        "contact_email": f"quintessa.{tag}@example.net",
    }
    lead = await make_lead(price_credits=20, max_buyers=2, city="Logsburg", zip="73301", **seller)

    reg = await gql(REGISTER, {"input": {"email": email, "password": password, "name": "Log Buyer"}})
    registered_token = reg["data"]["register"]["token"]
    login = (await gql(LOGIN, {"email": email, "password": password}))["data"]["login"]
    token = login["token"]
    assert token and registered_token
    bought = (await gql(BUY, {"pack": "STARTER", "key": f"pack-{tag}"}, token=token))["data"]["buyCredits"]
    assert bought["errors"] == [], bought
    added = (await gql(ADD, {"id": lead_gid(lead.id)}, token=token))["data"]["addToCart"]
    assert added["errors"] == [], added
    done = (await gql(CHECKOUT, {"key": f"order-{tag}"}, token=token))["data"]["checkout"]
    assert done["errors"] == [], done
    [purchase] = done["purchases"]
    assert purchase["lead"]["contact"] == {
        "name": seller["contact_name"], "phone": seller["contact_phone"], "email": seller["contact_email"]
    }  # fmt: skip
    returned = await gql(
        RETURN, {"id": purchase["id"], "reason": "DUPLICATE", "note": "seen it"}, token=token
    )
    assert returned["data"]["returnLead"] is not None

    # the failure paths that tend to log what they were given
    wrong = (await gql(LOGIN, {"email": email, "password": password + "x"}))["data"]["login"]
    assert wrong["errors"]
    await gql(REGISTER, {"input": {"email": email, "password": password, "name": "Again"}})
    again = (await gql(ADD, {"id": lead_gid(lead.id)}, token=token))["data"]["addToCart"]
    assert again["errors"]
    await gql("{ me { id } }", token=token + "tampered", expect_errors=True)
    await gql("{ me { id } }", token=f"{password}.{seller['contact_email']}", expect_errors=True)

    logged = "\n".join(all_logs.texts)
    assert all_logs.texts, "the capture saw nothing: the handler is not wired to the root logger"
    secrets = {
        "bearer token": token,
        "registration token": registered_token,
        "token signature": token.rsplit(".", 1)[-1],
        "password": password,
        "seller name": seller["contact_name"],
        "seller phone": seller["contact_phone"],
        "seller phone digits": "5125558313",
        "seller e-mail": seller["contact_email"],
    }
    leaked = {what: value for what, value in secrets.items() if value in logged}
    assert not leaked, f"logged: {sorted(leaked)}"
