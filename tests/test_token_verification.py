"""Verified tokens are remembered with their claims (a client sends the same one with every
request); what verification refuses is refused the same with the memo warm, and a remembered token
still expires."""

from __future__ import annotations

import uuid

import jwt
import pytest

from aiqleads.domain.users import tokens
from aiqleads.domain.users.tokens import issue_token, verify_token

SECRET = "s" * 40


def test_a_remembered_token_expires_on_time(monkeypatch: pytest.MonkeyPatch) -> None:
    user = uuid.uuid4()
    token = issue_token(user, SECRET, 60)
    first = verify_token(token, SECRET)
    assert first is not None and first.user_id == user
    assert (SECRET, token) in tokens._VERIFIED
    assert verify_token(token, SECRET) == first
    expiry = first.expires_at.timestamp()
    monkeypatch.setattr(tokens.time, "time", lambda: expiry - 0.5)
    assert verify_token(token, SECRET) == first
    monkeypatch.setattr(tokens.time, "time", lambda: expiry)  # PyJWT: expired when exp <= now
    assert verify_token(token, SECRET) is None
    assert (SECRET, token) not in tokens._VERIFIED


def test_what_verification_refuses_stays_refused_with_the_memo_warm() -> None:
    token = issue_token(uuid.uuid4(), SECRET, 60)
    assert verify_token(token, SECRET) is not None
    assert verify_token(token, "another secret of forty characters......") is None  # rotated secret
    header, payload, signature = token.split(".")
    assert verify_token(f"{header}.{payload}.{signature[:-2]}AA", SECRET) is None
    expired = issue_token(uuid.uuid4(), SECRET, -5)
    assert verify_token(expired, SECRET) is None and verify_token(expired, SECRET) is None
    wrong_issuer = jwt.encode({"sub": str(uuid.uuid4()), "iss": "x", "exp": 2**40}, SECRET, algorithm="HS256")
    assert verify_token(wrong_issuer, SECRET) is None
    assert all(key[1] not in (expired, wrong_issuer) for key in tokens._VERIFIED)


def test_the_memo_is_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(tokens, "_MAX_VERIFIED", 8)
    tokens._VERIFIED.clear()
    issued = [issue_token(uuid.uuid4(), SECRET, 60 + i) for i in range(20)]
    for token in issued:
        assert verify_token(token, SECRET) is not None
    assert len(tokens._VERIFIED) == 8
    assert [key[1] for key in tokens._VERIFIED] == issued[-8:]
    assert verify_token(issued[0], SECRET) is not None  # forgotten, verified again
