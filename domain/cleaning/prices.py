"""Asking prices as written by sellers: "$350K", "350,000 OBO", "$1.2M", "1.2 million"."""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation
from typing import Any

MIN_PLAUSIBLE_PRICE = 1_000
MAX_PLAUSIBLE_PRICE = 200_000_000

_RENT = re.compile(
    r"(/\s*(mo|mth|month|wk|week)\b|\bper\s+(month|week)\b|\ba\s+month\b|\bmonthly\b|\bweekly\b|\brent\b)",
    re.IGNORECASE,
)
_AMOUNT = re.compile(
    r"""
    (?P<cur>\$\s*)?
    (?P<num>\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?)   # 350,000 | 350000 | 1.2
    \s*
    (?P<unit>k\b|thousand\b|m\b|mm\b|mil\b|mill?ion\b|b\b|billion\b)?
    """,
    re.IGNORECASE | re.VERBOSE,
)
_MULTIPLIERS = {
    "k": 1_000,
    "thousand": 1_000,
    "m": 1_000_000,
    "mm": 1_000_000,
    "mil": 1_000_000,
    "milion": 1_000_000,
    "million": 1_000_000,
    "b": 1_000_000_000,
    "billion": 1_000_000_000,
}


def is_rent(value: Any) -> bool:
    """Whether a price text is a rent ("$2,500/mo", "1800 per month")."""
    return isinstance(value, str) and bool(_RENT.search(value))


def parse_price(value: Any) -> int | None:
    """Whole US dollars from a price as written, or None if there is no sale price in it.

    Numbers pass through; text takes the first amount with its unit ("$350K-$375K" → 350000).
    Rents ("$2,500/mo") and texts without digits ("Call for price") give None. Plausibility (too low
    or too high) is judged by validation, not here.
    """
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return round(value) if value == value else None  # NaN → None
    text = str(value).strip()
    if not text or is_rent(text):
        return None
    # currency words count as a "$": amounts marked as money win over other numbers ("3 bd, $350K")
    cleaned = re.sub(r"(?i)\b(usd|us\$|dollars?)\b", " $", text)
    matches = list(_AMOUNT.finditer(cleaned))
    with_currency = [m for m in matches if m.group("cur")]
    for match in with_currency or matches:
        num = match.group("num").replace(",", "")
        unit = (match.group("unit") or "").lower()
        try:
            amount = Decimal(num)
        except InvalidOperation:  # pragma: no cover - the regex only matches decimals
            continue
        if unit:
            amount *= _MULTIPLIERS[unit]
        return int(amount.to_integral_value())
    return None
