"""What a viewer may see of a lead, and at what price: the one policy every read path applies.

What is sold is the seller's contact. Until the viewer has bought the lead, everything that
identifies or reaches the seller or the exact property is withheld: the contact, the street, the
source URL and the photos (both lead back to the listing) and the exact point. Free text is shown
with phone numbers, e-mail addresses, URLs and street addresses redacted; the point is snapped to
a 0.01° grid (about 1 km) and distances are those of the snapped point, rounded to 0.1 mile.
Geo filters, distance sorts and cursors run on the snapped point too (``leads.public_location``):
on the exact one, shrinking boxes, orderings or rounding flips would locate the house.

The same functions build the search-index document's text, so the index never holds what a
non-buyer may not read. The policy also says which kinds of object ``node(id)`` may return to a
viewer, and the credit price a viewer is shown (the lead's price after the tier discount).
"""

from __future__ import annotations

import enum
import functools
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from aiqleads.domain.core.plans import discounted

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


def viewer_kind(role: str | None, *, signed_in: bool, api_key: bool) -> ViewerKind:
    """The policy's name for a caller: a signed-in user (an operator when ``role`` is admin), else a
    partner when an API key came with the request, else anonymous."""
    if signed_in:
        return ViewerKind.ADMIN if role == "admin" else ViewerKind.BUYER
    return ViewerKind.PARTNER if api_key else ViewerKind.ANONYMOUS


def viewer_price(price_credits: int, tier: str | None) -> int:
    """The credit price this viewer is shown: the lead's price after the discount of the tier in effect
    (``None``, anonymous callers and partners, pay FREE prices)."""
    return discounted(price_credits, tier or "FREE")


# The object kinds node(id) returns: any Lead to anyone (its paid fields follow the policy below);
# the others only to a signed-in viewer, and each resolver then checks that the object is the
# viewer's own (or, for an admin, any User or LeadReturn).
PUBLIC_NODE_TYPES = frozenset({"Lead"})
SIGNED_IN_NODE_TYPES = frozenset({"User", "Purchase", "LeadReturn", "CreditTransaction", "Payment"})


def may_look_up_node(kind: ViewerKind, type_name: str) -> bool:
    """Whether node(id) may look up an object of this type for this viewer at all."""
    if type_name in PUBLIC_NODE_TYPES:
        return True
    return kind in (ViewerKind.BUYER, ViewerKind.ADMIN) and type_name in SIGNED_IN_NODE_TYPES


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


class VisibleLead:
    """A lead's viewer-dependent fields, as this viewer may see them.

    Redacted text is computed on first access and kept: a page that selects only locations or
    prices never pays for redaction, and the lead's own contact patterns are built once.
    """

    def __init__(self, lead: LeadFacts, lat: float, lng: float, *, full: bool) -> None:
        self.full = full
        self.facts = lead
        self.lat, self.lng = (lat, lng) if full else public_point(lat, lng)
        self.source_url = lead.source_url if full else None
        self.street = lead.street if full else None
        self.contact = Contact(lead.contact_name, lead.contact_phone, lead.contact_email) if full else None
        # photo URLs lead back to the listing (and its contact): buyers only
        self.photos: list[str] = list(lead.photos or []) if full else []

    @functools.cached_property
    def _known(self) -> ContactValues:
        return _known_values(self.facts)

    def text(self, value: str) -> str:
        """Any text about the lead (title, description, an AI hint, a pricing reason) as this viewer
        may read it."""
        return value if self.full else _redact(value, self._known)

    @functools.cached_property
    def title(self) -> str:
        """The listing title."""
        return self.text(self.facts.title)

    @functools.cached_property
    def description(self) -> str | None:
        """The listing description."""
        value = self.facts.description
        return self.text(value) if value is not None else None

    @functools.cached_property
    def fraud_signals(self) -> list[str]:
        """The fraud signals (AI review hints can quote the listing, contact included)."""
        return [self.text(signal) for signal in self.facts.fraud_signals or []]

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
# an O next to a digit; written O-first (the same matches as "(?<=\d)[Oo]|[Oo](?=\d)") so the scan
# jumps from O to O instead of trying a look-behind at every character
_O_FOR_ZERO = re.compile(r"[Oo](?:(?<=\d[Oo])|(?=\d))")
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

