"""Prometheus metrics of the worker: job runs and durations, the queue, business gauges, scrapers.

The registry is created in worker startup (workers/runtime.py) or by the CLI, never at import.
Job runs, hold-expiry lag and credit movements are the collectors the API has too
(``aiqleads.domain.telemetry.SharedMetrics``).
"""

from __future__ import annotations

from dataclasses import dataclass

from prometheus_client import CollectorRegistry, Counter, Gauge

from aiqleads.domain.telemetry import SharedMetrics


@dataclass
class WorkerMetrics:
    """The worker's collectors on one registry."""

    registry: CollectorRegistry
    shared: SharedMetrics
    scraper_pages: Counter
    scraper_listings: Counter
    leads_ingested: Counter
    scrape_runs: Counter
    scrape_last_success: Gauge
    leads_expired: Counter
    queue_depth: Gauge
    queue_oldest_age: Gauge
    active_holds: Gauge
    leads: Gauge
    returns: Gauge
    dead_letters: Gauge
    payments_awaiting_webhook: Gauge
    ledger_ok: Gauge
    ledger_violations: Gauge
    ledger_checked_at: Gauge

    @classmethod
    def create(cls) -> WorkerMetrics:
        """A fresh registry with every worker collector."""
        registry = CollectorRegistry(auto_describe=True)
        return cls(
            registry=registry,
            shared=SharedMetrics.register(registry),
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
            scrape_runs=Counter(
                "aiq_scrape_runs_total",
                "Recorded scrape runs by source and outcome (succeeded, failed, skipped_locked).",
                ["source", "outcome"],
                registry=registry,
            ),
            scrape_last_success=Gauge(
                "aiq_scrape_last_success_timestamp_seconds",
                "Unix time at which the last successful scrape run of a source ended.",
                ["source"],
                registry=registry,
            ),
            leads_expired=Counter(
                "aiq_leads_expired_total",
                "Leads that left the market as EXPIRED, by reason (missing, max_age).",
                ["reason"],
                registry=registry,
            ),
            queue_depth=Gauge("aiq_queue_depth", "Jobs waiting in the arq queue.", registry=registry),
            queue_oldest_age=Gauge(
                "aiq_queue_oldest_job_age_seconds",
                "How long the oldest job that is due has waited in the queue (0 when none is due).",
                registry=registry,
            ),
            active_holds=Gauge("aiq_active_holds", "Holds currently active in carts.", registry=registry),
            leads=Gauge("aiq_leads", "Leads by source and status.", ["source", "status"], registry=registry),
            returns=Gauge("aiq_returns", "Lead returns by status.", ["status"], registry=registry),
            dead_letters=Gauge(
                "aiq_dead_letters", "Dead letters not yet replayed, by job.", ["job"], registry=registry
            ),
            payments_awaiting_webhook=Gauge(
                "aiq_payments_awaiting_webhook",
                "Payments started 10 minutes to 2 hours ago that no webhook has settled yet.",
                registry=registry,
            ),
            ledger_ok=Gauge(
                "aiq_ledger_invariant_ok",
                "1 when every user's balance equals the sum of their credit ledger, else 0.",
                registry=registry,
            ),
            ledger_violations=Gauge(
                "aiq_ledger_invariant_violations",
                "Users whose balance differs from the sum of their credit ledger.",
                registry=registry,
            ),
            ledger_checked_at=Gauge(
                "aiq_ledger_checked_timestamp_seconds",
                "Unix time of the last ledger invariant check.",
                registry=registry,
            ),
        )
