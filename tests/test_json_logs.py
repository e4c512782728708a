"""Structured logs: every line a request causes, from the edge down to the domain and SQL, is one
JSON object carrying the request id (the client's sane X-Request-ID, else one made for it, echoed
back) and the GraphQL operation's type and root field; websocket operations each log with theirs,
and worker job lines carry the job's name, id and try."""

from __future__ import annotations

import asyncio
import io
import json
import logging
import re
from collections.abc import Iterator
from typing import Any

import pytest

from aiqleads.logs import JsonFormatter, TextFormatter, log_config

LEADS = "query Browse { leads(first: 1) { edges { node { id } } } }"
GENERATED = re.compile(r"[0-9a-f]{32}")


class JsonLines(logging.Handler):
    """The process's log records as the JSON lines `aiqleads serve` writes, parsed back."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.setFormatter(JsonFormatter())
        self.raw: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.raw.append(self.format(record))

    def lines(self) -> list[dict[str, Any]]:
        """Every line so far, each parsed (a line that is not one JSON object fails the test)."""
        parsed = [json.loads(line) for line in self.raw]
        assert all(isinstance(entry, dict) for entry in parsed)
        return parsed

    def of_request(self, request_id: str) -> list[dict[str, Any]]:
        """The lines logged while handling the request with this id."""
        return [entry for entry in self.lines() if entry.get("request_id") == request_id]


@pytest.fixture
def json_lines() -> Iterator[JsonLines]:
    root = logging.getLogger()
    handler = JsonLines()
    old_level = root.level
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    try:
        yield handler
    finally:
        root.removeHandler(handler)
        root.setLevel(old_level)


@pytest.fixture
def deep_line(monkeypatch: pytest.MonkeyPatch) -> str:
    """The domain's listing query logs a line of its own (as any domain code may), deep in the request."""
    from aiqleads.domain.leads import query as leads_query

    original = leads_query.list_leads
    message = "listing a page of leads"

    async def logging_list_leads(*args: Any, **kwargs: Any) -> Any:
        logging.getLogger(leads_query.__name__).info(message)
        return await original(*args, **kwargs)

    monkeypatch.setattr(leads_query, "list_leads", logging_list_leads)
    return message


async def test_a_request_logs_json_lines_with_its_id_and_root_field_down_to_the_domain_and_sql(
    client: Any, json_lines: JsonLines, deep_line: str, make_lead: Any
) -> None:
    await make_lead()
    sql = logging.getLogger("sqlalchemy.engine.Engine")
    sql.setLevel(logging.INFO)  # the engine logs each statement (its parameters stay hidden)
    try:
        response = await client.post(
            "/graphql",
            json={"query": LEADS, "operationName": "Browse"},
            headers={"X-Request-ID": "req-7.a:B"},
        )
    finally:
        sql.setLevel(logging.NOTSET)
    assert response.status_code == 200, response.text
    assert response.headers["x-request-id"] == "req-7.a:B"
    lines = json_lines.of_request("req-7.a:B")
    assert {entry["message"] for entry in lines} >= {deep_line}
    deep = next(entry for entry in lines if entry["message"] == deep_line)
    assert deep["logger"] == "aiqleads.domain.leads.query" and deep["level"] == "INFO"
    assert deep["operation_type"] == "query" and deep["root_field"] == "leads"
    assert deep["operation_name"] == "Browse"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", deep["timestamp"])
    statements = [entry for entry in lines if entry["logger"] == "sqlalchemy.engine.Engine"]
    assert any("FROM leads" in entry["message"] for entry in statements), statements
    assert all(entry["root_field"] == "leads" for entry in statements)
    # nothing of the request is left on the lines logged after it
    logging.getLogger("aiqleads.tests").info("after the request")
    assert "request_id" not in json_lines.lines()[-1]


