"""Scraper URL safety: the URL policy (allow-lists, IP spellings, DNS answers) as pure unit tests,
and a real scrape against a local site whose pages link and redirect to a second local server,
which must never see a request."""

from __future__ import annotations

import ipaddress
import logging
from typing import Any

import pytest
from aiohttp import web
from aiqtest_support.ingestkit import local_fetch_config, sample, variant, worker_ctx

from aiqleads.workers.ingest_jobs import run_scrape
from aiqleads.workers.scrapers.fetcher import FetchRefused, PoliteFetcher
from aiqleads.workers.scrapers.url_policy import (
    UrlPolicy,
    UrlRefused,
    forbidden_address,
    literal_ip,
    resolve_link,
)
from aiqleads_dev.samples import (
    zillow_detail_page,
    zillow_detail_path,
    zillow_search_page,
)
from aiqleads_dev.site_server import SiteServer

ZILLOW = ("zillow.com", "www.zillow.com")


def fake_dns(answers: dict[str, list[str]]) -> Any:
    async def resolve(host: str, port: int) -> list[str]:
        if host not in answers:
            raise OSError("no such host")
        return answers[host]

    return resolve


PUBLIC = {"www.zillow.com": ["34.117.20.5", "2600:1901:0:1::5"], "zillow.com": ["34.117.20.5"]}


# ---------------------------------------- the fetcher and a real scrape (first: they set up the database)
async def test_a_redirect_off_the_allow_list_is_refused_without_contacting_the_target(settings: Any) -> None:
    async with SiteServer({"target": {"/": "secret"}}) as target:
        elsewhere = target.base_urls["target"] + "/"

        async def bounce(request: web.Request) -> web.Response:
            raise web.HTTPFound(elsewhere)

        async def local_hop(request: web.Request) -> web.Response:
            raise web.HTTPMovedPermanently("/final")

        async with SiteServer({"site": {"/bounce": bounce, "/hop": local_hop, "/final": "ok"}}) as site:
            base = site.base_urls["site"]
            policy = UrlPolicy(ZILLOW, [base + "/"])
            async with PoliteFetcher(local_fetch_config(settings), policy=policy) as fetcher:
                followed = await fetcher.fetch(f"{base}/hop")
                with pytest.raises(FetchRefused) as refused:
                    await fetcher.fetch(f"{base}/bounce")
    assert (followed.text, followed.final_url) == ("ok", f"{base}/final")
    assert "redirect" in refused.value.reason and "allow-list" in refused.value.reason
    assert target.log == []


async def test_a_scrape_never_requests_urls_its_pages_point_at_another_local_server(
    deps: Any, settings: Any, caplog: pytest.LogCaptureFixture
) -> None:
    homes = [variant(sample("swiss"), sources=("zillow",)) for _ in range(5)]
    normal1, normal2, direct, bounced, decimal = homes
    async with SiteServer({"internal": {}}) as internal:
        port = int(internal.base_urls["internal"].rsplit(":", 1)[1])
        inside = f"http://127.0.0.1:{port}"

        async def bounce(request: web.Request) -> web.Response:
            raise web.HTTPFound(f"{inside}/admin")

        page1 = zillow_search_page(
            [normal1, direct, bounced, decimal], "dallas-tx", 1, 3, "/dallas-tx/fsbo/2_p/"
        )
        page1 = page1.replace(f'"{zillow_detail_path(direct)}"', f'"{inside}{zillow_detail_path(direct)}"')
        page1 = page1.replace(f'"{zillow_detail_path(bounced)}"', '"/out/bounce"')
        page1 = page1.replace(
            f'"{zillow_detail_path(decimal)}"', f'"http://2130706433:{port}{zillow_detail_path(decimal)}"'
        )
        page2 = zillow_search_page([normal2], "dallas-tx", 2, 3, f"{inside}/dallas-tx/fsbo/3_p/")
        pages: dict[str, Any] = {
            "/dallas-tx/fsbo/": page1,
            "/dallas-tx/fsbo/2_p/": page2,
            "/out/bounce": bounce,
            **{zillow_detail_path(h): zillow_detail_page(h) for h in homes},
        }
        async with SiteServer({"zillow": pages}) as site:
            ctx = worker_ctx(deps, settings.replace(source_base_urls=dict(site.base_urls)))
            with caplog.at_level(logging.WARNING, logger="aiqleads.workers.scrapers.fetcher"):
                report = await run_scrape(ctx, "zillow", "dallas", fetch_config=local_fetch_config(settings))
    assert internal.log == []  # nothing reached the second server: no link, redirect or next page
    fetched = {r.path for r in site.requests_to("zillow")}
    assert {zillow_detail_path(normal1), zillow_detail_path(normal2), "/out/bounce"} <= fetched
    assert report.search_pages == 3 and report.page_errors == 1  # page 3 (off-site) refused, counted
    assert report.listings == 5 and report.detail_pages == 5
    refusals = [r.getMessage() for r in caplog.records if "refused" in r.getMessage()]
    assert len(refusals) == 4, refusals  # direct, bounced, decimal detail URLs and the next page
    assert sum("redirect" in m for m in refusals) == 1


