"""Debian's Chromium driven by Playwright for the browser tests: never a downloaded browser, the
network limited to loopback, and numbered screenshots under the test output folder."""

from __future__ import annotations

import contextlib
import os
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from playwright.async_api import Browser, BrowserContext, Page, Route, async_playwright

from aiqtest_support.live_server import REPO

CHROMIUM = "/usr/bin/chromium"  # Debian's package (scripts/bootstrap.sh installs it)
# Chromium's own background traffic (updates, sync, safe browsing, QUIC probes) would otherwise try
# to leave this machine at every start; as root the sandbox cannot start
LAUNCH_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-default-apps",
]
LOOPBACK_HOSTS = {"127.0.0.1", "localhost", "::1", "[::1]"}


def output_dir() -> Path:
    """Where the browser tests write their screenshots (AIQ_TEST_OUTPUT, default test-output/)."""
    root = Path(os.environ.get("AIQ_TEST_OUTPUT") or REPO / "test-output")
    folder = root / "browser"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@contextlib.asynccontextmanager
async def chromium() -> AsyncIterator[Browser]:
    """A headless Debian Chromium, closed afterwards."""
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=LAUNCH_ARGS)
        try:
            yield browser
        finally:
            await browser.close()


@dataclass
class LoopbackOnly:
    """Every request of a browser context that is not to loopback is aborted and remembered."""

    refused: list[str] = field(default_factory=list)
    allowed: list[str] = field(default_factory=list)

    async def install(self, context: BrowserContext) -> None:
        """Route all of the context's requests through this gate."""
        await context.route("**/*", self._gate)

    async def _gate(self, route: Route) -> None:
        url = route.request.url
        parts = urlsplit(url)
        if parts.scheme in ("data", "blob") or (parts.hostname or "") in LOOPBACK_HOSTS:
            self.allowed.append(url)
            await route.continue_()
        else:
            self.refused.append(url)
            await route.abort("blockedbyclient")


@dataclass
class Screenshots:
    """Numbered full-page screenshots of one test's steps."""

    prefix: str
    folder: Path = field(default_factory=output_dir)
    taken: list[Path] = field(default_factory=list)

    async def take(self, page: Page, step: str) -> Path:
        """Save the page as <prefix>-<n>-<step>.png and return its path."""
        name = re.sub(r"[^a-z0-9]+", "-", step.lower()).strip("-")
        path = self.folder / f"{self.prefix}-{len(self.taken) + 1:02d}-{name}.png"
        await page.screenshot(path=str(path), full_page=True)
        self.taken.append(path)
        return path
