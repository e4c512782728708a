"""The typed per-request GraphQL context and the process-wide resources it points at."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from elasticsearch import AsyncElasticsearch
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from aiqleads.domain.events import EventHub
from aiqleads.domain.settings import Settings
from aiqleads.domain.users.models import ApiKey, User
from aiqleads.resolvers.client_address import client_address


@dataclass
class Resources:
    """Clients built once in the app lifespan and shared by every request."""

    settings: Settings
    engine: AsyncEngine
    sessionmaker: async_sessionmaker[AsyncSession]
    redis: Redis
    es: AsyncElasticsearch
    hub: EventHub
    extras: dict[str, Any] = field(default_factory=dict)


@dataclass
class Context:
    """What every resolver receives as info.context: resources, the viewer and per-request loaders."""

    resources: Resources
    request: Any = None
    response: Any = None
    viewer: User | None = None
    api_key: ApiKey | None = None
    token_expires_at: datetime | None = None  # a websocket authenticated by a token closes then
    connection_params: dict[str, Any] | None = None
    loaders: dict[str, Any] = field(default_factory=dict)

    @property
    def settings(self) -> Settings:
        """Shortcut to the settings."""
        return self.resources.settings

    @property
    def client_address(self) -> str:
        """The caller's IP address (through AIQ_TRUSTED_PROXIES when the peer is one of them)."""
        return client_address(self.request, self.settings.trusted_proxies)

    @property
    def principal(self) -> str:
        """Who is charged for this request: the user, else the API key, else the client address."""
        if self.viewer is not None:
            return f"user:{self.viewer.id}"
        if self.api_key is not None:
            return f"key:{self.api_key.id}"
        return f"ip:{self.client_address}"

    @contextlib.asynccontextmanager
    async def unit_of_work(self) -> AsyncIterator[AsyncSession]:
        """One transaction for one mutation: commits on success, rolls back on any exception."""
        async with self.resources.sessionmaker() as session, session.begin():
            yield session

    @contextlib.asynccontextmanager
    async def read_session(self) -> AsyncIterator[AsyncSession]:
        """A short read-only session for queries and DataLoader batches."""
        async with self.resources.sessionmaker() as session:
            yield session

    def loader(self, name: str, factory: Any) -> Any:
        """The per-request DataLoader called name, created by factory() on first use."""
        existing = self.loaders.get(name)
        if existing is None:
            existing = self.loaders[name] = factory()
        return existing
