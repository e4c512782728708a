"""similarLeads and recommendedLeads on the real PostgreSQL + pgvector, with vectors from the local
model: neighbours by kind, geo filters (checked with an independent haversine), buyer profiles,
cold start, visibility and viewer price, models never mixed, statement counts."""

from __future__ import annotations

import math
import random
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import pytest_asyncio
from sqlalchemy import text
from starlette.applications import Starlette

from aiqleads.domain.bootstrap import Deps
from aiqleads.domain.core.interactions import InteractionKind, interaction, record_interactions
from aiqleads.domain.core.lead import Lead
from aiqleads.domain.core.seats import Purchase
from aiqleads.domain.core.visibility import viewer_price
from aiqleads.domain.recommendations.embedding import embed_leads
from aiqleads.domain.recommendations.local_minilm import LocalMiniLM
from aiqleads.domain.recommendations.profile_store import load_profile
from aiqleads.domain.recommendations.profile_updates import update_profiles
from aiqleads.resolvers.ids import to_global_id

CITIES = {
    "Austin": ("TX", 30.2672, -97.7431),
    "Denver": ("CO", 39.7392, -104.9903),
    "Nashville": ("TN", 36.1627, -86.7816),
}
TITLES = {
    "CONDO": [
        "{b} bed condo with balcony near downtown",
        "Modern {b} bedroom condominium, HOA gym and pool",
        "{b} bed {b} bath condo unit with elevator and concierge",
        "Updated condo with {b} beds, walk to restaurants",
    ],
    "LAND": [
        "{a} acre vacant lot, zoned residential",
        "Buildable land, {a} acres with road access",
        "{a} acres of raw land, utilities at the street",
        "Vacant parcel of {a} acres, ready for your dream home",
    ],
    "SINGLE_FAMILY": [
        "{b} bed {b} bath house with a big backyard",
        "Single family home, {b} bedrooms, two car garage",
        "Charming {b} bedroom ranch house with porch",
        "Family home with {b} bedrooms and a fenced yard",
    ],
}
PER_KIND = 12
SPREAD_MILES = 14.0
EARTH_RADIUS_MILES = 3958.7613  # the mean radius, the sphere the geo filter uses

SIMILAR = """
query($id: ID!, $filter: LeadFilter, $first: Int) {
  similarLeads(leadId: $id, filter: $filter, first: $first) {
    id title propertyType price sourceUrl recommendationReason distanceMiles
    address { city state } location { lat lng }
  }
}"""
RECOMMENDED = """
query($filter: LeadFilter, $first: Int) {
  recommendedLeads(filter: $filter, first: $first) {
    id title propertyType price recommendationReason qualityScore postedAt address { city state }
  }
}"""


def haversine_miles(lat1: float, lng1: float, lat2: float, lng2: float) -> float:
    """Great-circle distance on the mean-radius sphere (independent of PostGIS)."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lng2 - lng1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_MILES * math.asin(math.sqrt(a))


def public(value: float) -> float:
    """A coordinate on the 0.01° grid non-buyers get."""
    return round(round(value / 0.01) * 0.01, 2)


@dataclass
class Dataset:
    """Leads of three kinds in three cities, in a zip code no other test uses, all embedded."""

    zip: str
    leads: list[Lead]
    model: str

    def by(self, city: str, kind: str) -> list[Lead]:
        """The dataset's leads of one kind in one city."""
        return [lead for lead in self.leads if lead.city == city and lead.property_type == kind]

    def of(self, global_id: str) -> Lead:
        """The dataset lead with this GraphQL id."""
        return next(lead for lead in self.leads if to_global_id("Lead", lead.id) == global_id)

    @property
    def filter(self) -> dict[str, Any]:
        """A LeadFilter that admits only this dataset."""
        return {"zipCodes": [self.zip]}


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def embedder(settings: Any) -> AsyncIterator[LocalMiniLM]:
    """The local model, loaded once for the module."""
    model = LocalMiniLM(settings)
    yield model
    await model.aclose()