# ------------------------------------------------------------------ the URL policy, pure


@pytest.mark.parametrize(
    ("spelling", "address"),
    [
        ("127.0.0.1", "127.0.0.1"),
        ("2130706433", "127.0.0.1"),
        ("0x7f000001", "127.0.0.1"),
        ("0177.0.0.1", "127.0.0.1"),
        ("0177.0.0.01", "127.0.0.1"),
        ("127.1", "127.0.0.1"),
        ("10.1.2", "10.1.0.2"),
        ("0", "0.0.0.0"),
        ("::1", "::1"),
        ("[::ffff:127.0.0.1]", "::ffff:7f00:1"),
        ("169.254.169.254.", "169.254.169.254"),
    ],
)
def test_every_ip_spelling_is_read_as_the_address_it_names(spelling: str, address: str) -> None:
    assert literal_ip(spelling) == ipaddress.ip_address(address)


@pytest.mark.parametrize("name", ["www.zillow.com", "zillow", "1.2.3.4.5", "08.1.2.3", "256.1.1.1", "0x"])
def test_names_and_impossible_numbers_are_not_ip_literals(name: str) -> None:
    assert name == "0x" or literal_ip(name) is None


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1", "127.255.255.254", "10.0.0.1", "172.16.5.4", "192.168.1.1", "169.254.169.254",
        "100.64.0.1", "0.0.0.0", "224.0.0.1", "239.255.255.250", "240.0.0.1", "255.255.255.255",
        "::1", "::", "fe80::1", "fc00::1", "fd12:3456::1", "ff02::1", "::ffff:127.0.0.1",
        "::ffff:10.0.0.1", "::ffff:169.254.169.254", "2002:7f00:1::", "64:ff9b::a00:1", "2001:db8::1",
    ],
)  # fmt: skip
def test_non_public_addresses_are_forbidden(address: str) -> None:
    assert forbidden_address(ipaddress.ip_address(address)) is not None


@pytest.mark.parametrize("address", ["34.117.20.5", "8.8.8.8", "2600:1901:0:1::5", "::ffff:8.8.8.8"])
def test_public_addresses_are_allowed(address: str) -> None:
    assert forbidden_address(ipaddress.ip_address(address)) is None


async def test_the_real_site_hosts_are_allowed_when_they_resolve_to_public_addresses() -> None:
    policy = UrlPolicy(ZILLOW, resolver=fake_dns(PUBLIC))
    for url in ("https://www.zillow.com/dallas-tx/fsbo/", "http://zillow.com/x", "https://WWW.Zillow.com./y"):
        assert await policy.check(url) == url


