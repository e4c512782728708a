"""One filter specification, three compilations, one oracle.

`LeadFilterSpec` (what LeadFilter means) is compiled to SQL (aiqleads.domain.leads.sql_filter), to
Elasticsearch clauses (aiqleads.domain.search.es_filter) and to a Python predicate
(aiqleads.domain.core.filters.predicate). This test seeds one fixture set into PostgreSQL and into a
private Elasticsearch index, runs every case through all three, and compares each result with an
oracle written here in plain Python over the seeded rows (its own haversine and point-in-polygon), so
an engine can never silently drift from the meaning. Every field of the specification is covered.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, fields
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest_asyncio
from aiqtest_support.leads_data import (
    SOURCES,
    Item,
    haversine_miles,
    make_dataset,
    point_in_polygon,
    unique_city,
)
from elasticsearch import AsyncElasticsearch
from sqlalchemy import select

from aiqleads.domain.core.filters.parse import parse_filter
from aiqleads.domain.core.filters.predicate import lead_matches
from aiqleads.domain.core.filters.spec import LeadFilterSpec
from aiqleads.domain.core.geo import point
from aiqleads.domain.core.lead import Lead
from aiqleads.domain.db import make_engine, make_sessionmaker
from aiqleads.domain.leads.shaped_sql import conditions_for, shape_of, values_of
from aiqleads.domain.leads.sql_filter import filter_conditions
from aiqleads.domain.search.es_filter import es_filters
from aiqleads.domain.search.mapping import INDEX_SETTINGS, MAPPING, lead_document
from aiqleads.domain.settings import Settings

NOW = datetime.now(UTC)
CENTRE = (45.0, -110.0)
# a concave polygon with a hole, vertices off the 0.01° grid so no public point sits on an edge
OUTER = [[-110.305, 44.705], [-109.705, 44.805], [-109.905, 45.355], [-110.105, 45.005], [-110.455, 45.205]]
HOLE = [[-110.155, 44.855], [-110.005, 44.855], [-110.005, 44.955], [-110.155, 44.955]]
RINGS = [[*OUTER, OUTER[0]], [*HOLE, HOLE[0]]]


@dataclass(frozen=True)
class Seeded:
    """The fixture set: its city (scopes every query to these rows), the rows and the ES index."""

    city: str
    items: list[Item]
    es: AsyncElasticsearch
    index: str
    sessionmaker: Any


def _antimeridian_items(city: str) -> list[Item]:
    """A few leads on both sides of longitude 180, for boxes that cross it."""
    out: list[Item] = []
    for n, (lat, lng) in enumerate([(-17.7, 179.93), (-17.8, -179.94), (-17.6, 179.42), (-17.9, -179.46)]):
        row = Lead(
            id=uuid.uuid4(),
            source=SOURCES[n % len(SOURCES)],
            source_url=None,
            property_type="LAND",
            title=f"Island plot {n}",
            description=None,
            street=None,
            city=city,
            state="HI",
            zip="96701",
            location=point(lat, lng),
            asking_price=200_000 + n,
            bedrooms=None,
            bathrooms=None,
            sqft=None,
            year_built=None,
            photos=[],
            posted_at=NOW - timedelta(days=n + 1),
            quality_score=0.5,
            fraud_score=0.1,
            fraud_signals=[],
            contact_name=None,
            contact_phone=None,
            contact_email=None,
            price_credits=10,
            max_buyers=1,
            buyers_count=0,
            holds_count=0,
            status="AVAILABLE",
        )
        out.append(Item(row, lat, lng))
    return out


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def seeded(settings: Settings) -> AsyncIterator[Seeded]:
    city = unique_city("Oracle")
    items = make_dataset(260, city=city, centre=CENTRE, seed=7, now=NOW) + _antimeridian_items(city)
    documents = [lead_document(i.row) for i in items]  # before the insert: the rows are still transient
    engine = make_engine(settings.database_url, connections=6)
    sessionmaker = make_sessionmaker(engine)
    async with sessionmaker() as session, session.begin():
        session.add_all([i.row for i in items])
    es = AsyncElasticsearch(settings.elasticsearch_url)
    index = f"{settings.es_index_prefix}-oracle-{uuid.uuid4().hex[:8]}"
    await es.indices.create(index=index, settings=INDEX_SETTINGS, mappings=MAPPING)
    operations: list[dict[str, Any]] = []
    for doc in documents:
        operations += [{"index": {"_index": index, "_id": doc["lead_id"]}}, doc]
    response = await es.bulk(operations=operations, refresh=True)
    assert not response["errors"]
    try:
        yield Seeded(city, items, es, index, sessionmaker)
    finally:
        await es.indices.delete(index=index, ignore_unavailable=True)
        await es.close()
        await engine.dispose()


# ------------------------------------------------------------------------------------------ oracle


def public(item: Item) -> tuple[float, float]:
    """The point every geo filter runs on: snapped to the 0.01° grid."""
    return round(item.lat, 2), round(item.lng, 2)


def in_polygon(item: Item) -> bool:
    lat, lng = public(item)
    return point_in_polygon(lng, lat, RINGS[0]) and not point_in_polygon(lng, lat, RINGS[1])


def available(item: Item) -> bool:
    r = item.row
    return r.status == "AVAILABLE" and r.buyers_count + r.holds_count < r.max_buyers


def _at_least(value: Any, bound: float) -> bool:
    return value is not None and value >= bound


def _at_most(value: Any, bound: float) -> bool:
    return value is not None and value <= bound


Case = tuple[str, dict[str, Any], Callable[[Item], bool]]


def cases(items: list[Item]) -> list[Case]:
    """(name, LeadFilter input, oracle) — the city is added to every input (it scopes the query)."""
    posted_cut = sorted(i.posted_at for i in items)[len(items) // 3]
    everything = {"availableOnly": False}
    return [
        ("availableOnly (default)", {}, available),
        ("availableOnly false", everything, lambda i: True),
        ("sources", {"sources": ["FSBO", "ZILLOW"], **everything}, lambda i: i.source in ("FSBO", "ZILLOW")),
        (
            "propertyTypes",
            {"propertyTypes": ["CONDO", "LAND", "OTHER"]},
            lambda i: available(i) and i.property_type in ("CONDO", "LAND", "OTHER"),
        ),
        ("minPrice", {"minPrice": 700_000, **everything}, lambda i: _at_least(i.asking_price, 700_000)),
        ("maxPrice", {"maxPrice": 400_000, **everything}, lambda i: _at_most(i.asking_price, 400_000)),
        ("minBedrooms", {"minBedrooms": 4, **everything}, lambda i: _at_least(i.bedrooms, 4)),
        ("minBathrooms", {"minBathrooms": 2.5, **everything}, lambda i: _at_least(i.bathrooms, 2.5)),
        ("minSqft", {"minSqft": 3000, **everything}, lambda i: _at_least(i.sqft, 3000)),
        ("maxSqft", {"maxSqft": 1500}, lambda i: available(i) and _at_most(i.sqft, 1500)),
        ("state", {"state": "mt", **everything}, lambda i: i.state == "MT"),
        ("zipCodes", {"zipCodes": ["59002", "59005"], **everything}, lambda i: i.zip in ("59002", "59005")),
        ("minQuality", {"minQuality": 0.75, **everything}, lambda i: i.quality_score >= 0.75),
        ("maxFraud", {"maxFraud": 0.2, **everything}, lambda i: i.fraud_score <= 0.2),
        (
            "postedAfter",
            {"postedAfter": posted_cut.isoformat(), **everything},
            lambda i: i.posted_at > posted_cut,
        ),
        # before the index's date range (1970): every lead matches in both engines
        ("postedAfter 1900", {"postedAfter": "1900-01-01T00:00:00+00:00", **everything}, lambda i: True),
        (
            "near",
            {"near": {"center": {"lat": 45.12, "lng": -110.08}, "radiusMiles": 17.5}, **everything},
            lambda i: haversine_miles(45.12, -110.08, *public(i)) <= 17.5,
        ),
        (
            "within",
            {"within": {"south": 44.805, "west": -110.255, "north": 45.205, "east": -109.895}, **everything},
            lambda i: 44.805 <= public(i)[0] <= 45.205 and -110.255 <= public(i)[1] <= -109.895,
        ),
        (
            "within across the antimeridian",
            {"within": {"south": -18.0, "west": 179.5, "north": -17.5, "east": -179.5}, **everything},
            lambda i: -18.0 <= public(i)[0] <= -17.5 and (public(i)[1] >= 179.5 or public(i)[1] <= -179.5),
        ),
        (
            "polygon with a hole",
            {"polygon": {"type": "Polygon", "coordinates": RINGS}, **everything},
            in_polygon,
        ),
        (
            "combined",
            {
                "near": {"center": {"lat": 44.95, "lng": -109.95}, "radiusMiles": 30},
                "propertyTypes": ["SINGLE_FAMILY", "CONDO", "TOWNHOUSE", "MULTI_FAMILY"],
                "minPrice": 150_000,
                "maxPrice": 1_300_000,
                "minBedrooms": 1,
                "maxFraud": 0.5,
            },
            lambda i: (
                available(i)
                and haversine_miles(44.95, -109.95, *public(i)) <= 30
                and i.property_type in ("SINGLE_FAMILY", "CONDO", "TOWNHOUSE", "MULTI_FAMILY")
                and _at_least(i.asking_price, 150_000)
                and _at_most(i.asking_price, 1_300_000)
                and _at_least(i.bedrooms, 1)
                and i.fraud_score <= 0.5
            ),
        ),
    ]


def _field_of(filter_input: dict[str, Any]) -> set[str]:
    """The specification fields a LeadFilter input sets (besides the scoping city)."""
    spec = parse_filter(filter_input)
    default = LeadFilterSpec()
    return {f.name for f in fields(spec) if getattr(spec, f.name) != getattr(default, f.name)}


async def _sql_ids(seeded: Seeded, spec: LeadFilterSpec) -> set[uuid.UUID]:
    async with seeded.sessionmaker() as session:
        return set(await session.scalars(select(Lead.id).where(*filter_conditions(spec))))


async def _shaped_ids(seeded: Seeded, spec: LeadFilterSpec) -> set[uuid.UUID]:
    """The same filter as the listing queries run it: built once per shape, values bound."""
    statement = select(Lead.id).where(*conditions_for(shape_of(spec)))
    async with seeded.sessionmaker() as session:
        return set(await session.scalars(statement, values_of(spec)))


async def _es_ids(seeded: Seeded, spec: LeadFilterSpec) -> set[uuid.UUID]:
    body = {"query": {"bool": {"filter": es_filters(spec)}}, "size": 1000, "_source": False}
    response = await seeded.es.search(index=seeded.index, body=body)
    assert response["hits"]["total"]["value"] < 1000
    return {uuid.UUID(hit["_id"]) for hit in response["hits"]["hits"]}


def _python_ids(seeded: Seeded, spec: LeadFilterSpec) -> set[uuid.UUID]:
    return {i.id for i in seeded.items if lead_matches(spec, i.row, *public(i))}


async def test_sql_elasticsearch_and_python_agree_with_the_oracle_on_every_filter_field(
    seeded: Seeded,
) -> None:
    covered: set[str] = set()
    for name, extra, oracle in cases(seeded.items):
        # the city in another case: the filter compares it case-insensitively
        filter_input = {"city": seeded.city.upper() if len(covered) % 2 else seeded.city.lower(), **extra}
        spec = parse_filter(filter_input)
        covered |= _field_of(filter_input)
        expected = {i.id for i in seeded.items if oracle(i)}
        assert expected, f"{name}: the fixture set does not exercise this case"
        if extra:
            assert len(expected) < len(seeded.items) or name.startswith(("availableOnly", "postedAfter 1900"))
        assert await _sql_ids(seeded, spec) == expected, f"SQL disagrees with the oracle on {name}"
        assert await _shaped_ids(seeded, spec) == expected, f"shaped SQL disagrees with the oracle on {name}"
        assert await _es_ids(seeded, spec) == expected, f"Elasticsearch disagrees with the oracle on {name}"
        assert _python_ids(seeded, spec) == expected, (
            f"the Python predicate disagrees with the oracle on {name}"
        )
    every_field = {f.name for f in fields(LeadFilterSpec)}
    assert covered == every_field, f"fields without a case: {sorted(every_field - covered)}"
