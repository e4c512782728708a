"""Checks every area applies to free text sent by clients before it reaches PostgreSQL."""

from __future__ import annotations

import re
import unicodedata

from aiqleads.domain.errors import invalid_input

_LINE_BREAKS = frozenset("\n\r\t")
_SURROGATE = re.compile("[\ud800-\udfff]")


def has_control_characters(value: str, *, multiline: bool = False) -> bool:
    """Whether the text holds control characters (NUL, escapes, …); multiline allows tab and newlines."""
    return any(
        unicodedata.category(char) == "Cc" and not (multiline and char in _LINE_BREAKS) for char in value
    )


def reject_control_characters(value: str, field: str, *, multiline: bool = False) -> str:
    """The text unchanged, or INVALID_INPUT naming field when it holds control characters.

    PostgreSQL text cannot store NUL at all, nor can UTF-8 encode a lone surrogate, so without
    this check such input would surface as an unexpected database error instead of a typed error.
    """
    if has_control_characters(value, multiline=multiline):
        raise invalid_input("Must not contain control characters.", field)
    if has_lone_surrogates(value):
        raise invalid_input("Must be valid Unicode text (no lone surrogate code points).", field)
    return value


def has_lone_surrogates(value: str) -> bool:
    """Whether the text holds unpaired UTF-16 surrogates (JSON's "\\ud800"): not encodable as UTF-8."""
    return _SURROGATE.search(value) is not None  # a C scan: these checks run on every request
