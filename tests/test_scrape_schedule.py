"""AIQ_SCRAPE_SCHEDULE: the syntax, cron matching, refusal of bad schedules at start-up, and the
worker's minute tick enqueueing each due scrape exactly once."""

from __future__ import annotations

import asyncio
import sys
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from aiqtest_support.ingestkit import worker_ctx
from aiqtest_support.live_server import server_env
from arq.connections import ArqRedis
from arq.constants import job_key_prefix

from aiqleads.domain.core.schedule import (
    Cron,
    Every,
    ScheduleError,
    parse_cron,
    parse_schedule,
)
from aiqleads.domain.jobs import JobName
from aiqleads.domain.settings import Settings
from aiqleads.workers.schedule_jobs import known_regions, schedule_scrapes_job, scrape_job_id
from aiqleads.workers.scrapers.regions import REGIONS
from aiqleads.workers.settings import worker_settings

REGION_SLUGS = sorted(REGIONS)


def at(text: str) -> datetime:
    """A UTC minute from 'YYYY-MM-DD HH:MM'."""
    return datetime.strptime(text, "%Y-%m-%d %H:%M").replace(tzinfo=UTC)


def test_the_documented_example_parses_and_expands_every_region() -> None:
    schedule = parse_schedule("zillow:dallas,austin@*/30; craigslist:*@0 */2 * * *", known_regions())
    zillow, craigslist = schedule.entries
    assert (zillow.source, zillow.regions, zillow.when) == ("zillow", ("dallas", "austin"), Every(30))
    assert craigslist.source == "craigslist" and craigslist.regions == tuple(REGION_SLUGS)
    assert isinstance(craigslist.when, Cron)
    # 02:00 (a Wednesday): both; 02:30: zillow only; 03:00: zillow only (the hour is not even)
    assert schedule.due(at("2026-01-07 02:00")) == [("zillow", "dallas"), ("zillow", "austin")] + [
        ("craigslist", slug) for slug in REGION_SLUGS
    ]
    assert schedule.due(at("2026-01-07 02:30")) == [("zillow", "dallas"), ("zillow", "austin")]
    assert schedule.due(at("2026-01-07 03:00")) == [("zillow", "dallas"), ("zillow", "austin")]
    assert schedule.due(at("2026-01-07 03:17")) == []


def test_sources_are_case_insensitive_and_a_run_due_twice_in_a_minute_runs_once() -> None:
    schedule = parse_schedule(" FSBO : Miami , miami @*/5 ;fsbo:miami,atlanta@0 * * * * ", known_regions())
    assert schedule.entries[0].regions == ("miami",)
    assert schedule.due(at("2026-03-01 10:00")) == [("fsbo", "miami"), ("fsbo", "atlanta")]
    assert schedule.due(at("2026-03-01 10:05")) == [("fsbo", "miami")]
    assert not parse_schedule("  ") and parse_schedule("").due(at("2026-03-01 10:00")) == []


@pytest.mark.parametrize(
    ("expression", "fires", "silent"),
    [
        (
            "*/15 9-17 * * 1-5",
            ["2026-01-05 09:00", "2026-01-09 17:45"],
            ["2026-01-05 08:45", "2026-01-10 10:00"],
        ),
        ("0 0 1 * *", ["2026-02-01 00:00"], ["2026-02-02 00:00", "2026-02-01 00:01"]),
        # both day fields restricted: the 13th OR a Friday, as cron does
        ("0 12 13 * 5", ["2026-01-13 12:00", "2026-01-16 12:00"], ["2026-01-14 12:00"]),
        ("0 0 * * 7", ["2026-01-04 00:00"], ["2026-01-05 00:00"]),  # 7 is Sunday, like 0
        (
            "5,10-20/5 * * * *",
            ["2026-01-01 00:05", "2026-01-01 00:15", "2026-01-01 00:20"],
            ["2026-01-01 00:25"],
        ),
        ("30 6 * 1,7 *", ["2026-07-02 06:30"], ["2026-06-02 06:30"]),
        ("* * 31 2 *", [], ["2026-02-28 00:00"]),  # valid but never fires
    ],
)
def test_cron_matching(expression: str, fires: list[str], silent: list[str]) -> None:
    cron = parse_cron(expression)
    assert all(cron.matches(at(t)) for t in fires), expression
    assert not any(cron.matches(at(t)) for t in silent), expression