# What a text must contain for each fixed pattern to match in it, searched far faster than the
# pattern itself (most listing text holds no contact at all): a text without it is left as it is.
# Each is a necessary condition of a match (tests compare with applying every pattern):
# - an e-mail has "@" or a spelled-out at ("(at)", "[at]", "{at}", " at ");
_EMAIL_NEEDS = re.compile(r"@|\(at\)|\[at\]|\{at\}|\sat\s", re.IGNORECASE)
# - a URL has "://", "www." or a dot (any spelling of _DOT ends in ".", ")", "]", "}" or "dot" and
#   spaces) right before a known TLD;
_URL_TLD_NEEDS = re.compile(rf"(?:[.)\]}}]|dot\s+)(?:{_TLDS})\b", re.IGNORECASE)
# - a phone has "+" or two groups of three digits with at most four non-word characters (or "_")
#   between them (the 10-digit forms' first two groups; the 7-digit form's three and four).
#   (written "+ or digit" first, so the scan jumps between those)
_PHONE_NEEDS = re.compile(r"[+\d](?:(?<=\+)|(?<=\d)\d{2}[\W_]{0,4}\d{3})")


def _may_hold_url(text: str) -> bool:
    # "www." is matched case-insensitively; only ASCII W and w equal it (see _ASCII_FOLD)
    return "://" in text or "www." in text.lower() or _URL_TLD_NEEDS.search(text) is not None


_STREET_SUFFIXES = (
    "street|st|avenue|ave|av|road|rd|boulevard|blvd|drive|dr|lane|ln|court|ct|way|place|pl|terrace|ter"
    "|circle|cir|parkway|pkwy|highway|hwy|trail|trl|loop|row|square|sq|crossing|xing|run|pass|path|pike"
    "|cove|cv|bend|ridge|creek|crk|holw|hts|plz|aly|grv|mdw|expy|fwy|tpke"
)
_STREET_SUFFIX_WORDS = frozenset(_STREET_SUFFIXES.split("|"))


def _word_trie(words: frozenset[str]) -> str:
    """An alternation of the words written as a trie ("s(?:t(?:reet)?|q(?:uare)?)|…"): the regex
    engine tries the alternatives of a plain alternation one by one at every place it could start
    (the street pattern's suffix, at every word after a house number), and a trie's first letters
    only. Followed by ``\\b``, at most one of the words can match at a place, so the order of the
    alternatives changes no match (a test compares with the plain alternation)."""
    branches: dict[str, set[str]] = {}
    for word in words:
        branches.setdefault(word[:1], set()).add(word[1:])
    alternatives = []
    for first in sorted(branches):
        rests = branches[first]
        rest = _word_trie(frozenset(r for r in rests if r)) if rests - {""} else ""
        if rest and "" in rests:
            rest = f"(?:{rest})?"
        alternatives.append(re.escape(first) + rest)
    return alternatives[0] if len(alternatives) == 1 else "(?:" + "|".join(alternatives) + ")"


_STREET = re.compile(
    # a house number of 1-6 digits after a word boundary, written digit-first ("\d(?<!\w\d)" is
    # "\b\d": nothing of a word before it) so the scan jumps from digit to digit
    r"\d(?<!\w\d)\d{0,5}+[a-z]?\s++(?:(?:n|s|e|w|ne|nw|se|sw|north|south|east|west)\.?\s++)?"
    r"(?:(?:[a-z]{1,3}\.|[a-z0-9][\w'\-]{0,30}+)\s++){0,4}"
    rf"{_word_trie(_STREET_SUFFIX_WORDS)}\b\.?",
    re.IGNORECASE,
)
_DIGITS = re.compile(r"\d")
_SPACES = re.compile(r"[ \t]{2,}")
_MIN_NAME_PART = 3


def _normalised(text: str) -> str:
    """The text as patterns see it: compatibility forms folded (fullwidth ＠, digits), dashes as
    "-", and an O or o written next to digits read as a zero ("214 555 O143")."""
    # (ASCII text is its own NFKC form and holds none of the dashes)
    folded = text if text.isascii() else unicodedata.normalize("NFKC", text).translate(_DASHES)
    return _O_FOR_ZERO.sub("0", folded)


