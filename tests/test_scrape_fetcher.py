"""The polite fetcher against local HTTP servers: robots.txt, per-host rate limits (measured from
the server's request timestamps), retries with backoff, timeouts, page-size limits, user agent and
proxy."""

from __future__ import annotations

import asyncio
import itertools
import time
from typing import Any

import pytest
from aiohttp import web
from aiqtest_support.ingestkit import local_fetch_config, sample, variant, worker_ctx

from aiqleads.workers.ingest_jobs import run_scrape
from aiqleads.workers.scrapers.fetcher import FetchError, PageTooLarge, PoliteFetcher, RobotsDisallowed
from aiqleads_dev.samples import site_pages
from aiqleads_dev.site_server import SiteServer

UA = "AIQLeadsBot/0.1 (+https://aiqleads.example/bot)"


def _gaps(times: list[float]) -> list[float]:
    return [b - a for a, b in itertools.pairwise(times)]


async def test_robots_txt_disallow_and_crawl_delay_are_obeyed(settings: Any) -> None:
    robots = "User-agent: AIQLeadsBot\nDisallow: /private/\nCrawl-delay: 0.3\n\nUser-agent: *\nDisallow: /\n"
    pages = {f"/public/{i}": f"<html>page {i}</html>" for i in range(4)} | {"/private/secret": "no"}
    async with SiteServer({"site": pages}, robots={"site": robots}) as server:
        base = server.base_urls["site"]
        async with PoliteFetcher(local_fetch_config(settings, rate_per_host=100.0)) as fetcher:
            with pytest.raises(RobotsDisallowed):
                await fetcher.fetch(f"{base}/private/secret")
            texts = [(await fetcher.fetch(f"{base}/public/{i}")).text for i in range(4)]
    assert texts == [f"<html>page {i}</html>" for i in range(4)]
    paths = [r.path for r in server.requests_to("site")]
    assert paths[0] == "/robots.txt" and paths.count("/robots.txt") == 1
    assert "/private/secret" not in paths
    times = [r.at for r in server.requests_to("site")]
    # Crawl-delay beats our own 100 requests/second (server-side clocks: allow scheduling jitter)
    assert min(_gaps(times)) >= 0.25 and sum(_gaps(times)[1:]) / 3 >= 0.28
    assert {r.user_agent for r in server.log} == {UA}


async def test_robots_txt_that_forbids_everything_stops_a_scrape_without_crashing(
    deps: Any, settings: Any
) -> None:
    home = variant(sample("w22nd"), sources=("craigslist",))
    async with SiteServer(
        {"craigslist": site_pages([home])["craigslist"]},
        robots={"craigslist": "User-agent: *\nDisallow: /\n"},
    ) as server:
        urls = {"craigslist": server.base_urls["craigslist"] + "/{region}"}
        ctx = worker_ctx(deps, settings.replace(source_base_urls=urls))
        report = await run_scrape(ctx, "craigslist", "houston", fetch_config=local_fetch_config(settings))
    assert [r.path for r in server.log] == ["/robots.txt"]
    assert report.page_errors == 1 and report.listings == 0


async def test_missing_robots_txt_allows_and_unreachable_robots_txt_blocks(settings: Any) -> None:
    async def broken(request: web.Request) -> web.Response:
        return web.Response(status=500, text="oops")

    sites: dict[str, Any] = {"open": {"/a": "A"}, "down": {"/a": "A", "/robots.txt": broken}}
    async with SiteServer(sites, robots={"open": None}) as server:
        config = local_fetch_config(settings, max_retries=1)
        async with PoliteFetcher(config) as fetcher:
            assert (await fetcher.fetch(server.base_urls["open"] + "/a")).text == "A"
            with pytest.raises(RobotsDisallowed):
                await fetcher.fetch(server.base_urls["down"] + "/a")
    assert [r.path for r in server.requests_to("down")] == ["/robots.txt", "/robots.txt"]


