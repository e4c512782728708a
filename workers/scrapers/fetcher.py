"""A polite HTTP fetcher: robots.txt, a per-host rate limit, retries with exponential backoff on
429/5xx/timeouts (honouring Retry-After), timeouts, a maximum page size, an optional proxy and an
honest user agent. Redirects are followed by hand, a bounded number of hops, each hop checked
against the source's URL policy (url_policy.py) like the first request.

The client is aiohttp's: on the loopback sites of bench_ingest.py a page costs about a quarter of
the CPU httpx spent on it (client and site together: 0.45 against 1.9 ms), and fetching was the
largest part of a scrape once the parsers moved to lxml (bench/README.md, ingestion)."""

from __future__ import annotations

import asyncio
import email.utils
import functools
import logging
import os
import random
import ssl
import time
from dataclasses import dataclass, field, replace
from typing import Any
from urllib.parse import urljoin, urlsplit
from urllib.robotparser import RobotFileParser

import aiohttp
import certifi
from aiohttp.helpers import get_env_proxy_for_url
from yarl import URL

from aiqleads.domain.settings import Settings
from aiqleads.workers.scrapers.url_policy import UrlPolicy, UrlRefused

log = logging.getLogger(__name__)

RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
MAX_REDIRECTS = 5


@dataclass(frozen=True)
class FetchConfig:
    """How politely to fetch (defaults suit real sites; tests shorten the waits)."""

    user_agent: str
    proxy: str | None = None
    rate_per_host: float = 2.0  # requests per second to one host (robots Crawl-delay may lower it)
    timeout: float = 15.0
    connect_timeout: float = 5.0
    max_retries: int = 3
    backoff_base: float = 0.5
    backoff_max: float = 30.0
    max_bytes: int = 5_000_000
    respect_robots: bool = True

    @classmethod
    def from_settings(cls, settings: Settings, **overrides: Any) -> FetchConfig:
        """The configuration from settings (user agent, proxy, rate), with overrides."""
        config = cls(
            user_agent=settings.scraper_user_agent,
            proxy=settings.scraper_proxy,
            rate_per_host=settings.scraper_rate_per_host,
        )
        return replace(config, **overrides) if overrides else config


@dataclass
class FetchResult:
    """A successfully fetched page."""

    url: str
    final_url: str
    status: int
    text: str
    elapsed: float
    attempts: int
    headers: dict[str, str] = field(default_factory=dict)


class FetchError(Exception):
    """A page could not be fetched (after retries where retrying made sense)."""

    def __init__(self, url: str, reason: str, status: int | None = None, body: str = "") -> None:
        super().__init__(f"{reason} ({url})")
        self.url = url
        self.reason = reason
        self.status = status
        self.body = body


class RobotsDisallowed(FetchError):
    """robots.txt forbids our user agent to fetch this URL."""


class PageTooLarge(FetchError):
    """The page is bigger than the configured maximum."""


class FetchRefused(FetchError):
    """The URL (or a redirect's target) is not one the source's URL policy lets us request."""


class _HostGate:
    """Spaces requests to one host at least `interval` seconds apart as they leave (across
    concurrent tasks): a request holds the host's turn from its wait until its headers are
    written, so a slow connect cannot bunch it up with the next one at the server."""

    def __init__(self, interval: float) -> None:
        self.interval = interval  # may grow later (robots.txt Crawl-delay); applies to the next wait
        self._last = float("-inf")
        self._lock = asyncio.Lock()

    async def turn(self) -> _Turn:
        """Wait for the host's turn; release it (``_Turn.sent``) once the request is written."""
        await self._lock.acquire()
        try:
            due = self._last + self.interval
            now = time.monotonic()
            if due > now:
                await asyncio.sleep(due - now)
        except BaseException:
            self._lock.release()
            raise
        return _Turn(self)


class _Turn:
    """One request's hold on its host's gate."""

    __slots__ = ("gate", "held")

    def __init__(self, gate: _HostGate) -> None:
        self.gate, self.held = gate, True

    def sent(self) -> None:
        """The request is on the wire (or will not get there): the next one is spaced from now."""
        if self.held:
            self.held = False
            self.gate._last = time.monotonic()
            self.gate._lock.release()


