"""What a viewer may see of a lead: the one policy every read path applies.

What is sold is the seller's contact. Until the viewer has bought the lead, everything that
identifies or reaches the seller or the exact property is withheld: the contact, the street, the
source URL (the original listing shows the contact) and the exact point. Free text is shown with
phone numbers, e-mail addresses, URLs and street addresses redacted; the point is snapped to a
0.01° grid (about 1 km) and distances are rounded to 0.1 mile. Filters and sorts keep running on
the exact point in the database: rounding is monotonic, so a distance-sorted list stays in the
order of the distances shown.

The same functions build the search-index document's text, so the index never holds what a
non-buyer may not read.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Protocol

REDACTED = "[contact hidden]"
GRID_DEGREES = 0.01
GRID_DECIMALS = 2
DISTANCE_DECIMALS = 1


class ViewerKind(enum.Enum):
    """Who is looking: the policy's only input besides whether they bought the lead."""

    ANONYMOUS = "anonymous"
    PARTNER = "partner"  # an API key: partners explore the marketplace, they do not buy
    BUYER = "buyer"  # a signed-in user
    ADMIN = "admin"  # an operator (reviews returns, answers disputes)


def sees_originals(kind: ViewerKind, purchased: bool) -> bool:
    """Whether this viewer sees a lead's paid fields: its buyers (not returned) and operators."""
    if kind is ViewerKind.ADMIN:
        return True
    return kind is ViewerKind.BUYER and purchased


class ContactFacts(Protocol):
    """A lead's own paid values, redacted wherever its text repeats them (read-only attributes)."""

    @property
    def street(self) -> str | None: ...
    @property
    def contact_name(self) -> str | None: ...
    @property
    def contact_phone(self) -> str | None: ...
    @property
    def contact_email(self) -> str | None: ...


class LeadFacts(ContactFacts, Protocol):
    """The attributes of a lead row the policy reads."""

    @property
    def title(self) -> str: ...
    @property
    def description(self) -> str | None: ...
    @property
    def fraud_signals(self) -> list[str] | None: ...
    @property
    def source_url(self) -> str | None: ...


@dataclass(frozen=True)
class Contact:
    """The seller's contact details (only ever built for a viewer who may see them)."""

    name: str | None
    phone: str | None
    email: str | None


@dataclass(frozen=True)
class VisibleLead:
    """A lead's viewer-dependent fields, as this viewer may see them."""

    full: bool
    title: str
    description: str | None
    fraud_signals: list[str]
    source_url: str | None
    street: str | None
    contact: Contact | None
    lat: float
    lng: float
    facts: LeadFacts = field(repr=False, compare=False)

    def text(self, value: str) -> str:
        """Any other text about the lead (an AI hint, a pricing reason) as this viewer may read it."""
        return value if self.full else redact(value, self.facts)

    def distance(self, miles: float | None) -> float | None:
        """A distance from the query's centre at the precision this viewer gets."""
        if miles is None or self.full:
            return miles
        return public_distance(miles)


# --------------------------------------------------------------------------- redaction patterns

_AT = r"(?:@|\(at\)|\[at\]|\{at\}|\s+at\s+)"
_DOT = r"(?:\.|\(dot\)|\[dot\]|\s+dot\s+)"
_EMAIL = re.compile(
    rf"[\w+-]+(?:\s*{_DOT}\s*[\w+-]+)*\s*{_AT}\s*[\w-]+(?:\s*{_DOT}\s*[\w-]+)*"
    rf"\s*{_DOT}\s*(?:com|net|org|edu|gov|io|co|us|biz|info|me|mail)\b",
    re.IGNORECASE,
)
_URL = re.compile(
    r"(?:https?://|www\.)[^\s<>\"']+"
    r"|\b[a-z0-9][a-z0-9-]*(?:\.[a-z0-9-]+)*\.(?:com|net|org|io|co|us|biz|info|ly|me)\b(?:/[^\s<>\"']*)?",
    re.IGNORECASE,
)
# 10 digits in the usual groupings (optional +1), or a 7-digit local number written with a separator
_PHONE = re.compile(
    r"(?<![\w])(?:\+?1[\s.\-]*)?\(?\d{3}\)?[\s.\-]*\d{3}[\s.\-]*\d{4}(?![\w])"
    r"|(?<![\w$.,])\d{3}[.\-]\d{4}(?![\w])"
)
_STREET_SUFFIXES = (
    "street|st|avenue|ave|av|road|rd|boulevard|blvd|drive|dr|lane|ln|court|ct|way|place|pl|terrace|ter"
    "|circle|cir|parkway|pkwy|highway|hwy|trail|trl|loop|row|square|sq|crossing|xing|run|pass|path|pike"
)
_STREET = re.compile(
    r"\b\d{1,6}[a-z]?\s+(?:(?:n|s|e|w|ne|nw|se|sw|north|south|east|west)\.?\s+)?"
    r"(?:[a-z0-9][\w'\-]*\s+){0,3}"
    rf"(?:{_STREET_SUFFIXES})\b\.?",
    re.IGNORECASE,
)
_DIGITS = re.compile(r"\d")
_SPACES = re.compile(r"[ \t]{2,}")
_MIN_NAME_PART = 3


