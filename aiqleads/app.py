"""The ASGI application: Starlette + Strawberry at /graphql, health, readiness, metrics and the web app."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import orjson
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.applications import Starlette
from starlette.datastructures import MutableHeaders
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route, WebSocketRoute
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL
from strawberry.exceptions import ConnectionRejectionError
from strawberry.http import process_result
from strawberry.schema.exceptions import CannotGetOperationTypeError, InvalidOperationTypeError
from strawberry.types.graphql import OperationType

from aiqleads.domain import log_context
from aiqleads.domain.bootstrap import Deps, bootstrap
from aiqleads.domain.cart.timer_loop import HoldTimerLoop, start_hold_timers
from aiqleads.domain.db import ping_database
from aiqleads.domain.leads.query import stop_counts
from aiqleads.domain.settings import Settings
from aiqleads.domain.unit_of_work import deferred_effects
from aiqleads.request_body import BadBody, BodyTooLarge, decode_bounded_json, parse_request, read_limited
from aiqleads.request_id import echoing, request_id_of
from aiqleads.resolvers.auth import BadCredentials, authenticate, connection_authorization, connection_header
from aiqleads.resolvers.context import Context
from aiqleads.resolvers.errors import is_dependency_failure
from aiqleads.resolvers.limits import DEPENDENCY_RETRY_AFTER
from aiqleads.resolvers.metrics import ApiMetrics, handler_label
from aiqleads.resolvers.webhooks import stripe_webhook
from aiqleads.schema.root import build_schema
from aiqleads.tracing import API_SERVICE, start_tracing
from aiqleads.web_files import GRAPHIQL_PAGE, app_root, page, serve_app
from aiqleads.ws_protocol import GraphQLTransportWSHandler
from aiqleads.ws_sessions import WebsocketSession

log = logging.getLogger("aiqleads.app")


def _json_error(status: int, code: str, message: str) -> JSONResponse:
    return JSONResponse(
        {"data": None, "errors": [{"message": message, "extensions": {"code": code}}]}, status
    )


def _unavailable(retry_after: int = DEPENDENCY_RETRY_AFTER) -> JSONResponse:
    response = _json_error(
        503, "SERVICE_UNAVAILABLE", f"A backing service is unavailable; retry in {retry_after} s."
    )
    response.headers["Retry-After"] = str(retry_after)
    return response


POST_OPERATION_TYPES = OperationType.from_http("POST")
STREAMING_ACCEPT = (b"multipart/mixed", b"text/event-stream")


def plain_json_post(scope: Scope) -> bool:
    """A JSON POST that wants one JSON answer (a streamed one goes through Strawberry's view)."""
    content_type = accept = b""
    for name, value in scope["headers"]:
        if name == b"content-type":
            content_type = value
        elif name == b"accept":
            accept = value
    streamed = any(kind in accept for kind in STREAMING_ACCEPT)
    return b"application/json" in content_type.lower() and not streamed


@dataclass
class SubResponse:
    """What resolvers may set on an HTTP answer: its status and extra headers (Retry-After)."""

    status_code: int | None = None
    headers: MutableHeaders = field(default_factory=lambda: MutableHeaders(raw=[]))


@dataclass(frozen=True)
class JsonBody:
    """A JSON answer sent as two ASGI messages (what Starlette's Response sends, without its setup)."""

    body: bytes
    sub_response: SubResponse

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Send it."""
        headers = [
            (b"content-length", str(len(self.body)).encode()),
            (b"content-type", b"application/json"),
            *self.sub_response.headers.raw,
        ]
        status = self.sub_response.status_code or 200
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": self.body})


async def readiness(deps: Deps, limit_seconds: float = 3) -> dict[str, str]:
    """Whether this process reaches each backing service: ``ok`` or ``error: <kind>`` per check."""
    checks: dict[str, str] = {}

    async def check(name: str, probe: Any) -> None:
        try:
            await asyncio.wait_for(probe(), timeout=limit_seconds)
            checks[name] = "ok"
        except Exception as exc:  # readiness reports any failure, it never raises
            checks[name] = f"error: {type(exc).__name__}"

    async def pg() -> None:
        await ping_database(deps.engine)

    async def es() -> None:
        await deps.es.cluster.health()

    await asyncio.gather(check("postgres", pg), check("redis", deps.redis.ping), check("elasticsearch", es))
    return checks


WS_SESSION = "aiq.ws_session"  # where on_ws_connect leaves the connection's session for __call__


@dataclass
class ApiRuntime:
    """What one API process runs on: its Deps, its metrics and its hold timer loop."""

    deps: Deps
    metrics: ApiMetrics
    hold_timers: HoldTimerLoop | None = None

    async def aclose(self) -> None:
        """Stop the timer loop, then close every client."""
        if self.hold_timers is not None:
            await self.hold_timers.stop()
            self.hold_timers = None
        await self.deps.aclose()


async def start_runtime(settings: Settings) -> ApiRuntime:
    """Bootstrap the API process (called from the lifespan, never at import) and start its timers."""
    metrics = ApiMetrics.create()
    runtime = ApiRuntime(await bootstrap(settings, purpose="api", credit_observer=metrics.shared), metrics)
    try:
        runtime.hold_timers = await start_hold_timers(runtime.deps, observer=metrics.shared)
    except BaseException:
        await runtime.aclose()
        raise
    return runtime


class GraphQLApp(GraphQL[Context, None]):
    """Strawberry's ASGI app with our typed context, auth, bounded bodies and typed edge errors.

    Budgets, cost and input hygiene of each operation are checked by the schema's one pipeline
    (``schema.pipeline``), so HTTP and websocket operations pass through the same gate.
    """

    graphql_transport_ws_handler_class = GraphQLTransportWSHandler  # shared subscriptions

    def __init__(self, holder: dict[str, ApiRuntime], settings: Settings, **kwargs: Any) -> None:
        super().__init__(
            connection_init_wait_timeout=timedelta(seconds=settings.ws_connection_init_timeout_seconds),
            max_subscriptions_per_connection=settings.max_subscriptions_per_connection,
            **kwargs,
        )
        self._holder = holder
        self._settings = settings

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "websocket":
            try:
                await super().__call__(scope, receive, send)
            finally:
                session: WebsocketSession | None = scope.get(WS_SESSION)
                if session is not None:
                    await session.end()
            return
        if scope["type"] != "http":
            await super().__call__(scope, receive, send)
            return
        if scope.get("method") == "POST":
            try:
                body = await read_limited(scope, receive, self._settings.max_body_bytes)
                operation = parse_request(body, self._settings.max_json_depth)
            except BodyTooLarge:
                limit = self._settings.max_body_bytes
                message = f"The request body is larger than {limit} bytes."
                await _json_error(413, "INVALID_INPUT", message)(scope, receive, send)
                return
            except BadBody as exc:
                await _json_error(400, "INVALID_INPUT", exc.message)(scope, receive, send)
                return

            async def replay() -> dict[str, Any]:
                return {"type": "http.request", "body": body, "more_body": False}

            receive = replay
            if plain_json_post(scope):
                # the answer goes out first; what the operation's commits left to do runs after it
                served = self._serve_operation(scope, receive, operation)
                try:
                    with deferred_effects() as effects:
                        await self._guarded(served, scope, receive, send)
                finally:
                    await effects.run()
                return
        await self._guarded(super().__call__(scope, receive, send), scope, receive, send)

    async def _serve_operation(
        self, scope: Scope, receive: Receive, operation: dict[str, Any]
    ) -> Response | JsonBody:
        """Run one JSON-posted operation: what Strawberry's view does for it, without its
        generic request machinery (content negotiation, batches, uploads, streaming)."""
        request = Request(scope, receive)
        sub_response = SubResponse()
        context = await self.get_context(request, sub_response)
        try:
            result = await self.schema.execute(
                operation["query"],
                variable_values=operation.get("variables"),
                context_value=context,
                operation_name=operation.get("operationName"),
                allowed_operation_types=POST_OPERATION_TYPES,
                operation_extensions=operation.get("extensions"),
            )
        except CannotGetOperationTypeError as exc:
            return PlainTextResponse(exc.as_http_error_reason(), 400)
        except InvalidOperationTypeError as exc:
            return PlainTextResponse(exc.as_http_error_reason("POST"), 400)
        # as Strawberry's create_response, encoded by orjson (a fraction of json.dumps' time)
        return JsonBody(orjson.dumps(process_result(result)), sub_response)

    async def _guarded(self, handler: Any, scope: Scope, receive: Receive, send: Send) -> None:
        """Run an HTTP handler; a bad credential is a 401 and a backing service down a 503."""
        try:
            response = await handler
            if response is not None:
                await response(scope, receive, send)
        except BadCredentials as exc:
            await _json_error(401, "UNAUTHENTICATED", str(exc))(scope, receive, send)
        except Exception as exc:
            if not is_dependency_failure(exc):
                raise
            log.warning("a backing service failed before the operation ran: %r", exc)
            await _unavailable()(scope, receive, send)

    async def render_graphql_ide(self, request: Request) -> Response:
        """GraphiQL from the built web app (AIQ_WEB_DIST), never a page that loads a CDN."""
        return page(Path(self._settings.web_dist), GRAPHIQL_PAGE, request)

    def decode_json(self, data: str | bytes) -> object:
        """JSON of GET parameters and websocket frames, bounded like request bodies."""
        return decode_bounded_json(data, self._settings.max_json_depth)

    async def get_context(self, request: Request | WebSocket, response: Any) -> Context:
        """The request's context: HTTP callers are authenticated here (websockets on connect)."""
        runtime = self._holder["runtime"]
        ctx = Context(deps=runtime.deps, metrics=runtime.metrics, request=request, response=response)
        if isinstance(request, WebSocket):
            return ctx  # websocket auth happens in on_ws_connect, from connectionParams
        await authenticate(ctx, request.headers.get("authorization"), request.headers.get("x-api-key"))
        return ctx

    async def on_ws_connect(self, context: Context) -> Any:
        """Authenticate a websocket from connectionParams (or the upgrade request's headers),
        take a connection lease for the user, and arm the token-expiry close."""
        headers = getattr(context.request, "headers", {})
        authorization = connection_authorization(context.connection_params) or headers.get("authorization")
        api_key = connection_header(context.connection_params, "x-api-key") or headers.get("x-api-key")
        try:
            await authenticate(context, authorization, api_key)
        except BadCredentials as exc:
            raise ConnectionRejectionError({"message": str(exc), "code": "UNAUTHENTICATED"}) from exc
        except Exception as exc:
            if not is_dependency_failure(exc):
                raise
            raise ConnectionRejectionError(
                {"message": "A backing service is unavailable; retry shortly.", "code": "SERVICE_UNAVAILABLE"}
            ) from exc
        websocket = context.request
        if websocket.scope.get(WS_SESSION) is not None:  # the legacy protocol accepts a second init
            raise ConnectionRejectionError(
                {"message": "This connection is already initialised.", "code": "INVALID_INPUT"}
            )
        session = WebsocketSession(context.deps.redis, websocket, context.principal, context.token_expires_at)
        if not await session.acquire(self._settings.max_connections_per_user):
            cap = self._settings.max_connections_per_user
            raise ConnectionRejectionError(
                {
                    "message": f"At most {cap} open connections per user, API key or address.",
                    "code": "RATE_LIMITED",
                }
            )
        websocket.scope[WS_SESSION] = session
        session.start()
        return None


class ApiApp(Starlette):
    """The app's routes; a websocket or a POST to /graphql goes straight to the GraphQL app.

    Starlette's middleware and router are coroutines a websocket's whole life: their frames stay
    alive for as long as the connection (about 3 KB each, measured: bench/bench_subscribers.py),
    for a route that needs nothing of them. For a POST they were an eighth of the CPU of a trivial
    operation (py-spy, bench/bench_floor.py): the router's matching, and two middleware wrappers
    around every message sent. The GraphQL app answers its own errors (``GraphQLApp._guarded``);
    an unexpected exception reaches uvicorn, which logs it and answers 500 as Starlette's error
    middleware did. Other methods (GET, HEAD, and the 405 of the rest) still take the router.
    """

    def __init__(self, graphql: GraphQLApp, holder: dict[str, ApiRuntime], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._graphql = graphql
        self._holder = holder
        self.route: ASGIApp = self._route  # aiqleads.tracing wraps it in OpenTelemetry's ASGI middleware

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        runtime = self._holder.get("runtime")
        if scope["type"] != "http" or runtime is None:
            await self._dispatch(scope, receive, send)
            return
        # every HTTP answer is counted by handler and status class, and timed (websockets are not:
        # a connection's life is not a latency)
        status = 500  # what uvicorn answers when the app raised before starting a response
        started = time.perf_counter()

        async def send_and_note_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self._dispatch(scope, receive, send_and_note_status)
        finally:
            runtime.metrics.http.observe(
                handler_label(scope.get("path", "")), status, time.perf_counter() - started
            )

    async def _dispatch(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind != "http" and kind != "websocket":  # the lifespan
            await super().__call__(scope, receive, send)
            return
        request_id = request_id_of(scope)
        token = log_context.begin_request(request_id, connection=kind == "websocket")
        if kind == "http":  # a websocket is not echoed: a wrapper would sit under every frame sent
            send = echoing(send, request_id)
        await self.route(scope, receive, send)
        # not in a finally: when the app raised, uvicorn logs the exception after it, in this
        # request's task, and the line still carries the request id
        log_context.end(token)

    async def _route(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope.get("path") == "/graphql"
            and not scope.get("root_path")
            and (scope["type"] == "websocket" or (scope["type"] == "http" and scope.get("method") == "POST"))
        ):
            scope["app"] = self
            await self._graphql(scope, receive, send)
            return
        await super().__call__(scope, receive, send)


def create_app(settings: Settings | None = None) -> Starlette:
    """Build the ASGI app; its Deps are bootstrapped when the lifespan starts."""
    settings = settings or Settings.from_env()
    settings.check_safe_to_serve()  # also when started as `uvicorn aiqleads.app:create_app --factory`
    holder: dict[str, ApiRuntime] = {}
    schema = build_schema(settings)
    graphql = GraphQLApp(holder, settings, schema=schema, keep_alive=True, keep_alive_interval=15)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        runtime = holder["runtime"] = await start_runtime(settings)
        app.state.runtime = runtime  # tests and operators reach the process's Deps here
        app.state.deps = runtime.deps
        tracing = start_tracing(API_SERVICE)  # None, and nothing installed, without an OTLP endpoint
        if tracing is not None:
            tracing.instrument_api(app, schema, runtime.deps)
        # the start-up objects (modules, the schema, clients) live as long as the process: moved out
        # of the collector's generations, a full collection no longer walks them (a 5,000-subscriber
        # fan-out spent a third of its time in full collections)
        gc.freeze()
        # a request's objects are freed as it ends (no reference cycles: schema.lean_fields), so
        # young collections found nothing to free: they only walked the live objects of requests
        # in flight, about once a listing page at the default 700 (0.23 ms a page); at 5,000 they
        # run a few times a minute under load (bench/README.md, "Reads, eighth round")
        gc.set_threshold(5_000, 10, 10)
        try:
            yield
        finally:
            await stop_counts()  # listing totals still counting hold sessions of the engine
            await runtime.aclose()
            if tracing is not None:
                tracing.shutdown()

    async def healthz(request: Request) -> Response:
        return JSONResponse({"status": "ok"})

    async def readyz(request: Request) -> Response:
        checks = await readiness(holder["runtime"].deps)
        ok = all(v == "ok" for v in checks.values())
        return JSONResponse({"status": "ok" if ok else "unavailable", "checks": checks}, 200 if ok else 503)

    async def stripe_webhooks(request: Request) -> Response:
        signature = request.headers.get("stripe-signature")
        runtime = holder["runtime"]
        answer = await stripe_webhook(
            runtime.deps, runtime.metrics, request.scope, request.receive, signature
        )
        return JSONResponse(answer.body, answer.status)

    async def metrics(request: Request) -> Response:
        runtime = holder["runtime"]
        # readiness is measured when Prometheus asks, so aiq_ready is never older than the scrape
        for name, state in (await readiness(runtime.deps, limit_seconds=2)).items():
            runtime.metrics.ready.labels(name).set(1 if state == "ok" else 0)
        return PlainTextResponse(generate_latest(runtime.metrics.registry), media_type=CONTENT_TYPE_LATEST)

    web_dist = Path(settings.web_dist)

    async def web_app(request: Request) -> Response:
        return serve_app(web_dist, request)

    async def web_app_root(request: Request) -> Response:
        return app_root()

    return ApiApp(
        graphql,
        holder,
        routes=[
            Route("/graphql", graphql, methods=["GET", "POST"]),
            WebSocketRoute("/graphql", graphql),
            Route("/healthz", healthz),
            Route("/readyz", readyz),
            Route("/metrics", metrics),
            Route("/webhooks/stripe", stripe_webhooks, methods=["POST"]),
            Route("/app", web_app_root),
            Route("/app/{path:path}", web_app),
        ],
        lifespan=lifespan,
    )