@pytest.mark.parametrize(
    ("url", "why"),
    [
        ("ftp://www.zillow.com/x", "scheme"),
        ("javascript:alert(1)", "scheme"),
        ("file:///etc/passwd", "scheme"),
        ("//www.zillow.com/x", "scheme"),
        ("https://evil.example/x", "allow-list"),
        ("https://www.zillow.com.evil.example/x", "allow-list"),
        ("https://zillow.com@127.0.0.1/x", "credentials"),
        ("https://user:pw@www.zillow.com/x", "credentials"),
        ("https://www.zillow.com:8443/x", "port"),
        ("http://127.0.0.1/x", "IP literal"),
        ("http://2130706433/", "IP literal"),
        ("http://0177.0.0.1/", "IP literal"),
        ("http://[::ffff:127.0.0.1]/", "IP literal"),
        ("http://[::1]:8080/", "IP literal"),
        ("http://169.254.169.254/latest/meta-data/", "IP literal"),
        ("http://localhost/", "allow-list"),
        ("https://www.zillow.com\\@evil.example/", "backslash"),
        ("https://www.zillow.com/a b", "whitespace"),
        ("http://[::1/", "URL"),
    ],
)
async def test_urls_off_the_allow_list_or_malformed_are_refused(url: str, why: str) -> None:
    policy = UrlPolicy(ZILLOW, resolver=fake_dns(PUBLIC))
    with pytest.raises(UrlRefused) as refused:
        await policy.check(url)
    assert why.lower() in refused.value.reason.lower()


@pytest.mark.parametrize(
    "answers",
    [["127.0.0.1"], ["34.117.20.5", "10.0.0.7"], ["::1"], ["::ffff:192.168.0.1"], ["fe80::1%eth0"], []],
)
async def test_an_allowed_host_that_resolves_to_any_non_public_address_is_refused(answers: list[str]) -> None:
    policy = UrlPolicy(ZILLOW, resolver=fake_dns({"www.zillow.com": answers}))
    with pytest.raises(UrlRefused) as refused:
        await policy.check("https://www.zillow.com/x")
    assert "resolves to" in refused.value.reason


async def test_an_unresolvable_host_is_refused_and_the_system_resolver_sees_localhost_as_loopback() -> None:
    with pytest.raises(UrlRefused, match="does not resolve"):
        await UrlPolicy(ZILLOW, resolver=fake_dns({})).check("https://www.zillow.com/x")
    with pytest.raises(UrlRefused, match="loopback"):
        await UrlPolicy(["localhost"]).check("http://localhost/")  # the real system resolver


async def test_region_subdomains_match_a_wildcard_entry_but_not_look_alikes() -> None:
    answers = {
        h: ["208.82.237.1"] for h in ("dallas.craigslist.org", "craigslist.org", "craigslist.org.evil")
    }
    policy = UrlPolicy(("craigslist.org", "*.craigslist.org"), resolver=fake_dns(answers))
    assert await policy.check("https://dallas.craigslist.org/search/rea")
    assert await policy.check("https://craigslist.org/")
    for url in ("https://craigslist.org.evil/", "https://evilcraigslist.org/"):
        with pytest.raises(UrlRefused):
            await policy.check(url)


async def test_the_configured_base_url_origin_is_trusted_exactly_and_nothing_else_on_its_host() -> None:
    policy = UrlPolicy(ZILLOW, ["http://127.0.0.1:41234/dallas-tx/fsbo/"], resolver=fake_dns({}))
    assert await policy.check("http://127.0.0.1:41234/homedetails/x/1_zpid/")
    assert await policy.check("http://2130706433:41234/same-origin-other-spelling")
    for url in ("http://127.0.0.1:41235/", "http://127.0.0.1/", "https://127.0.0.1:41234@10.0.0.1/"):
        with pytest.raises(UrlRefused):
            await policy.check(url)


def test_page_links_are_resolved_against_the_page() -> None:
    page = "https://www.zillow.com/dallas-tx/fsbo/"
    assert resolve_link(page, "2_p/") == "https://www.zillow.com/dallas-tx/fsbo/2_p/"
    assert resolve_link(page, "//evil.example/x") == "https://evil.example/x"
    assert resolve_link(page, "  ") is None and resolve_link(page, None) is None
