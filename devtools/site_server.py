"""A loopback HTTP server that plays the scraped sites: each site on its own port, serving pages by
path, with its own robots.txt and a log of every request (time, host, path, user agent).

The demo loader serves the shipped sample pages with it (``aiqleads_dev.samples.load_shipped_sites``);
tests and the benchmark serve generated and adversarial pages the same way.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from aiohttp import web

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
DEFAULT_ROBOTS = "User-agent: *\nAllow: /\n"


@dataclass(frozen=True)
class RequestRecord:
    """One request the server saw."""

    site: str
    host: str
    path: str
    at: float  # time.monotonic()
    user_agent: str


class SiteServer:
    """Serves sites on 127.0.0.1 (one port each); start() returns each site's base URL."""

    def __init__(
        self,
        sites: dict[str, dict[str, str | Handler]],
        robots: dict[str, str | None] | None = None,
        host: str = "127.0.0.1",
    ) -> None:
        self.sites = sites
        self.robots = robots or {}
        self.host = host
        self.log: list[RequestRecord] = []
        self.base_urls: dict[str, str] = {}
        self._runners: list[web.AppRunner] = []

    def requests_to(self, site: str, *, include_robots: bool = True) -> list[RequestRecord]:
        """The requests one site received, in order."""
        return [r for r in self.log if r.site == site and (include_robots or r.path != "/robots.txt")]

    async def start(self) -> dict[str, str]:
        """Bind every site to a free loopback port."""
        for name in self.sites:
            app = web.Application(client_max_size=1024**2)
            app.router.add_route("GET", "/{tail:.*}", self._handler(name))
            runner = web.AppRunner(app, access_log=None)
            await runner.setup()
            site = web.TCPSite(runner, self.host, 0)
            await site.start()
            server = site._server  # aiohttp exposes the bound socket only here
            assert server is not None
            port = server.sockets[0].getsockname()[1]  # type: ignore[attr-defined]
            self._runners.append(runner)
            self.base_urls[name] = f"http://{self.host}:{port}"
        return dict(self.base_urls)

    async def stop(self) -> None:
        """Stop every site."""
        for runner in self._runners:
            await runner.cleanup()
        self._runners.clear()

    async def __aenter__(self) -> SiteServer:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    def _handler(self, name: str) -> Handler:
        async def handle(request: web.Request) -> web.StreamResponse:
            self.log.append(
                RequestRecord(
                    name,
                    request.host,
                    request.path_qs,
                    time.monotonic(),
                    request.headers.get("User-Agent", ""),
                )
            )
            pages = self.sites[name]
            if request.path == "/robots.txt" and "/robots.txt" not in pages:
                robots = self.robots.get(name, DEFAULT_ROBOTS)
                if robots is None:
                    return web.Response(status=404, text="not found")
                return web.Response(text=robots, content_type="text/plain")
            page: Any = pages.get(request.path_qs) or pages.get(request.path)
            if page is None:
                return web.Response(
                    status=404, text="<html><body>Page not found</body></html>", content_type="text/html"
                )
            if callable(page):
                response: web.StreamResponse = await page(request)
                return response
            content_type = "application/json" if page.lstrip().startswith("{") else "text/html"
            return web.Response(text=page, content_type=content_type, charset="utf-8")

        return handle
