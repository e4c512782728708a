"""The one place that turns Settings into the clients a process needs (the composition root).

The API lifespan, the worker's startup, every CLI command, the demo and the benchmarks call
``bootstrap``; tests call it with a test configuration. Nothing else constructs an engine, a Redis,
Elasticsearch or arq client. What differs between processes (pool sizes, timeouts, whether the
process fans events out to websockets, takes payments or calls an LLM) is the ``purpose``.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Literal

from arq.connections import ArqRedis
from elasticsearch import AsyncElasticsearch
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from aiqleads.domain.db import make_engine, make_read_sessionmaker, make_sessionmaker
from aiqleads.domain.events import EventHub
from aiqleads.domain.jobs import queue_client
from aiqleads.domain.payments.provider import PaymentProvider, build_payment_provider
from aiqleads.domain.pricing.hints import PriceHinter
from aiqleads.domain.recommendations.embedder import Embedder, build_embedder, configured_model_id
from aiqleads.domain.settings import Settings
from aiqleads.domain.unit_of_work import CreditObserver
from aiqleads.domain.users.rate_limit import BudgetLeases

if TYPE_CHECKING:  # the API never cleans listings: only the worker imports the cleaning pipeline
    from aiqleads.domain.ingest.prepare import Refiner

log = logging.getLogger(__name__)

Purpose = Literal["api", "worker", "cli", "bench"]


@dataclass(frozen=True)
class Profile:
    """How a kind of process sizes and equips its clients."""

    connections: int  # the most database connections the process opens (all kept: no overflow)
    es_timeout: float
    event_hub: bool  # API processes fan pub/sub events out to their websockets
    payments: bool  # API processes create payments and verify webhooks
    llm: bool  # the worker cleans listings and hints prices with an LLM when configured
    embedder: bool  # the worker embeds leads; requests only read stored vectors


PROFILES: dict[Purpose, Profile] = {
    "api": Profile(connections=30, es_timeout=30, event_hub=True, payments=True, llm=False, embedder=False),
    "worker": Profile(
        connections=15, es_timeout=60, event_hub=False, payments=False, llm=True, embedder=True
    ),
    "cli": Profile(connections=6, es_timeout=120, event_hub=False, payments=False, llm=False, embedder=False),
    "bench": Profile(
        connections=15, es_timeout=120, event_hub=False, payments=False, llm=False, embedder=False
    ),
}


@dataclass(frozen=True)
class Deps:
    """Everything a process shares: settings and clients, built once by ``bootstrap``."""

    settings: Settings
    engine: AsyncEngine
    sessionmaker: async_sessionmaker[AsyncSession]
    redis: Redis
    read_sessionmaker: async_sessionmaker[AsyncSession]  # autocommit sessions for plain reads
    es: AsyncElasticsearch
    arq: ArqRedis  # the job queue, on the same connection pool as ``redis``
    payments: PaymentProvider | None = None  # None: no provider configured (or not this process)
    refiner: Refiner | None = None  # the LLM listing cleaner; None: rules only
    hinter: PriceHinter | None = None  # the LLM price hinter; None: rules only
    embedder: Embedder | None = None  # the worker's (and reembed's); None: this process embeds nothing
    hub: EventHub | None = None  # API processes only
    budgets: BudgetLeases = field(default_factory=BudgetLeases)  # this process's leased budget units
    purpose: Purpose = "cli"
    credit_observer: CreditObserver | None = None  # the process's metrics count committed credit moves
    _closers: list[Callable[[], Awaitable[object]]] = field(default_factory=list, repr=False, compare=False)

    @property
    def queue_name(self) -> str:
        """The arq queue every enqueue of this process uses."""
        return self.settings.arq_queue_name

    @property
    def event_hub(self) -> EventHub:
        """The event hub (API processes); raises where the process has none."""
        if self.hub is None:
            raise RuntimeError("this process has no event hub (bootstrap with purpose='api')")
        return self.hub

    @property
    def lead_embedder(self) -> Embedder:
        """The embedder (worker, reembed, seeding); raises where the process has none."""
        if self.embedder is None:
            raise RuntimeError("this process has no embedder (bootstrap with embedder=True)")
        return self.embedder

    @property
    def embedding_model(self) -> str:
        """The model id whose vectors this deployment compares (known without loading the model)."""
        return configured_model_id(self.settings)

    async def aclose(self) -> None:
        """Close everything bootstrap opened, newest first; one failure does not leak the rest."""
        await _close_all(self._closers)

    async def __aenter__(self) -> Deps:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()


async def bootstrap(
    settings: Settings,
    *,
    purpose: Purpose = "cli",
    llm: bool | None = None,
    embedder: bool | None = None,
    credit_observer: CreditObserver | None = None,
) -> Deps:
    """Build the clients of one process for ``purpose``; close them with ``await deps.aclose()``.

    ``llm`` overrides whether the LLM clients are built (e.g. ``aiqleads scrape`` cleans with one),
    ``embedder`` whether the embedding model is loaded (``aiqleads reembed``, seeding);
    ``credit_observer`` (the process's metrics) is told of credits moved by each committed unit of work.
    """
    profile = PROFILES[purpose]
    if llm is not None:
        profile = replace(profile, llm=llm)
    if embedder is not None:
        profile = replace(profile, embedder=embedder)
    closers: list[Callable[[], Awaitable[object]]] = []
    engine = make_engine(settings.database_url, connections=profile.connections)
    closers.append(engine.dispose)
    try:
        redis = Redis.from_url(settings.redis_url, decode_responses=False)
        closers.append(redis.aclose)
        es = AsyncElasticsearch(settings.elasticsearch_url, request_timeout=profile.es_timeout)
        closers.append(es.close)
        arq = queue_client(redis, settings.arq_queue_name)
        payments = build_payment_provider(settings) if profile.payments else None
        if payments is not None:
            closers.append(payments.aclose)
        refiner, hinter = _llm_clients(settings) if profile.llm else (None, None)
        lead_embedder = build_embedder(settings) if profile.embedder else None
        if lead_embedder is not None:
            closers.append(lead_embedder.aclose)
        hub = None
        if profile.event_hub:
            hub = EventHub(redis)
            closers.append(hub.stop)
            await hub.start()
    except BaseException:
        await _close_all(closers)
        raise
    return Deps(
        settings=settings,
        engine=engine,
        sessionmaker=make_sessionmaker(engine),
        redis=redis,
        read_sessionmaker=make_read_sessionmaker(engine),
        es=es,
        arq=arq,
        payments=payments,
        refiner=refiner,
        hinter=hinter,
        embedder=lead_embedder,
        hub=hub,
        purpose=purpose,
        credit_observer=credit_observer,
        _closers=closers,
    )


@contextlib.asynccontextmanager
async def opened(
    settings: Settings, *, purpose: Purpose = "cli", llm: bool | None = None, embedder: bool | None = None
) -> AsyncIterator[Deps]:
    """``async with opened(settings) as deps:`` — bootstrap, then close on the way out."""
    deps = await bootstrap(settings, purpose=purpose, llm=llm, embedder=embedder)
    try:
        yield deps
    finally:
        await deps.aclose()


def _llm_clients(settings: Settings) -> tuple[Refiner | None, PriceHinter | None]:
    """The LLM cleaner and price hinter of the configured provider (None without an API key)."""
    from aiqleads.domain.ingest.llm_cleaner import build_refiner
    from aiqleads.domain.pricing.llm_hint import build_hinter

    return build_refiner(settings), build_hinter(settings)


async def _close_all(closers: list[Callable[[], Awaitable[object]]]) -> None:
    """Run the closers newest first (emptying the list, so closing twice is harmless)."""
    while closers:
        closer = closers.pop()
        try:
            await closer()
        except Exception:  # closing must reach every client, so report and carry on
            log.exception("closing a client failed")
