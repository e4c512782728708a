"""Collectors both kinds of process export (the API and the worker run the same loops and move
credits), registered on the process's own registry at startup, never at import.

The domain reports through these few methods, so a loop or use case never names a Prometheus type.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from prometheus_client import CollectorRegistry, Counter, Histogram

JOB_OUTCOMES = ("success", "retry", "dead_letter", "failure")
# the hold deadline a buyer sees counts down to zero; this is how late the release came after it
LAG_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60)
JOB_BUCKETS = (0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600)
GRANT_REASONS = ("purchase", "allowance", "refund", "admin")


class LoopObserver(Protocol):
    """What a background loop reports: each run's outcome and duration, and hold-release lag."""

    def job_finished(self, job: str, outcome: str, seconds: float) -> None:
        """One run of ``job`` ended with ``outcome`` (one of JOB_OUTCOMES) after ``seconds``."""

    def hold_released(self, lag_seconds: float) -> None:
        """A hold deadline was released ``lag_seconds`` after it passed."""


@dataclass
class SharedMetrics:
    """Job runs, hold-expiry lag and credit movements: the collectors every process has."""

    job_runs: Counter
    job_seconds: Histogram
    hold_expiry_lag: Histogram
    credits_granted: Counter
    credits_spent: Counter

    @classmethod
    def register(cls, registry: CollectorRegistry) -> SharedMetrics:
        """Create the shared collectors on ``registry``."""
        return cls(
            job_runs=Counter(
                "aiq_job_runs_total",
                "Runs of worker jobs and background loops by job and outcome "
                "(success, retry, dead_letter, failure).",
                ["job", "outcome"],
                registry=registry,
            ),
            job_seconds=Histogram(
                "aiq_job_duration_seconds",
                "Duration of worker jobs and background loop passes, by job.",
                ["job"],
                registry=registry,
                buckets=JOB_BUCKETS,
            ),
            hold_expiry_lag=Histogram(
                "aiq_hold_expiry_lag_seconds",
                "Seconds from a hold's deadline to its release.",
                registry=registry,
                buckets=LAG_BUCKETS,
            ),
            credits_granted=Counter(
                "aiq_credits_granted_total",
                "Credits added to balances, by reason (purchase, allowance, refund, admin).",
                ["reason"],
                registry=registry,
            ),
            credits_spent=Counter(
                "aiq_credits_spent_total",
                "Credits spent on checkouts.",
                registry=registry,
            ),
        )

    def job_finished(self, job: str, outcome: str, seconds: float) -> None:
        """Count one run and its duration."""
        self.job_runs.labels(job, outcome).inc()
        self.job_seconds.labels(job).observe(seconds)

    def hold_released(self, lag_seconds: float) -> None:
        """Observe one release's lag behind its deadline."""
        self.hold_expiry_lag.observe(max(0.0, lag_seconds))

    def credits_moved(self, granted: dict[str, int] | None = None, spent: int = 0) -> None:
        """Count credits granted (by reason) and spent."""
        for reason, amount in (granted or {}).items():
            if amount > 0:
                self.credits_granted.labels(reason if reason in GRANT_REASONS else "admin").inc(amount)
        if spent > 0:
            self.credits_spent.inc(spent)
