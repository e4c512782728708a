"""Opaque keyset cursors of lead pages: "sql" (leads, over PostgreSQL) and "es" (searchLeads,
Elasticsearch search_after), each tied to its sort and type-checked when decoded."""

from __future__ import annotations

import base64
import binascii
import json
import uuid
from collections.abc import Sequence
from typing import Any

import orjson

from aiqleads.domain.core.filters.parse import finite, parse_datetime
from aiqleads.domain.errors import invalid_input

# Cursor kinds: "sql" (leads, keyset over PostgreSQL) and "es" (searchLeads, search_after).
_INT64_MIN, _INT64_MAX = -(2**63), 2**63 - 1
_SQL_KEY_TYPES: dict[str, str] = {
    "NEWEST": "datetime",
    "PRICE_ASC": "int",
    "PRICE_DESC": "int",
    "QUALITY": "float",
    "DISTANCE": "float",
}


def _json_default(value: Any) -> Any:
    if isinstance(value, uuid.UUID):  # asyncpg's UUID subclass, which orjson does not take
        return str(value)
    raise TypeError(f"cannot encode {type(value).__name__} in a cursor")


def encode_cursor(kind: str, sort: str, values: Sequence[Any]) -> str:
    """An opaque cursor for the position after a row (datetimes in ISO 8601 with their offset and
    microseconds, UUIDs as text: what decode_cursor reads back exactly)."""
    payload = orjson.dumps({"v": 1, "k": kind, "s": sort, "p": list(values)}, default=_json_default)
    return base64.urlsafe_b64encode(payload).decode().rstrip("=")


def _bad_cursor(message: str = "Malformed cursor: pass an endCursor returned by this query.") -> Exception:
    return invalid_input(message, "after")


def decode_cursor(cursor: Any, kind: str, sort: str) -> tuple[Any, ...] | None:
    """Decode and type-check a cursor for this query kind and sort; None when absent."""
    if cursor is None:
        return None
    if not isinstance(cursor, str) or not cursor or len(cursor) > 1000:
        raise _bad_cursor()
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        payload = json.loads(base64.urlsafe_b64decode(padded.encode()).decode())
    except (binascii.Error, UnicodeDecodeError, ValueError) as exc:
        raise _bad_cursor() from exc
    if not isinstance(payload, dict) or payload.get("v") != 1 or not isinstance(payload.get("p"), list):
        raise _bad_cursor()
    if payload.get("k") != kind:
        raise _bad_cursor("This cursor belongs to another query (leads vs searchLeads).")
    if payload.get("s") != sort:
        raise _bad_cursor(f"This cursor was issued for sort {payload.get('s')}, not {sort}.")
    values: list[Any] = payload["p"]
    if len(values) != 2:
        raise _bad_cursor()
    key, raw_id = values
    try:
        lead_id = uuid.UUID(raw_id) if isinstance(raw_id, str) else None
    except ValueError:
        lead_id = None
    if lead_id is None:
        raise _bad_cursor()
    if kind == "es":
        if finite(key) is None or (isinstance(key, int) and not _INT64_MIN <= key <= _INT64_MAX):
            raise _bad_cursor()
        return (key, str(lead_id))
    expected = _SQL_KEY_TYPES.get(sort)
    if expected == "datetime":
        parsed = parse_datetime(key, "after") if isinstance(key, str) else None
        if parsed is None:
            raise _bad_cursor()
        return (parsed, lead_id)
    if expected == "int":
        if isinstance(key, bool) or not isinstance(key, int) or not _INT64_MIN <= key <= _INT64_MAX:
            raise _bad_cursor()  # asking_price is a BIGINT: a bigger key would fail in PostgreSQL
        return (key, lead_id)
    if expected == "float":
        number = finite(key)
        if number is None:
            raise _bad_cursor()
        return (number, lead_id)
    raise _bad_cursor()
