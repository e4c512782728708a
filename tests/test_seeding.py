"""Synthetic and demo seeding: realistic distributions, determinism, COPY writes and the CLI."""

from __future__ import annotations

import asyncio
import math
import os
import re
import statistics
import subprocess
import sys
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

import asyncpg
import pytest
from aiqtest_support.database import create_test_database, drop_test_database
from click.testing import CliRunner

from aiqleads.cli import main
from aiqleads.domain.core.vocabulary import LEAD_SOURCES, PROPERTY_TYPES
from aiqleads.domain.db import make_engine, make_sessionmaker
from aiqleads.domain.pricing.engine import (
    DEFAULT_POLICY,
    LeadFacts,
    PriceQuote,
    age_days,
    freshness_multiplier,
    initial_price,
)
from aiqleads.domain.recommendations.local_minilm import LOCAL_MODEL_ID
from aiqleads.domain.settings import Settings
from aiqleads.domain.users.service import login
from aiqleads_dev import seeding
from aiqleads_dev.seeding import METROS, generate_leads, seed_demo, seed_synthetic

T = TypeVar("T")
N = 2_000
SEED = 7
NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
METRO_BY_CITY = {(m.city, m.state): m for m in METROS}


def miles(lat1: float, lng1: float, lat2: float, lng2: float) -> float:
    """Haversine distance in miles (independent of the module's own helper)."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    a = (
        math.sin((p2 - p1) / 2) ** 2
        + math.cos(p1) * math.cos(p2) * math.sin(math.radians(lng2 - lng1) / 2) ** 2
    )
    return 2 * 3958.8 * math.asin(math.sqrt(a))


def engine_quote(row: Any, now: datetime = NOW) -> PriceQuote:
    """The pricing engine's first price of a lead with these facts (a new lead: no seat taken)."""
    return initial_price(
        LeadFacts(
            property_type=row["property_type"],
            asking_price=row["asking_price"],
            quality_score=row["quality_score"],
            posted_at=row["posted_at"],
            max_buyers=row["max_buyers"],
        ),
        now,
    )


def _off_loop(fn: Callable[..., T], *args: Any) -> T:
    """Run a helper that calls asyncio.run in another thread, leaving this thread's event loop alone."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(fn, *args).result()


@pytest.fixture(scope="module")
def fresh_db(settings: Settings) -> Iterator[Callable[[], Settings]]:
    """Factory of private migrated databases, so exact counts hold whatever else the session wrote."""
    names: list[str] = []

    def make() -> Settings:
        name, url = _off_loop(create_test_database)
        names.append(name)
        return settings.replace(database_url=url)

    yield make
    for name in names:
        _off_loop(drop_test_database, name)


@pytest.fixture(scope="module")
def seeded(fresh_db: Callable[[], Settings]) -> Settings:
    return fresh_db()


async def _fetch(settings: Settings, sql: str, *args: Any) -> list[asyncpg.Record]:
    conn = await asyncpg.connect(seeding.raw_dsn(settings.database_url))
    try:
        return list(await conn.fetch(sql, *args))
    finally:
        await conn.close()


EMBEDDED_BY_MODEL = (
    "SELECT e.embedding_model, count(*) AS n FROM leads l LEFT JOIN lead_embeddings e ON e.lead_id = l.id "
    "GROUP BY 1"
)
LEAD_QUERY = """
    SELECT id, source, source_url, property_type, title, description, street, city, state, zip,
           ST_Y(location::geometry) AS lat, ST_X(location::geometry) AS lng, asking_price, bedrooms,
           bathrooms, sqft, year_built, photos, posted_at, quality_score, fraud_score, fraud_signals,
           contact_name, contact_phone, contact_email, price_credits, max_buyers, status, buyers_count,
           holds_count, created_at, priced_at, reprice_due_at,
           search_tsv IS NOT NULL AND search_tsv <> ''::tsvector AS has_tsv
    FROM leads
