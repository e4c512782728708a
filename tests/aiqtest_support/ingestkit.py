"""Helpers for scraping/ingestion tests: unique sample variants, local sites, a worker-like ctx."""

from __future__ import annotations

import itertools
import random
import uuid
from dataclasses import replace
from typing import Any

from aiqleads.domain.bootstrap import Deps
from aiqleads.domain.ingest.prepare import Refiner
from aiqleads.domain.settings import Settings
from aiqleads.workers.context import for_deps
from aiqleads.workers.scrapers.fetcher import FetchConfig
from aiqleads_dev.samples import SAMPLES, Sample, site_pages
from aiqleads_dev.site_server import SiteServer

_numbers = itertools.count(1)


def sample(key: str) -> Sample:
    """A shipped sample by key."""
    return next(s for s in SAMPLES if s.key == key)


def variant(base: Sample, *, shift: float | None = None, **changes: Any) -> Sample:
    """A copy of a sample at a fresh address and ids, so tests sharing one database do not collide.

    The house number changes (so dedup sees a different property) and the point moves a little.
    """
    n = next(_numbers)
    number, _, rest = base.street.partition(" ")
    tag = uuid.uuid4().hex[:6]
    offset = shift if shift is not None else 0.0003 * (n % 40 + 1) + random.uniform(0, 0.0002)
    rng = random.Random(tag)
    area = base.phone.strip("+1 (").replace(")", "")[:3]
    phone = f"({area}) {rng.randint(201, 989)}-{rng.randint(1000, 9999)}"
    new_number = str(int(number) + 7 * n + 1000)
    extra = {k: v.replace(number, new_number) if isinstance(v, str) else v for k, v in base.extra.items()}
    values: dict[str, Any] = {
        "key": f"{base.key}{tag}",
        "extra": extra,
        "phone": phone,
        "description": f"{base.description.replace(base.phone, phone)} (ref {tag})",
        "email": f"owner.{tag}@example.com" if base.email else None,
        "street": f"{new_number} {rest}",
        "lat": round(base.lat + offset, 6),
        "lng": round(base.lng - offset, 6),
    }
    values.update(changes)
    return replace(base, **values)  # photo URLs embed the new key, so they are fresh too


def local_fetch_config(settings: Settings, **overrides: Any) -> FetchConfig:
    """Fetcher settings for local sites: fast but still rate limited and polite."""
    values: dict[str, Any] = {
        "rate_per_host": 200.0,
        "backoff_base": 0.01,
        "backoff_max": 0.2,
        "timeout": 5.0,
    }
    values.update(overrides)
    return FetchConfig.from_settings(settings, **values)


def worker_ctx(
    deps: Deps, settings: Settings, *, refiner: Refiner | None = None, **extra: Any
) -> dict[str, Any]:
    """A ctx like the arq worker's: these Deps with ``settings`` (no LLM cleaner unless given), fresh
    metrics, and ``extra`` arq keys (job_try, job_id)."""
    return for_deps(replace(deps, settings=settings, refiner=refiner), **extra)


async def serve_samples(samples: list[Sample], per_page: int = 3) -> tuple[SiteServer, dict[str, str]]:
    """Start local sites serving these samples (every source they list); returns server and base URLs."""
    server = SiteServer(site_pages(samples, per_page=per_page))
    bases = await server.start()
    urls = {name: base + ("/{region}" if name == "craigslist" else "") for name, base in bases.items()}
    return server, urls
