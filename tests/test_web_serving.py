"""The API serves the built web app: /app/ with its history fallback and cache headers, GraphiQL
from the build at GET /graphql, and a 503 naming the build command when there is no build."""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
import pytest_asyncio
from asgi_lifespan import LifespanManager

from aiqleads.app import create_app
from aiqleads.domain.settings import Settings
from aiqleads.web_files import ASSET_CACHE, BUILD_COMMAND

INDEX = "<!doctype html><title>buyer app</title><script type=module src=/app/assets/app-1a2b.js></script>"
GRAPHIQL = "<!doctype html><title>our GraphiQL</title>"
BROWSER = {"accept": "text/html,application/xhtml+xml,*/*;q=0.8"}


@pytest.fixture(scope="module")
def dist(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("web") / "dist"
    (root / "assets").mkdir(parents=True)
    (root / "index.html").write_text(INDEX)
    (root / "graphiql.html").write_text(GRAPHIQL)
    (root / "assets" / "app-1a2b.js").write_text("console.log('app')")
    (root / "robots.txt").write_text("User-agent: *\n")
    (root.parent / "secret.txt").write_text("outside the build")
    (root / "assets" / "linked.txt").symlink_to(root.parent / "secret.txt")
    return root


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def web(settings: Settings, dist: Path) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(settings.replace(web_dist=str(dist)))
    async with LifespanManager(app, startup_timeout=60):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1:8000") as client:
            yield client


def test_the_default_build_folder_is_web_dist_in_the_checkout() -> None:
    repo = Path(__file__).resolve().parents[1]
    assert Settings().web_dist == str(repo / "web" / "dist")


async def test_app_pages_and_history_routes_get_index_html(web: httpx.AsyncClient) -> None:
    for path in ("/app/", "/app/cart", "/app/lead/TGVhZDox", "/app/signin?next=/app/cart"):
        response = await web.get(path, headers=BROWSER)
        assert response.status_code == 200, path
        assert response.text == INDEX
        assert response.headers["content-type"].startswith("text/html")
        assert response.headers["cache-control"] == "no-cache"
        policy = response.headers["content-security-policy"]
        assert "script-src 'self';" in policy and "style-src 'self';" in policy  # nothing inline
        assert "connect-src 'self' ws://127.0.0.1:8000 wss://127.0.0.1:8000" in policy
    moved = await web.get("/app")
    assert (moved.status_code, moved.headers["location"]) == (308, "/app/")


async def test_hashed_assets_are_cached_for_good_and_other_files_revalidated(web: httpx.AsyncClient) -> None:
    asset = await web.get("/app/assets/app-1a2b.js")
    assert asset.status_code == 200 and asset.text == "console.log('app')"
    assert asset.headers["cache-control"] == ASSET_CACHE
    assert "javascript" in asset.headers["content-type"]
    robots = await web.get("/app/robots.txt")
    assert robots.status_code == 200 and robots.headers["cache-control"] == "no-cache"
    # a stale hashed URL is a 404, not the index page a browser would then run as a script
    missing = await web.get("/app/assets/app-0000.js")
    assert missing.status_code == 404


async def test_nothing_outside_the_build_is_served(web: httpx.AsyncClient) -> None:
    for path in (
        "/app/..%2fsecret.txt",
        "/app/%2e%2e/secret.txt",
        "/app/assets/..%2f..%2fsecret.txt",
        "/app/assets/linked.txt",  # a symbolic link in the build that points out of it
    ):
        response = await web.get(path)
        assert "outside the build" not in response.text, path


async def test_a_path_too_long_for_the_file_system_is_not_a_server_error(web: httpx.AsyncClient) -> None:
    # is_file() raises ENAMETOOLONG past 255 bytes a name: a 500 here would page the 5xx alert
    for path in ("/app/" + "a" * 300, "/app/assets/" + "b" * 300 + ".js", "/app/x/" + "c/" * 3000):
        response = await web.get(path, headers=BROWSER)
        assert response.status_code in (200, 404), (path[:40], response.status_code)


async def test_graphiql_is_the_built_page_not_a_cdn_one(web: httpx.AsyncClient) -> None:
    page = await web.get("/graphql", headers=BROWSER)
    assert page.status_code == 200
    assert page.text == GRAPHIQL
    assert page.headers["cache-control"] == "no-cache"
    policy = page.headers["content-security-policy"]
    assert "default-src 'self'" in policy and "script-src 'self';" in policy
    assert "style-src 'self' 'unsafe-inline'" in policy  # Monaco writes its styles at run time
    # a GET with a query is still an operation, and a POST is untouched
    operation = await web.get("/graphql", params={"query": "{ __typename }"})
    assert operation.json() == {"data": {"__typename": "Query"}}
    posted = await web.post("/graphql", json={"query": "{ __typename }"})
    assert posted.json() == {"data": {"__typename": "Query"}}


async def test_app_requests_are_counted_under_the_app_handler(web: httpx.AsyncClient) -> None:
    await web.get("/app/credits")
    metrics = (await web.get("/metrics")).text
    assert 'aiq_http_requests_total{handler="app",status="2xx"}' in metrics


async def test_without_a_build_the_pages_say_how_to_build_it(web: httpx.AsyncClient, dist: Path) -> None:
    moved = dist.with_name("dist-moved")
    dist.rename(moved)  # noqa: ASYNC240 - a local rename, nothing to wait for
    try:
        for path in ("/app/", "/app/cart", "/graphql"):
            response = await web.get(path, headers=BROWSER)
            assert response.status_code == 503, path
            assert response.headers["content-type"].startswith("text/plain")
            assert BUILD_COMMAND in response.text
            assert "cdn" not in response.text.lower()
    finally:
        moved.rename(dist)
    assert (await web.get("/app/", headers=BROWSER)).status_code == 200
    shutil.rmtree(moved, ignore_errors=True)
