"""searchLeads on Elasticsearch: relevance, synonyms and typos, the same filters and sorts as leads,
facets equal to filtered counts, search_after pagination, indexing jobs and zero-downtime reindex."""

from __future__ import annotations

import asyncio
import contextlib
import random
import uuid
from collections import Counter
from datetime import UTC, datetime
from typing import Any

import pytest
import pytest_asyncio
from aiqtest_support.leads_data import (
    LEADS_QUERY,
    SEARCH_QUERY,
    Item,
    all_pages,
    insert,
    make_dataset,
    raw_id,
    unique_city,
)
from sqlalchemy import text
from starlette.applications import Starlette

from aiqleads.domain.core.driver_sql import pooled_driver
from aiqleads.domain.core.filters.parse import parse_filter
from aiqleads.domain.core.geo import point
from aiqleads.domain.core.lead import Lead
from aiqleads.domain.search import service
from aiqleads.domain.search.indexer import index_leads, reindex_all
from aiqleads.domain.search.mapping import alias_name
from aiqleads.workers.context import for_deps
from aiqleads.workers.index_jobs import index_lead_job

NOW = datetime.now(UTC)


async def _index(app: Starlette, rows: list[Any]) -> None:
    res = app.state.deps
    await index_leads(res.es, res.settings, rows, refresh=True)


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def dataset(app: Starlette) -> tuple[str, list[Item]]:
    city = unique_city("Srch")
    items = make_dataset(200, city=city, seed=21, now=NOW)
    await insert(app.state.deps.sessionmaker, items)
    await _index(app, [i.row for i in items])
    return city, items


def _austin(zip_code: str, title: str, ptype: str, beds: int | None, baths: float | None, **kw: Any) -> Lead:
    values: dict[str, Any] = dict(
        id=uuid.uuid4(),
        source="ZILLOW",
        property_type=ptype,
        title=title,
        description=kw.pop("description", "Nice place."),
        street="1 Test St",
        city=kw.pop("city", "Austin"),
        state=kw.pop("state", "TX"),
        zip=zip_code,
        location=point(kw.pop("lat", 30.2849), kw.pop("lng", -97.7341)),
        asking_price=400_000,
        bedrooms=beds,
        bathrooms=baths,
        sqft=1000,
        posted_at=NOW,
        quality_score=0.6,
        fraud_score=0.05,
        price_credits=20,
        max_buyers=1,
        buyers_count=0,
        holds_count=0,
        status="AVAILABLE",
    )
    values.update(kw)
    return Lead(**values)


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def texas(app: Starlette) -> tuple[list[str], dict[str, Lead]]:
    """A small Texas corpus with the listings the quality tests expect on top, and distractors."""
    rnd = random.Random(uuid.uuid4().int)
    zips = [f"0{rnd.randint(0, 9999):04d}", f"0{rnd.randint(0, 9999):04d}"]
    z1, z2 = zips
    rows = {
        "austin_condo_a": _austin(z1, "Sunny 2BR/2BA condominium steps from campus", "CONDO", 2, 2.0),
        "austin_condo_b": _austin(z2, "Two bedroom, two bath condo in West Campus", "CONDO", 2, 2.0),
        "austin_condo_c": _austin(z1, "Updated condo near the University of Texas", "CONDO", 2, 2.0),
        "austin_condo_3bed": _austin(z1, "Spacious 3 bed 2 bath condo", "CONDO", 3, 2.0),
        "austin_condo_1bed": _austin(z2, "Cozy 1 bed 1 bath condo", "CONDO", 1, 1.0),
        "austin_house": _austin(z1, "2 bed 2 bath house near UT", "SINGLE_FAMILY", 2, 2.0),
        "austin_townhome": _austin(z2, "Modern townhome with garage", "TOWNHOUSE", 3, 2.5),
        "austin_land": _austin(z1, "Vacant land, 2 acres", "LAND", None, None),
        "dallas_condo": _austin(
            z1, "2 bed 2 bath condo in Uptown", "CONDO", 2, 2.0, city="Dallas", lat=32.8, lng=-96.8
        ),
        "houston_sfh": _austin(
            z2, "Single-family home with pool", "SINGLE_FAMILY", 4, 3.0, city="Houston", lat=29.76, lng=-95.37
        ),
        "duplex": _austin(z2, "Duplex, great investment", "MULTI_FAMILY", 4, 2.0, city="San Antonio"),
    }
    async with app.state.deps.sessionmaker() as session, session.begin():
        session.add_all(rows.values())
    await _index(app, list(rows.values()))
    return zips, rows


