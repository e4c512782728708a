"""JWT bearer tokens for users and hashed API keys for partners."""

from __future__ import annotations

import hashlib
import secrets
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import jwt

_ALGORITHM = "HS256"
_ISSUER = "aiqleads"


@dataclass(frozen=True)
class TokenClaims:
    """The verified claims of a bearer token."""

    user_id: uuid.UUID
    expires_at: datetime


def issue_token(user_id: uuid.UUID, secret: str, ttl_seconds: int, now: datetime | None = None) -> str:
    """Sign a bearer token for a user."""
    issued = now or datetime.now(UTC)
    payload = {
        "sub": str(user_id),
        "iss": _ISSUER,
        "iat": int(issued.timestamp()),
        "exp": int((issued + timedelta(seconds=ttl_seconds)).timestamp()),
    }
    return jwt.encode(payload, secret, algorithm=_ALGORITHM)


# Verifying a token (decoding, the HMAC, the claims) is a third of a signed-in request's
# authentication, and a client sends the same token with every request: a token found valid is
# remembered with its claims, and a later request only checks its expiry again (its signature
# and issuer cannot change; its iat and nbf, valid once, stay valid). Invalid tokens are never
# remembered. Bounded: the oldest entry makes room.
_VERIFIED: dict[tuple[str, str], TokenClaims] = {}
_MAX_VERIFIED = 4096


def verify_token(token: str, secret: str) -> TokenClaims | None:
    """Return the claims of a valid, unexpired token, or None."""
    key = (secret, token)
    known = _VERIFIED.get(key)
    if known is not None:
        if known.expires_at.timestamp() > time.time():  # PyJWT: expired when exp <= now
            return known
        del _VERIFIED[key]
        return None
    try:
        payload = jwt.decode(
            token, secret, algorithms=[_ALGORITHM], issuer=_ISSUER, options={"require": ["exp", "sub"]}
        )
        claims = TokenClaims(uuid.UUID(payload["sub"]), datetime.fromtimestamp(payload["exp"], UTC))
    except (jwt.PyJWTError, ValueError, KeyError):
        return None
    if len(_VERIFIED) >= _MAX_VERIFIED:
        del _VERIFIED[next(iter(_VERIFIED))]
    _VERIFIED[key] = claims
    return claims


def new_api_key() -> tuple[str, str, str]:
    """Make a partner key: (secret shown once, prefix for display, sha256 hash to store)."""
    secret = "aiq_" + secrets.token_urlsafe(32)
    return secret, secret[:12], hash_api_key(secret)


def hash_api_key(secret: str) -> str:
    """SHA-256 of an API key (keys are high-entropy, so a fast hash is appropriate)."""
    return hashlib.sha256(secret.encode()).hexdigest()
