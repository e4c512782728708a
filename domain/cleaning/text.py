"""Plain-text sanitising and small numeric parsers for scraped fields."""

from __future__ import annotations

import html
import re
import unicodedata
from typing import Any

from aiqleads.domain.cleaning.html_tree import parse_document, visible_strings

MAX_TITLE_CHARS = 200
MAX_DESCRIPTION_CHARS = 5000

_TAG_HINT = re.compile(r"<\s*[a-zA-Z!/?]")
_TAG_SHAPE = re.compile(r"<\s*[a-zA-Z!/?][^<>]*>")
_DROP_TAGS = frozenset(
    {"script", "style", "iframe", "object", "embed", "noscript", "template", "svg", "head"}
)
_BLOCK_TAGS = frozenset(
    {"p", "div", "br", "li", "tr", "h1", "h2", "h3", "h4", "h5", "h6", "section", "ul", "ol"}
)


_SPACES = re.compile(r"[ \t\u00a0\u2000-\u200b\u202f\u205f\u3000]+")
_BLANK_LINES = re.compile(r"\n\s*\n+")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\u200c-\u200f\u2060\ufeff]")
_URL_SCHEME = re.compile(r"^\s*(javascript|data|vbscript):", re.IGNORECASE)
# a script scheme anywhere in text, however spaced out ("java script:", "JaVaScRiPt :")
_SCRIPT_SCHEME = re.compile(r"(?:j\s*a\s*v\s*a|v\s*b)\s*s\s*c\s*r\s*i\s*p\s*t\s*:", re.IGNORECASE)
MAX_DECODE_ROUNDS = 10  # &amp;amp;…lt; nested deeper than this keeps its last & as text
MAX_MARKUP_ROUNDS = 4


def _decode(text: str) -> str:
    """Entities decoded and compatibility characters folded (＜ is <) until nothing changes, bounded."""
    for _ in range(MAX_DECODE_ROUNDS):
        decoded = unicodedata.normalize("NFKC", html.unescape(text))
        if decoded == text:
            break
        text = decoded
    return _CONTROL.sub("", text)


def _strip_markup(text: str) -> str:
    """Visible text of markup: dropped elements (scripts, styles, frames) go with their content,
    block elements are set apart by line breaks, comments and processing instructions are not text.

    The tree is libxml2's (the parser BeautifulSoup used here before, without its Python tree)."""
    root = parse_document(text)
    return "" if root is None else "".join(visible_strings(root, _DROP_TAGS, _BLOCK_TAGS))


def _tidy_spaces(line: str) -> str:
    """Every run of spaces as one plain space; a line that has none to change is returned as is.

    The check with string methods is much cheaper than the substitution on long text, which replaces
    each single space between words with itself.
    """
    if line.isascii() and "\t" not in line and "  " not in line:
        return line
    return _SPACES.sub(" ", line)


def to_plain_text(value: Any, max_chars: int = MAX_DESCRIPTION_CHARS) -> str | None:
    """Sanitise scraped text to plain text: no markup, no scripts, entities decoded, whitespace tidy.

    Decoding comes first and is repeated to a fixed point, so markup hidden behind one or more levels
    of escaping (``&amp;lt;script&amp;gt;``, ``&#x26;lt;img onerror=…&#x26;gt;``) is seen and
    stripped like plain markup; injected HTML (``<script>``, ``<img onerror=…>``,
    ``<a href="javascript:…">``) is reduced to its visible text. The result contains no ``<`` or
    ``>`` (stray ones become ‹ ›) and no ``javascript:``/``vbscript:``, so it is safe to render
    anywhere. Truncated to max_chars.
    """
    if value is None:
        return None
    text = _decode(str(value))
    for _ in range(MAX_MARKUP_ROUNDS):
        if not _TAG_HINT.search(text):
            break
        text = _decode(_strip_markup(text))  # the visible text may itself decode to markup
    text = _TAG_SHAPE.sub(" ", text).replace("<", "‹").replace(">", "›")
    if ":" in text:  # every script scheme ends in a colon: without one there is none to remove
        for _ in range(MAX_MARKUP_ROUNDS):
            cleaned = _SCRIPT_SCHEME.sub("", text)
            if cleaned == text:
                break
            text = cleaned
        else:
            text = _SCRIPT_SCHEME.sub("", text.replace(":", " "))
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    lines = [_tidy_spaces(line).strip() for line in text.split("\n")]
    text = _BLANK_LINES.sub("\n\n", "\n".join(lines)).strip()
    if not text:
        return None
    if len(text) > max_chars:
        cut = text[:max_chars].rsplit(" ", 1)[0]
        text = cut.rstrip(" ,.;:-") + "…"
    return text


