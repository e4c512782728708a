"""Property types as each site spells them, mapped onto the marketplace's enum."""

from __future__ import annotations

import re
from typing import Any

from aiqleads.domain.core.vocabulary import PROPERTY_TYPES

# ordered: the first pattern that matches wins (so "mobile home" is MANUFACTURED, not SINGLE_FAMILY)
_RULES: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("MANUFACTURED", re.compile(r"manufactured|mobile|modular|trailer|double[\s-]?wide|single[\s-]?wide")),
    (
        "MULTI_FAMILY",
        re.compile(
            r"multi[\s_-]?family|duplex|triplex|fourplex|quadplex|\d[\s-]?plex|apartment building"
            r"|multi[\s-]?unit|income property"
        ),
    ),
    ("TOWNHOUSE", re.compile(r"town[\s_-]?(house|home)|rowhouse|row home|townhse")),
    ("CONDO", re.compile(r"condo|apartment|\bapt\b|\bco-?op\b|\bloft\b|high[\s-]?rise")),
    (
        "LAND",
        re.compile(
            r"\bland\b|\blot\b|acreage|vacant|\bparcel\b|lots_land|farmland"
            r"|\b(?:buildable|residential) lots?\b"
        ),
    ),
    (
        "SINGLE_FAMILY",
        re.compile(
            r"single[\s_-]?family|\bhouse\b|\bhome\b|\bsfr\b|residence|bungalow|cottage|ranch|villa"
            r"|detached|sfh"
        ),
    ),
)


def normalize_property_type(value: Any, *, fallback_text: str | None = None) -> str:
    """One of PROPERTY_TYPES from a site's label ("SINGLE_FAMILY", "Townhome", "house", "lot").

    When the label is missing or unknown, the title/description in fallback_text is tried; OTHER
    when nothing matches.
    """
    for text in (value, fallback_text):
        if not isinstance(text, str) or not text.strip():
            continue
        upper = text.strip().upper().replace(" ", "_")
        if upper in PROPERTY_TYPES:
            return upper
        lowered = text.lower()
        for kind, pattern in _RULES:
            if pattern.search(lowered):
                return kind
    return "OTHER"
