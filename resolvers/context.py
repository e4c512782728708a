"""The typed per-request GraphQL context: the process's Deps, its API metrics, the viewer."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from aiqleads.domain.bootstrap import Deps
from aiqleads.domain.core.driver_sql import DriverConnection, pooled_driver
from aiqleads.domain.core.user import User
from aiqleads.domain.settings import Settings
from aiqleads.domain.unit_of_work import read_only, read_snapshot
from aiqleads.domain.users.models import ApiKey
from aiqleads.resolvers.client_address import client_address
from aiqleads.resolvers.metrics import ApiMetrics


@dataclass
class Context:
    """What every resolver receives as info.context: Deps, the viewer and per-request loaders."""

    deps: Deps
    metrics: ApiMetrics | None = None
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
        return self.deps.settings

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

    def count_events(self, *kinds: str) -> None:
        """Count business events (holds, checkouts, credits) in the API metrics, if any."""
        if self.metrics is not None:
            for kind in kinds:
                self.metrics.domain_events.labels(kind).inc()

    @contextlib.asynccontextmanager
    async def read_session(self) -> AsyncIterator[AsyncSession]:
        """A short read-only session for queries and DataLoader batches."""
        async with read_only(self.deps) as session:
            yield session

    @contextlib.asynccontextmanager
    async def read_connection(self) -> AsyncIterator[DriverConnection]:
        """A pooled connection for reads made only of driver statements (listing pages, counts)."""
        async with pooled_driver(self.deps.engine) as connection:
            yield connection

    @contextlib.asynccontextmanager
    async def snapshot_session(self) -> AsyncIterator[AsyncSession]:
        """A read session inside a transaction (for transaction-local search parameters)."""
        async with read_snapshot(self.deps) as session:
            yield session

    def loader(self, name: str, factory: Any) -> Any:
        """The per-request DataLoader called name, created by factory() on first use."""
        existing = self.loaders.get(name)
        if existing is None:
            existing = self.loaders[name] = factory()
        return existing
