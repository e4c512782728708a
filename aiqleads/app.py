"""The ASGI application: Starlette + Strawberry at /graphql, health, readiness and metrics."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import AsyncIterator
from typing import Any

from elasticsearch import AsyncElasticsearch
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from redis.asyncio import Redis
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route, WebSocketRoute
from starlette.types import Receive, Scope, Send
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL
from strawberry.exceptions import ConnectionRejectionError

from aiqleads.domain.db import make_engine, make_sessionmaker, ping_database
from aiqleads.domain.events import EventHub
from aiqleads.domain.payments.provider import build_payment_provider
from aiqleads.domain.settings import Settings
from aiqleads.domain.users import rate_limit
from aiqleads.resolvers.auth import BadCredentials, authenticate, connection_authorization
from aiqleads.resolvers.context import Context, Resources
from aiqleads.resolvers.metrics import ApiMetrics
from aiqleads.resolvers.webhooks import stripe_webhook
from aiqleads.schema.root import build_schema
from aiqleads.workers.cart_jobs import start_hold_timers

log = logging.getLogger("aiqleads.app")


def _json_error(status: int, code: str, message: str) -> JSONResponse:
    return JSONResponse(
        {"data": None, "errors": [{"message": message, "extensions": {"code": code}}]}, status
    )


class RateLimited(Exception):
    """The principal spent this minute's request budget."""


class GraphQLApp(GraphQL[Context, None]):
    """Strawberry's ASGI app with our typed context, auth, and JSON errors for bad requests."""

    def __init__(self, holder: dict[str, Resources], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._holder = holder

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await super().__call__(scope, receive, send)
            return
        request = Request(scope, receive)
        if request.method == "POST":
            body = await request.body()
            try:
                parsed = json.loads(body) if body else None
            except ValueError:
                await _json_error(400, "INVALID_INPUT", "Request body is not valid JSON.")(
                    scope, receive, send
                )
                return
            if not isinstance(parsed, (dict, list)):
                message = "Request body must be a JSON object with a 'query' string."
                await _json_error(400, "INVALID_INPUT", message)(scope, receive, send)
                return

            async def replay() -> dict[str, Any]:
                return {"type": "http.request", "body": body, "more_body": False}

            receive = replay
        try:
            await super().__call__(scope, receive, send)
        except BadCredentials as exc:
            await _json_error(401, "UNAUTHENTICATED", str(exc))(scope, receive, send)
        except RateLimited:
            response = _json_error(429, "RATE_LIMITED", "Too many requests; retry in a minute.")
            response.headers["Retry-After"] = "60"
            await response(scope, receive, send)

    async def get_context(self, request: Request | WebSocket, response: Any) -> Context:
        """The request's context: HTTP callers are authenticated and rate-limited here."""
        ctx = Context(resources=self._holder["resources"], request=request, response=response)
        if isinstance(request, WebSocket):
            return ctx  # websocket auth happens in on_ws_connect, from connectionParams
        await authenticate(ctx, request.headers.get("authorization"), request.headers.get("x-api-key"))
        if not await rate_limit.take(ctx.resources.redis, ctx.principal, ctx.settings.rate_limit_per_minute):
            raise RateLimited
        return ctx

    async def on_ws_connect(self, context: Context) -> Any:
        """Authenticate a websocket from connectionParams (or the upgrade request's headers)."""
        headers = getattr(context.request, "headers", {})
        authorization = connection_authorization(context.connection_params) or headers.get("authorization")
        api_key = (context.connection_params or {}).get("x-api-key") or headers.get("x-api-key")
        try:
            await authenticate(context, authorization, api_key if isinstance(api_key, str) else None)
        except BadCredentials as exc:
            raise ConnectionRejectionError({"message": str(exc), "code": "UNAUTHENTICATED"}) from exc
        return None


async def build_resources(settings: Settings) -> Resources:
    """Create engines and clients (called from the lifespan, never at import)."""
    engine = make_engine(settings.database_url)
    redis = Redis.from_url(settings.redis_url, decode_responses=False)
    es = AsyncElasticsearch(settings.elasticsearch_url, request_timeout=30)
    hub = EventHub(redis)
    resources = Resources(settings, engine, make_sessionmaker(engine), redis, es, hub)
    resources.extras["metrics"] = ApiMetrics.create()
    resources.extras["payments"] = build_payment_provider(settings)  # None: no provider configured
    await hub.start()
    resources.extras["hold_timers"] = await start_hold_timers(settings, resources.sessionmaker, redis)
    return resources


async def close_resources(resources: Resources) -> None:
    """Dispose of everything build_resources created."""
    if "hold_timers" in resources.extras:
        await resources.extras.pop("hold_timers").stop()
    await resources.hub.stop()
    provider = resources.extras.pop("payments", None)
    if provider is not None:
        await provider.aclose()
    await resources.es.close()
    await resources.redis.aclose()
    await resources.engine.dispose()


def create_app(settings: Settings | None = None) -> Starlette:
    """Build the ASGI app; resources are created when the lifespan starts."""
    settings = settings or Settings.from_env()
    settings.check_safe_to_serve()  # also when started as `uvicorn aiqleads.app:create_app --factory`
    holder: dict[str, Resources] = {}
    graphql = GraphQLApp(holder, schema=build_schema(settings), keep_alive=True, keep_alive_interval=15)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        holder["resources"] = await build_resources(settings)
        app.state.resources = holder["resources"]
        try:
            yield
        finally:
            await close_resources(holder["resources"])

    async def healthz(request: Request) -> Response:
        return JSONResponse({"status": "ok"})

    async def readyz(request: Request) -> Response:
        resources = holder["resources"]
        checks: dict[str, str] = {}

        async def check(name: str, probe: Any) -> None:
            try:
                await asyncio.wait_for(probe(), timeout=3)
                checks[name] = "ok"
            except Exception as exc:  # readiness reports any failure, it never raises
                checks[name] = f"error: {type(exc).__name__}"

        async def pg() -> None:
            await ping_database(resources.engine)

        async def es() -> None:
            await resources.es.cluster.health()

        await asyncio.gather(
            check("postgres", pg), check("redis", resources.redis.ping), check("elasticsearch", es)
        )
        ok = all(v == "ok" for v in checks.values())
        return JSONResponse({"status": "ok" if ok else "unavailable", "checks": checks}, 200 if ok else 503)

    async def stripe_webhooks(request: Request) -> Response:
        signature = request.headers.get("stripe-signature")
        answer = await stripe_webhook(holder["resources"], await request.body(), signature)
        return JSONResponse(answer.body, answer.status)

    async def metrics(request: Request) -> Response:
        registry = holder["resources"].extras["metrics"].registry
        return PlainTextResponse(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)

    return Starlette(
        routes=[
            Route("/graphql", graphql, methods=["GET", "POST"]),
            WebSocketRoute("/graphql", graphql),
            Route("/healthz", healthz),
            Route("/readyz", readyz),
            Route("/metrics", metrics),
            Route("/webhooks/stripe", stripe_webhooks, methods=["POST"]),
        ],
        lifespan=lifespan,
    )