async def _search(gql: Any, query: str, filt: dict[str, Any], **extra: Any) -> dict[str, Any]:
    body = await gql(SEARCH_QUERY, {"query": query, "filter": filt, **extra})
    result: dict[str, Any] = body["data"]["searchLeads"]
    return result


async def test_two_bed_two_bath_condo_near_ut_austin_ranks_austin_two_bed_condos_first(
    gql: Any, texas: tuple[list[str], dict[str, Lead]]
) -> None:
    zips, rows = texas
    result = await _search(gql, "2 bed 2 bath condo near UT Austin", {"zipCodes": zips})
    top = [raw_id(e["node"]["id"]) for e in result["edges"][:3]]
    wanted = {rows[k].id for k in ("austin_condo_a", "austin_condo_b", "austin_condo_c")}
    assert set(top) == wanted, [e["node"]["title"] for e in result["edges"]]
    for edge in result["edges"][:3]:
        node = edge["node"]
        assert (node["propertyType"], node["bedrooms"], node["address"]["city"]) == ("CONDO", 2, "Austin")
    # listings that only share the city rank below every condo
    order = [raw_id(e["node"]["id"]) for e in result["edges"]]
    last_condo = max(order.index(r.id) for r in rows.values() if r.property_type == "CONDO")
    assert order.index(rows["austin_land"].id) > last_condo
    assert order.index(rows["austin_townhome"].id) > last_condo


async def test_misspelling_still_finds_condos(gql: Any, texas: tuple[list[str], dict[str, Lead]]) -> None:
    zips, rows = texas
    condos = {r.id for r in rows.values() if r.property_type == "CONDO"}
    result = await _search(gql, "condominum", {"zipCodes": zips})
    found = [raw_id(e["node"]["id"]) for e in result["edges"]]
    assert set(found) == condos
    assert result["totalCount"] == len(condos)


@pytest.mark.parametrize(
    ("query", "expected_keys"),
    [
        (
            "condominiums",
            {
                "austin_condo_a",
                "austin_condo_b",
                "austin_condo_c",
                "austin_condo_3bed",
                "austin_condo_1bed",
                "dallas_condo",
            },
        ),
        ("townhouse", {"austin_townhome"}),
        ("single family", {"austin_house", "houston_sfh"}),
        ("sfh", {"austin_house", "houston_sfh"}),
        ("multifamily", {"duplex"}),
    ],
)
async def test_synonyms_match_both_ways(
    gql: Any, texas: tuple[list[str], dict[str, Lead]], query: str, expected_keys: set[str]
) -> None:
    zips, rows = texas
    result = await _search(gql, query, {"zipCodes": zips})
    found = {raw_id(e["node"]["id"]) for e in result["edges"]}
    assert found == {rows[k].id for k in expected_keys}


async def test_bedroom_shorthands_are_exact(gql: Any, texas: tuple[list[str], dict[str, Lead]]) -> None:
    zips, _ = texas
    for query in ("2br", "two bedrooms", "2 bed"):
        result = await _search(gql, query, {"zipCodes": zips})
        beds = {e["node"]["bedrooms"] for e in result["edges"]}
        assert beds == {2}, (query, beds)


