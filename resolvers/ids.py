"""Opaque Relay global ids: base64 of 'Type:uuid'."""

from __future__ import annotations

import base64
import binascii
import uuid

from aiqleads.domain.errors import invalid_input


def to_global_id(type_name: str, raw_id: object) -> str:
    """Encode a type name and a database id as an opaque id."""
    return base64.urlsafe_b64encode(f"{type_name}:{raw_id}".encode()).decode().rstrip("=")


def from_global_id(global_id: str, field: str = "id") -> tuple[str, str]:
    """Decode an opaque id into (type name, raw id); INVALID_INPUT when malformed."""
    try:
        padded = global_id + "=" * (-len(global_id) % 4)
        type_name, _, raw = base64.urlsafe_b64decode(padded.encode()).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError, ValueError) as exc:
        raise invalid_input("Malformed id.", field) from exc
    if not type_name or not raw:
        raise invalid_input("Malformed id.", field)
    return type_name, raw


def uuid_of(global_id: str, expected_type: str, field: str = "id") -> uuid.UUID:
    """The UUID inside an opaque id of the expected type; INVALID_INPUT otherwise."""
    type_name, raw = from_global_id(global_id, field)
    if type_name != expected_type:
        raise invalid_input(f"Expected an id of a {expected_type}, got one of a {type_name}.", field)
    try:
        return uuid.UUID(raw)
    except ValueError as exc:
        raise invalid_input("Malformed id.", field) from exc