def _street_name(words: list[str]) -> list[str]:
    """The words of a street's name: without its number or suffix; none if under 4 letters."""
    if words and words[0].isdigit():
        words = words[1:]
    # (a full match of the suffixes' alternation of lower-case words is membership among them)
    if len(words) > 1 and words[-1].rstrip(".").lower() in _STREET_SUFFIX_WORDS:
        words = words[:-1]
    return words if words and sum(len(w) for w in words) >= 4 else []


def _street_parts(street: str) -> list[str]:
    """The lead's street as separate tell-tale pieces: the whole, the name without number or suffix."""
    words = street.split()
    pieces = [street]
    name = _street_name(words)
    if name:
        pieces.append(" ".join(name))
    return pieces


# The four non-ASCII characters that case-insensitive matching equates with ASCII letters (İ ı → i,
# ſ → s, K → k; a test checks every code point): a needle search on the folded text finds every
# place where an ASCII value's case-insensitive pattern could match.
_ASCII_FOLD = str.maketrans({"\u0130": "i", "\u0131": "i", "\u017f": "s", "\u212a": "k"})
_NOT_ASCII_DIGIT = re.compile(r"[^0-9]+")
_NOT_DIGIT_BYTES = bytes(c for c in range(256) if not 0x30 <= c <= 0x39)


def _ascii_digits(text: str) -> str:
    """The text's ASCII digits, in order (bytes.translate for ASCII text: five times the regex's speed)."""
    if text.isascii():
        return text.encode("ascii").translate(None, _NOT_DIGIT_BYTES).decode("ascii")
    return _NOT_ASCII_DIGIT.sub("", text)


@dataclass(eq=False, slots=True)  # compared and hashed by identity: redaction answers are cached by it
class KnownValue:
    """One of a lead's own contact values as a pattern, with what a text must contain to match it.

    Compiling a lead's patterns cost more than the rest of its redaction (and leads rarely repeat
    their contact in the text), so a pattern is compiled only for a text that passes the check:
    every needle (lower-case ASCII) inside the folded text, and ``digits`` consecutive among the
    text's ASCII digits. Both are necessary conditions of a match, so skipping is always safe.
    """

    kind: str  # how the value is spelled as a pattern: "words", "word" or "phone" (_known_source)
    value: str  # the value (for "phone", its digits)
    flags: int
    needles: tuple[str, ...] = ()
    digits: str = ""
    checked: bool = True  # False: a value outside ASCII is applied to every text

    def could_match(self, folded: str, digits: str) -> bool:
        """Whether the text (folded, and its ASCII digits) could contain a match."""
        if not self.checked:
            return True
        for needle in self.needles:  # (a loop, not all(): this runs for every value of every text)
            if needle not in folded:
                return False
        return self.digits in digits

    @property
    def source(self) -> str:
        """The pattern's source (written only when a text needs the pattern: most never do)."""
        return _known_source(self.kind, self.value)

    @property
    def pattern(self) -> re.Pattern[str]:
        """The compiled pattern (compiled once per process per distinct value)."""
        return _compiled(self.source, self.flags)


def _known_source(kind: str, value: str) -> str:
    if kind == "words":  # the words in order, with any spacing between them
        return r"\s+".join(map(re.escape, value.split()))
    if kind == "word":
        return rf"\b{re.escape(value)}\b"
    # the last seven digits (the local number) with any light separators between them, with the
    # area code and country code optionally in front
    local, area = value[-7:], value[-10:-7]
    prefix = rf"(?:(?:\+?1{_SEP})?\(?{area}\)?{_SEP})?" if area else ""
    return prefix + _SEP.join(local) + r"(?!\d)"


@functools.lru_cache(maxsize=8192)
def _compiled(source: str, flags: int) -> re.Pattern[str]:
    return re.compile(source, flags)


def _words_value(kind: str, value: str) -> KnownValue:
    """A case-insensitive value whose words must each appear (checked only for ASCII values)."""
    words = tuple([w.lower() for w in value.split()])
    return KnownValue(kind, value, re.IGNORECASE, needles=words, checked=value.isascii())


def _known_values(lead: ContactFacts, *, remember: bool = True) -> ContactValues:
    """This lead's own contact values, however the listing spelled them (``remember``: from the
    read paths' memo), built once a text could hold one of them."""
    return ContactValues(lead.street, lead.contact_email, lead.contact_phone, lead.contact_name, remember)


