"""OpenTelemetry tracing: with OTEL_EXPORTER_OTLP_ENDPOINT set, a real `aiqleads serve` exports one
trace per GraphQL query over OTLP/HTTP (protobuf), spanning the ASGI layer, the GraphQL operation,
SQLAlchemy and Redis, and a real `aiqleads worker` exports its job runs; the collector is a local HTTP
server decoding the wire format. Without the variable nothing is installed."""

from __future__ import annotations

import contextlib
import json
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
from aiqtest_support.live_server import REPO, launch_api, server_env

from aiqleads.domain.settings import Settings


@dataclass(frozen=True)
class ReceivedSpan:
    service: str
    name: str
    trace_id: str
    span_id: str
    parent_id: str
    attributes: dict[str, Any]


def _value(any_value: Any) -> Any:
    kind = any_value.WhichOneof("value")
    if kind == "array_value":
        return [_value(v) for v in any_value.array_value.values]
    return getattr(any_value, kind) if kind else None


class Collector:
    """An OTLP/HTTP trace receiver: POST /v1/traces with an ExportTraceServiceRequest."""

    def __init__(self) -> None:
        self.spans: list[ReceivedSpan] = []
        self.lock = threading.Lock()
        collector = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
                    ExportTraceServiceRequest,
                    ExportTraceServiceResponse,
                )

                body = self.rfile.read(int(self.headers["Content-Length"]))
                ok = self.path == "/v1/traces" and self.headers["Content-Type"] == "application/x-protobuf"
                if ok:
                    request = ExportTraceServiceRequest()
                    request.ParseFromString(body)
                    collector.add(request)
                answer = ExportTraceServiceResponse().SerializeToString()
                self.send_response(200 if ok else 400)
                self.send_header("Content-Type", "application/x-protobuf")
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.endpoint = f"http://127.0.0.1:{self.server.server_address[1]}"

    def add(self, request: Any) -> None:
        found = []
        for resource_spans in request.resource_spans:
            resource = {a.key: _value(a.value) for a in resource_spans.resource.attributes}
            for scope_spans in resource_spans.scope_spans:
                for span in scope_spans.spans:
                    found.append(
                        ReceivedSpan(
                            service=str(resource.get("service.name")),
                            name=span.name,
                            trace_id=span.trace_id.hex(),
                            span_id=span.span_id.hex(),
                            parent_id=span.parent_span_id.hex(),
                            attributes={a.key: _value(a.value) for a in span.attributes},
                        )
                    )
        with self.lock:
            self.spans.extend(found)

    def wait_for(self, check: Callable[[list[ReceivedSpan]], Any], timeout: float = 20) -> Any:
        """Poll until ``check`` over every span received returns something truthy."""
        deadline = time.monotonic() + timeout
        while True:
            with self.lock:
                spans = list(self.spans)
            result = check(spans)
            if result or time.monotonic() > deadline:
                return result
            time.sleep(0.1)


@pytest.fixture
def collector() -> Iterator[Collector]:
    receiver = Collector()
    thread = threading.Thread(target=receiver.server.serve_forever, daemon=True)
    thread.start()
    try:
        yield receiver
    finally:
        receiver.server.shutdown()
        receiver.server.server_close()


@contextlib.contextmanager
def worker_process(settings: Settings, log_path: Path, **extra_env: str) -> Iterator[subprocess.Popen[bytes]]:
    """`aiqleads worker` on its own queue (no job of another test is taken), stopped afterwards."""
    env = server_env(settings, AIQ_ARQ_QUEUE=f"aiqtest:tracing:{uuid.uuid4().hex[:8]}", **extra_env)
    with log_path.open("wb") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "aiqleads.cli", "worker", "--metrics-port", "0"],
            cwd=REPO,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        yield proc
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _json_lines(path: Path) -> list[dict[str, Any]]:
    lines = []
    for line in path.read_text(errors="replace").splitlines():
        entry = json.loads(line)  # every line the process wrote is one JSON object
        assert isinstance(entry, dict), line
        lines.append(entry)
    return lines


def _query_trace(spans: list[ReceivedSpan], request_id: str) -> list[ReceivedSpan] | None:
    """The spans of the traced request's trace, once its server, GraphQL, SQL and Redis spans are in."""
    server = [s for s in spans if s.attributes.get("aiq.request_id") == request_id]
    if not server:
        return None
    trace = [s for s in spans if s.trace_id == server[0].trace_id]
    names = {s.name for s in trace}
    systems = {s.attributes.get("db.system") or s.attributes.get("db.system.name") for s in trace}
    return trace if "query leads" in names and {"postgresql", "redis"} <= systems else None


