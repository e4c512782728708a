"""Plain-text sanitising and small numeric parsers for scraped fields."""

from __future__ import annotations

import html
import re
import unicodedata
import warnings
from typing import Any

from bs4 import BeautifulSoup, MarkupResemblesLocatorWarning

MAX_TITLE_CHARS = 200
MAX_DESCRIPTION_CHARS = 5000

_TAG_HINT = re.compile(r"<[a-zA-Z!/?]|&[#a-zA-Z0-9]+;")
_DROP_TAGS = ("script", "style", "iframe", "object", "embed", "noscript", "template", "svg", "head")
_BLOCK_TAGS = ("p", "div", "br", "li", "tr", "h1", "h2", "h3", "h4", "h5", "h6", "section", "ul", "ol")
_SPACES = re.compile(r"[ \t\u00a0\u2000-\u200b\u202f\u205f\u3000]+")
_BLANK_LINES = re.compile(r"\n\s*\n+")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_URL_SCHEME = re.compile(r"^\s*(javascript|data|vbscript):", re.IGNORECASE)


def to_plain_text(value: Any, max_chars: int = MAX_DESCRIPTION_CHARS, _depth: int = 0) -> str | None:
    """Sanitise scraped text to plain text: no markup, no scripts, entities decoded, whitespace tidy.

    HTML injected into a description (``<script>``, ``<img onerror=…>``, ``<a href="javascript:…">``)
    is reduced to its visible text; what is left is safe to render anywhere. Truncated to max_chars.
    """
    if value is None:
        return None
    text = str(value)
    if _TAG_HINT.search(text):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", MarkupResemblesLocatorWarning)
            soup = BeautifulSoup(text, "lxml")
        for tag in soup.find_all(_DROP_TAGS):
            tag.decompose()
        for tag in soup.find_all(_BLOCK_TAGS):
            tag.insert_before("\n")
            tag.insert_after("\n")
        text = soup.get_text()
        # markup that survived as text (double-escaped &lt;script&gt;) is parsed and stripped again
        if "<" in text and _TAG_HINT.search(text):
            if _depth < 3:
                return to_plain_text(text, max_chars, _depth + 1)
            text = re.sub(r"<[^>]*>", " ", text).replace("<", " ").replace(">", " ")
    text = html.unescape(text)
    text = unicodedata.normalize("NFKC", text)
    text = _CONTROL.sub("", text).replace("\r\n", "\n").replace("\r", "\n")
    lines = [_SPACES.sub(" ", line).strip() for line in text.split("\n")]
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
