"""Phone numbers and e-mail addresses in one normal form (E.164, lower case), including the
obfuscations sellers use on listings: what "the same contact" means for dedup and returns."""

from __future__ import annotations

import re
from typing import Any

import phonenumbers

_WORDS = {
    "zero": "0",
    "oh": "0",
    "one": "1",
    "two": "2",
    "three": "3",
    "four": "4",
    "for": "4",
    "five": "5",
    "six": "6",
    "seven": "7",
    "eight": "8",
    "nine": "9",
}
_WORD_RE = re.compile(r"\b(" + "|".join(_WORDS) + r")\b", re.IGNORECASE)
# "214 555 O123" (letter O for zero) and "2l4" (letter l for one) inside digit runs
_LOOKALIKE = re.compile(r"(?<=[\d\s.\-)])[oO](?=[\d\s.\-])|(?<=\d)[lI](?=\d)")


def _deobfuscate(text: str) -> str:
    text = _WORD_RE.sub(lambda m: _WORDS[m.group(1).lower()], text)
    return _LOOKALIKE.sub(lambda m: "0" if m.group(0) in "oO" else "1", text)


def _readings(text: str) -> tuple[str, ...]:
    """The text as written and, when it differs, with its obfuscations undone (a second pass of
    the matcher over the same text finds nothing new, and the matcher is most of cleaning's cost)."""
    plain = _deobfuscate(text)
    return (text,) if plain == text else (text, plain)


def normalize_phone(value: Any, region: str = "US") -> str | None:
    """The first valid phone number in a value, in E.164 ("+12145550123"), or None.

    Accepts the usual formats ("(214) 555-0123", "214.555.0123 ext 4", "+1 214 555 0123") and the
    spelled-out obfuscations of classified ads ("two one four 555 0123", "214 five five five O123").
    """
    if value is None:
        return None
    text = str(value).strip()
    if not text:
        return None
    for candidate in _readings(text):
        found = _first_valid(candidate, region)
        if found:
            return found
    return None


def _first_valid(text: str, region: str) -> str | None:
    for match in phonenumbers.PhoneNumberMatcher(text, region, leniency=phonenumbers.Leniency.VALID):
        return phonenumbers.format_number(match.number, phonenumbers.PhoneNumberFormat.E164)
    digits = re.sub(r"[^\d+]", "", text)
    if 10 <= len(digits.lstrip("+")) <= 11:
        try:
            number = phonenumbers.parse(digits, region)
        except phonenumbers.NumberParseException:
            return None
        if phonenumbers.is_valid_number(number):
            return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    return None


def phones_in_text(text: str | None, region: str = "US") -> list[str]:
    """Every valid phone number mentioned in free text, E.164, in order, without repeats."""
    if not text:
        return []
    seen: list[str] = []
    for candidate in _readings(text):
        for match in phonenumbers.PhoneNumberMatcher(candidate, region, leniency=phonenumbers.Leniency.VALID):
            e164 = phonenumbers.format_number(match.number, phonenumbers.PhoneNumberFormat.E164)
            if e164 not in seen:
                seen.append(e164)
    return seen


_EMAIL = re.compile(r"[A-Za-z0-9._%+\-]+@[A-Za-z0-9.\-]+\.[A-Za-z]{2,24}")


def normalize_email(value: Any) -> str | None:
    """A lower-cased email address found in a value, or None."""
    if not isinstance(value, str):
        return None
    match = _EMAIL.search(value.replace(" at ", "@").replace("[at]", "@").replace("(at)", "@"))
    if not match:
        return None
    email = match.group(0).strip(".").lower()
    return email if len(email) <= 320 else None