def test_every_n_minutes_counts_from_midnight_utc_and_accepts_more_than_an_hour() -> None:
    every = parse_schedule("fsbo:miami@*/90").entries[0].when
    assert isinstance(every, Every)
    assert [t for t in ("00:00", "01:30", "03:00", "01:00") if every.matches(at(f"2026-05-05 {t}"))] == [
        "00:00",
        "01:30",
        "03:00",
    ]
    # a clock in another timezone names the same minute: schedules are read in UTC
    eastern = at("2026-05-05 01:30").astimezone(timezone(timedelta(hours=-5)))
    assert every.matches(eastern) and parse_cron("30 1 * * *").matches(eastern)


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("ebay:dallas@*/5", "entry 1 ('ebay:dallas@*/5'): unknown source 'ebay'; known: zillow, craigslist"),
        (
            "zillow:dallas@*/5; craigslist:gotham@*/5",
            "entry 2 ('craigslist:gotham@*/5'): unknown region 'gotham'",
        ),
        ("zillow:dallas@*/5;;fsbo:miami@*/5", "entry 2 (''): the entry is empty"),
        ("zillow:dallas@*/5;", "entry 2 (''): the entry is empty"),
        ("zillow:dallas", "entry 1 ('zillow:dallas'): missing '@when'"),
        ("zillow dallas@*/5", "missing ':' between the source and its regions"),
        ("zillow:@*/5", "empty region name"),
        ("zillow:dallas,,austin@*/5", "empty region name"),
        ("zillow:*,dallas@*/5", "'*' (every region) cannot be combined"),
        ("zillow:dallas@", "nothing after '@'"),
        ("zillow:dallas@*/0", "'*/n' needs n between 1 and 10080"),
        ("zillow:dallas@0 */2 * *", "a cron expression has 5 fields"),
        ("zillow:dallas@60 * * * *", "minute field: 60 is outside 0-59"),
        ("zillow:dallas@0 24 * * *", "hour field: 24 is outside 0-23"),
        ("zillow:dallas@0 0 0 * *", "day-of-month field: 0 is outside 1-31"),
        ("zillow:dallas@0 0 * 13 *", "month field: 13 is outside 1-12"),
        ("zillow:dallas@0 0 * * 8", "day-of-week field: 8 is outside 0-7"),
        ("zillow:dallas@*/0 * * * *", "minute field: step '0' in '*/0' must be a positive number"),
        ("zillow:dallas@30-10 * * * *", "minute field: range '30-10' runs backwards"),
        ("zillow:dallas@5/10 * * * *", "needs a range or * before the step"),
        ("zillow:dallas@mon * * * *", "minute field: 'mon' is not a number"),
        ("zillow:dallas@1,,2 * * * *", "minute field '1,,2' has an empty list item"),
    ],
)
def test_bad_schedules_are_refused_naming_the_entry_and_the_fault(raw: str, message: str) -> None:
    with pytest.raises(ScheduleError) as refused:
        parse_schedule(raw, known_regions())
    assert str(refused.value).startswith("AIQ_SCRAPE_SCHEDULE entry ")
    assert message in str(refused.value)