def _dataset_rows(zip_code: str, rng: random.Random) -> list[Lead]:
    from conftest import lead_row

    now = datetime.now(UTC)
    rows: list[Lead] = []
    for city, (state, lat, lng) in CITIES.items():
        for kind, titles in TITLES.items():
            for i in range(PER_KIND):
                miles = SPREAD_MILES * math.sqrt(rng.random())
                bearing = rng.uniform(0, 2 * math.pi)
                dlat = miles * math.cos(bearing) / 69.0
                dlng = miles * math.sin(bearing) / (69.0 * math.cos(math.radians(lat)))
                title = titles[i % len(titles)].format(b=rng.randint(1, 4), a=rng.randint(1, 40))
                rows.append(
                    lead_row(
                        property_type=kind,
                        title=title,
                        city=city,
                        state=state,
                        zip=zip_code,
                        lat=lat + dlat,
                        lng=lng + dlng,
                        quality_score=round(rng.uniform(0.3, 0.95), 3),
                        posted_at=now - timedelta(hours=rng.randint(1, 500)),
                        street=f"{100 + i} Main St",
                    )
                )
    return rows


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def dataset(app: Starlette, embedder: LocalMiniLM) -> Dataset:
    """Insert and embed the dataset (the same job the worker runs after ingestion)."""
    deps: Deps = app.state.deps
    rng = random.Random(1313)
    zip_code = f"0{uuid.uuid4().int % 10_000:04d}"
    rows = _dataset_rows(zip_code, rng)
    # one listing whose title carries the seller's phone: non-buyers must never read it
    rows[0].title = "2 bed condo with balcony near downtown, call 512-555-0199"
    async with deps.sessionmaker() as session, session.begin():
        session.add_all(rows)
    report = await embed_leads(deps, embedder, [row.id for row in rows])
    assert report.embedded == len(rows) and report.computed >= len({r.title for r in rows}) - 5
    return Dataset(zip_code, rows, embedder.model_id)


async def test_similar_leads_of_a_condo_are_mostly_condos(gql: Any, dataset: Dataset) -> None:
    """Nine of ten neighbours of a condo are condos, closest first, the lead itself excluded."""
    for source in dataset.by("Austin", "CONDO")[:3] + dataset.by("Denver", "CONDO")[:2]:
        body = await gql(
            SIMILAR, {"id": to_global_id("Lead", source.id), "filter": dataset.filter, "first": 10}
        )
        found = body["data"]["similarLeads"]
        assert len(found) == 10
        assert to_global_id("Lead", source.id) not in [f["id"] for f in found]
        condos = sum(f["propertyType"] == "CONDO" for f in found)
        assert condos >= 8, [(f["propertyType"], f["title"]) for f in found]
        matches = [int(f["recommendationReason"].split("%")[0]) for f in found]
        assert matches == sorted(matches, reverse=True)  # closest first
        assert all(f"condo in {source.city}, {source.state}" in f["recommendationReason"] for f in found)


async def test_similar_land_is_land(gql: Any, dataset: Dataset) -> None:
    """Vacant land's neighbours are land, not condos."""
    source = dataset.by("Nashville", "LAND")[0]
    body = await gql(SIMILAR, {"id": to_global_id("Lead", source.id), "filter": dataset.filter, "first": 10})
    kinds = [f["propertyType"] for f in body["data"]["similarLeads"]]
    assert kinds.count("LAND") >= 8 and "CONDO" not in kinds[:5], kinds


@pytest.mark.parametrize("city", ["Austin", "Denver"])
async def test_geo_filtered_similar_leads_stay_inside_the_radius(
    gql: Any, dataset: Dataset, city: str
) -> None:
    """With a 10-mile radius every neighbour's public point is inside it (independent haversine), and
    the page is full whenever enough leads are inside."""
    _, lat, lng = CITIES[city]
    radius = 10.0
    source = dataset.by(city, "CONDO")[1]
    inside = [
        lead
        for lead in dataset.leads
        if lead.id != source.id
        and haversine_miles(lat, lng, *_public_point(lead)) <= radius - 0.01  # clear of the edge
    ]
    first = 8
    assert len(inside) >= first  # the dataset is built so that a page can be filled
    flt = {**dataset.filter, "near": {"center": {"lat": lat, "lng": lng}, "radiusMiles": radius}}
    body = await gql(SIMILAR, {"id": to_global_id("Lead", source.id), "filter": flt, "first": first})
    found = body["data"]["similarLeads"]
    assert len(found) == first
    for f in found:
        assert haversine_miles(lat, lng, f["location"]["lat"], f["location"]["lng"]) <= radius + 1e-6
        assert f["distanceMiles"] <= radius + 0.05
        assert f["address"]["city"] == city


