"""OpenTelemetry tracing, exported over OTLP (HTTP/protobuf) when ``OTEL_EXPORTER_OTLP_ENDPOINT``
(or ``OTEL_EXPORTER_OTLP_TRACES_ENDPOINT``) is set, and entirely off otherwise: then neither the
SDK nor an instrumentation is imported, no tracer provider is installed and nothing is instrumented.

When on, a process (the API's lifespan, the worker's startup, after the bootstrap) gets one tracer
provider (service ``OTEL_SERVICE_NAME``, else ``aiqleads-api`` / ``aiqleads-worker``) and spans for:

- every HTTP request and websocket connection (OpenTelemetry's ASGI middleware, inside the request id);
- every GraphQL operation: one span from the schema's own pipeline (``schema.pipeline`` has no
  extension hooks, so Strawberry's OpenTelemetryExtension would never run), named by operation type
  and root field;
- every worker job run (``workers/job_context.py``);
- the process's SQLAlchemy engine and Redis clients (these clients only: arq's own polling
  connection is left alone), and httpx and aiohttp clients (LLMs, Stripe, scrapers, Elasticsearch).

``Tracing.shutdown`` undoes each instrumentation and flushes what is left to export. The domain
imports none of this.
"""

from __future__ import annotations

import contextlib
import functools
import os
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from aiqleads import logs
from aiqleads.domain import log_context

if TYPE_CHECKING:
    from graphql import GraphQLError

    from aiqleads.domain.bootstrap import Deps

API_SERVICE = "aiqleads-api"
WORKER_SERVICE = "aiqleads-worker"
ENDPOINT_VARIABLES = ("OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
# probes and scrapes, every few seconds, say nothing a trace would (OTEL_PYTHON_ASGI_EXCLUDED_URLS overrides)
PROBE_URLS = "/healthz,/readyz,/metrics"


def enabled() -> bool:
    """Whether this process exports traces (an OTLP endpoint is set, and the SDK is not disabled)."""
    env = os.environ
    if env.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
        return False
    return any(env.get(name, "").strip() for name in ENDPOINT_VARIABLES)


def start_tracing(default_service: str) -> Tracing | None:
    """Install the tracer provider and its OTLP exporter (None, and nothing done, when tracing is off)."""
    if not enabled():
        return None
    from opentelemetry import trace
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.resources import SERVICE_NAME, Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    # an attribute given here would override OTEL_SERVICE_NAME, which Resource.create reads itself
    attributes = {} if os.environ.get("OTEL_SERVICE_NAME", "").strip() else {SERVICE_NAME: default_service}
    provider = TracerProvider(resource=Resource.create(attributes))
    # wraps the sampler OTEL_TRACES_SAMPLER chose (ParentBased(ALWAYS_ON) by default), before any tracer
    provider.sampler = _no_background_polls(provider.sampler)
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))  # endpoint, headers: OTEL_* env
    # global too: libraries that trace through the API alone (Elasticsearch's client) report here
    trace.set_tracer_provider(provider)

    def current_ids() -> tuple[str, str] | None:
        span_context = trace.get_current_span().get_span_context()
        if not span_context.is_valid:
            return None
        return format(span_context.trace_id, "032x"), format(span_context.span_id, "016x")

    logs.set_trace_ids(current_ids)
    tracing = Tracing(provider)
    tracing.undo.append(lambda: logs.set_trace_ids(None))
    return tracing


