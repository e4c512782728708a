"""LLM cleaning: a LangChain chain with structured output that normalizes the messy fields the rules
could not read and adds fraud hints.

Used when ``settings.openai_api_key`` or ``settings.anthropic_api_key`` is set (OpenAI first;
``openai_base_url``/``anthropic_base_url`` point the real clients elsewhere, e.g. at a local
server in tests). The model's answer is validated field by field with the same rules as the
rule-based cleaner (plausible ranges, E.164 phones, ZIP codes that agree with the state and the
coordinates, known property types) and only fills what the rules left empty; fraud hints are
sanitised and capped. Any error, timeout or unusable answer leaves the rule-based result as is.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, Field, ValidationError

from aiqleads.domain.cleaning.addresses import NormalizedAddress, normalize_address, normalize_zip
from aiqleads.domain.cleaning.geocode import geocode, state_of_zip, zip_centroid
from aiqleads.domain.cleaning.prices import MAX_PLAUSIBLE_PRICE, MIN_PLAUSIBLE_PRICE
from aiqleads.domain.cleaning.text import single_line
from aiqleads.domain.core.geo import haversine_miles
from aiqleads.domain.core.listings import CleanListing, RawRecord
from aiqleads.domain.core.phones import normalize_phone
from aiqleads.domain.llm import build_chat_model, structured_chain
from aiqleads.domain.settings import Settings

if TYPE_CHECKING:  # LangChain is imported only when a chat model is built (aiqleads.domain.llm)
    from langchain_core.language_models import BaseChatModel
    from langchain_core.runnables import Runnable

log = logging.getLogger(__name__)

MAX_HINTS = 3
MAX_HINT_CHARS = 200
MAX_PROMPT_DESCRIPTION = 2500
ZIP_MAX_MILES_FROM_POINT = 25.0

SYSTEM_PROMPT = (
    "You clean scraped US real-estate listings for a lead marketplace. Read the raw fields and "
    "return normalized values: property type, asking sale price in whole US dollars (null for "
    "rents or when no price is stated), bedrooms, bathrooms (halves allowed), living area in sqft, "
    "year built, the street line (number and street, no city), the five-digit ZIP code and the "
    "seller's phone number. Use null for anything the listing does not state; never guess. Also "
    "list up to three short fraud hints (e.g. payment by wire or gift cards, seller abroad, price "
    "far below market, pressure to pay before viewing); an empty list when nothing is suspicious."
)
HUMAN_PROMPT = (
    "Source: {source}\nTitle: {title}\nPrice as written: {price}\nAddress as written: {address}\n"
    "City/State/ZIP as written: {city} / {state} / {zip}\nRooms as written: {rooms}\n"
    "Property type label: {property_type}\nPhone as written: {phone}\nDescription:\n{description}"
)

PropertyTypeLiteral = Literal[
    "SINGLE_FAMILY", "CONDO", "TOWNHOUSE", "MULTI_FAMILY", "LAND", "MANUFACTURED", "OTHER"
]


class ListingFix(BaseModel):
    """Normalized fields of one real-estate listing; null where the listing does not say."""

    property_type: PropertyTypeLiteral | None = Field(default=None, description="Kind of property.")
    asking_price_usd: int | None = Field(default=None, description="Sale price in whole US dollars.")
    bedrooms: int | None = Field(default=None, description="Number of bedrooms.")
    bathrooms: float | None = Field(default=None, description="Number of bathrooms, halves allowed.")
    sqft: int | None = Field(default=None, description="Living area in square feet.")
    year_built: int | None = Field(default=None, description="Year the building was built.")
    street: str | None = Field(default=None, description="Street line: house number and street name.")
    zip: str | None = Field(default=None, description="Five-digit ZIP code.")
    contact_phone: str | None = Field(default=None, description="Seller phone number.")
    fraud_hints: list[str] = Field(default_factory=list, description="Up to three short fraud warnings.")


def _text(value: Any, limit: int = 300) -> str:
    if value is None or value == "" or value == []:
        return "(none)"
    return " ".join(str(value).split())[:limit]


class LlmCleaner:
    """A Refiner backed by a LangChain chat model with structured output (tool calling)."""

    def __init__(self, model: BaseChatModel, *, provider: str, timeout_seconds: float) -> None:
        self.provider = provider
        self.timeout_seconds = timeout_seconds
        self.chain: Runnable[dict[str, Any], Any] = structured_chain(
            model, SYSTEM_PROMPT, HUMAN_PROMPT, ListingFix
        )
        self.calls = 0
        self.failures = 0

    def variables(self, raw: RawRecord) -> dict[str, str]:
        """The prompt variables for a listing (raw text, bounded)."""
        rooms = " / ".join(
            _text(v, 60) for v in (raw.bedrooms, raw.bathrooms, raw.sqft) if v not in (None, "")
        )
        return {
            "source": raw.source,
            "title": _text(raw.title),
            "price": _text(raw.price, 80),
            "address": _text(raw.address or raw.street, 200),
            "city": _text(raw.city, 80),
            "state": _text(raw.state, 40),
            "zip": _text(raw.zip, 20),
            "rooms": rooms or "(none)",
            "property_type": _text(raw.property_type, 80),
            "phone": _text(raw.contact_phone, 60),
            "description": (single_line(raw.description, MAX_PROMPT_DESCRIPTION) or "(none)"),
        }

    async def refine(self, raw: RawRecord, clean: CleanListing) -> CleanListing:
        """The listing with validated LLM fixes applied; unchanged on any failure."""
        self.calls += 1
        try:
            answer = await asyncio.wait_for(
                self.chain.ainvoke(self.variables(raw)), timeout=self.timeout_seconds
            )
        except TimeoutError:
            self.failures += 1
            log.warning("LLM cleaning (%s) timed out for %s %s", self.provider, raw.source, raw.external_id)
            return clean
        except Exception as exc:  # client, HTTP or parsing failure: the rules' result stands
            self.failures += 1
            log.warning(
                "LLM cleaning (%s) failed for %s %s: %r", self.provider, raw.source, raw.external_id, exc
            )
            return clean
        fix = _as_fix(answer)
        if fix is None:
            self.failures += 1
            log.warning(
                "LLM cleaning (%s) gave an unusable answer for %s: %r", self.provider, raw.external_id, answer
            )
            return clean
        return apply_fix(clean, fix, provider=self.provider)


def _as_fix(answer: Any) -> ListingFix | None:
    if isinstance(answer, ListingFix):
        return answer
    if isinstance(answer, dict):
        try:
            return ListingFix.model_validate(answer)
        except ValidationError:
            return None
    return None


def apply_fix(
    clean: CleanListing, fix: ListingFix, *, provider: str, now: datetime | None = None
) -> CleanListing:
    """Fill the rule-based listing's gaps with the validated parts of an LLM answer."""
    now = now or datetime.now(UTC)
    result = replace(clean, issues=list(clean.issues), hints=list(clean.hints))
    used: list[str] = []
    rejected: list[str] = []

    def take(name: str, value: Any, ok: bool) -> None:
        if value is None:
            return
        if not ok:
            rejected.append(name)
            return
        if getattr(result, name) is None or (name == "property_type" and result.property_type == "OTHER"):
            setattr(result, name, value)
            used.append(name)

    take("property_type", fix.property_type, fix.property_type is not None)
    price = fix.asking_price_usd
    take("asking_price", price, price is not None and MIN_PLAUSIBLE_PRICE <= price <= MAX_PLAUSIBLE_PRICE)
    take("bedrooms", fix.bedrooms, fix.bedrooms is not None and 0 <= fix.bedrooms <= 50)
    baths = fix.bathrooms
    take("bathrooms", baths, baths is not None and 0 <= baths <= 50 and (baths * 2).is_integer())
    take("sqft", fix.sqft, fix.sqft is not None and 100 <= fix.sqft <= 100_000)
    year = fix.year_built
    take("year_built", year, year is not None and 1700 <= year <= now.year + 2)
    phone = normalize_phone(fix.contact_phone) if fix.contact_phone else None
    take("contact_phone", phone or fix.contact_phone, phone is not None)

    zip_code = normalize_zip(fix.zip) if fix.zip else None
    if fix.zip is not None:
        take("zip", zip_code, zip_code is not None and _zip_fits(zip_code, result))
    if fix.street and result.street is None:
        parsed = normalize_address(fix.street, zip=result.zip)
        take("street", parsed.street, parsed.street is not None and parsed.street[:1].isdigit())
        if result.street == parsed.street and parsed.unit and result.unit is None:
            result.unit = parsed.unit
    if result.lat is None and result.zip:  # the LLM found the ZIP: now the listing can be located
        geo = geocode(None, None, result.zip, result.city, result.state)
        if geo is not None:
            result.lat, result.lng, result.geo_precision = geo.lat, geo.lng, geo.precision
            result.city, result.state = result.city or geo.city, result.state or geo.state
    if result.street and result.zip:
        result.dedup_key = NormalizedAddress(result.street, result.unit, None, None, result.zip).key
    for hint in fix.fraud_hints[:MAX_HINTS]:
        text = single_line(hint, MAX_HINT_CHARS)
        if text and text not in result.hints:
            result.hints.append(text)
    if used:
        result.issues.append(f"filled by {provider}: {', '.join(used)}")
    if rejected:
        result.issues.append(f"{provider} answer rejected for: {', '.join(rejected)}")
    return result


def _zip_fits(zip_code: str, listing: CleanListing) -> bool:
    """A ZIP from the model must be in the listing's state and near its coordinates."""
    if listing.state and state_of_zip(zip_code) not in (None, listing.state):
        return False
    centroid = zip_centroid(zip_code)
    if centroid is not None and listing.lat is not None and listing.lng is not None:
        return (
            haversine_miles(centroid.lat, centroid.lng, listing.lat, listing.lng) <= ZIP_MAX_MILES_FROM_POINT
        )
    return True


def build_refiner(settings: Settings) -> LlmCleaner | None:
    """The LLM cleaner when an API key is configured (OpenAI first), else None (rules only)."""
    chat = build_chat_model(settings, anthropic_max_tokens=512)
    if chat is None:
        return None
    return LlmCleaner(chat.model, provider=chat.provider, timeout_seconds=chat.timeout_seconds)