def _public_point(lead: Lead) -> tuple[float, float]:
    from aiqleads.domain.core.geo import lat_lng

    lat, lng = lat_lng(lead.location)
    return public(lat), public(lng)


async def _buy(deps: Deps, user_id: uuid.UUID, leads: list[Lead], *, days_ago: float = 0.0) -> None:
    """Record purchases as checkout does (seat taken) and buffer them for the profile."""
    at = datetime.now(UTC) - timedelta(days=days_ago)
    async with deps.sessionmaker() as session, session.begin():
        for lead in leads:
            session.add(Purchase(user_id=user_id, lead_id=lead.id, price=lead.price_credits, purchased_at=at))
            await session.execute(text("UPDATE leads SET buyers_count = 1 WHERE id = :id"), {"id": lead.id})
    await record_interactions(
        deps.redis,
        deps.settings.arq_queue_name,
        [interaction(user_id, lead.id, InteractionKind.BUY) for lead in leads],
    )


async def test_a_buyer_of_three_austin_condos_gets_austin_condos(
    gql: Any, app: Starlette, make_user: Any, dataset: Dataset
) -> None:
    """Bought three Austin condos → mostly Austin condos, never the ones bought, each explained."""
    deps: Deps = app.state.deps
    buyer = await make_user()
    bought = dataset.by("Austin", "CONDO")[2:5]
    await _buy(deps, buyer.id, bought)
    report = await update_profiles(deps, dataset.model)
    assert report.profiles >= 1
    async with deps.sessionmaker() as session:
        profile = await load_profile(session, buyer.id)
    assert profile is not None and profile.interactions == 3 and profile.embedding_model == dataset.model

    flt = {**dataset.filter, "availableOnly": False}  # bought leads are excluded by rule, not by availability
    body = await gql(RECOMMENDED, {"filter": flt, "first": 10}, token=buyer.token)
    found = body["data"]["recommendedLeads"]
    assert len(found) == 10
    ids = {f["id"] for f in found}
    assert not ids & {to_global_id("Lead", lead.id) for lead in bought}
    austin_condos = [f for f in found if f["propertyType"] == "CONDO" and f["address"]["city"] == "Austin"]
    assert len(austin_condos) >= 6, [(f["propertyType"], f["address"]["city"]) for f in found]
    assert all(f["recommendationReason"] == "similar to 3 condos you bought in Austin" for f in austin_condos)


async def test_views_and_holds_weigh_less_than_buys_and_recent_more_than_old(
    app: Starlette, make_user: Any, dataset: Dataset
) -> None:
    """A buy counts five views; a buy 28 days old (two half-lives) weighs a quarter of a new one."""
    from aiqleads.domain.recommendations import profile_store

    deps: Deps = app.state.deps
    user = await make_user()
    condo, land = dataset.by("Denver", "CONDO")[0], dataset.by("Denver", "LAND")[0]
    await _buy(deps, user.id, [land], days_ago=28)
    views = [interaction(user.id, condo.id, InteractionKind.VIEW)]
    await record_interactions(deps.redis, deps.settings.arq_queue_name, views)
    await update_profiles(deps, dataset.model)
    async with deps.sessionmaker() as session:
        profile = await load_profile(session, user.id)
        inputs = await profile_store.profile_inputs(session, user.id, dataset.model)
    assert profile is not None and profile.interactions == 2
    by_kind = {i.kind: i for i in inputs}
    condo_v, land_v = by_kind[InteractionKind.VIEW].vector, by_kind[InteractionKind.BUY].vector
    # weights: view 1 (new), buy 5 × 2^-2 = 1.25: the profile leans slightly towards the land
    expected = 1.0 * condo_v + 1.25 * land_v
    expected = expected / (sum(x * x for x in expected) ** 0.5)
    cosine = float(sum(a * b for a, b in zip(expected, profile.vector, strict=True)))
    assert cosine > 0.9999