def _known_values(lead: ContactFacts) -> list[re.Pattern[str]]:
    """Patterns for this lead's own contact values, however the listing spelled them."""
    patterns: list[re.Pattern[str]] = []
    for value in (lead.street, lead.contact_email):
        if value and value.strip():
            patterns.append(re.compile(r"\s+".join(map(re.escape, value.split())), re.IGNORECASE))
    phone_digits = "".join(_DIGITS.findall(lead.contact_phone or ""))
    if len(phone_digits) >= 10:
        local = phone_digits[-10:]
        # the ten digits with any separators between them (e.g. "214 555 0143", "214.555.0143")
        patterns.append(re.compile(r"(?:\+?1[\s.\-]*)?\(?" + r"[\s().\-]*".join(local)))
    for part in (lead.contact_name or "").split():
        word = part.strip(".,;:'\"()")
        if len(word) >= _MIN_NAME_PART:
            patterns.append(re.compile(rf"\b{re.escape(word)}\b", re.IGNORECASE))
    return patterns


def redact(text: str, lead: ContactFacts | None = None, marker: str = REDACTED) -> str:
    """Text with phones, e-mails, URLs, street addresses (and the lead's own contact) replaced."""
    known = _known_values(lead) if lead is not None else []
    # e-mails and URLs first: a name inside an address must not break the address's pattern
    patterns: Iterable[re.Pattern[str]] = [_EMAIL, _URL, *known, _PHONE, _STREET]
    for pattern in patterns:
        text = pattern.sub(marker, text)
    if marker:  # "[contact hidden] [contact hidden]" reads as one hidden thing
        doubled = re.escape(marker) + r"(?:[\s,;/&+-]*" + re.escape(marker) + r")+"
        text = re.sub(doubled, marker, text)
    return _SPACES.sub(" ", text)


def public_point(lat: float, lng: float) -> tuple[float, float]:
    """The point snapped to the 0.01° grid (about 1 km), the precision non-buyers get."""
    return round(round(lat / GRID_DEGREES) * GRID_DEGREES, GRID_DECIMALS), round(
        round(lng / GRID_DEGREES) * GRID_DEGREES, GRID_DECIMALS
    )


def public_distance(miles: float) -> float:
    """A distance rounded to 0.1 mile (monotonic, so sorted lists stay sorted)."""
    return round(miles, DISTANCE_DECIMALS)


def visible_lead(lead: LeadFacts, lat: float, lng: float, *, full: bool) -> VisibleLead:
    """The viewer-dependent fields of a lead: the originals when ``full``, else the public versions."""
    if full:
        return VisibleLead(
            full=True,
            title=lead.title,
            description=lead.description,
            fraud_signals=list(lead.fraud_signals or []),
            source_url=lead.source_url,
            street=lead.street,
            contact=Contact(lead.contact_name, lead.contact_phone, lead.contact_email),
            lat=lat,
            lng=lng,
            facts=lead,
        )
    plat, plng = public_point(lat, lng)
    return VisibleLead(
        full=False,
        title=redact(lead.title, lead),
        description=redact(lead.description, lead) if lead.description is not None else None,
        # AI review hints can quote the listing, contact included
        fraud_signals=[redact(signal, lead) for signal in lead.fraud_signals or []],
        source_url=None,
        street=None,
        contact=None,
        lat=plat,
        lng=plng,
        facts=lead,
    )


def index_text(value: str | None, lead: Any) -> str:
    """The searchable version of a lead's text: what a non-buyer may read, without the markers."""
    if not value:
        return ""
    return redact(value, lead, marker=" ")
