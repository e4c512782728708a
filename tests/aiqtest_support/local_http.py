"""A loopback aiohttp server on a free port, the base of the tests' wire-format stand-ins."""

from __future__ import annotations

from aiohttp import web


class LoopbackServer:
    """Serves one aiohttp application on 127.0.0.1 at a free port until stopped."""

    def __init__(self) -> None:
        self._runner: web.AppRunner | None = None

    async def serve(self, app: web.Application) -> str:
        """Start serving ``app``; returns the base URL (no trailing slash)."""
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        server = site._server
        assert server is not None
        port = server.sockets[0].getsockname()[1]  # type: ignore[attr-defined]
        return f"http://127.0.0.1:{port}"

    async def stop(self) -> None:
        """Stop serving."""
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