def _filter_cases(city: str) -> list[dict[str, Any]]:
    return [
        {"city": city},
        {"city": city, "availableOnly": False},
        {"city": city, "sources": ["ZILLOW", "FSBO"], "minPrice": 200_000, "maxPrice": 1_000_000},
        {"city": city, "propertyTypes": ["CONDO", "SINGLE_FAMILY"], "minBedrooms": 2, "minBathrooms": 1.5},
        {"city": city, "minSqft": 800, "maxSqft": 3000, "minQuality": 0.3, "maxFraud": 0.4},
        {"city": city, "zipCodes": ["59002", "59003"], "state": "MT"},
        {"city": city, "near": {"center": {"lat": 45.1, "lng": -109.9}, "radiusMiles": 20}},
        {"city": city, "within": {"south": 44.7, "west": -110.4, "north": 45.1, "east": -109.95}},
        {
            "city": city,
            "availableOnly": False,
            "polygon": {
                "type": "Polygon",
                "coordinates": [
                    [[-110.4, 44.6], [-109.6, 44.9], [-110.0, 45.4], [-110.1, 45.0], [-110.4, 44.6]]
                ],
            },
        },
    ]


async def test_search_filters_equal_the_sql_filters(gql: Any, dataset: tuple[str, list[Item]]) -> None:
    city, items = dataset
    posted_cut = sorted(i.posted_at for i in items)[80].isoformat()
    for filt in [*_filter_cases(city), {"city": city, "postedAfter": posted_cut}]:
        sql_nodes, sql_total = await all_pages(gql, {"filter": filt})
        es_nodes, es_total = await all_pages(
            gql, {"query": "", "filter": filt}, query=SEARCH_QUERY, field="searchLeads", page_size=45
        )
        sql_ids = [raw_id(n["id"]) for n in sql_nodes]
        es_ids = [raw_id(n["id"]) for n in es_nodes]
        assert sql_ids, filt
        assert len(es_ids) == len(set(es_ids)), filt
        assert set(es_ids) == set(sql_ids), filt
        assert es_total == sql_total == len(sql_ids), filt


async def test_posted_after_beyond_the_index_date_range_agrees_with_sql(
    gql: Any, dataset: tuple[str, list[Item]]
) -> None:
    city, items = dataset
    # the index stores posted_at as date_nanos (1970..2262): bounds outside it must not be errors
    for cut, expected in (("0001-01-01T00:00:00Z", len(items)), ("9999-12-31T23:59:59+00:00", 0)):
        filt = {"city": city, "postedAfter": cut, "availableOnly": False}
        _, sql_total = await all_pages(gql, {"filter": filt})
        _, es_total = await all_pages(
            gql, {"query": "", "filter": filt}, query=SEARCH_QUERY, field="searchLeads"
        )
        assert es_total == sql_total == expected, cut


@pytest.mark.parametrize("sort", ["NEWEST", "PRICE_ASC", "PRICE_DESC", "QUALITY", "DISTANCE"])
async def test_search_sorts_agree_with_leads(gql: Any, dataset: tuple[str, list[Item]], sort: str) -> None:
    city, _ = dataset
    filt = {
        "city": city,
        "availableOnly": False,
        "near": {"center": {"lat": 45.0, "lng": -110.0}, "radiusMiles": 100},
    }
    sql_nodes, _ = await all_pages(gql, {"filter": filt, "sort": sort})
    es_nodes, _ = await all_pages(
        gql,
        {"query": "", "filter": filt, "sort": sort},
        query=SEARCH_QUERY,
        field="searchLeads",
        page_size=33,
    )
    assert [n["id"] for n in es_nodes] == [n["id"] for n in sql_nodes]
    if sort == "DISTANCE":
        sql_distance = {n["id"]: n["distanceMiles"] for n in sql_nodes}
        for node in es_nodes:
            assert node["distanceMiles"] == pytest.approx(sql_distance[node["id"]], rel=1e-9)


