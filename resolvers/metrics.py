"""Prometheus metrics of the API (collectors live in a registry created per app, not at import)."""

from __future__ import annotations

from dataclasses import dataclass, field

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from aiqleads.domain.telemetry import SharedMetrics

# the handler label of aiq_http_requests_total: a closed set (any other path is "other")
HANDLERS = {
    "/graphql": "graphql",
    "/healthz": "healthz",
    "/readyz": "readyz",
    "/metrics": "metrics",
    "/webhooks/stripe": "webhooks_stripe",
}
READY_CHECKS = ("postgres", "redis", "elasticsearch")
PAYMENT_WEBHOOK_OUTCOMES = ("processed", "duplicate", "ignored", "invalid_signature", "failed")
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)


def handler_label(path: str) -> str:
    """The closed-set handler name of a request path."""
    found = HANDLERS.get(path)
    if found is not None:
        return found
    return "app" if path == "/app" or path.startswith("/app/") else "other"


@dataclass
class HttpMeter:
    """HTTP requests by handler and status class, and their duration, with the labelled children
    made once (a request pays two dictionary lookups, not a label resolution)."""

    requests: Counter
    seconds: Histogram
    _counts: dict[tuple[str, int], Counter] = field(default_factory=dict)
    _timers: dict[str, Histogram] = field(default_factory=dict)

    def observe(self, handler: str, status: int, seconds: float) -> None:
        """Count one answered request."""
        klass = min(5, max(1, status // 100))
        child = self._counts.get((handler, klass))
        if child is None:
            child = self._counts[(handler, klass)] = self.requests.labels(handler, f"{klass}xx")
        child.inc()
        timer = self._timers.get(handler)
        if timer is None:
            timer = self._timers[handler] = self.seconds.labels(handler)
        timer.observe(seconds)


@dataclass
class ApiMetrics:
    """The API's collectors, registered on one registry."""

    registry: CollectorRegistry
    shared: SharedMetrics
    http: HttpMeter
    operation_latency: Histogram
    operation_errors: Counter
    active_subscriptions: Gauge
    domain_events: Counter
    ready: Gauge
    checkouts: Counter
    holds: Counter
    payment_webhooks: Counter

    @classmethod
    def create(cls) -> ApiMetrics:
        """Build a fresh registry with every collector of the API."""
        registry = CollectorRegistry(auto_describe=True)
        return cls(
            registry=registry,
            shared=SharedMetrics.register(registry),
            http=HttpMeter(
                requests=Counter(
                    "aiq_http_requests_total",
                    "HTTP requests answered, by handler and status class (websockets excluded).",
                    ["handler", "status"],
                    registry=registry,
                ),
                seconds=Histogram(
                    "aiq_http_request_duration_seconds",
                    "HTTP request duration by handler, until the last byte was handed to the server.",
                    ["handler"],
                    registry=registry,
                    buckets=LATENCY_BUCKETS,
                ),
            ),
            operation_latency=Histogram(
                "aiq_graphql_operation_seconds",
                "GraphQL operation latency by root field (or multiple/other) and operation type.",
                ["operation", "type"],
                registry=registry,
                buckets=LATENCY_BUCKETS,
            ),
            operation_errors=Counter(
                "aiq_graphql_operation_errors_total",
                "GraphQL operations that returned errors, by root field and error code.",
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
            ready=Gauge(
                "aiq_ready",
                "1 when this API process reaches the backing service, else 0 (checked at each scrape).",
                ["check"],
                registry=registry,
            ),
            checkouts=Counter(
                "aiq_checkouts_total",
                "Checkouts by outcome (completed, failed); replays of a completed one are not counted.",
                ["outcome"],
                registry=registry,
            ),
            holds=Counter(
                "aiq_holds_total",
                "Add-to-cart attempts by outcome (placed, refused).",
                ["outcome"],
                registry=registry,
            ),
            payment_webhooks=Counter(
                "aiq_payment_webhooks_total",
                "Payment provider webhook deliveries by outcome "
                "(processed, duplicate, ignored, invalid_signature, failed).",
                ["outcome"],
                registry=registry,
            ),
        )