class ContactValues:
    """A lead's own contact values (``_contact_values``), built only for a text that could hold one.

    Building them (splitting, folding and checking each value) cost a cold listing title as much
    as the rest of its redaction, and most texts hold none of them. A value can match a text only
    if its first needle is in the folded text (a phone: its seven local digits among the text's
    digits), so that is checked first, from the first words alone; a value outside ASCII (never
    checked) always builds them. Tests compare with building every value for every text.
    """

    __slots__ = ("_remember", "_screen", "_screened", "_values", "key")

    def __init__(
        self, street: str | None, email: str | None, phone: str | None, name: str | None, remember: bool
    ) -> None:
        self.key = (street, email, phone, name)  # what the values (and so a redaction) depend on
        self._remember = remember
        self._screened = False
        self._screen: tuple[tuple[str, ...], str] | None = None  # None: a value is never checked
        self._values: tuple[KnownValue, ...] | None = None

    # compared by what they are built from: redaction answers are remembered by it (_redact)
    def __eq__(self, other: object) -> bool:
        return isinstance(other, ContactValues) and other.key == self.key

    def __hash__(self) -> int:
        return hash(self.key)

    def values(self) -> tuple[KnownValue, ...]:
        """Every value (built once)."""
        if self._values is None:
            build = _contact_patterns if self._remember else _contact_values
            self._values = build(*self.key)
        return self._values

    def for_text(self, folded: str, digits: str) -> tuple[KnownValue, ...]:
        """The values, or none when the text (folded, and its ASCII digits) cannot hold any."""
        if self._values is not None:
            return self._values
        if not self._screened:
            self._screen, self._screened = _first_needles(*self.key), True
        if self._screen is None:
            return self.values()
        firsts, local = self._screen
        if local and local in digits:
            return self.values()
        for needle in firsts:
            if needle in folded:
                return self.values()
        return ()


def _first_needles(
    street: str | None, email: str | None, phone: str | None, name: str | None
) -> tuple[tuple[str, ...], str] | None:
    """The first needle of each of ``_contact_values``' values, and the phone's local digits (the
    same values, read the same way: a value's first word, lower-cased), or None if a value is not
    checked (outside ASCII: applied to every text)."""
    firsts: list[str] = []
    if street and street.strip():
        if not street.isascii():
            return None
        words = street.split()
        firsts.append(words[0].lower())  # the whole street
        street_name = _street_name(words)
        if street_name:
            firsts.append(street_name[0].lower())  # its name
    if email and email.strip():
        if not email.isascii():
            return None
        firsts.append(email.split(maxsplit=1)[0].lower())
    local = ""
    phone_digits = "".join(_DIGITS.findall(phone)) if phone else ""
    if len(phone_digits) >= 7:
        local = phone_digits[-7:]
        if not (local.isascii() and local.isdigit()):
            return None
    for part in name.split() if name else ():
        word = part.strip(".,;:'\"()")
        if len(word) >= _MIN_NAME_PART:
            if not word.isascii():
                return None
            firsts.append(word.lower())
    return tuple(firsts), local


def _contact_values(
    street: str | None, email: str | None, phone: str | None, name: str | None
) -> tuple[KnownValue, ...]:
    known: list[KnownValue] = []
    values = [*(_street_parts(street) if street and street.strip() else [])]
    if email and email.strip():
        values.append(email)
    for value in values:
        known.append(_words_value("words", value))
    phone_digits = "".join(_DIGITS.findall(phone or ""))
    if len(phone_digits) >= 7:
        local = phone_digits[-7:]
        # separators hold no \w, so the seven digits stand together among the text's digits
        checked = local.isascii() and local.isdigit()
        known.append(KnownValue("phone", phone_digits, 0, digits=local, checked=checked))
    for part in (name or "").split():
        word = part.strip(".,;:'\"()")
        if len(word) >= _MIN_NAME_PART:
            known.append(_words_value("word", word))
    return tuple(known)


# the same lead comes back page after page on the read paths: its values are remembered
_contact_patterns = functools.lru_cache(maxsize=8192)(_contact_values)


def redact(text: str, lead: ContactFacts | None = None, marker: str = REDACTED) -> str:
    """Text with phones, e-mails, URLs, street addresses (and the lead's own contact) replaced."""
    return _redact(text, _known_values(lead) if lead is not None else (), marker)


Known = Sequence[KnownValue] | ContactValues  # a lead's values, as they are or built when needed


