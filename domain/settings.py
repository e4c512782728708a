"""Runtime settings read from the environment (names as in the public contract)."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

N = TypeVar("N", int, float)


def _parsed(name: str, default: N, parse: Callable[[str], N], kind: str) -> N:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        return parse(raw)
    except ValueError as exc:
        raise ValueError(f"environment variable {name} must be {kind}, got {raw!r}") from exc


def _int(name: str, default: int) -> int:
    return _parsed(name, default, int, "an integer")


def _float(name: str, default: float) -> float:
    return _parsed(name, default, float, "a number")


def _scrape_schedule(raw: str) -> str:
    """AIQ_SCRAPE_SCHEDULE as given, once its form is valid (the worker also checks the regions)."""
    from aiqleads.domain.core.schedule import parse_schedule

    parse_schedule(raw)  # ScheduleError (a ValueError) names the bad entry
    return raw.strip()


ENVIRONMENTS = ("development", "production")
DEVELOPMENT_JWT_SECRET = "dev-only-insecure-jwt-secret-change-me-in-production"
MIN_JWT_SECRET_BYTES = 32
PAYMENT_PROVIDERS = ("stripe", "development")
EMBEDDERS = ("local", "openai")
PAGERDUTY_EVENTS_URL = "https://events.pagerduty.com/v2/enqueue"
LOG_FORMATS = ("json", "text")


def default_web_dist() -> str:
    """Where `npm run build` writes the web app: <repo>/web/dist in a checkout (this file is
    <repo>/domain/settings.py), else web/dist under the working directory (an installed package)."""
    repo = Path(__file__).resolve().parents[1]
    root = repo if (repo / "pyproject.toml").is_file() else Path.cwd()
    return str(root / "web" / "dist")


class UnsafeSettings(ValueError):
    """Production settings that must not be served (the process refuses to start)."""


@dataclass(frozen=True)
class Settings:
    """All configuration of the API, worker and CLI; built once at startup and passed in."""

    env: str = "production"
    database_url: str = "postgresql+asyncpg://aiqleads:aiqleads@127.0.0.1:25432/aiqleads"
    redis_url: str = "redis://127.0.0.1:26379/0"
    elasticsearch_url: str = "http://127.0.0.1:29200"
    es_index_prefix: str = "aiqleads"
    arq_queue_name: str = "aiqleads:queue"
    jwt_secret: str = DEVELOPMENT_JWT_SECRET
    jwt_secret_from_env: bool = False
    jwt_ttl_seconds: int = 3600 * 12
    item_hold_seconds: int = 300
    cart_hold_seconds: int = 900
    hold_extension_seconds: int = 300
    cart_extension_cap_seconds: int = 1800
    return_window_days: int = 7
    max_returns_per_30_days: int = 5
    fraud_return_threshold: float = 0.7
    idempotency_retention_hours: int = 48
    payment_provider: str | None = None
    stripe_secret_key: str | None = None
    stripe_webhook_secret: str | None = None
    stripe_api_base: str | None = None
    stripe_webhook_tolerance_seconds: int = 300
    openai_api_key: str | None = None
    openai_base_url: str | None = None
    anthropic_api_key: str | None = None
    anthropic_base_url: str | None = None
    llm_timeout_seconds: float = 20.0
    embedder: str = "local"  # local: all-MiniLM-L6-v2 on onnxruntime; openai: text-embedding-3-small
    openai_embedding_model: str = "text-embedding-3-small"
    embed_batch_size: int = 64
    embed_threads: int = 0  # onnxruntime intra-op threads; 0: one per core
    embed_sweep_leads: int = 2048  # per minute, the worker's repair sweep of leads without a vector
    hnsw_ef_search: int = 100
    exact_count_limit: int = 1000  # leads' totalCount is exact up to this many matches; 0: always exact
    recommend_mmr_lambda: float = 0.7  # 1: pure relevance, 0: pure diversity
    profile_half_life_days: float = 14.0
    max_query_depth: int = 10
    max_query_aliases: int = 30
    max_query_tokens: int = 2000
    max_query_cost: int = 100_000
    rate_limit_per_minute: int = 600
    rate_limit_cost_unit: int = 100  # an operation costs ceil(query cost / unit) of the budget, at least 1
    trusted_proxies: tuple[str, ...] = ()
    login_max_failures: int = 10
    login_max_failures_per_account: int = 100
    login_failure_window_seconds: int = 900
    registrations_per_ip_per_hour: int = 20
    max_body_bytes: int = 1024 * 1024
    max_json_depth: int = 64
    max_subscriptions_per_connection: int = 50
    max_connections_per_user: int = 20
    ws_connection_init_timeout_seconds: int = 10
    log_format: str = "json"  # AIQ_LOG_FORMAT: one JSON object per line, or text for development
    scraper_user_agent: str = "AIQLeadsBot/0.1 (+https://aiqleads.example/bot)"
    scraper_proxy: str | None = None
    scraper_rate_per_host: float = 2.0
    source_base_urls: dict[str, str] = field(default_factory=dict)
    scrape_schedule: str = ""  # AIQ_SCRAPE_SCHEDULE (domain/core/schedule.py); empty: no scheduled scrapes
    lead_max_age_days: int = 90  # a lead posted longer ago leaves the market (EXPIRED); 0: never
    lead_missing_scrapes: int = 3  # complete scrapes missing every listing of a lead → EXPIRED
    exclusive_quality_threshold: float = 0.75  # scraped leads scoring at least this are exclusive
    shared_lead_seats: int = 3  # the others are shared by up to this many buyers (1..5)
    ops_snapshot_seconds: float = 15.0  # how often the worker refreshes its business gauges
    ledger_check_seconds: float = 60.0  # how often the worker checks ledger sums against balances
    # migrations (schema owner); None: database_url. The API and worker use database_url (SECURITY.md)
    migration_database_url: str | None = None
    # where alerts go (aiqleads.alerting renders them into the Alertmanager configuration)
    slack_webhook_url: str | None = None  # AIQ_SLACK_WEBHOOK_URL: Slack incoming webhook for warnings
    pagerduty_routing_key: str | None = None  # AIQ_PAGERDUTY_ROUTING_KEY: Events API v2 key for criticals
    pagerduty_url: str = PAGERDUTY_EVENTS_URL  # AIQ_PAGERDUTY_URL
    web_dist: str = field(default_factory=default_web_dist)  # AIQ_WEB_DIST: the built web/ (/app/, GraphiQL)

    @classmethod
    def from_env(cls) -> Settings:
        """Read settings from environment variables, falling back to development defaults."""
        env = os.environ
        d = cls()
        environment = env.get("AIQ_ENV", "").strip().lower() or d.env
        if environment not in ENVIRONMENTS:
            raise ValueError(f"AIQ_ENV must be one of {', '.join(ENVIRONMENTS)}, got {environment!r}")
        provider = env.get("AIQ_PAYMENT_PROVIDER", "").strip().lower() or None
        if provider is not None and provider not in PAYMENT_PROVIDERS:
            raise ValueError(
                f"AIQ_PAYMENT_PROVIDER must be one of {', '.join(PAYMENT_PROVIDERS)}, got {provider!r}"
            )
        embedder = env.get("AIQ_EMBEDDER", "").strip().lower() or d.embedder
        if embedder not in EMBEDDERS:
            raise ValueError(f"AIQ_EMBEDDER must be one of {', '.join(EMBEDDERS)}, got {embedder!r}")
        log_format = env.get("AIQ_LOG_FORMAT", "").strip().lower() or d.log_format
        if log_format not in LOG_FORMATS:
            raise ValueError(f"AIQ_LOG_FORMAT must be one of {', '.join(LOG_FORMATS)}, got {log_format!r}")
        return cls(
            env=environment,
            database_url=env.get("DATABASE_URL", d.database_url),
            redis_url=env.get("REDIS_URL", d.redis_url),
            elasticsearch_url=env.get("ELASTICSEARCH_URL", d.elasticsearch_url),
            es_index_prefix=env.get("AIQ_ES_INDEX_PREFIX", d.es_index_prefix),
            arq_queue_name=env.get("AIQ_ARQ_QUEUE", d.arq_queue_name),
            jwt_secret=env.get("AIQ_JWT_SECRET") or d.jwt_secret,
            jwt_secret_from_env=bool(env.get("AIQ_JWT_SECRET")),
            jwt_ttl_seconds=_int("AIQ_JWT_TTL_SECONDS", d.jwt_ttl_seconds),
            item_hold_seconds=_int("AIQ_ITEM_HOLD_SECONDS", d.item_hold_seconds),
            cart_hold_seconds=_int("AIQ_CART_HOLD_SECONDS", d.cart_hold_seconds),
            hold_extension_seconds=_int("AIQ_HOLD_EXTENSION_SECONDS", d.hold_extension_seconds),
            cart_extension_cap_seconds=_int("AIQ_CART_EXTENSION_CAP_SECONDS", d.cart_extension_cap_seconds),
            return_window_days=_int("AIQ_RETURN_WINDOW_DAYS", d.return_window_days),
            max_returns_per_30_days=_int("AIQ_MAX_RETURNS_PER_30_DAYS", d.max_returns_per_30_days),
            idempotency_retention_hours=max(
                24, _int("AIQ_IDEMPOTENCY_RETENTION_HOURS", d.idempotency_retention_hours)
            ),
            fraud_return_threshold=_float("AIQ_FRAUD_RETURN_THRESHOLD", d.fraud_return_threshold),
            payment_provider=provider,
            stripe_secret_key=env.get("AIQ_STRIPE_SECRET_KEY") or None,
            stripe_webhook_secret=env.get("AIQ_STRIPE_WEBHOOK_SECRET") or None,
            stripe_api_base=env.get("AIQ_STRIPE_API_BASE") or None,
            openai_api_key=env.get("OPENAI_API_KEY") or None,
            openai_base_url=env.get("OPENAI_BASE_URL") or None,
            anthropic_api_key=env.get("ANTHROPIC_API_KEY") or None,
            anthropic_base_url=env.get("ANTHROPIC_BASE_URL") or None,
            embedder=embedder,
            log_format=log_format,
            openai_embedding_model=env.get("AIQ_OPENAI_EMBEDDING_MODEL") or d.openai_embedding_model,
            embed_batch_size=max(1, _int("AIQ_EMBED_BATCH_SIZE", d.embed_batch_size)),
            embed_threads=max(0, _int("AIQ_EMBED_THREADS", d.embed_threads)),
            embed_sweep_leads=max(0, _int("AIQ_EMBED_SWEEP_LEADS", d.embed_sweep_leads)),
            hnsw_ef_search=min(1000, max(10, _int("AIQ_HNSW_EF_SEARCH", d.hnsw_ef_search))),
            exact_count_limit=max(0, _int("AIQ_EXACT_COUNT_LIMIT", d.exact_count_limit)),
            recommend_mmr_lambda=min(
                1.0, max(0.0, _float("AIQ_RECOMMEND_MMR_LAMBDA", d.recommend_mmr_lambda))
            ),
            profile_half_life_days=max(0.1, _float("AIQ_PROFILE_HALF_LIFE_DAYS", d.profile_half_life_days)),
            rate_limit_per_minute=_int("AIQ_RATE_LIMIT_PER_MINUTE", d.rate_limit_per_minute),
            rate_limit_cost_unit=max(1, _int("AIQ_RATE_LIMIT_COST_UNIT", d.rate_limit_cost_unit)),
            trusted_proxies=tuple(
                p.strip() for p in env.get("AIQ_TRUSTED_PROXIES", "").split(",") if p.strip()
            ),
            login_max_failures=_int("AIQ_LOGIN_MAX_FAILURES", d.login_max_failures),
            login_max_failures_per_account=_int(
                "AIQ_LOGIN_MAX_FAILURES_PER_ACCOUNT", d.login_max_failures_per_account
            ),
            login_failure_window_seconds=_int(
                "AIQ_LOGIN_FAILURE_WINDOW_SECONDS", d.login_failure_window_seconds
            ),
            registrations_per_ip_per_hour=_int(
                "AIQ_REGISTRATIONS_PER_IP_PER_HOUR", d.registrations_per_ip_per_hour
            ),
            max_body_bytes=_int("AIQ_MAX_BODY_BYTES", d.max_body_bytes),
            max_json_depth=_int("AIQ_MAX_JSON_DEPTH", d.max_json_depth),
            max_subscriptions_per_connection=_int(
                "AIQ_MAX_SUBSCRIPTIONS_PER_CONNECTION", d.max_subscriptions_per_connection
            ),
            max_connections_per_user=_int("AIQ_MAX_CONNECTIONS_PER_USER", d.max_connections_per_user),
            ws_connection_init_timeout_seconds=_int(
                "AIQ_WS_CONNECTION_INIT_TIMEOUT_SECONDS", d.ws_connection_init_timeout_seconds
            ),
            max_query_cost=_int("AIQ_MAX_QUERY_COST", d.max_query_cost),
            scraper_proxy=env.get("AIQ_SCRAPER_PROXY") or None,
            scrape_schedule=_scrape_schedule(env.get("AIQ_SCRAPE_SCHEDULE", "")),
            lead_max_age_days=max(0, _int("AIQ_LEAD_MAX_AGE_DAYS", d.lead_max_age_days)),
            lead_missing_scrapes=max(1, _int("AIQ_LEAD_MISSING_SCRAPES", d.lead_missing_scrapes)),
            migration_database_url=env.get("AIQ_MIGRATION_DATABASE_URL") or None,
            slack_webhook_url=env.get("AIQ_SLACK_WEBHOOK_URL") or None,
            pagerduty_routing_key=env.get("AIQ_PAGERDUTY_ROUTING_KEY") or None,
            pagerduty_url=env.get("AIQ_PAGERDUTY_URL") or d.pagerduty_url,
            web_dist=env.get("AIQ_WEB_DIST") or d.web_dist,
            exclusive_quality_threshold=_float(
                "AIQ_EXCLUSIVE_QUALITY_THRESHOLD", d.exclusive_quality_threshold
            ),
            shared_lead_seats=min(5, max(1, _int("AIQ_SHARED_LEAD_SEATS", d.shared_lead_seats))),
            ops_snapshot_seconds=max(0.2, _float("AIQ_OPS_SNAPSHOT_SECONDS", d.ops_snapshot_seconds)),
            ledger_check_seconds=max(0.2, _float("AIQ_LEDGER_CHECK_SECONDS", d.ledger_check_seconds)),
            source_base_urls={
                src: env[f"AIQ_{src.upper()}_BASE_URL"]
                for src in ("zillow", "craigslist", "fsbo", "facebook")
                if env.get(f"AIQ_{src.upper()}_BASE_URL")
            },
        )

    @property
    def is_development(self) -> bool:
        """Whether this is a development deployment (development payment provider allowed)."""
        return self.env == "development"

    @property
    def effective_payment_provider(self) -> str | None:
        """The payment provider in use: explicit, else Stripe when keyed, else development in development."""
        if self.payment_provider is not None:
            return self.payment_provider
        if self.stripe_secret_key:
            return "stripe"
        return "development" if self.is_development else None

    def unsafe_reasons(self) -> list[str]:
        """Why these settings must not be served in production (empty when they are safe)."""
        if self.is_development:
            return []
        reasons: list[str] = []
        if not self.jwt_secret_from_env:
            reasons.append("AIQ_JWT_SECRET is not set")
        elif self.jwt_secret == DEVELOPMENT_JWT_SECRET:
            reasons.append("AIQ_JWT_SECRET is the development value")
        elif len(self.jwt_secret.encode()) < MIN_JWT_SECRET_BYTES:
            reasons.append(f"AIQ_JWT_SECRET is shorter than {MIN_JWT_SECRET_BYTES} bytes")
        provider = self.effective_payment_provider
        if provider is None:
            reasons.append("no payment provider is configured (set AIQ_STRIPE_SECRET_KEY)")
        elif provider == "development":
            reasons.append("the development payment provider exists only with AIQ_ENV=development")
        elif not self.stripe_secret_key:
            reasons.append("AIQ_PAYMENT_PROVIDER=stripe needs AIQ_STRIPE_SECRET_KEY")
        if provider == "stripe" and not self.stripe_webhook_secret:
            reasons.append("AIQ_STRIPE_WEBHOOK_SECRET is not set (payments could never complete)")
        if self.stripe_secret_key and self.stripe_secret_key.startswith(("sk_test_", "rk_test_")):
            reasons.append("AIQ_STRIPE_SECRET_KEY is a test-mode key (test cards would buy real credits)")
        if self.stripe_api_base:
            reasons.append("AIQ_STRIPE_API_BASE points Stripe calls at another host")
        if self.embedder == "openai" and not self.openai_api_key:
            reasons.append("AIQ_EMBEDDER=openai needs OPENAI_API_KEY")
        return reasons

    def check_safe_to_serve(self) -> None:
        """Raise UnsafeSettings with one line naming every unsafe production setting."""
        reasons = self.unsafe_reasons()
        if reasons:
            raise UnsafeSettings(f"refusing to start with AIQ_ENV={self.env}: " + "; ".join(reasons) + ".")

    def replace(self, **changes: object) -> Settings:
        """Return a copy with some fields changed (tests use short timers this way)."""
        from dataclasses import replace

        return replace(self, **changes)  # type: ignore[arg-type]
