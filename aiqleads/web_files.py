"""The built web app (``web/dist``, AIQ_WEB_DIST) over HTTP: the buyer app at /app/ with its
history-API fallback, and the self-hosted GraphiQL page that GET /graphql answers to a browser.

Nothing is ever fetched from a CDN: without a build the pages answer 503 saying how to make one.
"""

from __future__ import annotations

import logging
import re
from pathlib import Path, PurePosixPath

from starlette.requests import Request
from starlette.responses import FileResponse, PlainTextResponse, RedirectResponse, Response

log = logging.getLogger("aiqleads.web")

BUILD_COMMAND = "npm --prefix web ci && npm --prefix web run build"
APP_INDEX = "index.html"
GRAPHIQL_PAGE = "graphiql.html"
# Vite names every file under assets/ by its content hash: a changed file is a new URL
ASSET_CACHE = "public, max-age=31536000, immutable"
PAGE_CACHE = "no-cache"  # the pages name the current hashes, so they are revalidated on every load
# a Host header that can be written into the policy as it is (no spaces, quotes or semicolons)
_HOST = re.compile(r"^[A-Za-z0-9.\-]+(:[0-9]{1,5})?$|^\[[0-9A-Fa-f:.]+\](:[0-9]{1,5})?$")


def content_security_policy(host: str | None, *, inline_styles: bool = False) -> str:
    """The pages' policy: scripts, styles, fonts and connections from this origin only (and its
    websocket, named explicitly for browsers where 'self' does not cover ws:).

    ``inline_styles`` is for GraphiQL alone: its editor (Monaco) writes <style> elements and style
    attributes at run time (its themes, token colours and layout), which 'self' would refuse.
    Scripts stay 'self' on every page, so no injected markup can run."""
    connect = "'self'"
    if host and _HOST.match(host):
        connect += f" ws://{host} wss://{host}"
    return "; ".join(
        (
            "default-src 'self'",
            "script-src 'self'",
            "style-src 'self' 'unsafe-inline'" if inline_styles else "style-src 'self'",
            "font-src 'self' data:",  # Vite inlines small files as data: URLs
            "img-src 'self' data:",
            f"connect-src {connect}",
            "worker-src 'self' blob:",
            "object-src 'none'",
            "base-uri 'self'",
            "form-action 'self'",
            "frame-ancestors 'none'",
        )
    )


def not_built(root: Path) -> Response:
    """The 503 of a missing build, telling the operator the command that makes it."""
    log.warning("the web app is not built: no %s under %s", APP_INDEX, root)
    message = f"The web app is not built. Build it with: {BUILD_COMMAND} (or set AIQ_WEB_DIST).\n"
    return PlainTextResponse(message, 503)


def page(root: Path, name: str, request: Request) -> Response:
    """One of the build's HTML pages, never cached, under the content security policy (GraphiQL's
    with inline styles, see content_security_policy)."""
    path = root / name
    if not path.is_file():
        return not_built(root)
    headers = {
        "Cache-Control": PAGE_CACHE,
        "Content-Security-Policy": content_security_policy(
            request.headers.get("host"), inline_styles=name == GRAPHIQL_PAGE
        ),
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "same-origin",
    }
    return FileResponse(path, media_type="text/html; charset=utf-8", headers=headers)


def _built_file(root: Path, relative: str) -> Path | None:
    """The file of the build at this URL path, or None (never a path outside the build)."""
    if not relative or "\x00" in relative or "\\" in relative:
        return None
    parts = PurePosixPath(relative).parts
    if not parts or parts[0] == "/" or any(part in (".", "..") for part in parts):
        return None
    candidate = root.joinpath(*parts)
    try:
        # a link inside the build must not lead out of it; a name too long for the file system
        # (ENAMETOOLONG) or any other refusal of the lookup is simply not a file of the build
        if not candidate.is_file() or not candidate.resolve().is_relative_to(root.resolve()):
            return None
    except (OSError, ValueError):
        return None
    return candidate


def serve_app(root: Path, request: Request) -> Response:
    """GET /app/<path>: a file of the build, else the app's index.html (the app routes itself)."""
    relative = request.path_params.get("path", "")
    found = _built_file(root, relative)
    if found is None:
        if relative.startswith("assets/"):  # a stale hashed URL: a page in its place would be misread
            return PlainTextResponse("Not Found", 404)
        return page(root, APP_INDEX, request)
    if found.suffix == ".html":
        return page(root, relative, request)
    cache = ASSET_CACHE if relative.startswith("assets/") else PAGE_CACHE
    return FileResponse(found, headers={"Cache-Control": cache, "X-Content-Type-Options": "nosniff"})


def app_root() -> Response:
    """GET /app: the app lives under /app/ (its history routes and asset URLs start there)."""
    return RedirectResponse("/app/", 308)
