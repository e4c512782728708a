"""What a viewer may see of a lead: the one policy every read path applies.

What is sold is the seller's contact. Until the viewer has bought the lead, everything that
identifies or reaches the seller or the exact property is withheld: the contact, the street, the
source URL and the photos (both lead back to the listing) and the exact point. Free text is shown
with phone numbers, e-mail addresses, URLs and street addresses redacted; the point is snapped to
a 0.01° grid (about 1 km) and distances are those of the snapped point, rounded to 0.1 mile.
Geo filters, distance sorts and cursors run on the snapped point too (``leads.public_location``):
on the exact one, shrinking boxes, orderings or rounding flips would locate the house.

The same functions build the search-index document's text, so the index never holds what a
non-buyer may not read.
"""

from __future__ import annotations

import enum
import re
import unicodedata
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
    @property
    def photos(self) -> list[str] | None: ...


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
    photos: list[str]  # photo URLs lead back to the listing (and its contact): buyers only
    source_url: str | None
    street: str | None
    contact: Contact | None
    lat: float
    lng: float
    facts: LeadFacts = field(repr=False, compare=False)

    def text(self, value: str) -> str:
        """Any other text about the lead (an AI hint, a pricing reason) as this viewer may read it."""
        return value if self.full else redact(value, self.facts)

    def distance(self, exact_miles: float | None, public_miles: float | None) -> float | None:
        """The distance from the query's centre this viewer gets: exact for buyers, else the
        public point's distance rounded to 0.1 mi (rounding the exact one would leak it)."""
        if self.full:
            return exact_miles
        return public_distance(public_miles) if public_miles is not None else None


# --------------------------------------------------------------------------- redaction patterns
#
# Every pattern is linear-time: repetitions are bounded and possessive (``*+``, ``{m,n}+``), and
# matches can only start where a token starts, so a hostile listing ("a.a.a.a…") costs one pass.

MAX_REDACTED_CHARS = 20_000  # listing text is capped well below this; beyond it nothing is shown
_DASHES = str.maketrans({c: "-" for c in "\u2010\u2011\u2012\u2013\u2014\u2015\u2212\ufe58\ufe63\uff0d"})
_O_FOR_ZERO = re.compile(r"(?<=\d)[Oo]|[Oo](?=\d)")
_AT = r"(?:@|\(at\)|\[at\]|\{at\}|\[@\]|\s+at\s+)"
_DOT = r"(?:\.|\(dot\)|\[dot\]|\{dot\}|\[\.\]|\(\.\)|\s+dot\s+)"
_TLDS = (
    "com|net|org|edu|gov|io|co|us|biz|info|me|mail|app|site|online|xyz|realestate|realty|house|homes"
    "|ly|tv|ca|mx|uk|de|fr|es|it|nl|ch|au|in|br"
)
_START = r"(?<![\w.+-])"
_EMAIL = re.compile(
    # a literal @ with any domain; the spelled-out forms ("at", "dot") only before a known TLD
    rf"{_START}[\w.+-]{{1,64}}+@[\w-]{{1,63}}+(?:\.[\w-]{{1,63}}+){{1,8}}+"
    rf"|{_START}[\w+-]{{1,64}}+(?:\s*{_DOT}\s*[\w+-]{{1,64}}+){{0,4}}+\s*{_AT}\s*[\w-]{{1,63}}+"
    rf"(?:\s*{_DOT}\s*[\w-]{{1,63}}+){{0,4}}\s*{_DOT}\s*(?:{_TLDS})\b",
    re.IGNORECASE,
)
_URL = re.compile(
    r"(?:https?://|www\.)[^\s<>\"']{1,2048}+"
    rf"|{_START}[a-z0-9][a-z0-9-]{{0,62}}+(?:{_DOT}[a-z0-9][a-z0-9-]{{0,62}}+){{0,6}}{_DOT}(?:{_TLDS})\b"
    r"(?:/[^\s<>\"']{0,2048}+)?",
    re.IGNORECASE,
)
_SEP = r"(?:[^\w\n]|_){0,3}+"  # up to three non-alphanumeric characters between digit groups
_PHONE = re.compile(
    # 10 digits in any grouping and with any light separators (optional +1), a 7-digit local
    # number written with a separator, or an international number
    rf"(?<![\w$])(?:\+?1{_SEP})?\(?\d{{3}}\)?{_SEP}\d{{3}}{_SEP}\d{{4}}(?!\w)"
    r"|(?<![\w$.,])\d{3}[\s.\-/]\d{4}(?!\w)"
    rf"|(?<![\w$])\+\d{{1,3}}(?:{_SEP}\d{{1,4}}){{2,5}}+(?!\w)"
)
_STREET_SUFFIXES = (
    "street|st|avenue|ave|av|road|rd|boulevard|blvd|drive|dr|lane|ln|court|ct|way|place|pl|terrace|ter"
    "|circle|cir|parkway|pkwy|highway|hwy|trail|trl|loop|row|square|sq|crossing|xing|run|pass|path|pike"
    "|cove|cv|bend|ridge|creek|crk|holw|hts|plz|aly|grv|mdw|expy|fwy|tpke"
)
_STREET = re.compile(
    r"\b\d{1,6}+[a-z]?\s++(?:(?:n|s|e|w|ne|nw|se|sw|north|south|east|west)\.?\s++)?"
    r"(?:(?:[a-z]{1,3}\.|[a-z0-9][\w'\-]{0,30}+)\s++){0,4}"
    rf"(?:{_STREET_SUFFIXES})\b\.?",
    re.IGNORECASE,
)
_DIGITS = re.compile(r"\d")
_SPACES = re.compile(r"[ \t]{2,}")
_MIN_NAME_PART = 3