async def test_without_a_sane_request_id_one_is_made_echoed_and_logged(
    client: Any, json_lines: JsonLines, deep_line: str, make_lead: Any
) -> None:
    await make_lead()
    insane = ["has spaces in it", "x" * 129, 'quote"d', "émoji"]
    sent: list[dict[str, str]] = [{}] + [{"X-Request-ID": value} for value in insane[:3]]
    for headers in sent:
        response = await client.post("/graphql", json={"query": LEADS}, headers=headers)
        assert response.status_code == 200, response.text
        made = response.headers["x-request-id"]
        assert GENERATED.fullmatch(made), (headers, made)
        deep = [entry for entry in json_lines.of_request(made) if entry["message"] == deep_line]
        assert deep, headers
        assert deep[0]["operation_name"] == "Browse"  # not sent: the name written in the query
    # a non-ASCII header value (sent as raw bytes) is replaced too, and two made ids differ
    raw = await client.post(
        "/graphql", json={"query": LEADS}, headers=[(b"x-request-id", insane[3].encode("utf-8"))]
    )
    assert GENERATED.fullmatch(raw.headers["x-request-id"])
    again = await client.get("/healthz")
    assert GENERATED.fullmatch(again.headers["x-request-id"]) and again.headers["x-request-id"] != made


async def test_an_unexpected_error_is_one_json_line_with_its_traceback_and_the_request_id(
    client: Any, json_lines: JsonLines, monkeypatch: pytest.MonkeyPatch
) -> None:
    from aiqleads.domain.leads import query as leads_query

    async def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("the listing query broke")

    monkeypatch.setattr(leads_query, "list_leads", broken)
    response = await client.post("/graphql", json={"query": LEADS}, headers={"X-Request-ID": "broken-1"})
    assert response.json()["errors"][0]["extensions"]["code"] == "INTERNAL"
    errors = [entry for entry in json_lines.of_request("broken-1") if entry["level"] == "ERROR"]
    [failure] = [entry for entry in errors if entry["logger"] == "aiqleads.graphql"]
    assert failure["root_field"] == "leads" and failure["operation_type"] == "query"
    assert failure["exc_type"] == "RuntimeError"
    assert "Traceback (most recent call last)" in failure["exc_info"]
    assert "the listing query broke" in failure["exc_info"] and "in broken" in failure["exc_info"]
    assert all("\n" not in line for line in json_lines.raw)  # a traceback is inside its one line


async def test_each_websocket_operation_logs_with_the_connection_id_and_its_own_root_field(
    app: Any, json_lines: JsonLines
) -> None:
    import websockets
    from aiqtest_support.live_server import served_in_process

    async with served_in_process(app) as base:
        url = base.replace("http://", "ws://") + "/graphql"
        async with websockets.connect(
            url, subprotocols=["graphql-transport-ws"], additional_headers={"X-Request-ID": "ws-conn-1"}
        ) as ws:
            await ws.send(json.dumps({"type": "connection_init", "payload": {}}))
            assert json.loads(await ws.recv())["type"] == "connection_ack"
            subscribe = {"query": "subscription { newLeads { id } }"}
            await ws.send(json.dumps({"id": "1", "type": "subscribe", "payload": subscribe}))
            query = {"query": "query Plans { plans { tier } }", "operationName": "Plans"}
            await ws.send(json.dumps({"id": "2", "type": "subscribe", "payload": query}))
            answer = json.loads(await asyncio.wait_for(ws.recv(), 10))
            assert answer["id"] == "2" and answer["type"] == "next", answer
    lines = json_lines.of_request("ws-conn-1")
    operations = {
        (e["operation_type"], e["root_field"]) for e in lines if e["message"].startswith("websocket")
    }
    assert operations == {("subscription", "newLeads"), ("query", "plans")}, lines
    plans = next(e for e in lines if e["message"] == "websocket query plans")
    assert plans["operation_name"] == "Plans"
    # the connection's own lines (before any operation) carry its id but no operation
    assert all(e.get("root_field") in {None, "newLeads", "plans"} for e in lines)


def test_root_fields_are_the_schemas_names_only() -> None:
    """A client's alias or a made-up field never becomes a root_field value."""
    from aiqleads.domain import log_context
    from aiqleads.schema.root import build_schema

    schema = build_schema()
    seen: list[str] = []
    for query in (
        "{ mine: leads(first: 1) { totalCount } }",
        "{ plans { tier } me { id } }",
        "{ inventedField }",
        "{ __typename }",
        "{ plans { tier } inventedField plans2: plans { tier } }",
    ):
        token = log_context.begin_request("t")
        try:
            prepared, op_type = schema._choose(query, None, None)
            assert op_type is not None
            _, named = schema._note_operation(prepared, op_type.value, None)
            assert named is None  # anonymous operations
            found = log_context.current()
            assert isinstance(found, log_context.RequestLog)
            seen.append(str(found.root_field))
        finally:
            log_context.end(token)
    assert seen == ["leads", "plans,me", "other", "__typename", "plans,other"]


