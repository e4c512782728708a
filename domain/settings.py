"""Runtime settings read from the environment (names as in the public contract)."""

from __future__ import annotations

import os
from dataclasses import dataclass, field


def _int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError as exc:
        raise ValueError(f"environment variable {name} must be an integer, got {raw!r}") from exc


@dataclass(frozen=True)
class Settings:
    """All configuration of the API, worker and CLI; built once at startup and passed in."""

    database_url: str = "postgresql+asyncpg://aiqleads:aiqleads@127.0.0.1:25432/aiqleads"
    redis_url: str = "redis://127.0.0.1:26379/0"
    elasticsearch_url: str = "http://127.0.0.1:29200"
    es_index_prefix: str = "aiqleads"
    arq_queue_name: str = "aiqleads:queue"
    jwt_secret: str = "dev-only-insecure-jwt-secret-change-me-in-production"
    jwt_ttl_seconds: int = 3600 * 12
    item_hold_seconds: int = 300
    cart_hold_seconds: int = 900
    hold_extension_seconds: int = 300
    cart_extension_cap_seconds: int = 1800
    return_window_days: int = 7
    openai_api_key: str | None = None
    openai_base_url: str | None = None
    anthropic_api_key: str | None = None
    anthropic_base_url: str | None = None
    llm_timeout_seconds: float = 20.0
    max_query_depth: int = 10
    max_query_aliases: int = 30
    max_query_tokens: int = 2000
    max_query_cost: int = 100_000
    rate_limit_per_minute: int = 600
    scraper_user_agent: str = "AIQLeadsBot/0.1 (+https://aiqleads.example/bot)"
    scraper_proxy: str | None = None
    scraper_rate_per_host: float = 2.0
    source_base_urls: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_env(cls) -> Settings:
        """Read settings from environment variables, falling back to development defaults."""
        env = os.environ
        d = cls()
        return cls(
            database_url=env.get("DATABASE_URL", d.database_url),
            redis_url=env.get("REDIS_URL", d.redis_url),
            elasticsearch_url=env.get("ELASTICSEARCH_URL", d.elasticsearch_url),
            es_index_prefix=env.get("AIQ_ES_INDEX_PREFIX", d.es_index_prefix),
            arq_queue_name=env.get("AIQ_ARQ_QUEUE", d.arq_queue_name),
            jwt_secret=env.get("AIQ_JWT_SECRET", d.jwt_secret),
            jwt_ttl_seconds=_int("AIQ_JWT_TTL_SECONDS", d.jwt_ttl_seconds),
            item_hold_seconds=_int("AIQ_ITEM_HOLD_SECONDS", d.item_hold_seconds),
            cart_hold_seconds=_int("AIQ_CART_HOLD_SECONDS", d.cart_hold_seconds),
            hold_extension_seconds=_int("AIQ_HOLD_EXTENSION_SECONDS", d.hold_extension_seconds),
            cart_extension_cap_seconds=_int("AIQ_CART_EXTENSION_CAP_SECONDS", d.cart_extension_cap_seconds),
            return_window_days=_int("AIQ_RETURN_WINDOW_DAYS", d.return_window_days),
            openai_api_key=env.get("OPENAI_API_KEY") or None,
            openai_base_url=env.get("OPENAI_BASE_URL") or None,
            anthropic_api_key=env.get("ANTHROPIC_API_KEY") or None,
            anthropic_base_url=env.get("ANTHROPIC_BASE_URL") or None,
            rate_limit_per_minute=_int("AIQ_RATE_LIMIT_PER_MINUTE", d.rate_limit_per_minute),
            max_query_cost=_int("AIQ_MAX_QUERY_COST", d.max_query_cost),
            scraper_proxy=env.get("AIQ_SCRAPER_PROXY") or None,
            source_base_urls={
                src: env[f"AIQ_{src.upper()}_BASE_URL"]
                for src in ("zillow", "craigslist", "fsbo", "facebook")
                if env.get(f"AIQ_{src.upper()}_BASE_URL")
            },
        )

    def replace(self, **changes: object) -> Settings:
        """Return a copy with some fields changed (tests use short timers this way)."""
        from dataclasses import replace

        return replace(self, **changes)  # type: ignore[arg-type]