async def test_cold_start_answers_best_quality_newest_first(
    gql: Any, app: Starlette, make_user: Any, dataset: Dataset
) -> None:
    """No history (anonymous, or a new buyer): the best-quality matching leads, newest first per band."""
    deps: Deps = app.state.deps
    newcomer = await make_user()
    async with deps.sessionmaker() as session:
        qualities = await session.scalars(
            text(
                "SELECT quality_score FROM leads WHERE zip = :z AND status = 'AVAILABLE' "
                "AND buyers_count + holds_count < max_buyers"
            ),
            {"z": dataset.zip},
        )
        best_band = max(round(q, 1) for q in qualities)
    for token in (None, newcomer.token):
        body = await gql(RECOMMENDED, {"filter": dataset.filter, "first": 6}, token=token)
        found = body["data"]["recommendedLeads"]
        assert len(found) == 6
        assert round(found[0]["qualityScore"], 1) == best_band
        keys = [(round(f["qualityScore"], 1), f["postedAt"]) for f in found]
        assert keys == sorted(keys, reverse=True)
        assert all(f["recommendationReason"].startswith("a top-rated ") for f in found)


async def test_suggestions_follow_the_visibility_rules_and_the_viewer_price(
    gql: Any, app: Starlette, make_user: Any, dataset: Dataset
) -> None:
    """Non-buyers get redacted titles, no source URL and the grid point; a PRO viewer its discounted
    price; the lead's buyer the originals — in similarLeads as everywhere else."""
    deps: Deps = app.state.deps
    phone_lead = dataset.leads[0]
    source = dataset.by("Austin", "CONDO")[6]
    pro = await make_user(tier="PRO")
    variables = {"id": to_global_id("Lead", source.id), "filter": dataset.filter, "first": 50}
    for token, tier in ((None, "FREE"), (pro.token, "PRO")):
        found = (await gql(SIMILAR, variables, token=token))["data"]["similarLeads"]
        mine = next(f for f in found if f["id"] == to_global_id("Lead", phone_lead.id))
        assert "555" not in mine["title"] and "0199" not in mine["title"]
        assert mine["sourceUrl"] is None
        assert mine["price"] == viewer_price(phone_lead.price_credits, tier)
        assert (mine["location"]["lat"], mine["location"]["lng"]) == _public_point(phone_lead)
    owner = await make_user()
    async with deps.sessionmaker() as session, session.begin():
        session.add(Purchase(user_id=owner.id, lead_id=phone_lead.id, price=1))
    found = await gql(
        SIMILAR, {**variables, "filter": {**dataset.filter, "availableOnly": False}}, token=owner.token
    )
    mine = next(f for f in found["data"]["similarLeads"] if f["id"] == to_global_id("Lead", phone_lead.id))
    assert mine["title"] == phone_lead.title and mine["sourceUrl"] == phone_lead.source_url


async def test_vectors_of_another_model_are_never_compared(
    gql: Any, app: Starlette, dataset: Dataset, embedder: LocalMiniLM
) -> None:
    """A lead embedded by another model is neither a neighbour nor a source of neighbours."""
    from conftest import lead_row

    deps: Deps = app.state.deps
    odd = lead_row(zip=dataset.zip, title="2 bed condo with balcony near downtown")
    async with deps.sessionmaker() as session, session.begin():
        session.add(odd)
    await embed_leads(deps, embedder, [odd.id])
    async with deps.sessionmaker() as session, session.begin():
        await session.execute(
            text("UPDATE lead_embeddings SET embedding_model = 'other-model@384' WHERE lead_id = :id"),
            {"id": odd.id},
        )
    source = dataset.by("Austin", "CONDO")[0]
    found = await gql(SIMILAR, {"id": to_global_id("Lead", source.id), "filter": dataset.filter, "first": 50})
    assert to_global_id("Lead", odd.id) not in {f["id"] for f in found["data"]["similarLeads"]}
    own = await gql(SIMILAR, {"id": to_global_id("Lead", odd.id), "filter": dataset.filter})
    assert own["data"]["similarLeads"] == []
    again = await embed_leads(deps, embedder, [odd.id])  # the sweep/reembed fixes it
    assert again.embedded == 1