def test_settings_refuse_a_malformed_schedule_and_the_worker_an_unknown_region(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("AIQ_SCRAPE_SCHEDULE", "zillow:dallas@61 * * * *")
    with pytest.raises(ValueError, match=r"entry 1 \('zillow:dallas@61 \* \* \* \*'\): minute field"):
        Settings.from_env()
    # the domain cannot see the scrapers' regions: settings accept the form, the worker refuses
    monkeypatch.setenv("AIQ_SCRAPE_SCHEDULE", "zillow:gotham@*/5")
    settings = Settings.from_env()
    assert settings.scrape_schedule == "zillow:gotham@*/5"
    with pytest.raises(ScheduleError, match="unknown region 'gotham' for zillow; known: atlanta, austin"):
        worker_settings(settings)
    monkeypatch.setenv("AIQ_SCRAPE_SCHEDULE", "zillow:dallas@*/5")
    monkeypatch.setenv("AIQ_LEAD_MAX_AGE_DAYS", "-3")
    monkeypatch.setenv("AIQ_LEAD_MISSING_SCRAPES", "0")
    good = Settings.from_env()
    assert (good.lead_max_age_days, good.lead_missing_scrapes) == (0, 1)
    assert worker_settings(good)["cron_jobs"]
    assert (Settings().lead_max_age_days, Settings().lead_missing_scrapes, Settings().scrape_schedule) == (
        90,
        3,
        "",
    )


async def test_aiqleads_worker_refuses_to_start_with_an_unknown_region(settings: Settings) -> None:
    env = server_env(settings, AIQ_SCRAPE_SCHEDULE="fsbo:miami@*/10; craigslist:gotham,denver@0 * * * *")
    exe = Path(sys.executable).with_name("aiqleads")
    proc = await asyncio.create_subprocess_exec(
        str(exe), "worker", "--metrics-port", "0",
        env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )  # fmt: skip
    out, _ = await asyncio.wait_for(proc.communicate(), timeout=60)
    text = out.decode()
    assert proc.returncode == 1, text
    assert "Error: AIQ_SCRAPE_SCHEDULE entry 2 ('craigslist:gotham,denver@0 * * * *'): unknown region" in text
    assert "Traceback" not in text


async def test_the_minute_tick_enqueues_each_due_run_once(deps: Any, settings: Settings) -> None:
    schedule = "fsbo:miami,atlanta@*/5; fsbo:miami@0 * * * *; zillow:dallas@0 3 * * *"
    queue = settings.arq_queue_name
    minute = at("2031-01-01 10:00")
    ctx = worker_ctx(deps, settings.replace(scrape_schedule=schedule))
    arq = ArqRedis(pool_or_conn=deps.redis.connection_pool)
    ids = [scrape_job_id(queue, "fsbo", region, minute) for region in ("miami", "atlanta")]
    later = [
        scrape_job_id(queue, "fsbo", region, minute + timedelta(minutes=5)) for region in ("miami", "atlanta")
    ]
    try:
        # the tick was due at 10:00:00 (arq's score) and runs a few seconds late; a second tick for
        # the same minute (another worker, a retry) queues nothing more
        ctx["score"] = int((minute + timedelta(seconds=3)).timestamp() * 1000)
        first = await schedule_scrapes_job(ctx)
        second = await schedule_scrapes_job(ctx)
        assert first == {"slot": minute.isoformat(), "due": 2, "queued": 2}
        assert second == {"slot": minute.isoformat(), "due": 2, "queued": 0}
        jobs = {job.job_id: job for job in await arq.queued_jobs(queue_name=queue) if job.job_id in ids}
        assert sorted(jobs) == sorted(ids)
        assert {(job.function, job.args) for job in jobs.values()} == {
            (JobName.SCRAPE, ("fsbo", "miami", None, "schedule")),
            (JobName.SCRAPE, ("fsbo", "atlanta", None, "schedule")),
        }
        ctx["score"] = int((minute + timedelta(minutes=1)).timestamp() * 1000)
        assert (await schedule_scrapes_job(ctx))["due"] == 0
        ctx["score"] = int((minute + timedelta(minutes=5)).timestamp() * 1000)
        assert (await schedule_scrapes_job(ctx))["queued"] == 2
        queued = {job.job_id for job in await arq.queued_jobs(queue_name=queue)}
        assert set(ids + later) <= queued
        ctx.pop("score")  # outside arq: the current minute; nothing is due at most minutes
        assert (await schedule_scrapes_job(worker_ctx(deps, settings)))["queued"] == 0  # no schedule
    finally:  # later tests run burst workers on this queue: they must not scrape the real sites
        await deps.redis.zrem(queue, *ids, *later)
        await deps.redis.delete(*(job_key_prefix + job_id for job_id in ids + later))
