"""Identify the viewer from a bearer token or partner API key, and guard viewer-only fields."""

from __future__ import annotations

from typing import Any

from aiqleads.domain.core.user import User
from aiqleads.domain.users import service as users
from aiqleads.domain.users.tokens import verify_token
from aiqleads.resolvers.context import Context
from aiqleads.resolvers.errors import PublicError, unauthenticated


class BadCredentials(Exception):
    """A token or API key was presented but is not valid."""


def bearer_token(value: str | None) -> str | None:
    """Extract the token from an 'Authorization: Bearer <token>' value."""
    if not value:
        return None
    scheme, _, token = value.strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise BadCredentials("Authorization must be 'Bearer <token>'.")
    return token.strip()


async def authenticate(ctx: Context, authorization: str | None, api_key: str | None) -> None:
    """Fill ctx.viewer / ctx.api_key; raise BadCredentials for a presented but invalid credential."""
    token = bearer_token(authorization)
    if token is None and not api_key:
        return  # anonymous: no session, no round trip
    async with ctx.read_session() as session:
        if token is not None:
            claims = verify_token(token, ctx.settings.jwt_secret)
            user = await users.user_of_claims(session, claims) if claims is not None else None
            if user is None or claims is None:
                raise BadCredentials("The bearer token is invalid or expired.")
            ctx.viewer = user
            ctx.token_expires_at = claims.expires_at
        if api_key:
            key = await users.api_key_from_secret(session, api_key.strip())
            if key is None:
                raise BadCredentials("The API key is invalid or revoked.")
            ctx.api_key = key


def connection_header(params: dict[str, Any] | None, name: str) -> str | None:
    """A header value carried in websocket connectionParams, matched in any capitalisation (as
    HTTP headers are), at the top level or under "headers"; ``name`` is lower-case."""
    if not params:
        return None
    for key, value in params.items():
        if isinstance(key, str) and key.lower() == name and isinstance(value, str):
            return value
    headers = params.get("headers")
    if isinstance(headers, dict):
        return connection_header(headers, name)
    return None


def connection_authorization(params: dict[str, Any] | None) -> str | None:
    """The Authorization value carried in websocket connectionParams (any capitalisation)."""
    return connection_header(params, "authorization")


def require_viewer(ctx: Context) -> User:
    """The signed-in user, or an UNAUTHENTICATED error."""
    if ctx.viewer is None:
        raise unauthenticated()
    return ctx.viewer


def require_admin(ctx: Context) -> User:
    """The signed-in admin, or FORBIDDEN."""
    user = require_viewer(ctx)
    if user.role != "admin":
        raise PublicError("FORBIDDEN", "This operation needs the admin role.")
    return user