def _job_trace(spans: list[ReceivedSpan]) -> list[ReceivedSpan] | None:
    """A worker job run's span and the SQL spans under it."""
    for job in (s for s in spans if s.service == "aiqleads-worker" and s.name.startswith("job ")):
        children = [s for s in spans if s.trace_id == job.trace_id and s.parent_id == job.span_id]
        if children:
            return [job, *children]
    return None


def test_one_query_is_one_trace_across_asgi_graphql_sql_and_redis_and_a_job_is_a_span(
    settings: Settings, tmp_path: Path, collector: Collector
) -> None:
    otel = {"OTEL_EXPORTER_OTLP_ENDPOINT": collector.endpoint, "OTEL_BSP_SCHEDULE_DELAY": "100"}
    api = launch_api(settings, tmp_path, log_level="info", **otel)
    try:
        with worker_process(settings, tmp_path / "worker.log", AIQ_EMBED_SWEEP_LEADS="0", **otel):
            api.wait_ready(60)
            query = {"query": "query Browse { leads(first: 1) { edges { node { id } } } }"}
            answer = httpx.post(
                f"{api.base_url}/graphql", json=query, headers={"X-Request-ID": "traced-1"}, timeout=20
            )
            assert answer.status_code == 200 and "errors" not in answer.json(), answer.text
            assert answer.headers["x-request-id"] == "traced-1"
            trace = collector.wait_for(lambda spans: _query_trace(spans, "traced-1"))
            assert trace, f"spans received: {sorted({s.name for s in collector.spans})}\n{api.log()}"
            job = collector.wait_for(_job_trace, timeout=30)
            assert job, f"spans received: {sorted({(s.service, s.name) for s in collector.spans})}"
    finally:
        api.stop()

    by_id = {s.span_id: s for s in trace}
    [server] = [s for s in trace if s.attributes.get("aiq.request_id") == "traced-1"]
    assert server.parent_id == "" and server.service == "aiqleads-api"
    assert server.attributes.get("http.route", server.attributes.get("url.path", "/graphql")) == "/graphql"
    [graphql] = [s for s in trace if s.name == "query leads"]
    assert graphql.attributes["graphql.operation.type"] == "query"
    assert graphql.attributes["graphql.operation.name"] == "Browse"

    def ancestors(span: ReceivedSpan) -> list[str]:
        chain = []
        while span.parent_id in by_id:
            span = by_id[span.parent_id]
            chain.append(span.name)
        return chain

    sql = [
        s for s in trace if s.attributes.get("db.system", s.attributes.get("db.system.name")) == "postgresql"
    ]
    assert any("query leads" in ancestors(s) for s in sql)  # the statements run inside the operation
    assert all(s.service == "aiqleads-api" for s in trace)
    assert job[0].service == "aiqleads-worker" and job[0].attributes["aiq.job_try"] >= 1

    # the API's log lines are JSON, and the request's lines carry its id, root field and trace id
    lines = [e for e in _json_lines(api.log_path) if e.get("request_id") == "traced-1"]
    access = [e for e in lines if e["logger"] == "uvicorn.access"]
    assert access and access[0]["root_field"] == "leads" and access[0]["http_status"] == 200, lines
    assert access[0]["trace_id"] == server.trace_id
    # and the worker's job lines carry the job's name, id and try
    worker_lines = _json_lines(tmp_path / "worker.log")
    job_lines = [e for e in worker_lines if {"job", "job_id", "job_try"} <= e.keys()]
    assert any(e["logger"].startswith("arq") for e in job_lines), worker_lines[-20:]


async def test_without_an_endpoint_nothing_is_installed(app: Any, client: Any) -> None:
    """The default: no tracer provider, no instrumented client, route or schema, no trace ids in logs."""
    from opentelemetry import trace

    from aiqleads import logs, tracing

    assert not tracing.enabled() and tracing.start_tracing("aiqleads-api") is None
    assert isinstance(trace.get_tracer_provider(), trace.ProxyTracerProvider)
    assert app.route == app._route  # not wrapped in OpenTelemetry's ASGI middleware
    assert app._graphql.schema.tracer is None
    deps = app.state.deps
    assert not hasattr(deps.redis.execute_command, "__wrapped__")
    assert not hasattr(type(deps.redis).execute_command, "__wrapped__")
    assert not hasattr(httpx.AsyncHTTPTransport.handle_async_request, "__wrapped__")
    assert logs._trace_ids is None
    response = await client.post("/graphql", json={"query": "{ __typename }"})
    assert response.status_code == 200


def test_the_sdk_switch_and_the_traces_endpoint_are_respected(monkeypatch: pytest.MonkeyPatch) -> None:
    from aiqleads import tracing

    monkeypatch.delenv("OTEL_EXPORTER_OTLP_ENDPOINT", raising=False)
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "http://127.0.0.1:1/v1/traces")
    assert tracing.enabled()
    monkeypatch.setenv("OTEL_SDK_DISABLED", "true")
    assert not tracing.enabled()
