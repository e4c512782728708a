"""Query fields of the marketplace read side (one lead, listing, search) and their result mapping."""

from __future__ import annotations

from collections.abc import Awaitable
from typing import Annotated, Any

import strawberry
from graphql import (
    FieldNode,
    FragmentSpreadNode,
    GraphQLResolveInfo,
    InlineFragmentNode,
    SelectionSetNode,
)
from strawberry.types import Info
from strawberry.types.nodes import FragmentSpread, InlineFragment, SelectedField

from aiqleads.resolvers import leads as resolve
from aiqleads.resolvers.context import Context
from aiqleads.schema.common import PageInfo
from aiqleads.schema.connections import page_info
from aiqleads.schema.leads import (
    FacetCount,
    Lead,
    LeadConnection,
    LeadEdge,
    LeadFilter,
    LeadSearchResult,
    LeadSort,
    RangeFacet,
    SearchFacets,
)
from aiqleads.schema.lean_fields import direct


def _selects(selections: list[Any], name: str) -> bool:
    """Whether a field called name is selected (directly or through fragments)."""
    for selection in selections:
        if isinstance(selection, SelectedField):
            if selection.name == name:
                return True
        elif isinstance(selection, (FragmentSpread, InlineFragment)) and _selects(selection.selections, name):
            return True
    return False


def _field_selected(info: Info[Context, None], name: str) -> bool:
    return any(_selects(field.selections, name) for field in info.selected_fields)


def _node_selects(info: GraphQLResolveInfo, selection_set: SelectionSetNode | None, name: str) -> bool:
    for selection in selection_set.selections if selection_set is not None else ():
        if isinstance(selection, FieldNode):
            if selection.name.value == name:
                return True
        elif isinstance(selection, InlineFragmentNode):
            if _node_selects(info, selection.selection_set, name):
                return True
        elif isinstance(selection, FragmentSpreadNode):
            fragment = info.fragments.get(selection.name.value)
            if fragment is not None and _node_selects(info, fragment.selection_set, name):
                return True
    return False


def _core_selected(info: GraphQLResolveInfo, name: str) -> bool:
    """_field_selected on graphql-core's resolve info (the direct resolvers' own)."""
    return any(_node_selects(info, node.selection_set, name) for node in info.field_nodes)


async def _leads(
    ctx: Context, filter: Any, sort: Any, first: Any, after: Any, *, with_total: bool
) -> LeadConnection:
    page = await resolve.leads_page(ctx, filter, sort, first, after, with_total=with_total)
    try:
        edges = await _edges(ctx, page.hits)
    except BaseException:
        page.abandon()  # no answer will read its total
        raise
    return LeadConnection(edges=edges, page_info=_page_info(page, edges), page=page)


def _leads_direct(
    _root: Any,
    info: GraphQLResolveInfo,
    filter: Any = None,
    sort: Any = LeadSort.NEWEST,
    first: Any = 20,
    after: Any = None,
) -> Awaitable[LeadConnection]:
    with_total = _core_selected(info, "totalCount") or _core_selected(info, "totalCountIsExact")
    return _leads(info.context, filter, sort, first, after, with_total=with_total)


async def _search(
    ctx: Context, query: Any, filter: Any, sort: Any, first: Any, after: Any, *, with_facets: bool
) -> LeadSearchResult:
    page = await resolve.search_page(ctx, query, filter, sort, first, after, with_facets=with_facets)
    edges = await _edges(ctx, page.hits)
    return LeadSearchResult(
        edges=edges,
        page_info=_page_info(page, edges),
        total_count=page.total_count,
        facets=_facets(page.facets),
    )


def _search_direct(
    _root: Any,
    info: GraphQLResolveInfo,
    query: Any,
    filter: Any = None,
    sort: Any = LeadSort.RELEVANCE,
    first: Any = 20,
    after: Any = None,
) -> Awaitable[LeadSearchResult]:
    with_facets = _core_selected(info, "facets")
    return _search(info.context, query, filter, sort, first, after, with_facets=with_facets)


async def _edges(ctx: Context, hits: list[Any]) -> list[LeadEdge]:
    await resolve.prime_views(ctx, [h.lead for h in hits])
    return [
        LeadEdge(cursor=h.cursor, node=Lead.from_row(h.lead, h.distance_miles, h.public_distance_miles))
        for h in hits
    ]


def _page_info(page: Any, edges: list[LeadEdge]) -> PageInfo:
    return page_info(
        edges,
        has_next_page=page.has_next_page,
        has_previous_page=page.has_previous_page,
        end_cursor=page.end_cursor,
    )


def _facets(facets: Any) -> SearchFacets:
    def counts(values: list[Any]) -> list[FacetCount]:
        return [FacetCount(value=v.value, count=v.count) for v in values]

    return SearchFacets(
        property_types=counts(facets.property_types),
        sources=counts(facets.sources),
        cities=counts(facets.cities),
        bedrooms=counts(facets.bedrooms),
        price_ranges=[RangeFacet(from_=r.low, to=r.high, count=r.count) for r in facets.price_ranges],
    )


FilterArg = Annotated[
    LeadFilter | None,
    strawberry.argument(description="Filters, combined with AND (default: available leads)."),
]
FirstArg = Annotated[int | None, strawberry.argument(description="Page size, 0..100 (default 20).")]
AfterArg = Annotated[
    str | None, strawberry.argument(description="Return items after this cursor (a previous endCursor).")
]


@strawberry.type
class LeadsQuery:
    """Query fields of the marketplace read side: one lead, listing and search."""

    @strawberry.field(description="One lead by id; null when it does not exist.")
    async def lead(
        self,
        info: Info[Context, None],
        id: Annotated[strawberry.ID, strawberry.argument(description="Lead id.")],
    ) -> Lead | None:
        row = await resolve.lead_by_id(info.context, id)
        return Lead.from_row(row) if row is not None else None

    @strawberry.field(
        description=(
            "Browse the marketplace: every filter combined with AND, geo filters on PostGIS, "
            "keyset pagination (cursors stay valid while new leads arrive)."
        )
    )
    @direct(_leads_direct)
    async def leads(
        self,
        info: Info[Context, None],
        filter: FilterArg = None,
        sort: Annotated[
            LeadSort | None,
            strawberry.argument(description="Order; DISTANCE needs filter.near, RELEVANCE is search-only."),
        ] = LeadSort.NEWEST,
        first: FirstArg = 20,
        after: AfterArg = None,
    ) -> LeadConnection:
        with_total = _field_selected(info, "totalCount") or _field_selected(info, "totalCountIsExact")
        return await _leads(info.context, filter, sort, first, after, with_total=with_total)

    @strawberry.field(
        description=(
            "Full-text search (synonyms and typos tolerated) with the same filters as leads, "
            "relevance or field sorts, and facet counts over the filtered set."
        )
    )
    @direct(_search_direct)
    async def search_leads(
        self,
        info: Info[Context, None],
        query: Annotated[
            str, strawberry.argument(description='Free text, e.g. "2 bed 2 bath condo near UT Austin".')
        ],
        filter: FilterArg = None,
        sort: Annotated[
            LeadSort | None,
            strawberry.argument(description="Order; RELEVANCE by default. DISTANCE needs filter.near."),
        ] = LeadSort.RELEVANCE,
        first: FirstArg = 20,
        after: AfterArg = None,
    ) -> LeadSearchResult:
        with_facets = _field_selected(info, "facets")
        return await _search(info.context, query, filter, sort, first, after, with_facets=with_facets)
