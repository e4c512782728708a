"""Prometheus metrics of the API (collectors live in a registry created per app, not at import)."""

from __future__ import annotations

from dataclasses import dataclass

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram


@dataclass
class ApiMetrics:
    """The API's collectors, registered on one registry."""

    registry: CollectorRegistry
    operation_latency: Histogram
    operation_errors: Counter
    active_subscriptions: Gauge
    domain_events: Counter

    @classmethod
    def create(cls) -> ApiMetrics:
        """Build a fresh registry with every collector of the API."""
        registry = CollectorRegistry(auto_describe=True)
        return cls(
            registry=registry,
            operation_latency=Histogram(
                "aiq_graphql_operation_seconds",
                "GraphQL operation latency by operation name and type.",
                ["operation", "type"],
                registry=registry,
                buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
            ),
            operation_errors=Counter(
                "aiq_graphql_operation_errors_total",
                "GraphQL operations that returned errors, by operation name and error code.",
                ["operation", "code"],
                registry=registry,
            ),
            active_subscriptions=Gauge(
                "aiq_graphql_active_subscriptions", "Subscriptions currently open.", registry=registry
            ),
            domain_events=Counter(
                "aiq_domain_events_total",
                "Business events (holds, checkouts, credits) by kind.",
                ["kind"],
                registry=registry,
            ),
        )
