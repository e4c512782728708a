"""Elasticsearch request bodies for searchLeads: relevance query, filters, sorts and facets."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from aiqleads.domain.core.filters.spec import LeadFilterSpec
from aiqleads.domain.search import text
from aiqleads.domain.search.es_filter import es_filters

# Field boosts: title > city / property-type words > expansions > description.
WORD_FIELDS = ["title^3", "city_text^2", "type_text^2", "expansions^1.5", "description"]
COUNT_FIELDS = ["features^2", "title", "description^0.5"]

PRICE_BANDS: tuple[tuple[int | None, int | None], ...] = (
    (None, 100_000),
    (100_000, 200_000),
    (200_000, 300_000),
    (300_000, 500_000),
    (500_000, 750_000),
    (750_000, 1_000_000),
    (1_000_000, None),
)


# Canonical query tokens that name a property type (query understanding, exact tokens only).
TYPE_INTENTS: dict[str, str] = {
    "condo": "CONDO",
    "sfh": "SINGLE_FAMILY",
    "house": "SINGLE_FAMILY",
    "townhouse": "TOWNHOUSE",
    "multifamily": "MULTI_FAMILY",
    "duplex": "MULTI_FAMILY",
    "triplex": "MULTI_FAMILY",
    "fourplex": "MULTI_FAMILY",
    "land": "LAND",
    "manufactured": "MANUFACTURED",
}
# Constant boosts of what the query asks for structurally. They must dominate the BM25 text score
# whatever the corpus statistics (IDF grows as the index changes), so "2 bed 2 bath condo near UT
# Austin" puts Austin condos with 2 beds and 2 baths first; BM25 orders within each tier.
INTENT_BOOSTS = {"property_type": 400.0, "city": 200.0, "bedrooms": 200.0, "bathrooms": 100.0}


def _count_value(token: str) -> tuple[str, float] | None:
    if not text.is_structured(token) or not token.endswith(("br", "ba")):
        return None
    number = float(token[:-2].replace("p", "."))
    return ("bedrooms" if token.endswith("br") else "bathrooms"), number


def _constant(clause: dict[str, Any], boost: float) -> dict[str, Any]:
    return {"constant_score": {"filter": clause, "boost": boost}}


def text_query(query_text: str) -> dict[str, Any]:
    """The scoring query for free text (normalised exactly like the indexed documents)."""
    tokens = text.tokens(query_text)
    words = [t for t in tokens if not text.is_structured(t)]
    counts = [t for t in tokens if text.is_structured(t)]
    if not tokens:
        return {"match_all": {}}
    should: list[dict[str, Any]] = []
    if words:
        joined = " ".join(words)
        # Typo-tolerant recall ("condominum" → condominium), ...
        should.append(
            {
                "multi_match": {
                    "query": joined,
                    "fields": WORD_FIELDS,
                    "type": "most_fields",
                    "fuzziness": "AUTO",
                    "prefix_length": 1,
                    "max_expansions": 25,
                    "boost": 0.5,
                }
            }
        )
        # ... exact terms score higher than fuzzy ones, and the words together in the title more.
        should.append(
            {"multi_match": {"query": joined, "fields": WORD_FIELDS, "type": "most_fields", "boost": 1.0}}
        )
        should.append({"match_phrase": {"title": {"query": joined, "slop": 3, "boost": 1.0}}})
        # What the words ask for: a city named in the query, a property type.
        should.append(_constant({"match": {"city_text": joined}}, INTENT_BOOSTS["city"]))
        types = sorted({TYPE_INTENTS[w] for w in words if w in TYPE_INTENTS})
        if types:
            should.append(_constant({"terms": {"property_type": types}}, INTENT_BOOSTS["property_type"]))
    if counts:
        # "2br"/"2ba" are exact facts: never fuzzed (2br must not match 3br).
        should.append(
            {"multi_match": {"query": " ".join(counts), "fields": COUNT_FIELDS, "type": "most_fields"}}
        )
        for token in counts:
            parsed = _count_value(token)
            if parsed is not None:
                name, number = parsed
                should.append(_constant({"term": {name: number}}, INTENT_BOOSTS[name]))
    scored: dict[str, Any] = {"bool": {"should": should, "minimum_should_match": 1}}
    return {
        "function_score": {
            "query": scored,
            "functions": [
                {"filter": {"range": {"quality_score": {"gte": 0.7}}}, "weight": 1.1},
                {"filter": {"range": {"fraud_score": {"gte": 0.5}}}, "weight": 0.8},
            ],
            "score_mode": "multiply",
            "boost_mode": "multiply",
        }
    }


def sort_clause(spec: LeadFilterSpec, sort: str) -> list[dict[str, Any]]:
    """ES sort of a LeadSort, always ending with the id as tie-breaker (for search_after)."""
    if sort == "RELEVANCE":
        return [{"_score": "desc"}, {"lead_id": "asc"}]
    if sort == "NEWEST":
        return [{"posted_at": "desc"}, {"lead_id": "desc"}]
    if sort == "PRICE_ASC":
        return [{"price_credits": "asc"}, {"lead_id": "asc"}]
    if sort == "PRICE_DESC":
        return [{"price_credits": "desc"}, {"lead_id": "desc"}]
    if sort == "QUALITY":
        return [{"quality_score": "desc"}, {"lead_id": "desc"}]
    if sort == "DISTANCE" and spec.near is not None:
        centre = {"lat": spec.near.lat, "lon": spec.near.lng}
        return [
            {"_geo_distance": {"location": centre, "order": "asc", "unit": "m", "distance_type": "arc"}},
            {"lead_id": "asc"},
        ]
    raise ValueError(f"unsupported sort {sort}")


def facet_aggregations() -> dict[str, Any]:
    """Facet aggregations, computed by ES over the filtered result set."""
    ranges: list[dict[str, int]] = []
    for low, high in PRICE_BANDS:
        band: dict[str, int] = {}
        if low is not None:
            band["from"] = low
        if high is not None:
            band["to"] = high
        ranges.append(band)
    return {
        "property_types": {"terms": {"field": "property_type", "size": 20}},
        "sources": {"terms": {"field": "source", "size": 20}},
        "cities": {"terms": {"field": "city", "size": 50}},
        "bedrooms": {"terms": {"field": "bedrooms", "size": 30, "order": {"_key": "asc"}}},
        "price_ranges": {"range": {"field": "asking_price", "ranges": ranges}},
    }


def search_body(
    spec: LeadFilterSpec,
    query_text: str,
    sort: str,
    size: int,
    search_after: tuple[Any, ...] | None,
    *,
    with_facets: bool = True,
) -> dict[str, Any]:
    """The full search request body."""
    body: dict[str, Any] = {
        "query": {"bool": {"must": [text_query(query_text)], "filter": es_filters(spec)}},
        "sort": sort_clause(spec, sort),
        "size": size,
        "track_total_hits": True,
        "_source": False,
        "fields": ["lead_id"],
    }
    if search_after is not None:
        body["search_after"] = list(search_after)
    if with_facets:
        body["aggs"] = facet_aggregations()
    return body


@dataclass(frozen=True)
class FacetValue:
    """A facet value and how many results have it."""

    value: str
    count: int


@dataclass(frozen=True)
class RangeCount:
    """How many results fall in [low, high)."""

    low: int | None
    high: int | None
    count: int


@dataclass(frozen=True)
class Facets:
    """Facet counts over the filtered result set."""

    property_types: list[FacetValue] = field(default_factory=list)
    sources: list[FacetValue] = field(default_factory=list)
    cities: list[FacetValue] = field(default_factory=list)
    bedrooms: list[FacetValue] = field(default_factory=list)
    price_ranges: list[RangeCount] = field(default_factory=list)


def _terms(aggs: dict[str, Any], name: str) -> list[FacetValue]:
    buckets = aggs.get(name, {}).get("buckets", [])
    return [
        FacetValue(value=str(b.get("key_as_string", b["key"])), count=int(b["doc_count"])) for b in buckets
    ]


def parse_facets(aggs: dict[str, Any] | None) -> Facets:
    """Facets from an aggregation response (empty when there was none)."""
    if not aggs:
        return Facets(price_ranges=[RangeCount(low, high, 0) for low, high in PRICE_BANDS])
    ranges = [
        RangeCount(
            low=int(b["from"]) if b.get("from") is not None else None,
            high=int(b["to"]) if b.get("to") is not None else None,
            count=int(b["doc_count"]),
        )
        for b in aggs.get("price_ranges", {}).get("buckets", [])
    ]
    bedrooms = [FacetValue(value=str(int(float(v.value))), count=v.count) for v in _terms(aggs, "bedrooms")]
    return Facets(
        property_types=_terms(aggs, "property_types"),
        sources=_terms(aggs, "sources"),
        cities=_terms(aggs, "cities"),
        bedrooms=bedrooms,
        price_ranges=ranges,
    )
