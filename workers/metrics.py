"""Prometheus metrics of the worker: job outcomes and durations, scraper pages and listings.

The registry is created in worker startup (workers/runtime.py) or by the CLI, never at import.
"""

from __future__ import annotations

from dataclasses import dataclass

from prometheus_client import CollectorRegistry, Counter, Histogram


@dataclass
class WorkerMetrics:
    """The worker's collectors on one registry."""

    registry: CollectorRegistry
    job_outcomes: Counter
    job_seconds: Histogram
    scraper_pages: Counter
    scraper_listings: Counter
    leads_ingested: Counter

    @classmethod
    def create(cls) -> WorkerMetrics:
        """A fresh registry with every worker collector."""
        registry = CollectorRegistry(auto_describe=True)
        return cls(
            registry=registry,
            job_outcomes=Counter(
                "aiq_worker_jobs_total",
                "Worker job runs by job and outcome (success, retry, dead_letter).",
                ["job", "outcome"],
                registry=registry,
            ),
            job_seconds=Histogram(
                "aiq_worker_job_seconds",
                "Worker job duration by job.",
                ["job"],
                registry=registry,
                buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600),
            ),
            scraper_pages=Counter(
                "aiq_scraper_pages_total",
                "Search and detail pages fetched by source and outcome (ok, fetch_error, parse_error).",
                ["source", "outcome"],
                registry=registry,
            ),
            scraper_listings=Counter(
                "aiq_scraper_listings_total",
                "Scraped listings by source and outcome (created, updated, merged, unchanged, rejected, "
                "failed).",
                ["source", "outcome"],
                registry=registry,
            ),
            leads_ingested=Counter(
                "aiq_leads_ingested_total",
                "Leads created by ingestion, by source.",
                ["source"],
                registry=registry,
            ),
        )