async def test_worker_job_lines_carry_the_job_name_id_and_try(json_lines: JsonLines) -> None:
    """arq's own start and finish lines and the job's lines, through the worker's job hooks."""
    from arq.worker import Function

    from aiqleads.workers.job_context import in_job_context, on_job_start

    async def sample_job(ctx: dict[str, Any], value: int) -> int:
        logging.getLogger("aiqleads.workers.sample").warning("working on %d", value)
        return value

    plain = in_job_context(sample_job)
    wrapped = in_job_context(Function("sample_job", sample_job, None, None, None, None))
    assert plain.__qualname__ == sample_job.__qualname__  # arq registers a function by it
    assert wrapped.name == "sample_job"

    async def run_like_arq(job: Any, job_id: str, job_try: int) -> None:
        ctx = {"job_id": job_id, "job_try": job_try}
        await on_job_start(ctx)
        logging.getLogger("arq.worker").info("→ %s started", job_id)  # before the function runs
        await asyncio.create_task(job(ctx, 7))  # arq runs the function in a task of its own
        logging.getLogger("arq.worker").info("← %s finished", job_id)

    await asyncio.create_task(run_like_arq(plain, "job-a", 1))
    await asyncio.create_task(run_like_arq(wrapped.coroutine, "job-b", 3))
    lines = [entry for entry in json_lines.lines() if entry.get("job_id") in {"job-a", "job-b"}]
    working = [entry for entry in lines if entry["message"] == "working on 7"]
    assert [(e["job"], e["job_id"], e["job_try"]) for e in working] == [
        ("sample_job", "job-a", 1),
        ("sample_job", "job-b", 3),
    ]
    finished = [entry for entry in lines if "finished" in entry["message"]]
    assert [(e["job"], e["job_id"], e["job_try"]) for e in finished] == [
        ("sample_job", "job-a", 1),
        ("sample_job", "job-b", 3),
    ]
    started = [entry for entry in lines if "started" in entry["message"]]
    assert [(e["job_id"], e["job_try"]) for e in started] == [("job-a", 1), ("job-b", 3)]


def test_the_log_configuration_routes_every_logger_through_one_formatter() -> None:
    config = log_config("json", "info")
    assert config["formatters"]["aiq"]["()"] == "aiqleads.logs.JsonFormatter"
    assert config["root"] == {"handlers": ["stderr"], "level": "INFO"}
    assert all(config["loggers"][name]["propagate"] for name in ("uvicorn.error", "uvicorn.access", "arq"))
    assert config["loggers"]["elastic_transport"]["level"] == "WARNING"  # a line per search otherwise
    assert log_config("text", "debug")["loggers"]["httpx"]["level"] == "DEBUG"
    assert log_config("text")["formatters"]["aiq"]["()"] == "aiqleads.logs.TextFormatter"


def test_the_text_format_keeps_the_request_fields_readable() -> None:
    from aiqleads.domain import log_context

    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(TextFormatter())
    logger = logging.getLogger("aiqleads.tests.text")
    logger.addHandler(handler)
    logger.propagate = False
    token = log_context.begin_request("rid-9")
    try:
        log_context.note_operation("mutation", "checkout", None)
        logger.warning("a readable line")
    finally:
        log_context.end(token)
        logger.removeHandler(handler)
        logger.propagate = True
    line = stream.getvalue().strip()
    assert line.endswith("aiqleads.tests.text: a readable line [request_id=rid-9 operation_type=mutation "
                         "root_field=checkout]")  # fmt: skip


def test_aiq_log_format_is_checked(monkeypatch: pytest.MonkeyPatch) -> None:
    from aiqleads.domain.settings import Settings

    monkeypatch.setenv("AIQ_LOG_FORMAT", "TEXT")
    assert Settings.from_env().log_format == "text"
    monkeypatch.setenv("AIQ_LOG_FORMAT", "xml")
    with pytest.raises(ValueError, match="AIQ_LOG_FORMAT must be one of json, text"):
        Settings.from_env()
    monkeypatch.delenv("AIQ_LOG_FORMAT")
    assert Settings.from_env().log_format == "json"