async def test_facet_counts_equal_filtered_counts(gql: Any, dataset: tuple[str, list[Item]]) -> None:
    city, items = dataset
    filt = {"city": city, "minBedrooms": 1}
    result = await _search(gql, "", filt, first=5)
    total = result["totalCount"]
    facets = result["facets"]
    sql_nodes, sql_total = await all_pages(gql, {"filter": filt})
    assert total == sql_total
    by_id = {i.id: i for i in items}
    matched = [by_id[raw_id(n["id"])] for n in sql_nodes]
    assert {f["value"]: f["count"] for f in facets["propertyTypes"]} == Counter(
        i.property_type for i in matched
    )
    assert {f["value"]: f["count"] for f in facets["sources"]} == Counter(i.source for i in matched)
    assert {f["value"]: f["count"] for f in facets["bedrooms"]} == Counter(str(i.bedrooms) for i in matched)
    assert facets["cities"] == [{"value": city, "count": total}]
    for band in facets["priceRanges"]:
        low, high = band["from"], band["to"]
        expected = sum(
            1
            for i in matched
            if i.asking_price is not None
            and (low is None or i.asking_price >= low)
            and (high is None or i.asking_price < high)
        )
        assert band["count"] == expected, band
    # and each facet value, applied as a filter, gives exactly its count
    for facet in facets["propertyTypes"]:
        narrowed = await _search(gql, "", {**filt, "propertyTypes": [facet["value"]]}, first=1)
        assert narrowed["totalCount"] == facet["count"]
        sql = await gql(LEADS_QUERY, {"filter": {**filt, "propertyTypes": [facet["value"]]}, "first": 0})
        assert sql["data"]["leads"]["totalCount"] == facet["count"]


async def test_relevance_pages_have_no_duplicates(gql: Any, dataset: tuple[str, list[Item]]) -> None:
    city, items = dataset
    nodes, total = await all_pages(
        gql,
        {"query": "condo townhouse listing", "filter": {"city": city, "availableOnly": False}},
        query=SEARCH_QUERY,
        field="searchLeads",
        page_size=13,
    )
    ids = [raw_id(n["id"]) for n in nodes]
    assert len(ids) == len(set(ids)) == total
    assert total == len(items)  # "listing" is in every title


async def test_cursor_of_another_query_or_sort_is_rejected(gql: Any, dataset: tuple[str, list[Item]]) -> None:
    city, _ = dataset
    first = await _search(gql, "condo", {"city": city}, first=2)
    cursor = first["pageInfo"]["endCursor"]
    wrong_sort = await gql(
        SEARCH_QUERY,
        {"query": "condo", "filter": {"city": city}, "sort": "NEWEST", "after": cursor},
        expect_errors=True,
    )
    assert wrong_sort["errors"][0]["extensions"] == {"code": "INVALID_INPUT", "field": "after"}
    wrong_kind = await gql(LEADS_QUERY, {"filter": {"city": city}, "after": cursor}, expect_errors=True)
    assert wrong_kind["errors"][0]["extensions"]["code"] == "INVALID_INPUT"


async def test_index_job_follows_postgres(gql: Any, app: Starlette) -> None:
    res = app.state.deps
    city = unique_city("Job")
    items = make_dataset(3, city=city, seed=3)
    for item in items:
        item.row.status = "AVAILABLE"
        item.row.buyers_count = item.row.holds_count = 0
    await insert(res.sessionmaker, items)
    ctx = for_deps(res)
    for item in items:
        await index_lead_job(ctx, str(item.id))
    await res.es.indices.refresh(index=alias_name(res.settings))
    assert (await _search(gql, "", {"city": city}))["totalCount"] == 3
    target = items[0].id
    async with res.sessionmaker() as session, session.begin():
        await session.execute(
            text("UPDATE leads SET title = 'Zebrawood loft' WHERE id = :id"), {"id": target}
        )
        await session.execute(text("DELETE FROM leads WHERE id = :id"), {"id": items[1].id})
    await index_lead_job(ctx, str(target))
    await index_lead_job(ctx, str(items[1].id))
    await res.es.indices.refresh(index=alias_name(res.settings))
    found = await _search(gql, "zebrawood", {"city": city})
    assert [raw_id(e["node"]["id"]) for e in found["edges"]] == [target]
    assert (await _search(gql, "", {"city": city}))["totalCount"] == 2