@dataclass
class Tracing:
    """The process's tracer provider and how to undo what was instrumented with it."""

    provider: Any  # opentelemetry.sdk.trace.TracerProvider
    undo: list[Callable[[], object]] = field(default_factory=list)
    _jobs: JobTracer | None = None

    def graphql_tracer(self) -> GraphQLTracer:
        """Spans of GraphQL operations (``schema.pipeline.OperationTracer``)."""
        return GraphQLTracer(self.provider.get_tracer("aiqleads.graphql"))

    def job_tracer(self) -> JobTracer:
        """Spans of worker job runs (one tracer for the process)."""
        if self._jobs is None:
            self._jobs = JobTracer(self.provider.get_tracer("aiqleads.worker"))
        return self._jobs

    def instrument_api(self, app: Any, schema: Any, deps: Deps) -> None:
        """Trace the API: its requests (``ApiApp.route``), GraphQL operations and clients."""
        from opentelemetry.instrumentation.asgi import OpenTelemetryMiddleware

        route = app.route
        env = os.environ
        excluded = env.get("OTEL_PYTHON_ASGI_EXCLUDED_URLS", env.get("OTEL_PYTHON_EXCLUDED_URLS"))
        app.route = OpenTelemetryMiddleware(
            route,
            excluded_urls=PROBE_URLS if excluded is None else excluded,
            tracer_provider=self.provider,
            exclude_spans=["receive", "send"],  # a span per ASGI message is noise, and not free
            server_request_hook=_mark_request,
        )
        self.undo.append(lambda: setattr(app, "route", route))
        schema.tracer = self.graphql_tracer()
        self.undo.append(lambda: setattr(schema, "tracer", None))
        self.instrument_clients(deps)

    def instrument_clients(self, deps: Deps) -> None:
        """Trace the process's engine and Redis clients, and every httpx and aiohttp client."""
        from opentelemetry.instrumentation.aiohttp_client import AioHttpClientInstrumentor
        from opentelemetry.instrumentation.httpx import HTTPXClientInstrumentor
        from opentelemetry.instrumentation.redis import RedisInstrumentor
        from opentelemetry.instrumentation.sqlalchemy import SQLAlchemyInstrumentor

        sql = SQLAlchemyInstrumentor()
        sql.instrument(engine=deps.engine.sync_engine, tracer_provider=self.provider)
        self.undo.append(sql.uninstrument)
        for client in dict.fromkeys((deps.redis, deps.arq)):  # deps.arq shares the pool, not the object
            RedisInstrumentor.instrument_client(client, tracer_provider=self.provider)
            self.undo.append(functools.partial(RedisInstrumentor.uninstrument_client, client))
        for instrumentor in (HTTPXClientInstrumentor(), AioHttpClientInstrumentor()):
            instrumentor.instrument(tracer_provider=self.provider)
            self.undo.append(instrumentor.uninstrument)

    def shutdown(self) -> None:
        """Undo every instrumentation, newest first, then export what is left."""
        while self.undo:
            self.undo.pop()()
        self.provider.shutdown()


def _no_background_polls(inner: Any) -> Any:
    """``inner``, except that a client call outside any request or job (a span of kind CLIENT without
    a parent: the hold-timer loop's and the gauges' Redis and SQL polls, several a second) is dropped."""
    from opentelemetry import trace
    from opentelemetry.sdk.trace.sampling import Decision, Sampler, SamplingResult

    class NoBackgroundPolls(Sampler):
        def should_sample(
            self,
            parent_context: Any,
            trace_id: int,
            name: str,
            kind: Any = None,
            attributes: Any = None,
            links: Any = None,
            trace_state: Any = None,
        ) -> Any:
            parent = trace.get_current_span(parent_context).get_span_context()
            if kind is trace.SpanKind.CLIENT and not parent.is_valid:
                return SamplingResult(Decision.DROP)
            return inner.should_sample(parent_context, trace_id, name, kind, attributes, links, trace_state)

        def get_description(self) -> str:
            return f"NoBackgroundPolls{{{inner.get_description()}}}"

    return NoBackgroundPolls()


def _mark_request(span: Any, scope: dict[str, Any]) -> None:
    """The request id on the request's span (the id is set before the ASGI middleware runs)."""
    found = log_context.current()
    if span is not None and span.is_recording() and isinstance(found, log_context.RequestLog):
        span.set_attribute("aiq.request_id", found.request_id)


@dataclass(frozen=True)
class _OperationSpan:
    span: Any

    def finished(self, errors: Sequence[GraphQLError] | None) -> None:
        """Mark the span failed when the operation answered errors, with their codes."""
        if not errors:
            return
        from opentelemetry.trace import Status, StatusCode

        codes = sorted({str((error.extensions or {}).get("code", "INTERNAL")) for error in errors})
        self.span.set_attribute("aiq.graphql.error_codes", codes)
        self.span.set_status(Status(StatusCode.ERROR, f"{len(errors)} error(s): {', '.join(codes)}"))


@dataclass(frozen=True)
class GraphQLTracer:
    """One span per GraphQL operation (``schema.pipeline.OperationTracer``)."""

    tracer: Any

    @contextlib.contextmanager
    def operation(
        self, operation_type: str, root_field: str, operation_name: str | None
    ) -> Iterator[_OperationSpan]:
        """A span named ``<type> <root field>`` (both from closed sets), current while it runs."""
        attributes = {"graphql.operation.type": operation_type, "aiq.graphql.root_field": root_field}
        if operation_name:
            attributes["graphql.operation.name"] = operation_name[: log_context.OPERATION_NAME_CHARS]
        name = f"{operation_type} {root_field}"
        with self.tracer.start_as_current_span(name, attributes=attributes) as span:
            yield _OperationSpan(span)


@dataclass(frozen=True)
class JobTracer:
    """One span per worker job run."""

    tracer: Any

    @contextlib.contextmanager
    def job(self, name: str, job_id: str, job_try: int) -> Iterator[None]:
        """A span named ``job <name>``, current while the job runs (an exception marks it failed)."""
        from opentelemetry.trace import SpanKind

        attributes = {"aiq.job": name, "aiq.job_id": job_id, "aiq.job_try": job_try}
        with self.tracer.start_as_current_span(f"job {name}", kind=SpanKind.CONSUMER, attributes=attributes):
            yield