def _normalised(text: str) -> str:
    """The text as patterns see it: compatibility forms folded (fullwidth ＠, digits), dashes as
    "-", and an O or o written next to digits read as a zero ("214 555 O143")."""
    folded = unicodedata.normalize("NFKC", text).translate(_DASHES)
    return _O_FOR_ZERO.sub("0", folded)


def _street_parts(street: str) -> list[str]:
    """The lead's street as separate tell-tale pieces: the whole, the name without number or suffix."""
    words = street.split()
    pieces = [street]
    if words and words[0].isdigit():
        words = words[1:]
    if len(words) > 1 and re.fullmatch(_STREET_SUFFIXES, words[-1].rstrip(".").lower()):
        words = words[:-1]
    if words and sum(len(w) for w in words) >= 4:
        pieces.append(" ".join(words))
    return pieces


def _known_values(lead: ContactFacts) -> list[re.Pattern[str]]:
    """Patterns for this lead's own contact values, however the listing spelled them."""
    patterns: list[re.Pattern[str]] = []
    values = [*(_street_parts(lead.street) if lead.street and lead.street.strip() else [])]
    if lead.contact_email and lead.contact_email.strip():
        values.append(lead.contact_email)
    for value in values:
        patterns.append(re.compile(r"\s+".join(map(re.escape, value.split())), re.IGNORECASE))
    phone_digits = "".join(_DIGITS.findall(lead.contact_phone or ""))
    if len(phone_digits) >= 7:
        # the last seven digits (the local number) with any light separators between them, with
        # the area code and country code optionally in front
        local = phone_digits[-7:]
        area = phone_digits[-10:-7]
        prefix = rf"(?:(?:\+?1{_SEP})?\(?{area}\)?{_SEP})?" if area else ""
        patterns.append(re.compile(prefix + _SEP.join(local) + r"(?!\d)"))
    for part in (lead.contact_name or "").split():
        word = part.strip(".,;:'\"()")
        if len(word) >= _MIN_NAME_PART:
            patterns.append(re.compile(rf"\b{re.escape(word)}\b", re.IGNORECASE))
    return patterns


def redact(text: str, lead: ContactFacts | None = None, marker: str = REDACTED) -> str:
    """Text with phones, e-mails, URLs, street addresses (and the lead's own contact) replaced."""
    if len(text) > MAX_REDACTED_CHARS:
        return marker
    text = _normalised(text)
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
            photos=list(lead.photos or []),
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
        photos=[],
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