async def test_reindex_rebuilds_from_postgres_with_zero_downtime(
    gql: Any, app: Starlette, dataset: tuple[str, list[Item]]
) -> None:
    res = app.state.deps
    city, _ = dataset
    expected = (await _search(gql, "", {"city": city, "availableOnly": False}, first=0))["totalCount"]
    # a lead that only exists in PostgreSQL (never indexed) must appear after the rebuild
    extra = make_dataset(1, city=city, seed=99)
    await insert(res.sessionmaker, extra)
    before = set((await res.es.indices.get_alias(name=alias_name(res.settings))).body)
    lines: list[str] = []
    stop = asyncio.Event()
    observed: list[int] = []

    async def keep_searching() -> None:
        while not stop.is_set():
            result = await _search(gql, "", {"city": city, "availableOnly": False}, first=0)
            observed.append(result["totalCount"])
            await asyncio.sleep(0)

    reader = asyncio.create_task(keep_searching())
    try:
        result = await reindex_all(res.sessionmaker, res.es, res.settings, lines.append, batch_size=500)
    finally:
        stop.set()
        await reader
    after = set((await res.es.indices.get_alias(name=alias_name(res.settings))).body)
    assert after == {result.index} and not (after & before)
    for old in before:
        assert not await res.es.indices.exists(index=old)
    assert observed and all(n in (expected, expected + 1) for n in observed), set(observed)
    assert any("leads indexed" in line for line in lines)
    final = await _search(gql, "", {"city": city, "availableOnly": False}, first=0)
    assert final["totalCount"] == expected + 1
    async with res.sessionmaker() as session:
        in_pg = (await session.execute(text("SELECT count(*) FROM leads"))).scalar_one()
    count = (await res.es.count(index=alias_name(res.settings)))["count"]
    assert count == in_pg == result.indexed


def _counting_scope(app: Starlette, opened: list[str]) -> Any:
    """The API's rows scope (a pooled driver connection), noting each time it is opened and closed."""

    @contextlib.asynccontextmanager
    async def scope() -> Any:
        opened.append("open")
        try:
            async with pooled_driver(app.state.deps.engine) as connection:
                yield connection
        finally:
            opened.append("closed")

    return scope


async def _search_city(app: Starlette, opened: list[str], city: str, text: str, sort: str) -> Any:
    """The domain's search of a city, first 5, its rows read on a counting scope."""
    deps = app.state.deps
    scope = _counting_scope(app, opened)
    return await service.search_leads(
        scope, deps.es, deps.settings, parse_filter({"city": city}), text, sort, 5, None
    )


async def test_search_rows_read_once_and_none_for_no_hits(
    app: Starlette, dataset: tuple[str, list[Item]]
) -> None:
    """The rows of a page are read on one connection, given back at once; a search that finds
    nothing takes no connection at all."""
    city, items = dataset
    opened: list[str] = []
    page = await _search_city(app, opened, city, "", "NEWEST")
    assert len(page.hits) == 5 and opened == ["open", "closed"]
    assert page.end_cursor == page.hits[-1].cursor and page.has_next_page
    assert {h.lead.id for h in page.hits} <= {i.row.id for i in items}
    opened.clear()
    empty = await _search_city(app, opened, unique_city("Nowhere"), "condo", "RELEVANCE")
    assert empty.hits == [] and empty.end_cursor is None and opened == []


async def test_a_cancelled_search_gives_its_connection_back(
    app: Starlette, dataset: tuple[str, list[Item]], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Cancelled while PostgreSQL reads its rows, a search leaves no read behind: the connection
    is closed and the pool holds no more connections than before."""
    deps = app.state.deps
    city, _ = dataset
    reading = asyncio.Event()
    real = service.leads_with_distance

    async def slow(*args: Any, **kwargs: Any) -> Any:
        reading.set()
        await asyncio.sleep(30)
        return await real(*args, **kwargs)

    monkeypatch.setattr(service, "leads_with_distance", slow)
    checked_out = deps.engine.pool.checkedout()
    opened: list[str] = []
    search = asyncio.create_task(_search_city(app, opened, city, "", "NEWEST"))
    await asyncio.wait_for(reading.wait(), 10)
    search.cancel()
    with pytest.raises(asyncio.CancelledError):
        await search
    assert opened == ["open", "closed"]
    assert deps.engine.pool.checkedout() == checked_out