"""


def _content(row: Any) -> tuple[Any, ...]:
    """Everything but the id (ids are random so re-running a seed never collides)."""
    return (
        row["source"], row["property_type"], row["title"], row["description"], row["street"], row["city"],
        row["state"], row["zip"], round(row["lat"], 6), round(row["lng"], 6), row["asking_price"],
        row["bedrooms"], row["bathrooms"], row["sqft"], row["year_built"], len(row["photos"]),
        row["posted_at"], row["quality_score"], row["fraud_score"], tuple(row["fraud_signals"]),
        row["contact_name"], row["contact_phone"], row["contact_email"], row["price_credits"],
        row["max_buyers"], row["created_at"], row["priced_at"], row["reprice_due_at"],
    )  # fmt: skip


async def test_seed_synthetic_writes_realistic_leads(seeded: Settings) -> None:
    lines: list[str] = []
    assert await seed_synthetic(seeded, N, SEED, progress=lines.append, now=NOW) == N
    progress = [line for line in lines if "leads written" in line]
    assert 9 <= len(progress) <= 11 and progress[-1].strip().startswith(f"{N:,}/{N:,}")
    assert "aiqleads reindex" in lines[-1]
    # every lead leaves seeding with a vector of the configured model, with progress on the way
    assert any(line.strip().startswith(f"{N:,}/{N:,} leads embedded (100%") for line in lines), lines
    models = await _fetch(
        seeded,
        EMBEDDED_BY_MODEL,
    )
    assert [(m["embedding_model"], m["n"]) for m in models] == [(LOCAL_MODEL_ID, N)]

    rows = await _fetch(seeded, LEAD_QUERY)
    assert len(rows) == N

    # geography: every lead within 60 miles of its own metro centre, and the metros are all used
    for r in rows:
        metro = METRO_BY_CITY[(r["city"], r["state"])]
        assert miles(r["lat"], r["lng"], metro.lat, metro.lng) <= 60, r
        assert r["zip"] in {z for _, z in metro.neighbourhoods}
    cities = Counter(r["city"] for r in rows)
    assert len(cities) == len(METROS)
    assert cities["Houston"] > cities["Raleigh"]  # bigger markets get more listings
    for metro in METROS:
        spread = [miles(r["lat"], r["lng"], metro.lat, metro.lng) for r in rows if r["city"] == metro.city]
        assert 3 < statistics.median(spread) < metro.radius_miles  # a spread, not a pin or a ring

    # property types and sources: all present with realistic shares
    types = Counter(r["property_type"] for r in rows)
    assert set(types) == set(PROPERTY_TYPES)
    assert 0.42 < types["SINGLE_FAMILY"] / N < 0.62
    assert types["SINGLE_FAMILY"] > types["CONDO"] > types["OTHER"]
    sources = Counter(r["source"] for r in rows)
    assert set(sources) == set(LEAD_SOURCES)
    assert sources["ZILLOW"] == max(sources.values())

    # sizes and prices
    for r in rows:
        if r["property_type"] == "LAND":
            assert r["bedrooms"] is None and r["sqft"] is None and r["year_built"] is None
            assert 5_000 <= r["asking_price"] <= 10_000_000
            assert "acre" in r["title"]
            continue
        assert 20_000 <= r["asking_price"] <= 10_000_000, r
        assert 300 <= r["sqft"] <= 8_000
        assert 0 <= r["bedrooms"] <= 12
        assert 1 <= r["bathrooms"] <= 8 and (r["bathrooms"] * 2).is_integer()
        assert 1900 <= r["year_built"] <= NOW.year
        assert 15 <= r["asking_price"] / r["sqft"] <= 1_500  # cheap: scam-priced manufactured homes
        assert "bed" in r["title"] or "Studio" in r["title"] or r["property_type"] == "MULTI_FAMILY"
    single = [r for r in rows if r["property_type"] == "SINGLE_FAMILY"]
    assert 250_000 < statistics.median(r["asking_price"] for r in single) < 750_000
    assert 1_400 < statistics.median(r["sqft"] for r in single) < 2_600
    assert 2.8 < statistics.mean(r["bedrooms"] for r in single) < 4.0

    def median_price(city: str) -> float:
        return statistics.median(r["asking_price"] for r in single if r["city"] == city)

    assert median_price("Seattle") > median_price("Dallas") > median_price("San Antonio")
    condos = [r for r in rows if r["property_type"] == "CONDO"]
    assert statistics.median(r["sqft"] for r in condos) < statistics.median(r["sqft"] for r in single)

    # marketplace fields
    phone = re.compile(r"^\+1(\d{3})55501\d\d$")
    for r in rows:
        assert 1 <= r["max_buyers"] <= 5
        assert 0 <= r["quality_score"] <= 1 and 0 <= r["fraud_score"] <= 1
        assert bool(r["fraud_signals"]) == (r["fraud_score"] > 0.3)
        match = phone.match(r["contact_phone"])
        assert match and match.group(1) in METRO_BY_CITY[(r["city"], r["state"])].area_codes
        assert r["contact_email"].rsplit("@", 1)[1] in {"example.com", "example.net", "example.org"}
        assert r["contact_name"] and r["street"] and r["street"][0].isdigit()
        assert NOW - timedelta(days=60) <= r["posted_at"] <= r["created_at"] <= NOW
        assert r["source_url"].startswith("https://")
        assert r["status"] == "AVAILABLE" and r["buyers_count"] == 0 and r["holds_count"] == 0
        assert r["has_tsv"] and len(r["description"]) > 80
    assert 0.6 < sum(r["max_buyers"] == 1 for r in rows) / N < 0.8
    assert 0 < sum(r["fraud_score"] > 0.5 for r in rows) < 0.1 * N
    assert len({r["title"] for r in rows}) > N * 0.5  # templates vary

    # the generated full-text column works for the kind of query the product shows
    hits = await _fetch(
        seeded,
        "SELECT count(*) AS n FROM leads "
        "WHERE search_tsv @@ plainto_tsquery('english', $1) AND city = 'Austin'",
        "2 bed condo",
    )
    assert hits[0]["n"] > 0

    # prices come from the pricing engine, as ingestion prices a new lead at `now`: the quote's
    # price, its next freshness tick (so the repricing cron decays seeded leads too), its reason
    quotes = {r["id"]: engine_quote(r) for r in rows}
    tick = NOW + timedelta(seconds=DEFAULT_POLICY.decay_recheck_seconds)
    for r in rows:
        quote = quotes[r["id"]]
        assert r["price_credits"] == quote.price, r
        assert DEFAULT_POLICY.floor <= r["price_credits"] <= DEFAULT_POLICY.ceiling
        assert r["priced_at"] == NOW
        assert r["reprice_due_at"] == quote.next_reprice_at
        # a first price is its own target, so the next run is the freshness tick, or none at all
        # once the listing is fully decayed (then only a demand signal moves the price)
        decaying = freshness_multiplier(age_days(r["posted_at"], NOW)) > DEFAULT_POLICY.min_freshness
        assert r["reprice_due_at"] == (tick if decaying else None), r
    due = sum(r["reprice_due_at"] is not None for r in rows)
    assert 0.2 * N < due < 0.8 * N  # fresh listings wait for their tick, old ones are fully decayed
    assert len({r["price_credits"] for r in rows}) >= 15  # prices spread, not one flat rate

    # one initial history row per lead, at the lead's current price, explained by the engine
    history = await _fetch(
        seeded,
        "SELECT l.id, count(h.id) AS n, min(h.price) AS price, min(h.reason) AS reason, "
        "min(h.at) AS at, min(l.price_credits) AS credits, min(l.priced_at) AS priced "
        "FROM leads l LEFT JOIN price_history h ON h.lead_id = l.id GROUP BY l.id",
    )
    assert len(history) == N
    for h in history:
        quote = quotes[h["id"]]
        assert h["n"] == 1 and h["reason"] == quote.reason
        assert h["reason"].startswith("base ") and "freshness" in h["reason"] and "-> target" in h["reason"]
        assert h["price"] == h["credits"] == quote.price and h["at"] == h["priced"] == NOW

    # what was written is exactly what the generator produces for (seed, now)
    expected = Counter(_content(r._asdict()) for r in generate_leads(N, SEED, now=NOW))
    assert Counter(_content(r) for r in rows) == expected

    # seeding again with the same seed adds new leads instead of colliding on ids
    assert await seed_synthetic(seeded, 10, SEED, now=NOW) == 10
    count = await _fetch(seeded, "SELECT count(*) AS n FROM leads")
    assert count[0]["n"] == N + 10


def test_generation_is_deterministic_for_a_seed() -> None:
    first = [_content(r._asdict()) for r in generate_leads(N, SEED, now=NOW)]
    second = [_content(r._asdict()) for r in generate_leads(N, SEED, now=NOW)]
    other = [_content(r._asdict()) for r in generate_leads(N, SEED + 1, now=NOW)]
    assert first == second
    assert first != other
    assert sum(a == b for a, b in zip(first, other, strict=True)) < 5
    ids = [r.id for r in generate_leads(100, SEED, now=NOW)]
    assert len(set(ids)) == 100


def test_generated_prices_are_the_engines_initial_quotes() -> None:
    records = list(generate_leads(N, SEED, now=NOW))
    for r in records:
        quote = engine_quote(r._asdict())
        assert (r.price_credits, r.reprice_due_at, r.price_reason) == (
            quote.price,
            quote.next_reprice_at,
            quote.reason,
        )
        assert r.priced_at == NOW
        assert DEFAULT_POLICY.floor <= r.price_credits <= DEFAULT_POLICY.ceiling
        assert r.price_reason.startswith(f"base {r.property_type} ")
        scarcity = "exclusive" if r.max_buyers == 1 else f"shared {r.max_buyers}/{r.max_buyers} seats left"
        assert scarcity in r.price_reason and "demand 0v/0c/0p x1.00" in r.price_reason
    # priced as of the generation time: the same listings quoted a week later are cheaper
    week_later = [engine_quote(r._asdict(), NOW + timedelta(days=7)).price for r in records]
    assert sum(week_later) < sum(r.price_credits for r in records)
    assert sum(a != b.price_credits for a, b in zip(week_later, records, strict=True)) > N * 0.2

    # the engine's factors show in the generated marketplace (exclusive leads, same share per type)
    exclusive = [r for r in records if r.max_buyers == 1]

    def median_credits(pick: Callable[[Any], bool]) -> float:
        return statistics.median(r.price_credits for r in exclusive if pick(r))

    def fresh(r: Any) -> bool:
        return age_days(r.posted_at, NOW) < 5

    def stale(r: Any) -> bool:
        return age_days(r.posted_at, NOW) > 30

    assert median_credits(fresh) > median_credits(stale)  # freshness decays
    assert median_credits(lambda r: r.property_type == "MULTI_FAMILY") > median_credits(
        lambda r: r.property_type == "MANUFACTURED"
    )  # base by property type
    assert median_credits(lambda r: fresh(r) and r.asking_price >= 500_000) > median_credits(
        lambda r: fresh(r) and r.asking_price < 250_000
    )  # asking-price band
    assert statistics.median(r.price_credits for r in records if r.max_buyers > 1 and fresh(r)) < (
        median_credits(fresh)
    )  # shared leads start cheaper


async def test_seed_synthetic_rejects_non_positive_counts(seeded: Settings) -> None:
    with pytest.raises(ValueError, match="at least 1"):
        await seed_synthetic(seeded, 0)


def test_cli_seed_needs_a_positive_count_or_demo() -> None:
    runner = CliRunner()
    zero = runner.invoke(main, ["seed", "--synthetic", "0"])
    assert zero.exit_code == 2
    assert "--synthetic" in zero.output and "0" in zero.output and "range" in zero.output
    nothing = runner.invoke(main, ["seed"])
    assert nothing.exit_code == 2
    assert "give --synthetic N or --demo" in nothing.output
    word = runner.invoke(main, ["seed", "--synthetic", "lots"])
    assert word.exit_code == 2 and "not a valid integer" in word.output


def test_cli_seed_synthetic_end_to_end(fresh_db: Callable[[], Settings]) -> None:
    target = fresh_db()
    script = Path(sys.executable).with_name("aiqleads")
    env = {**os.environ, "DATABASE_URL": target.database_url}
    done = subprocess.run(
        [str(script), "seed", "--synthetic", "300", "--seed", "3"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "300/300 leads written (100%" in done.stdout
    assert "wrote 300 synthetic leads" in done.stdout
    assert "300/300 leads embedded (100%" in done.stdout
    assert "aiqleads reindex" in done.stdout

    bad = subprocess.run(
        [str(script), "seed", "--synthetic", "0"], env=env, capture_output=True, text=True, check=False
    )
    assert bad.returncode == 2 and "--synthetic" in bad.stderr


async def test_seed_demo_is_idempotent(fresh_db: Callable[[], Settings]) -> None:
    target = fresh_db()
    lines: list[str] = []
    summary = await seed_demo(target, progress=lines.append)
    assert "demo@aiqleads.dev" in summary and "created" in summary
    # the shipped sample pages go through the real scrapers first, then synthetic volume is added
    assert "27 new leads" in summary and "from 4 sources" in summary
    assert "seeded 2,000 synthetic leads" in summary
    assert any("leads written" in line for line in lines)

    users = await _fetch(
        target, "SELECT id, tier, credit_balance, role FROM users WHERE email = $1", seeding.DEMO_EMAIL
    )
    assert len(users) == 1
    assert users[0]["tier"] == "PRO" and users[0]["credit_balance"] == 500 and users[0]["role"] == "user"
    ledger = await _fetch(
        target, "SELECT amount, balance_after, kind FROM credit_ledger WHERE user_id = $1", users[0]["id"]
    )
    assert [tuple(r) for r in ledger] == [(500, 500, "GRANT")]

    again = await seed_demo(target, progress=lines.append)
    assert "already present" in again and "2,027 leads already present, none added" in again
    assert "0 new leads" in again
    counts = await _fetch(
        target,
        "SELECT (SELECT count(*) FROM users) AS users, (SELECT count(*) FROM leads) AS leads, "
        "(SELECT count(*) FROM credit_ledger) AS ledger, (SELECT count(*) FROM price_history) AS history",
    )
    users_n, leads_n, ledger_n, history_n = counts[0]
    assert (users_n, leads_n, ledger_n) == (1, 2_027, 1)
    assert history_n >= 2_027  # every lead has its initial price point

    engine = make_engine(target.database_url, connections=3)
    try:
        async with make_sessionmaker(engine)() as session:
            signed_in = await login(session, target, email=seeding.DEMO_EMAIL, password=seeding.DEMO_PASSWORD)
        assert signed_in.user.tier == "PRO" and signed_in.token
    finally:
        await engine.dispose()


def _reembed_cli(script: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(script), "reembed"], env=env, capture_output=True, text=True, timeout=120, check=False
    )


async def test_reembed_after_a_model_change_is_complete_and_resumable(
    fresh_db: Callable[[], Settings],
) -> None:
    """After a model change every lead is re-embedded; a run that stopped half way is resumed by the
    next one, which prints its progress and only does what is left."""
    from aiqleads.domain.bootstrap import opened
    from aiqleads.domain.recommendations.embedding import embed_missing

    target = fresh_db()
    await seed_synthetic(target, 40, 5, now=NOW)
    conn = await asyncpg.connect(seeding.raw_dsn(target.database_url))
    try:
        await conn.execute(
            "UPDATE lead_embeddings SET embedding_model = 'retired-model@384'"
        )  # the model changed
    finally:
        await conn.close()
    async with opened(target, purpose="cli", embedder=True) as deps:
        interrupted = await embed_missing(deps, deps.lead_embedder, max_leads=15)
    assert interrupted.embedded == 15

    script = Path(sys.executable).with_name("aiqleads")
    env = {**os.environ, "DATABASE_URL": target.database_url, "AIQ_ENV": "development"}
    done = await asyncio.to_thread(_reembed_cli, script, env)
    assert done.returncode == 0, done.stderr
    assert f"embedding 25 leads with {LOCAL_MODEL_ID}" in done.stdout
    assert "25/25 leads embedded (100%" in done.stdout and "embedded 25 leads" in done.stdout
    assert "buyer profiles" in done.stdout
    models = await _fetch(
        target,
        EMBEDDED_BY_MODEL,
    )
    assert [(m["embedding_model"], m["n"]) for m in models] == [(LOCAL_MODEL_ID, 40)]

    again = await asyncio.to_thread(_reembed_cli, script, env)
    assert again.returncode == 0 and "embedded 0 leads" in again.stdout
