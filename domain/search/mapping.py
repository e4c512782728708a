"""The Elasticsearch index of leads: names, settings, mapping and how a lead becomes a document."""

from __future__ import annotations

import functools
from datetime import UTC, datetime
from typing import Any

from aiqleads.domain.core.geo import lat_lng
from aiqleads.domain.core.lead import SERVER_DEFAULTS
from aiqleads.domain.core.seats import is_available
from aiqleads.domain.core.visibility import index_words, public_point
from aiqleads.domain.search import text
from aiqleads.domain.settings import Settings

# The only analyzer we use: the ES build has no analysis-common, so synonyms/stemming are done
# in Python (aiqleads.domain.search.text) identically at index and query time.
ANALYZER = "aiq_text"

INDEX_SETTINGS: dict[str, Any] = {
    "number_of_shards": 1,
    "number_of_replicas": 0,
    "analysis": {
        "analyzer": {ANALYZER: {"type": "custom", "tokenizer": "standard", "filter": ["lowercase"]}}
    },
}


def _text() -> dict[str, Any]:
    return {"type": "text", "analyzer": ANALYZER}


MAPPING: dict[str, Any] = {
    "dynamic": "strict",
    "properties": {
        "lead_id": {"type": "keyword"},
        # analysed (normalised) text
        "title": _text(),
        "description": _text(),
        "city_text": _text(),
        "type_text": _text(),
        "features": _text(),
        "expansions": _text(),
        # facets and exact filters
        "source": {"type": "keyword"},
        "property_type": {"type": "keyword"},
        "status": {"type": "keyword"},
        "city": {"type": "keyword"},
        "city_key": {"type": "keyword"},
        "state": {"type": "keyword"},
        "zip": {"type": "keyword"},
        "available": {"type": "boolean"},
        # geo and numbers
        "location": {"type": "geo_point"},
        "asking_price": {"type": "long"},
        "bedrooms": {"type": "integer"},
        "bathrooms": {"type": "double"},
        "sqft": {"type": "integer"},
        "year_built": {"type": "integer"},
        "quality_score": {"type": "double"},
        "fraud_score": {"type": "double"},
        "price_credits": {"type": "integer"},
        "max_buyers": {"type": "integer"},
        "buyers_count": {"type": "integer"},
        "holds_count": {"type": "integer"},
        "posted_at": {"type": "date_nanos"},
        "updated_at": {"type": "date"},
    },
}


def alias_name(settings: Settings) -> str:
    """The alias every reader and writer uses: `<prefix>-leads`."""
    return f"{settings.es_index_prefix}-leads"


def new_index_name(settings: Settings, now: datetime | None = None) -> str:
    """A fresh concrete index name `<prefix>-leads-<timestamp>` (lowercase, sortable)."""
    stamp = (now or datetime.now(UTC)).strftime("%Y%m%d%H%M%S%f")
    return f"{alias_name(settings)}-{stamp}"


def index_pattern(settings: Settings) -> str:
    """Wildcard matching every concrete leads index of this prefix."""
    return f"{alias_name(settings)}-*"


def _iso(value: datetime | None) -> str | None:
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.isoformat()


def _location(lead: Any) -> tuple[float, float]:
    lat = getattr(lead, "lat", None)
    lng = getattr(lead, "lng", None)
    if lat is not None and lng is not None:
        return float(lat), float(lng)
    return lat_lng(lead.location)


# what PostgreSQL fills in for a column an insert left out (one definition, next to the model)
_SERVER_DEFAULTS: dict[str, Any] = {**SERVER_DEFAULTS, "updated_at": None}


class _Safe:
    """Reads a row's attributes without triggering ORM loads of server-generated defaults.

    A Lead added and committed in another session may not have its server defaults loaded;
    reading them would need a database round trip, so the documented server default is used.
    """

    def __init__(self, lead: Any) -> None:
        self._lead = lead
        state = getattr(lead, "_sa_instance_state", None)
        self._loaded: dict[str, Any] | None = state.dict if state is not None else None

    def __getattr__(self, name: str) -> Any:
        if self._loaded is not None and name in _SERVER_DEFAULTS and name not in self._loaded:
            return _SERVER_DEFAULTS[name]
        return getattr(self._lead, name)


@functools.lru_cache(maxsize=64)
def _type_words_cached(property_type: str) -> tuple[tuple[str, ...], str]:
    tokens = text.tokens(text.PROPERTY_TYPE_WORDS.get(property_type, "other"))
    return tuple(tokens), " ".join([*tokens, *text.expansions(tokens)])


def _type_words(property_type: str) -> tuple[list[str], str]:
    """The property type's tokens and its type_text (a handful of types: computed once each)."""
    tokens, joined = _type_words_cached(property_type)
    return list(tokens), joined


# a reindex meets the same few hundred cities again and again
_city_text = functools.lru_cache(maxsize=4096)(text.normalize)


def lead_document(row: Any) -> dict[str, Any]:
    """The search document of a lead (a Lead row, or any row with the same attributes)."""
    # only ORM rows can lack loaded server defaults; a plain row (reindex) is read as it is
    lead: Any = _Safe(row) if hasattr(row, "_sa_instance_state") else row
    # only the public point is indexed: geo filters, distance sorts and cursors run on it
    lat, lng = public_point(*_location(row))
    # only what a non-buyer may read is searchable: a seller's phone or e-mail finds nothing
    title, description = index_words(lead, lead.title, lead.description)
    title_tokens = text.tokens(title)
    description_tokens = text.tokens(description)
    type_tokens, type_text = _type_words(lead.property_type)
    features = text.count_tokens(lead.bedrooms, lead.bathrooms) + type_tokens
    expansions = text.expansions([*title_tokens, *description_tokens, *type_tokens])
    max_buyers = int(lead.max_buyers if lead.max_buyers is not None else 1)
    buyers = int(lead.buyers_count or 0)
    holds = int(lead.holds_count or 0)
    status = lead.status or "AVAILABLE"
    return {
        "lead_id": str(lead.id),
        "title": " ".join(title_tokens),
        "description": " ".join(description_tokens),
        "city_text": _city_text(f"{lead.city} {lead.state}"),
        "type_text": type_text,
        "features": " ".join(features),
        "expansions": " ".join(expansions),
        "source": lead.source,
        "property_type": lead.property_type,
        "status": status,
        "city": lead.city,
        "city_key": (lead.city or "").strip().lower(),
        "state": (lead.state or "").upper(),
        "zip": lead.zip,
        "available": is_available(status, buyers, holds, max_buyers),
        "location": {"lat": lat, "lon": lng},
        "asking_price": lead.asking_price,
        "bedrooms": lead.bedrooms,
        "bathrooms": lead.bathrooms,
        "sqft": lead.sqft,
        "year_built": lead.year_built,
        "quality_score": float(lead.quality_score if lead.quality_score is not None else 0.5),
        "fraud_score": float(lead.fraud_score or 0.0),
        "price_credits": int(lead.price_credits if lead.price_credits is not None else 0),
        "max_buyers": max_buyers,
        "buyers_count": buyers,
        "holds_count": holds,
        "posted_at": _iso(lead.posted_at),
        "updated_at": _iso(getattr(lead, "updated_at", None)),
    }
