"""Registration, login and viewer identification."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass

from email_validator import EmailNotValidError, validate_email
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from aiqleads.domain.core.plans import PLANS
from aiqleads.domain.core.user import User
from aiqleads.domain.errors import DomainError, ErrorCode, invalid_input
from aiqleads.domain.settings import Settings
from aiqleads.domain.text_input import has_control_characters, reject_control_characters
from aiqleads.domain.users import repository
from aiqleads.domain.users.login_throttle import LoginThrottle
from aiqleads.domain.users.models import ApiKey
from aiqleads.domain.users.passwords import hash_password_async, verify_password_async
from aiqleads.domain.users.tokens import TokenClaims, hash_api_key, issue_token, new_api_key, verify_token

MIN_PASSWORD_LENGTH = 8
MAX_PASSWORD_LENGTH = 256
MAX_EMAIL_LENGTH = 320  # RFC 5321 limit, and the users.email column size
MAX_NAME_LENGTH = 200  # users.name and api_keys.name column size


_dummy: list[str] = []  # filled on first use, not at import


async def _dummy_hash() -> str:
    """A hash to verify against when the email is unknown (built once, in a worker thread)."""
    if not _dummy:
        _dummy.append(await hash_password_async("timing-equaliser-password"))
    return _dummy[0]


@dataclass(frozen=True)
class AuthResult:
    """A signed-in user and their bearer token."""

    token: str
    user: User


def _normalise_email(email: str) -> str:
    try:
        return validate_email(email.strip(), check_deliverability=False).normalized
    except EmailNotValidError as exc:
        raise invalid_input(f"Invalid email address: {exc}", "email") from exc


def _check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise invalid_input(f"Password must be at least {MIN_PASSWORD_LENGTH} characters.", "password")
    if len(password) > MAX_PASSWORD_LENGTH:
        raise invalid_input(f"Password must be at most {MAX_PASSWORD_LENGTH} characters.", "password")


def _check_name(name: str) -> str:
    cleaned = re.sub(r"\s+", " ", name).strip()
    if not cleaned:
        raise invalid_input("Name must not be empty.", "name")
    if len(cleaned) > MAX_NAME_LENGTH:
        raise invalid_input(f"Name must be at most {MAX_NAME_LENGTH} characters.", "name")
    return reject_control_characters(cleaned, "name")


async def register(
    session: AsyncSession,
    settings: Settings,
    *,
    email: str,
    password: str,
    name: str,
    throttle: LoginThrottle | None = None,
) -> AuthResult:
    """Create a FREE user and sign them in; EMAIL_TAKEN if the email exists.

    With a ``throttle`` (every request does), registrations per client address are limited
    (RATE_LIMITED). Hashing runs in a worker thread.
    """
    normalised = _normalise_email(email)
    _check_password(password)
    clean_name = _check_name(name)
    if throttle is not None:
        await throttle.check_registration()
    if await repository.get_user_by_email(session, normalised) is not None:
        raise DomainError(ErrorCode.EMAIL_TAKEN, "An account with this email already exists.", "email")
    password_hash = await hash_password_async(password)
    user = User(id=uuid.uuid4(), email=normalised, name=clean_name, password_hash=password_hash)
    user.tier = "FREE"
    user.role = "user"
    user.credit_balance = 0
    session.add(user)
    try:
        async with session.begin_nested():
            await session.flush()
    except IntegrityError as exc:  # a concurrent registration won the race for this email
        raise DomainError(
            ErrorCode.EMAIL_TAKEN, "An account with this email already exists.", "email"
        ) from exc
    return AuthResult(issue_token(user.id, settings.jwt_secret, settings.jwt_ttl_seconds), user)


async def login(
    session: AsyncSession,
    settings: Settings,
    *,
    email: str,
    password: str,
    throttle: LoginThrottle | None = None,
) -> AuthResult:
    """Verify credentials and issue a token; INVALID_CREDENTIALS without saying which part was wrong.

    With a ``throttle`` (every request does), an account with too many recent failures from this
    address (or overall) is refused with RATE_LIMITED before any password check, even a right one;
    failures are counted and a success clears this address's count. Verification runs in a
    worker thread, never on the event loop.
    """
    email = email.strip()
    if (
        len(email) > MAX_EMAIL_LENGTH or has_control_characters(email) or len(password) > MAX_PASSWORD_LENGTH
    ):  # no account can match; answer like any wrong login, without a lookup or a costly hash
        raise DomainError(ErrorCode.INVALID_CREDENTIALS, "Email or password is incorrect.")
    if throttle is not None:
        await throttle.begin_attempt(email)
    user = await repository.get_user_by_email(session, email)
    if user is None:
        # the same work as a real check, so timing tells nothing about which e-mails exist
        await verify_password_async(await _dummy_hash(), password)
        ok = False
    else:
        ok = await verify_password_async(user.password_hash, password)
    if not ok or user is None:  # the attempt was already counted as a failure
        raise DomainError(ErrorCode.INVALID_CREDENTIALS, "Email or password is incorrect.")
    if throttle is not None:
        await throttle.record_success(email)
    return AuthResult(issue_token(user.id, settings.jwt_secret, settings.jwt_ttl_seconds), user)


async def user_from_token(session: AsyncSession, settings: Settings, token: str) -> User | None:
    """The user a bearer token belongs to, or None if the token is invalid or expired."""
    claims = verify_token(token, settings.jwt_secret)
    if claims is None:
        return None
    return await user_of_claims(session, claims)


async def user_of_claims(session: AsyncSession, claims: TokenClaims) -> User | None:
    """The user named by a verified token's claims (None once the account is gone; a detached,
    read-only copy)."""
    return await repository.signed_in_user(session, claims.user_id)


async def user_visible_to(session: AsyncSession, viewer: User, user_id: uuid.UUID) -> User | None:
    """The user with this id if the viewer may see them (themselves; anyone for admins), else None."""
    if user_id == viewer.id:
        return viewer
    if viewer.role != "admin":
        return None
    return await repository.get_user(session, user_id)


async def api_key_from_secret(session: AsyncSession, secret: str) -> ApiKey | None:
    """The partner API key matching a presented secret, or None."""
    return await repository.get_api_key(session, hash_api_key(secret))


async def create_api_key(session: AsyncSession, name: str) -> tuple[ApiKey, str]:
    """Create a partner key; returns the row and the secret (shown once, stored hashed)."""
    cleaned = name.strip()
    if not cleaned:
        raise invalid_input("API key name must not be empty.", "name")
    if len(cleaned) > MAX_NAME_LENGTH:
        raise invalid_input(f"API key name must be at most {MAX_NAME_LENGTH} characters.", "name")
    reject_control_characters(cleaned, "name")
    secret, prefix, digest = new_api_key()
    key = ApiKey(id=uuid.uuid4(), name=cleaned, prefix=prefix, key_hash=digest)
    session.add(key)
    await session.flush()
    return key, secret


async def set_role(session: AsyncSession, email: str, role: str) -> User:
    """Make a user an admin or a plain user (operator CLI)."""
    if role not in ("user", "admin"):
        raise invalid_input("Role must be 'user' or 'admin'.", "role")
    user = await repository.get_user_by_email(session, reject_control_characters(email, "email"))
    if user is None:
        raise DomainError(ErrorCode.NOT_FOUND, f"No user with email {email}.", "email")
    user.role = role
    await session.flush()
    return user


def known_tiers() -> list[str]:
    """The tiers a user can be on."""
    return list(PLANS)