async def test_text_changes_are_re_embedded_and_unchanged_text_is_not(
    app: Starlette, dataset: Dataset, embedder: LocalMiniLM
) -> None:
    """The job after ingestion re-embeds a lead only when its embedded text changed."""
    from conftest import lead_row

    deps: Deps = app.state.deps
    lead = lead_row(zip=dataset.zip, title="3 bed house with pool")
    async with deps.sessionmaker() as session, session.begin():
        session.add(lead)
    first = await embed_leads(deps, embedder, [lead.id])
    assert (first.embedded, first.unchanged) == (1, 0)
    same = await embed_leads(deps, embedder, [lead.id])
    assert (same.embedded, same.unchanged) == (0, 1)
    async with deps.sessionmaker() as session, session.begin():
        await session.execute(
            text("UPDATE leads SET title = 'Vacant 5 acre lot' WHERE id = :id"), {"id": lead.id}
        )
    changed = await embed_leads(deps, embedder, [lead.id])
    assert (changed.embedded, changed.unchanged) == (1, 0)
    async with deps.sessionmaker() as session, session.begin():
        await session.execute(text("DELETE FROM leads WHERE id = :id"), {"id": lead.id})


@pytest.mark.parametrize(
    ("variables", "code"),
    [
        ({"id": "not-an-id"}, "INVALID_INPUT"),
        ({"id": to_global_id("Lead", uuid.uuid4())}, "NOT_FOUND"),
        ({"id": to_global_id("Lead", uuid.uuid4()), "first": 51}, "INVALID_INPUT"),
    ],
)
async def test_bad_arguments_are_typed_errors(gql: Any, variables: dict[str, Any], code: str) -> None:
    """A malformed id, an unknown lead and an oversized page are typed errors, not 500s."""
    body = await gql(SIMILAR, variables, expect_errors=True)
    assert body["errors"][0]["extensions"]["code"] == code


async def test_bad_first_on_recommended_is_invalid_input(gql: Any) -> None:
    """recommendedLeads refuses a negative page."""
    body = await gql(RECOMMENDED, {"first": -1}, expect_errors=True)
    assert body["errors"][0]["extensions"]["code"] == "INVALID_INPUT"


async def test_both_queries_use_a_fixed_number_of_statements(
    gql: Any, make_user: Any, app: Starlette, count_statements: Any, dataset: Dataset
) -> None:
    """The statement count does not grow with the page (no per-row queries)."""
    deps: Deps = app.state.deps
    buyer = await make_user()
    await _buy(deps, buyer.id, dataset.by("Nashville", "CONDO")[:1])
    await update_profiles(deps, dataset.model)
    source = dataset.by("Nashville", "CONDO")[3]
    counts: dict[tuple[str, int], int] = {}
    seen: dict[tuple[str, int], list[str]] = {}
    for first in (2, 20):
        for name, query, variables in (
            (
                "similar",
                SIMILAR,
                {"id": to_global_id("Lead", source.id), "filter": dataset.filter, "first": first},
            ),
            ("recommended", RECOMMENDED, {"filter": dataset.filter, "first": first}),
        ):
            # the fewest of three runs: the app's background loops share the engine being counted
            for _ in range(3):
                with count_statements() as counter:
                    body = await gql(query, variables, token=buyer.token)
                assert len(body["data"][f"{name}Leads"]) == min(first, 20)
                if (name, first) not in counts or counter.count < counts[(name, first)]:
                    counts[(name, first)] = counter.count
                    seen[(name, first)] = [st[:80] for st in counter.statements]
    # viewer, source lead, HNSW settings, neighbours, the viewer's purchases among them
    assert counts[("similar", 2)] == counts[("similar", 20)] <= 5, seen
    # viewer, profile, HNSW settings, candidates (bought and held excluded in SQL), purchases
    assert counts[("recommended", 2)] == counts[("recommended", 20)] <= 5, seen


