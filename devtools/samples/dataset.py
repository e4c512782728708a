"""The shipped data set: the sample properties, read from ``data/samples.json``."""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from aiqleads_dev.samples.model import Sample

DATA_FILE = Path(__file__).resolve().parent / "data" / "samples.json"


def _sample(entry: dict[str, Any]) -> Sample:
    return Sample(**{**entry, "sources": tuple(entry["sources"])})


def load_samples(path: Path = DATA_FILE) -> list[Sample]:
    """The sample properties of a data file (one JSON object per property, Sample's field names)."""
    return [_sample(entry) for entry in json.loads(path.read_text(encoding="utf-8"))]


SAMPLES: list[Sample] = load_samples()


def samples_for(source: str, samples: Iterable[Sample] | None = None) -> dict[str, list[Sample]]:
    """The samples (default: the shipped ones) of one source, grouped by region slug."""
    grouped: dict[str, list[Sample]] = {}
    for s in SAMPLES if samples is None else samples:
        if source in s.sources:
            grouped.setdefault(s.region, []).append(s)
    return grouped
