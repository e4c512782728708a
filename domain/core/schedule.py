"""The scrape schedule (``AIQ_SCRAPE_SCHEDULE``): which source and regions the worker scrapes, and when.

Syntax: entries separated by ``;``, each ``source:region1,region2@when``::

    zillow:dallas,austin@*/30; craigslist:*@0 */2 * * *

- ``source`` is a lead source (zillow, craigslist, fsbo, facebook; any case);
- regions are the scrapers' region slugs, ``*`` for every region the source knows;
- ``when`` is a five-field cron expression (minute hour day-of-month month day-of-week, each
  ``*``, ``n``, ``*/n``, ``a-b``, ``a-b/n`` or a comma list of those; Sunday is 0 or 7; when both
  day fields are restricted a day matching either runs, as in cron), or a lone ``*/n``: every n
  minutes, counted from midnight UTC of 1970-01-01 (so ``*/30`` runs at :00 and :30).

Times are UTC. The region list lives with the scrapers (workers), which the domain never imports:
``parse_schedule`` checks region names only when given the known ones (worker start-up does), and
otherwise checks everything else (``Settings.from_env`` does, so every process refuses a bad one).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from aiqleads.domain.core.vocabulary import LEAD_SOURCES

SOURCES = tuple(source.lower() for source in LEAD_SOURCES)
ALL_REGIONS = "*"
_REGION_NAME = re.compile(r"^[a-z0-9][a-z0-9-]*$")
_MAX_EVERY_MINUTES = 7 * 24 * 60


class ScheduleError(ValueError):
    """A schedule that cannot be run; the message names the entry and what is wrong with it."""


@dataclass(frozen=True)
class CronField:
    """One field of a cron expression: the values it allows, and whether it was written ``*...``."""

    values: frozenset[int]
    starred: bool


@dataclass(frozen=True)
class Cron:
    """A five-field cron expression (minute hour day-of-month month day-of-week), matched in UTC."""

    minute: CronField
    hour: CronField
    day: CronField
    month: CronField
    weekday: CronField  # 0 = Sunday (7 is folded into 0 when parsed)

    def matches(self, at: datetime) -> bool:
        """Whether the expression fires in the minute of ``at`` (converted to UTC)."""
        at = at.astimezone(UTC)
        if at.minute not in self.minute.values or at.hour not in self.hour.values:
            return False
        if at.month not in self.month.values:
            return False
        day_ok = at.day in self.day.values
        weekday_ok = at.isoweekday() % 7 in self.weekday.values
        if not self.day.starred and not self.weekday.starred:
            return day_ok or weekday_ok  # cron: either restricted day field may fire
        return day_ok and weekday_ok


@dataclass(frozen=True)
class Every:
    """Every ``minutes`` minutes from the Unix epoch (aligned to midnight UTC when it divides a day)."""

    minutes: int

    def matches(self, at: datetime) -> bool:
        """Whether a run is due in the minute of ``at``."""
        return (int(at.timestamp()) // 60) % self.minutes == 0


When = Cron | Every


@dataclass(frozen=True)
class ScheduleEntry:
    """One entry: a source, its regions (``("*",)`` until expanded) and when to scrape them."""

    source: str
    regions: tuple[str, ...]
    when: When
    text: str


@dataclass(frozen=True)
class Schedule:
    """A parsed schedule; empty when scheduled scraping is off."""

    entries: tuple[ScheduleEntry, ...] = ()

    def due(self, at: datetime) -> list[tuple[str, str]]:
        """The (source, region) runs due in the minute of ``at``, each once, in schedule order."""
        runs: dict[tuple[str, str], None] = {}
        for entry in self.entries:
            if entry.when.matches(at):
                for region in entry.regions:
                    runs.setdefault((entry.source, region), None)
        return list(runs)

    def __bool__(self) -> bool:
        return bool(self.entries)


_FIELDS = (  # name, lowest, highest
    ("minute", 0, 59),
    ("hour", 0, 23),
    ("day-of-month", 1, 31),
    ("month", 1, 12),
    ("day-of-week", 0, 7),
)


def _number(text: str, name: str, low: int, high: int) -> int:
    if not text.isdigit():
        raise ValueError(f"{name} field: {text!r} is not a number")
    value = int(text)
    if not low <= value <= high:
        raise ValueError(f"{name} field: {value} is outside {low}-{high}")
    return value


def _cron_field(text: str, name: str, low: int, high: int) -> CronField:
    """Parse one field (``*``, ``n``, ``*/n``, ``a-b``, ``a-b/n``, comma lists of those)."""
    values: set[int] = set()
    for part in text.split(","):
        if not part:
            raise ValueError(f"{name} field {text!r} has an empty list item")
        span, slash, step_text = part.partition("/")
        step = 1
        if slash:
            if not step_text.isdigit() or int(step_text) < 1:
                raise ValueError(f"{name} field: step {step_text!r} in {part!r} must be a positive number")
            step = int(step_text)
        if span == "*":
            start, end = low, high
        elif "-" in span:
            first, _, last = span.partition("-")
            start, end = _number(first, name, low, high), _number(last, name, low, high)
            if start > end:
                raise ValueError(f"{name} field: range {span!r} runs backwards")
        elif slash:
            raise ValueError(f"{name} field: {part!r} needs a range or * before the step (e.g. */{step})")
        else:
            start = end = _number(span, name, low, high)
        values.update(range(start, end + 1, step))
    if name == "day-of-week" and 7 in values:  # 7 is Sunday too
        values = (values - {7}) | {0}
    return CronField(frozenset(values), text.startswith("*"))


def parse_cron(text: str) -> Cron:
    """A five-field cron expression; ValueError saying which field is wrong."""
    parts = text.split()
    if len(parts) != 5:
        raise ValueError(
            "a cron expression has 5 fields (minute hour day-of-month month day-of-week), "
            f"got {len(parts)} in {text!r}"
        )
    fields = [_cron_field(part, *spec) for part, spec in zip(parts, _FIELDS, strict=True)]
    return Cron(*fields)


def parse_when(text: str) -> When:
    """The ``@when`` part: a lone ``*/n`` (every n minutes) or a five-field cron expression."""
    text = text.strip()
    if not text:
        raise ValueError("nothing after '@' (expected */n or a 5-field cron expression)")
    if " " not in text and text.startswith("*/"):
        step = text[2:]
        if not step.isdigit() or not 1 <= int(step) <= _MAX_EVERY_MINUTES:
            raise ValueError(f"'*/n' needs n between 1 and {_MAX_EVERY_MINUTES} minutes, got {text!r}")
        return Every(int(step))
    return parse_cron(text)


def _regions(text: str, source: str, known: Mapping[str, Sequence[str]] | None) -> tuple[str, ...]:
    names = [name.strip().lower() for name in text.split(",")]
    if any(not name for name in names):
        raise ValueError("empty region name (regions are separated by ',', or '*' for all)")
    if ALL_REGIONS in names:
        if len(names) > 1:
            raise ValueError("'*' (every region) cannot be combined with named regions")
        if known is None:
            return (ALL_REGIONS,)
        every = tuple(known.get(source, ()))
        if not every:
            raise ValueError(f"'*' names no region: no region is known for {source}")
        return every
    for name in names:
        if not _REGION_NAME.match(name):
            raise ValueError(f"{name!r} is not a region name")
        if known is not None and name not in known.get(source, ()):
            raise ValueError(
                f"unknown region {name!r} for {source}; known: {', '.join(sorted(known.get(source, ())))}"
            )
    return tuple(dict.fromkeys(names))


def _entry(text: str, known: Mapping[str, Sequence[str]] | None) -> ScheduleEntry:
    head, at, when_text = text.partition("@")
    if not at:
        raise ValueError("missing '@when' (expected source:regions@when)")
    source_text, colon, regions_text = head.partition(":")
    if not colon:
        raise ValueError("missing ':' between the source and its regions (expected source:regions@when)")
    source = source_text.strip().lower()
    if source not in SOURCES:
        raise ValueError(f"unknown source {source_text.strip()!r}; known: {', '.join(SOURCES)}")
    return ScheduleEntry(source, _regions(regions_text, source, known), parse_when(when_text), text)


def parse_schedule(raw: str, regions: Mapping[str, Sequence[str]] | None = None) -> Schedule:
    """Parse ``AIQ_SCRAPE_SCHEDULE`` (empty: no scheduled scraping).

    ``regions`` maps each source (lower case) to the region slugs its scraper knows; with it,
    region names are checked and ``*`` expanded, without it they are only checked for form.
    Raises ScheduleError naming the entry (its position and text) and what is wrong.
    """
    if not raw.strip():
        return Schedule()
    entries: list[ScheduleEntry] = []
    for position, part in enumerate(raw.split(";"), start=1):
        text = part.strip()
        try:
            if not text:
                raise ValueError("the entry is empty (entries are separated by ';')")
            entries.append(_entry(text, regions))
        except ValueError as exc:
            raise ScheduleError(f"AIQ_SCRAPE_SCHEDULE entry {position} ({text!r}): {exc}") from None
    return Schedule(tuple(entries))


def minute_slot(at: datetime) -> datetime:
    """The UTC minute ``at`` falls in (a scheduled run's identity)."""
    return at.astimezone(UTC).replace(second=0, microsecond=0)