async def test_rate_limit_is_per_host_measured_at_the_servers(settings: Any) -> None:
    pages = {f"/p{i}": f"page {i}" for i in range(6)}
    async with SiteServer({"one": dict(pages), "two": dict(pages)}) as server:
        config = local_fetch_config(settings, rate_per_host=5.0)  # one request per 0.2 s per host
        started = time.monotonic()
        async with PoliteFetcher(config) as fetcher:
            await asyncio.gather(
                *(
                    fetcher.fetch(f"{server.base_urls[site]}/p{i}")
                    for site in ("one", "two")
                    for i in range(6)
                )
            )
        elapsed = time.monotonic() - started
    for site in ("one", "two"):
        times = [r.at for r in server.requests_to(site)]
        assert len(times) == 7  # robots.txt + 6 pages
        gaps = _gaps(times)
        assert min(gaps) >= 0.16 and sum(gaps) / len(gaps) >= 0.19, gaps
    # hosts are limited independently: both finish in about the time of one (7 × 0.2 s), not two
    assert 1.1 <= elapsed < 2.2


async def test_429_and_5xx_are_retried_with_backoff_honouring_retry_after(settings: Any) -> None:
    calls = {"limited": 0, "flaky": 0}

    async def limited(request: web.Request) -> web.Response:
        calls["limited"] += 1
        if calls["limited"] == 1:
            return web.Response(status=429, text="slow down", headers={"Retry-After": "1"})
        return web.Response(text="ok after 429")

    async def flaky(request: web.Request) -> web.Response:
        calls["flaky"] += 1
        if calls["flaky"] <= 2:
            return web.Response(status=503, text="busy")
        return web.Response(text="ok after 503s")

    async def dead(request: web.Request) -> web.Response:
        return web.Response(status=500, text="always broken")

    site = {"/limited": limited, "/flaky": flaky, "/dead": dead, "/gone": "x"}
    async with SiteServer({"s": site}) as server:
        base = server.base_urls["s"]
        config = local_fetch_config(settings, max_retries=3, backoff_base=0.05, backoff_max=2.0)
        async with PoliteFetcher(config) as fetcher:
            limited_result = await fetcher.fetch(f"{base}/limited")
            flaky_result = await fetcher.fetch(f"{base}/flaky")
            with pytest.raises(FetchError) as dead_error:
                await fetcher.fetch(f"{base}/dead")
            with pytest.raises(FetchError) as missing:
                await fetcher.fetch(f"{base}/nope")
    assert (limited_result.text, limited_result.attempts) == ("ok after 429", 2)
    assert (flaky_result.text, flaky_result.attempts) == ("ok after 503s", 3)
    assert dead_error.value.status == 500 and "after 4 attempts" in dead_error.value.reason
    assert missing.value.status == 404
    log = server.requests_to("s")
    limited_times = [r.at for r in log if r.path == "/limited"]
    assert limited_times[1] - limited_times[0] >= 0.95  # Retry-After: 1
    flaky_gaps = _gaps([r.at for r in log if r.path == "/flaky"])
    assert flaky_gaps[1] > flaky_gaps[0] * 1.3  # exponential: the second wait is longer
    assert sum(1 for r in log if r.path == "/dead") == 4 and sum(1 for r in log if r.path == "/nope") == 1


async def test_timeouts_are_retried_then_reported(settings: Any) -> None:
    async def slow(request: web.Request) -> web.Response:
        await asyncio.sleep(1.0)
        return web.Response(text="too late")

    async with SiteServer({"s": {"/slow": slow}}) as server:
        config = local_fetch_config(settings, timeout=0.2, max_retries=2)
        started = time.monotonic()
        async with PoliteFetcher(config) as fetcher:
            with pytest.raises(FetchError) as error:
                await fetcher.fetch(server.base_urls["s"] + "/slow")
        elapsed = time.monotonic() - started
    assert "ReadTimeout" in error.value.reason and "3 attempts" in error.value.reason
    assert sum(1 for r in server.log if r.path == "/slow") == 3
    assert elapsed < 2.5