async def _headers_sent(
    session: aiohttp.ClientSession, context: Any, params: aiohttp.TraceRequestHeadersSentParams
) -> None:
    """aiohttp's trace signal: the request's headers are written, so its host's turn ends."""
    turn = context.trace_request_ctx
    if isinstance(turn, _Turn):
        turn.sent()


@functools.cache
def _ssl_context() -> ssl.SSLContext:
    """A verifying context, built once (loading a CA bundle costs ~50 ms of CPU, which a fetcher
    per scrape run used to pay every time): SSL_CERT_FILE or SSL_CERT_DIR when set, else
    certifi's bundle, the order httpx used before the fetcher moved to aiohttp."""
    if os.environ.get("SSL_CERT_FILE"):
        return ssl.create_default_context(cafile=os.environ["SSL_CERT_FILE"])
    if os.environ.get("SSL_CERT_DIR"):
        return ssl.create_default_context(capath=os.environ["SSL_CERT_DIR"])
    return ssl.create_default_context(cafile=certifi.where())


def _transport_reason(exc: BaseException) -> str:
    """What went wrong on the wire, named as before the move to aiohttp (stored failure reasons)."""
    if isinstance(exc, aiohttp.ConnectionTimeoutError):
        name = "ConnectTimeout"
    elif isinstance(exc, TimeoutError):
        name = "ReadTimeout"
    else:
        name = type(exc).__name__
    detail = str(exc)
    return f"{name}: {detail}" if detail else name


