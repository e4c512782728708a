"""searchLeads: Elasticsearch finds and ranks, PostgreSQL (the source of truth) supplies the rows."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from elasticsearch import AsyncElasticsearch, NotFoundError

from aiqleads.domain.core.filters.cursors import decode_cursor, encode_cursor
from aiqleads.domain.core.filters.spec import LeadFilterSpec
from aiqleads.domain.leads.query import LeadHit, SessionScope, leads_with_distance
from aiqleads.domain.search.mapping import alias_name
from aiqleads.domain.search.query import Facets, parse_facets, search_body
from aiqleads.domain.settings import Settings

CURSOR_KIND = "es"


@dataclass(frozen=True)
class SearchPage:
    """A page of search results with facets computed on the whole filtered set."""

    hits: list[LeadHit]
    has_next_page: bool
    has_previous_page: bool
    end_cursor: str | None
    total_count: int
    facets: Facets


async def run_search(
    es: AsyncElasticsearch, settings: Settings, body: dict[str, Any]
) -> dict[str, Any] | None:
    """Send a search to the leads alias; None when the index does not exist yet."""
    try:
        response = await es.search(index=alias_name(settings), body=body)
    except NotFoundError:
        return None
    result: dict[str, Any] = response.body
    return result


async def search_leads(
    rows_in: SessionScope,
    es: AsyncElasticsearch,
    settings: Settings,
    spec: LeadFilterSpec,
    query_text: str,
    sort: str,
    first: int,
    after: str | None,
    *,
    with_facets: bool = True,
) -> SearchPage:
    """Full-text search with the same filters as `leads`, relevance or field sorts, and facets.

    The rows are read on a source ``rows_in`` opens once Elasticsearch has answered, so no
    connection is held while it searches."""
    position = decode_cursor(after, CURSOR_KIND, sort)
    body = search_body(spec, query_text, sort, first + 1, position, with_facets=with_facets)
    response = await run_search(es, settings, body)
    if response is None:
        return SearchPage([], False, position is not None, after, 0, parse_facets(None))
    raw_hits = response["hits"]["hits"]
    has_next = len(raw_hits) > first
    raw_hits = raw_hits[:first]
    ids = [uuid.UUID(h["_id"]) for h in raw_hits]
    async with rows_in() as source:
        rows = await leads_with_distance(source, ids, spec.near)
    hits: list[LeadHit] = []
    end_cursor = after
    for raw in raw_hits:
        cursor = encode_cursor(CURSOR_KIND, sort, raw["sort"])
        end_cursor = cursor
        found = rows.get(uuid.UUID(raw["_id"]))
        if found is None:  # deleted in PostgreSQL, not yet removed from the index
            continue
        hits.append(
            LeadHit(
                lead=found.lead,
                distance_miles=found.distance_miles,
                cursor=cursor,
                public_distance_miles=found.public_distance_miles,
            )
        )
    return SearchPage(
        hits=hits,
        has_next_page=has_next,
        has_previous_page=position is not None,
        end_cursor=end_cursor,
        total_count=int(response["hits"]["total"]["value"]),
        facets=parse_facets(response.get("aggregations")),
    )