async def test_pages_over_the_size_limit_are_refused(settings: Any) -> None:
    async def streamed(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse()
        response.enable_chunked_encoding()
        await response.prepare(request)
        for _ in range(50):
            await response.write(b"x" * 10_000)
        await response.write_eof()
        return response

    site = {"/big": "y" * 200_000, "/stream": streamed, "/small": "fine"}
    async with SiteServer({"s": site}) as server:
        base = server.base_urls["s"]
        async with PoliteFetcher(local_fetch_config(settings, max_bytes=100_000)) as fetcher:
            with pytest.raises(PageTooLarge) as declared:
                await fetcher.fetch(f"{base}/big")
            with pytest.raises(PageTooLarge) as chunked:
                await fetcher.fetch(f"{base}/stream")
            assert (await fetcher.fetch(f"{base}/small")).text == "fine"
    assert "200000 bytes" in declared.value.reason and "100000 byte limit" in chunked.value.reason


def _proxy_answering(body: bytes, seen: list[str]) -> Any:
    """A forward proxy stub: records each request's head, answers robots.txt with allow-all and
    everything else with ``body``."""

    async def proxy(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = await reader.readuntil(b"\r\n\r\n")
        seen.append(head.decode("latin-1"))
        answer = b"User-agent: *\nAllow: /\n" if b"/robots.txt" in head.split(b"\r\n")[0] else body
        writer.write(
            b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: %d\r\n\r\n%s"
            % (len(answer), answer)
        )
        await writer.drain()
        writer.close()

    return proxy


async def test_without_a_configured_proxy_the_environments_is_used_unless_no_proxy_names_the_host(
    settings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[str] = []
    server = await asyncio.start_server(_proxy_answering(b"via env proxy", seen), "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    for name in ("HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HTTP_PROXY", f"http://127.0.0.1:{port}")
    monkeypatch.setenv("NO_PROXY", "direct.example.invalid")
    try:
        config = local_fetch_config(settings.replace(scraper_proxy=None))
        assert config.proxy is None
        async with PoliteFetcher(config) as fetcher:
            first = await fetcher.fetch("http://listings.example.invalid/search?page=1")
            second = await fetcher.fetch("http://listings.example.invalid/search?page=2")
            with pytest.raises(FetchError):  # NO_PROXY: straight to a host that does not resolve
                await fetcher.fetch("http://direct.example.invalid/search?page=1")
    finally:
        server.close()
        await server.wait_closed()
    assert first.text == second.text == "via env proxy"
    assert [head.split("\r\n")[0] for head in seen] == [
        "GET http://listings.example.invalid/robots.txt HTTP/1.1",
        "GET http://listings.example.invalid/search?page=1 HTTP/1.1",
        "GET http://listings.example.invalid/search?page=2 HTTP/1.1",
    ]


async def test_requests_go_through_the_configured_proxy(settings: Any) -> None:
    seen: list[str] = []
    server = await asyncio.start_server(_proxy_answering(b"via proxy", seen), "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        config = local_fetch_config(settings.replace(scraper_proxy=f"http://127.0.0.1:{port}"))
        assert config.proxy == f"http://127.0.0.1:{port}"
        async with PoliteFetcher(config) as fetcher:
            result = await fetcher.fetch("http://listings.example.invalid/search?page=1")
    finally:
        server.close()
        await server.wait_closed()
    assert result.text == "via proxy"
    request_lines = [head.split("\r\n")[0] for head in seen]
    assert request_lines == [
        "GET http://listings.example.invalid/robots.txt HTTP/1.1",
        "GET http://listings.example.invalid/search?page=1 HTTP/1.1",
    ]
    assert all(f"user-agent: {UA}".lower() in head.lower() for head in seen)


async def test_a_scrape_with_a_rate_limited_site_finishes_and_respects_the_host_limit(
    deps: Any, settings: Any
) -> None:
    homes = [variant(sample("williams")), variant(sample("josephine")), variant(sample("williams"))]
    pages: dict[str, Any] = dict(site_pages(homes)["craigslist"])
    hits = {"n": 0}
    first_search = next(p for p in pages if p.endswith("purveyor=owner"))
    original = pages[first_search]

    async def throttled(request: web.Request) -> web.Response:
        hits["n"] += 1
        if hits["n"] == 1:
            return web.Response(status=429, headers={"Retry-After": "0"}, text="too many")
        return web.Response(text=original, content_type="text/html")

    pages[first_search] = throttled
    async with SiteServer({"craigslist": pages}) as server:
        urls = {"craigslist": server.base_urls["craigslist"] + "/{region}"}
        ctx = worker_ctx(deps, settings.replace(source_base_urls=urls))
        report = await run_scrape(
            ctx, "craigslist", "denver", fetch_config=local_fetch_config(settings, rate_per_host=20.0)
        )
    assert report.listings == 3 and report.created == 3 and report.page_errors == 0
    times = [r.at for r in server.requests_to("craigslist")]
    assert len(times) == 1 + 2 + 3  # robots.txt, the search page (429 then retried), three postings
    gaps = _gaps(times)
    assert min(gaps) >= 0.035 and sum(gaps) / len(gaps) >= 0.047, gaps