class PoliteFetcher:
    """Fetches pages one polite request at a time per host; use as an async context manager."""

    def __init__(self, config: FetchConfig, *, policy: UrlPolicy | None = None) -> None:
        """policy: which URLs may be requested (every scrape passes its source's); None allows any.
        Build it inside the event loop that uses it (aiohttp's session belongs to one loop)."""
        self.config = config
        self.policy = policy
        tracing = aiohttp.TraceConfig()
        tracing.on_request_headers_sent.append(_headers_sent)
        self._client = aiohttp.ClientSession(
            headers={
                "User-Agent": config.user_agent,
                "Accept": "text/html,application/xhtml+xml,application/json;q=0.9,*/*;q=0.8",
                "Accept-Language": "en-US,en;q=0.8",
            },
            # like httpx's Timeout(timeout, connect=...): a bound per step, not for the whole page
            timeout=aiohttp.ClientTimeout(
                total=None,
                connect=config.connect_timeout,
                sock_connect=config.connect_timeout,
                sock_read=config.timeout,
            ),
            connector=aiohttp.TCPConnector(ssl=_ssl_context()),
            trace_configs=[tracing],
            cookie_jar=aiohttp.CookieJar(unsafe=True),  # kept per run, as httpx did (IP hosts too)
            # the environment's HTTP(S)_PROXY / NO_PROXY are read by _proxy_for, once per host: with
            # trust_env, aiohttp reads them (and ~/.netrc, whose credentials a scraper must not send
            # to the sites it reads) in a worker thread on every request, two thread hops a page
            trust_env=False,
        )
        self._env_proxies: dict[tuple[str, str], tuple[str | None, aiohttp.BasicAuth | None]] = {}
        self._gates: dict[str, _HostGate] = {}
        self._robots: dict[str, RobotFileParser | None] = {}
        self._robots_lock = asyncio.Lock()
        self.requests_made = 0

    async def __aenter__(self) -> PoliteFetcher:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the HTTP client."""
        await self._client.close()

    def _gate(self, netloc: str) -> _HostGate:
        gate = self._gates.get(netloc)
        if gate is None:
            interval = 1.0 / self.config.rate_per_host if self.config.rate_per_host > 0 else 0.0
            gate = self._gates[netloc] = _HostGate(interval)
        return gate

    async def allowed(self, url: str) -> bool:
        """Whether robots.txt of the URL's site lets our user agent fetch it."""
        if not self.config.respect_robots:
            return True
        parts = urlsplit(url)
        origin = f"{parts.scheme}://{parts.netloc}"
        async with self._robots_lock:
            if origin not in self._robots:
                self._robots[origin] = await self._load_robots(origin, parts.netloc)
        robots = self._robots[origin]
        if robots is None:
            return True
        return robots.can_fetch(self.config.user_agent, url)

    async def _load_robots(self, origin: str, netloc: str) -> RobotFileParser | None:
        parser = RobotFileParser(f"{origin}/robots.txt")
        try:
            response = await self._request(f"{origin}/robots.txt", check_robots=False, raise_for_status=False)
        except FetchError as exc:
            # RFC 9309: an unreachable robots.txt (5xx, network) means "disallow everything" for now
            log.warning("robots.txt of %s unreachable (%s): not crawling it", origin, exc.reason)
            parser.disallow_all = True  # type: ignore[attr-defined]
            return parser
        if response.status in (401, 403):
            parser.disallow_all = True  # type: ignore[attr-defined]
        elif 400 <= response.status < 500:
            return None  # no robots.txt: everything allowed
        else:
            lines = response.text.splitlines()
            parser.parse(lines)
            delay = crawl_delay(lines, self.config.user_agent)
            rate = parser.request_rate(self.config.user_agent)
            gate = self._gate(netloc)
            if delay is not None:
                gate.interval = max(gate.interval, float(delay))
            if rate is not None and rate.requests > 0:
                gate.interval = max(gate.interval, rate.seconds / rate.requests)
        return parser

    async def fetch(self, url: str) -> FetchResult:
        """GET a page politely; FetchError (RobotsDisallowed, PageTooLarge) when it cannot be had."""
        return await self._request(url, check_robots=True, raise_for_status=True)

    async def _request(self, url: str, *, check_robots: bool, raise_for_status: bool) -> FetchResult:
        started = time.monotonic()
        attempts = 0
        current = url
        for hop in range(MAX_REDIRECTS + 1):
            await self._check_policy(url, current, redirected=hop > 0)
            if check_robots and not await self.allowed(current):
                raise RobotsDisallowed(current, "disallowed by robots.txt")
            status, text, headers, tries = await self._attempts(current)
            attempts += tries
            location = headers.get("location")
            if status in REDIRECT_STATUSES and location:
                target = urljoin(current, location.strip())
                log.debug("redirect %s -> %s (HTTP %s)", current, target, status)
                current = target
                continue
            if raise_for_status and not 200 <= status < 300:
                raise FetchError(url, f"HTTP {status}", status, text[:2000])
            return FetchResult(url, current, status, text, time.monotonic() - started, attempts, headers)
        raise FetchError(url, f"more than {MAX_REDIRECTS} redirects (last to {current[:300]})")

    async def _check_policy(self, url: str, current: str, *, redirected: bool) -> None:
        if self.policy is None:
            return
        try:
            await self.policy.check(current)
        except UrlRefused as exc:
            what = f"redirect from {url[:300]} refused" if redirected else "request refused"
            log.warning("%s: %s", what, exc.reason)
            raise FetchRefused(url, f"{what}: {exc.reason}") from None

    async def _attempts(self, url: str) -> tuple[int, str, dict[str, str], int]:
        """One URL with retries (no redirects): status, text, headers and the attempts made."""
        netloc = urlsplit(url).netloc
        attempt = 0
        while True:
            attempt += 1
            turn = await self._gate(netloc).turn()
            self.requests_made += 1
            retry_after: float | None = None
            try:
                status, text, headers = await self._get(url, turn)
            except PageTooLarge:
                raise
            except (TimeoutError, aiohttp.ClientError) as exc:
                reason = _transport_reason(exc)
                if attempt > self.config.max_retries:
                    raise FetchError(url, f"gave up after {attempt} attempts: {reason}") from exc
                await asyncio.sleep(self._backoff(attempt, None))
                continue
            if status in RETRY_STATUSES:
                retry_after = _retry_after(headers.get("retry-after"))
                if attempt > self.config.max_retries:
                    raise FetchError(url, f"HTTP {status} after {attempt} attempts", status, text[:2000])
                await asyncio.sleep(self._backoff(attempt, retry_after))
                continue
            return status, text, headers, attempt

    def _backoff(self, attempt: int, retry_after: float | None) -> float:
        delay = min(self.config.backoff_max, self.config.backoff_base * 2 ** (attempt - 1))
        delay *= random.uniform(0.8, 1.2)
        if retry_after is not None:
            delay = max(delay, min(retry_after, self.config.backoff_max))
        return delay

    def _proxy_for(self, url: str) -> tuple[str | None, aiohttp.BasicAuth | None]:
        """The proxy of a request: AIQ_SCRAPER_PROXY, else the environment's for the URL's scheme
        and host (HTTP(S)_PROXY unless NO_PROXY names the host, as aiohttp's trust_env reads
        them), read on the first request to each host of this fetcher."""
        if self.config.proxy is not None:
            return self.config.proxy, None
        parts = urlsplit(url)
        key = (parts.scheme, parts.hostname or "")
        found = self._env_proxies.get(key)
        if found is None:
            try:
                proxy, auth = get_env_proxy_for_url(URL(url))
                found = (str(proxy), auth)
            except LookupError:  # no proxy for this scheme, or NO_PROXY names the host
                found = (None, None)
            self._env_proxies[key] = found
        return found

    async def _get(self, url: str, turn: _Turn) -> tuple[int, str, dict[str, str]]:
        try:
            return await self._read(url, turn)
        finally:
            turn.sent()  # a request that failed before its headers were written ends its turn too

    async def _read(self, url: str, turn: _Turn) -> tuple[int, str, dict[str, str]]:
        proxy, proxy_auth = self._proxy_for(url)
        async with self._client.get(
            url,
            allow_redirects=False,  # followed by hand, each hop checked against the policy
            proxy=proxy,
            proxy_auth=proxy_auth,
            trace_request_ctx=turn,
        ) as response:
            headers = {k.lower(): v for k, v in response.headers.items()}
            declared = headers.get("content-length")
            if declared and declared.isdigit() and int(declared) > self.config.max_bytes:
                raise PageTooLarge(
                    url, f"page is {int(declared)} bytes, over the {self.config.max_bytes} limit"
                )
            chunks: list[bytes] = []
            size = 0
            async for chunk in response.content.iter_chunked(65536):
                size += len(chunk)
                if size > self.config.max_bytes:
                    raise PageTooLarge(url, f"page exceeds the {self.config.max_bytes} byte limit")
                chunks.append(chunk)
            body = b"".join(chunks)
            encoding = response.charset or "utf-8"
            try:
                text = body.decode(encoding, errors="replace")
            except LookupError:
                text = body.decode("utf-8", errors="replace")
            return response.status, text, headers


def crawl_delay(lines: list[str], user_agent: str) -> float | None:
    """Crawl-delay for our agent (its own group, else "*"); fractions allowed, unlike urllib's."""
    token = user_agent.split("/")[0].strip().lower()
    groups: list[tuple[list[str], float | None]] = []
    agents: list[str] = []
    delay: float | None = None
    in_rules = False
    for raw in lines:
        line = raw.split("#", 1)[0].strip()
        if ":" not in line:
            continue
        key, value = (part.strip() for part in line.split(":", 1))
        key = key.lower()
        if key == "user-agent":
            if in_rules:
                groups.append((agents, delay))
                agents, delay, in_rules = [], None, False
            agents.append(value.lower())
        elif key == "crawl-delay":
            in_rules = True
            try:
                delay = float(value)
            except ValueError:
                delay = None
        else:
            in_rules = True
    if agents:
        groups.append((agents, delay))
    for wanted in (token, "*"):
        for names, group_delay in groups:
            if any(name == wanted or (wanted != "*" and name != "*" and name in token) for name in names):
                return group_delay
    return None


def _retry_after(value: str | None) -> float | None:
    """Seconds from a Retry-After header (delta seconds or an HTTP date)."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())