async def test_held_leads_are_never_recommended_and_holds_reach_the_profile(
    gql: Any, app: Starlette, make_user: Any, dataset: Dataset
) -> None:
    """A hold (through addToCart) is buffered after its commit, applied by the profile job with
    weight 3, and the held lead is excluded from the holder's recommendations."""
    from aiqtest_support.cartkit import ADD

    deps: Deps = app.state.deps
    buyer = await make_user(credits=500)
    held = dataset.by("Denver", "SINGLE_FAMILY")[5]
    body = await gql(ADD, {"id": to_global_id("Lead", held.id)}, token=buyer.token)
    assert body["data"]["addToCart"]["errors"] == []
    await update_profiles(deps, dataset.model)
    async with deps.sessionmaker() as session:
        profile = await load_profile(session, buyer.id)
    assert profile is not None
    assert profile.summary == [
        {"kind": "HOLD", "property_type": "SINGLE_FAMILY", "city": "Denver", "state": "CO", "count": 1}
    ]
    flt = {**dataset.filter, "availableOnly": False}
    found = (await gql(RECOMMENDED, {"filter": flt, "first": 20}, token=buyer.token))["data"][
        "recommendedLeads"
    ]
    assert len(found) == 20 and to_global_id("Lead", held.id) not in {f["id"] for f in found}
    assert found[0]["recommendationReason"] in {
        "similar to a single family home you held in Denver",
        "similar to a single family home you held",
        "in Denver, where you held 1 lead",
    }


async def test_the_worker_applies_the_buffer_after_a_trigger(
    app: Starlette, make_user: Any, dataset: Dataset, settings: Any
) -> None:
    """A purchase's trigger job, run by a real arq worker, builds the buyer's profile."""
    from arq.constants import job_key_prefix
    from arq.worker import Worker

    from aiqleads.domain.jobs import JobName, enqueue, profile_update_job_id
    from aiqleads.workers.settings import worker_settings

    deps: Deps = app.state.deps
    buyer = await make_user()
    await _buy(deps, buyer.id, dataset.by("Nashville", "LAND")[:2])
    queue = settings.arq_queue_name
    # earlier tests' holds queued a trigger no worker ran: start from an empty queue
    await deps.redis.delete(queue, job_key_prefix + profile_update_job_id(queue))
    assert await enqueue(deps.arq, queue, JobName.UPDATE_PROFILES, job_id=profile_update_job_id(queue))
    # a second trigger while the first is queued coalesces into it
    assert not await enqueue(deps.arq, queue, JobName.UPDATE_PROFILES, job_id=profile_update_job_id(queue))
    worker = Worker(**{**worker_settings(settings), "burst": True, "poll_delay": 0.05})
    try:
        await worker.main()
    finally:
        await worker.close()
    async with deps.sessionmaker() as session:
        profile = await load_profile(session, buyer.id)
    assert profile is not None and profile.interactions == 2
    assert profile.summary[0]["kind"] == "BUY" and profile.summary[0]["property_type"] == "LAND"
    # the job keeps no result, so the next purchase can trigger it again at once
    assert await enqueue(deps.arq, queue, JobName.UPDATE_PROFILES, job_id=profile_update_job_id(queue))
    await deps.redis.delete(queue)


async def test_a_signed_in_view_reaches_the_profile_and_an_anonymous_one_does_not(
    gql: Any, app: Starlette, make_user: Any, dataset: Dataset
) -> None:
    """`lead(id)` buffers a signed-in buyer's view (weight 1); anonymous views build no profile."""
    from aiqleads.domain.core.interactions import buffer_key

    deps: Deps = app.state.deps
    viewer = await make_user()
    lead = dataset.by("Nashville", "SINGLE_FAMILY")[7]
    query = "query($id: ID!) { lead(id: $id) { id } }"
    key = buffer_key(deps.settings.arq_queue_name)
    await update_profiles(deps, dataset.model)  # start from an empty buffer
    await gql(query, {"id": to_global_id("Lead", lead.id)})
    assert await deps.redis.llen(key) == 0
    await gql(query, {"id": to_global_id("Lead", lead.id)}, token=viewer.token)
    assert await deps.redis.llen(key) == 1
    await update_profiles(deps, dataset.model)
    async with deps.sessionmaker() as session:
        profile = await load_profile(session, viewer.id)
    assert profile is not None and profile.summary == [
        {"kind": "VIEW", "property_type": "SINGLE_FAMILY", "city": "Nashville", "state": "TN", "count": 1}
    ]