def _redact(text: str, known: Known, marker: str = REDACTED) -> str:
    # the same lead's title comes back page after page (and for every viewer who is not a buyer):
    # redaction is a pure function of the text and the lead's contact values, so answers are
    # remembered (bounded: short texts, at most ~8 MB) and a repeat costs a lookup, not the scans
    if len(text) <= _REMEMBERED_CHARS:
        return _redact_remembered(text, known if isinstance(known, ContactValues) else tuple(known), marker)
    return _redact_text(text, known, marker)


_REMEMBERED_CHARS = 1024


@functools.lru_cache(maxsize=8192)
def _redact_remembered(text: str, known: tuple[KnownValue, ...] | ContactValues, marker: str) -> str:
    return _redact_text(text, known, marker)


def _redact_text(text: str, known: Known, marker: str, *, tidy: bool = True) -> str:
    # tidy=False leaves doubled markers and runs of spaces (text read only for its words)
    if len(text) > MAX_REDACTED_CHARS:
        return marker
    text = _normalised(text)
    # e-mails and URLs first: a name inside an address must not break the address's pattern
    if _EMAIL_NEEDS.search(text) is not None:
        text = _EMAIL.sub(marker, text)
    if _may_hold_url(text):
        text = _URL.sub(marker, text)
    folded: str | None = None
    digits = ""
    values: Sequence[KnownValue]
    if isinstance(known, ContactValues):  # built only if the text could hold one
        folded = (text if text.isascii() else text.translate(_ASCII_FOLD)).lower()
        digits = _ascii_digits(text)
        values = known.for_text(folded, digits)
    else:
        values = known
    for value in values:
        if folded is None:  # (again) after a substitution: each check sees the text it applies to
            folded = (text if text.isascii() else text.translate(_ASCII_FOLD)).lower()
            digits = _ascii_digits(text)
        if value.could_match(folded, digits):
            replaced = value.pattern.sub(marker, text)
            if replaced != text:
                text, folded = replaced, None
    if _PHONE_NEEDS.search(text) is not None:
        text = _PHONE.sub(marker, text)
    text = _STREET.sub(marker, text)
    if not tidy:
        return text
    if marker:  # "[contact hidden] [contact hidden]" reads as one hidden thing
        text = _doubled(marker).sub(marker, text)
    return _SPACES.sub(" ", text)


@functools.cache
def _doubled(marker: str) -> re.Pattern[str]:
    return re.compile(re.escape(marker) + r"(?:[\s,;/&+-]*" + re.escape(marker) + r")+")


def public_point(lat: float, lng: float) -> tuple[float, float]:
    """The point snapped to the 0.01° grid (about 1 km), the precision non-buyers get."""
    return round(round(lat / GRID_DEGREES) * GRID_DEGREES, GRID_DECIMALS), round(
        round(lng / GRID_DEGREES) * GRID_DEGREES, GRID_DECIMALS
    )


def public_distance(miles: float) -> float:
    """A distance rounded to 0.1 mile (monotonic, so sorted lists stay sorted)."""
    return round(miles, DISTANCE_DECIMALS)


def visible_point(lat: float, lng: float, *, full: bool) -> tuple[float, float]:
    """A point at the precision the viewer gets: exact when ``full``, else the public (grid) point."""
    return (lat, lng) if full else public_point(lat, lng)


def visible_lead(lead: LeadFacts, lat: float, lng: float, *, full: bool) -> VisibleLead:
    """The viewer-dependent fields of a lead: the originals when ``full``, else the public versions."""
    return VisibleLead(lead, lat, lng, full=full)


def index_text(value: str | None, lead: Any) -> str:
    """The searchable version of a lead's text: what a non-buyer may read, without the markers."""
    if not value:
        return ""
    return redact(value, lead, marker=" ")


def index_words(lead: ContactFacts, *values: str | None) -> list[str]:
    """``index_text`` of each of a lead's texts, for their words only (the search tokens): the same
    words, but marker runs and spaces are left as they are, and nothing is remembered. A document
    is built once per lead (a rebuild meets each lead once), so the read paths' memos would only
    fill with entries never asked for again, and keep the garbage collector busy with them."""
    known = _known_values(lead, remember=False)
    return [_redact_text(value, known, " ", tidy=False) if value else "" for value in values]