def single_line(value: Any, max_chars: int = MAX_TITLE_CHARS) -> str | None:
    """Plain text on one line (titles, names)."""
    text = to_plain_text(value, max_chars=max_chars)
    if text is None:
        return None
    return _SPACES.sub(" ", text.replace("\n", " ")).strip() or None


def safe_url(value: Any) -> str | None:
    """An http(s) URL or None (drops javascript:, data: and other schemes)."""
    if not isinstance(value, str):
        return None
    url = value.strip()
    if not url or _URL_SCHEME.match(url):
        return None
    if url.startswith("//"):
        url = "https:" + url
    if not url.lower().startswith(("http://", "https://")):
        return None
    if any(c in url for c in " <>\"'\n"):
        return None
    return url[:2000]


_NUMBER = re.compile(r"(\d{1,3}(?:,\d{3})+|\d+)(?:\.(\d+))?")


def first_number(value: Any) -> float | None:
    """The first number in a value ("1,850 sqft" → 1850.0, "2.5 ba" → 2.5)."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return float(value)
    match = _NUMBER.search(str(value))
    if not match:
        return None
    whole = match.group(1).replace(",", "")
    frac = match.group(2)
    return float(f"{whole}.{frac}") if frac else float(whole)


_BEDS = re.compile(r"(\d+(?:\.\d+)?)\s*(?:br\b|bd\b|bds\b|beds?\b|bedrooms?\b|bdrm?s?\b)", re.IGNORECASE)
_BATHS = re.compile(r"(\d+(?:\.\d+)?)\s*(?:ba\b|baths?\b|bathrooms?\b|bth\b|full baths?\b)", re.IGNORECASE)
_SQFT = re.compile(
    r"(\d{1,3}(?:,\d{3})+|\d{3,6})\s*(?:sq\.?\s*f(?:ee)?t\.?|sqft|sf\b|ft2|ft²|square\s+feet)",
    re.IGNORECASE,
)
_STUDIO = re.compile(r"\bstudio\b", re.IGNORECASE)


def parse_bedrooms(value: Any) -> int | None:
    """Bedrooms from 3, "3", "3 bd", "3br", "Studio" (0)."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return int(value)
    text = str(value)
    match = _BEDS.search(text)
    if match:
        return int(float(match.group(1)))
    if _STUDIO.search(text):
        return 0
    if re.fullmatch(r"\s*\d+\s*", text):
        return int(text)
    return None


def parse_bathrooms(value: Any) -> float | None:
    """Bathrooms from 2, "2.5", "2.5 ba", "2 full 1 half" (2.5)."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return float(value)
    text = str(value)
    full = re.search(r"(\d+)\s*full", text, re.IGNORECASE)
    half = re.search(r"(\d+)\s*half", text, re.IGNORECASE)
    if full:
        return float(full.group(1)) + (0.5 * int(half.group(1)) if half else 0.0)
    match = _BATHS.search(text)
    if match:
        return float(match.group(1))
    if re.fullmatch(r"\s*\d+(?:\.\d+)?\s*", text):
        return float(text)
    return None


def parse_sqft(value: Any) -> int | None:
    """Living area from 1850, "1,850 sqft", "1850ft2", "1,850 sq. ft."."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return int(value)
    text = str(value)
    match = _SQFT.search(text)
    if match:
        return int(match.group(1).replace(",", ""))
    if re.fullmatch(r"\s*[\d,]+\s*", text):
        return int(text.replace(",", ""))
    return None


def find_in_text(text: str | None) -> dict[str, Any]:
    """Beds, baths and sqft mentioned in free text ("3br/2ba, 1,850 sqft")."""
    if not text:
        return {}
    found: dict[str, Any] = {}
    if match := _BEDS.search(text):
        found["bedrooms"] = int(float(match.group(1)))
    if match := _BATHS.search(text):
        found["bathrooms"] = float(match.group(1))
    if match := _SQFT.search(text):
        found["sqft"] = int(match.group(1).replace(",", ""))
    return found
