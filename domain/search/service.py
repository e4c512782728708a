"""searchLeads: Elasticsearch finds and ranks, PostgreSQL (the source of truth) supplies the rows."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from dataclasses import dataclass
from typing import Any

from elasticsearch import AsyncElasticsearch, NotFoundError

from aiqleads.domain.core.filters.cursors import decode_cursor, encode_cursor
from aiqleads.domain.core.filters.spec import GeoRadius, LeadFilterSpec
from aiqleads.domain.leads.query import LeadHit, LeadWithDistance, SessionScope, leads_with_distance
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
    connection is held while it searches (and none at all for no hits); the cursors and facets
    are built while PostgreSQL reads them."""
    position = decode_cursor(after, CURSOR_KIND, sort)
    body = search_body(spec, query_text, sort, first + 1, position, with_facets=with_facets)
    response = await run_search(es, settings, body)
    if response is None:
        return SearchPage([], False, position is not None, after, 0, parse_facets(None))
    raw_hits = response["hits"]["hits"]
    has_next = len(raw_hits) > first
    raw_hits = raw_hits[:first]
    ids = [uuid.UUID(h["_id"]) for h in raw_hits]
    reading = asyncio.create_task(_rows(rows_in, ids, spec.near))
    try:
        # the statement goes out first; the cursors and facets are built while PostgreSQL answers
        await asyncio.sleep(0)
        cursors = [encode_cursor(CURSOR_KIND, sort, raw["sort"]) for raw in raw_hits]
        facets = parse_facets(response.get("aggregations"))
        rows = await reading
    finally:
        if not reading.done():  # (cancelled, or the facets failed): the read does not outlive us
            reading.cancel()
            with contextlib.suppress(BaseException):
                await reading
    hits: list[LeadHit] = []
    for lead_id, cursor in zip(ids, cursors, strict=True):
        found = rows.get(lead_id)
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
        end_cursor=cursors[-1] if cursors else after,
        total_count=int(response["hits"]["total"]["value"]),
        facets=facets,
    )


async def _rows(
    rows_in: SessionScope, ids: list[uuid.UUID], near: GeoRadius | None
) -> dict[uuid.UUID, LeadWithDistance]:
    """The leads of these ids (no connection is taken for none)."""
    if not ids:
        return {}
    async with rows_in() as source:
        return await leads_with_distance(source, ids, near)
