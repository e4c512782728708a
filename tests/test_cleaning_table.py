"""Cleaning rules on tables of messy real-world inputs with the expected outputs."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from aiqleads.domain.cleaning.addresses import normalize_address, normalize_state
from aiqleads.domain.cleaning.geocode import geocode, state_of_zip, zip_centroid, zip_table
from aiqleads.domain.cleaning.pipeline import clean_record, parse_posted_at
from aiqleads.domain.cleaning.prices import parse_price
from aiqleads.domain.cleaning.property_types import normalize_property_type
from aiqleads.domain.cleaning.text import parse_bathrooms, parse_bedrooms, parse_sqft, safe_url, to_plain_text
from aiqleads.domain.core.listings import RawRecord
from aiqleads.domain.core.phones import normalize_email, normalize_phone, phones_in_text
from aiqleads.domain.ingest.validation import validate

PRICES: list[tuple[Any, int | None]] = [
    ("$350K", 350_000),
    ("350,000 OBO", 350_000),
    ("$1.2M", 1_200_000),
    ("$1,200,000", 1_200_000),
    ("350k", 350_000),
    ("$ 425,000.00", 425_000),
    ("Asking 299,900 firm", 299_900),
    ("1.2 million", 1_200_000),
    ("$2.5 mil", 2_500_000),
    ("$489,000 OBO", 489_000),
    ("$450,000 or best offer", 450_000),
    ("USD 350,000", 350_000),
    ("$350.5K", 350_500),
    ("$350K-$375K", 350_000),
    ("Price reduced! Now $339,000 (was $359,000)", 339_000),
    ("3 bd house $350k", 350_000),
    ("275000 dollars", 275_000),
    ("350000.00", 350_000),
    (350_000, 350_000),
    (350_000.4, 350_000),
    ("Call for price", None),
    ("$2,500/mo", None),
    ("1800 per month", None),
    ("", None),
    (None, None),
]


@pytest.mark.parametrize(("raw", "expected"), PRICES)
def test_prices(raw: Any, expected: int | None) -> None:
    assert parse_price(raw) == expected


PHONES: list[tuple[str | None, str | None]] = [
    ("214-555-0123", "+12145550123"),
    ("(512) 555-0199", "+15125550199"),
    ("call/text 214.555.0123 ext 4", "+12145550123"),
    ("+1 214 555 0123", "+12145550123"),
    ("1 (972) 867-5309", "+19728675309"),
    ("Call Mike 469 248 1174 after 5pm", "+14692481174"),
    ("two one four 555 0123", "+12145550123"),
    ("214 five five five O123", "+12145550123"),
    ("2l4-555-0123", "+12145550123"),
    ("555-0123", None),
    ("000-000-0000", None),
    ("214-555-01234", None),
    ("no phone", None),
    (None, None),
]


@pytest.mark.parametrize(("raw", "expected"), PHONES)
def test_phones_to_e164(raw: str | None, expected: str | None) -> None:
    assert normalize_phone(raw) == expected


def test_phones_and_emails_in_free_text() -> None:
    assert phones_in_text("call 214-555-0123 or (972) 867-5309, again 214.555.0123") == [
        "+12145550123",
        "+19728675309",
    ]
    assert normalize_email("Email: John.Doe@Example.com!") == "john.doe@example.com"
    assert normalize_email("john at gmail.com") == "john@gmail.com"
    assert normalize_email("no email here") is None


ADDRESSES: list[tuple[str, tuple[str | None, str | None, str | None, str | None, str | None], str | None]] = [
    (
        "123 main street apt 4b, dallas tx 75201",
        ("123 Main St", "APT 4B", "Dallas", "TX", "75201"),
        "123 MAIN ST|#4B|75201",
    ),
    (
        "4512 N. Central Expy #210 Dallas, Texas 75205",
        ("4512 N Central Expy", "#210", "Dallas", "TX", "75205"),
        "4512 N CENTRAL EXPY|#210|75205",
    ),
    (
        "3920 W. Alabama St Unit 5 Houston TX 77027",
        ("3920 W Alabama St", "UNIT 5", "Houston", "TX", "77027"),
        "3920 W ALABAMA ST|#5|77027",
    ),
    (
        "1 E Erie St Chicago IL 60611-2222",
        ("1 E Erie St", None, "Chicago", "IL", "60611"),
        "1 E ERIE ST||60611",
    ),
    (
        "2210 W 21ST ST, Chicago, IL 60608",
        ("2210 W 21st St", None, "Chicago", "IL", "60608"),
        "2210 W 21ST ST||60608",
    ),
    ("8815 Sunset Blvd, Houston TX", ("8815 Sunset Blvd", None, "Houston", "TX", None), None),
    ("6234 Velasco Avenue", ("6234 Velasco Ave", None, None, None, None), None),
    ("Lakewood area, Dallas", (None, None, None, None, None), None),
]


@pytest.mark.parametrize(("raw", "parts", "key"), ADDRESSES)
def test_addresses(raw: str, parts: tuple[str | None, ...], key: str | None) -> None:
    address = normalize_address(raw)
    assert (address.street, address.unit, address.city, address.state, address.zip) == parts
    assert address.key == key


def test_address_parts_given_separately_win() -> None:
    address = normalize_address("6234 Velasco Ave.", city="DALLAS", state="Texas", zip="75214-3301")
    assert (address.street, address.city, address.state, address.zip) == (
        "6234 Velasco Ave",
        "Dallas",
        "TX",
        "75214",
    )
    # the same property written three ways gives one dedup key
    keys = {
        normalize_address(a, zip="75214").key
        for a in ("6234 Velasco Ave", "6234 VELASCO AVENUE", "6234 velasco ave.")
    }
    assert keys == {"6234 VELASCO AVE||75214"}
    assert (
        normalize_state("tx") == "TX"
        and normalize_state("North Carolina") == "NC"
        and normalize_state("XX") is None
    )


TYPES = [
    ("SINGLE_FAMILY", "SINGLE_FAMILY"),
    ("Single Family Residence", "SINGLE_FAMILY"),
    ("SingleFamilyResidence", "SINGLE_FAMILY"),
    ("house", "SINGLE_FAMILY"),
    ("Townhome", "TOWNHOUSE"),
    ("condo", "CONDO"),
    ("APARTMENT", "CONDO"),
    ("duplex", "MULTI_FAMILY"),
    ("Multi-Family", "MULTI_FAMILY"),
    ("LOTS_LAND", "LAND"),
    ("Lot", "LAND"),
    ("Mobile home", "MANUFACTURED"),
    ("Mobile/Manufactured", "MANUFACTURED"),
    ("weird", "OTHER"),
    (None, "OTHER"),
]


@pytest.mark.parametrize(("raw", "expected"), TYPES)
def test_property_types(raw: str | None, expected: str) -> None:
    assert normalize_property_type(raw) == expected


def test_property_type_falls_back_to_the_text() -> None:
    assert normalize_property_type(None, fallback_text="Charming 3br bungalow in Lakewood") == "SINGLE_FAMILY"
    assert normalize_property_type("", fallback_text="1999 double-wide on its own lot") == "MANUFACTURED"


@pytest.mark.parametrize(
    ("raw", "beds", "baths", "sqft"),
    [
        ("3 bd", 3, None, None),
        ("3BR / 2Ba", 3, 2.0, None),
        ("2 full 1 half baths", None, 2.5, None),
        ("1,850 sqft", None, None, 1850),
        ("1850ft2", None, None, 1850),
        ("Studio", 0, None, None),
        ("1,850 sq. ft.", None, None, 1850),
    ],
)
def test_rooms_and_area(raw: str, beds: int | None, baths: float | None, sqft: int | None) -> None:
    assert (parse_bedrooms(raw), parse_bathrooms(raw), parse_sqft(raw)) == (beds, baths, sqft)


def test_html_injection_is_reduced_to_plain_text() -> None:
    hostile = (
        '<p>Great home!</p><script>alert("x")</script><img src=x onerror="steal()">'
        '<a href="javascript:evil()">click</a> &lt;script&gt;alert(2)&lt;/script&gt; <b>3 beds</b>'
        "<style>body{display:none}</style><iframe src='https://evil.example'></iframe>"
    )
    text = to_plain_text(hostile)
    assert text is not None
    assert "<" not in text and ">" not in text
    assert "alert" not in text and "steal" not in text and "display:none" not in text
    assert "Great home!" in text and "click" in text and "3 beds" in text
    assert safe_url("javascript:alert(1)") is None and safe_url("data:text/html,x") is None
    assert safe_url("//img.example/a.jpg") == "https://img.example/a.jpg"


def test_huge_description_is_truncated() -> None:
    text = to_plain_text("word " * 400_000)
    assert text is not None and len(text) <= 5001 and text.endswith("…")


def test_zip_centroid_table_covers_our_metros() -> None:
    table = zip_table()
    assert len(table) >= 300
    cities = {(row.city, row.state) for row in table.values()}
    for metro in [
        ("Dallas", "TX"), ("Austin", "TX"), ("Houston", "TX"), ("Phoenix", "AZ"), ("Atlanta", "GA"),
        ("Denver", "CO"), ("Miami", "FL"), ("Chicago", "IL"), ("Seattle", "WA"), ("Charlotte", "NC"),
    ]:  # fmt: skip
        assert metro in cities
    dallas = zip_centroid("75201")
    assert dallas is not None and dallas.city == "Dallas" and abs(dallas.lat - 32.79) < 0.05
    assert state_of_zip("75201") == "TX" and state_of_zip("73301") == "TX" and state_of_zip("98101") == "WA"


def test_geocoding_prefers_page_coordinates_then_zip_centroid() -> None:
    on_page = geocode(32.8248, -96.7498, None, None, None)
    assert on_page is not None and on_page.precision == "page" and on_page.zip == "75214"
    assert on_page.city == "Dallas" and on_page.state == "TX"
    swapped = geocode(-96.7498, 32.8248, "75214", "Dallas", "TX")
    assert swapped is not None and (swapped.lat, swapped.lng) == (32.8248, -96.7498)
    by_zip = geocode(0.0, 0.0, "78704", None, None)
    assert by_zip is not None and by_zip.precision == "zip" and by_zip.city == "Austin"
    assert geocode(None, None, "99999", "Nowhere", "ZZ") is None


def test_posting_times() -> None:
    now = datetime(2025, 1, 15, 12, 0, tzinfo=UTC)
    assert parse_posted_at("2024-05-01T10:22:33-0500", now) == datetime.fromisoformat(
        "2024-05-01T10:22:33-05:00"
    )
    assert parse_posted_at("3 days ago", now) == datetime(2025, 1, 12, 12, 0, tzinfo=UTC)
    assert parse_posted_at(1714560000, now) == datetime(2024, 5, 1, 10, 40, tzinfo=UTC)
    assert parse_posted_at("1714560000000", now) == datetime(2024, 5, 1, 10, 40, tzinfo=UTC)
    assert parse_posted_at("05/01/2024", now) == datetime(2024, 5, 1, tzinfo=UTC)
    assert parse_posted_at("2099-01-01", now) is None
    assert parse_posted_at("whenever", now) is None


def test_clean_record_end_to_end_on_a_messy_craigslist_style_listing() -> None:
    raw = RawRecord(
        source="CRAIGSLIST",
        external_id="7765432101",
        url="https://dallas.craigslist.org/dal/reo/d/x/7765432101.html",
        title="<b>3br</b> house for sale by owner",
        description=(
            "<p>Great home!</p><script>alert(1)</script> 1,850 sqft, 2 baths. Call two one four 555 0123"
        ),
        price="$350K OBO",
        address="6234 velasco avenue, dallas tx",
        lat="32.8248",
        lng="-96.7498",
        photos=["https://images.craigslist.org/a.jpg", "javascript:x", "https://images.craigslist.org/a.jpg"],
        posted_at="2 days ago",
    )
    clean = clean_record(raw, now=datetime(2025, 1, 15, tzinfo=UTC))
    assert clean.title == "3br house for sale by owner"
    assert clean.description == "Great home!\n1,850 sqft, 2 baths. Call two one four 555 0123"
    assert (clean.asking_price, clean.bedrooms, clean.bathrooms, clean.sqft) == (350_000, 3, 2.0, 1850)
    assert clean.property_type == "SINGLE_FAMILY"
    assert (clean.street, clean.city, clean.state, clean.zip) == ("6234 Velasco Ave", "Dallas", "TX", "75214")
    assert clean.contact_phone == "+12145550123"
    assert clean.photos == ["https://images.craigslist.org/a.jpg"]
    assert clean.posted_at == datetime(2025, 1, 13, tzinfo=UTC)
    assert clean.dedup_key == "6234 VELASCO AVE||75214"
    assert validate(clean).ok


def test_validation_drops_implausible_values_and_rejects_unlocatable_listings() -> None:
    raw = RawRecord(
        source="FSBO",
        external_id="1",
        title="House",
        price="$1",
        bedrooms="99 beds",
        sqft="12",
        zip="75214",
        year_built="3020",
        contact_phone="12",
    )
    clean = clean_record(raw)
    result = validate(clean)
    assert result.ok  # located by its ZIP centroid
    assert (
        clean.asking_price is None
        and clean.bedrooms is None
        and clean.sqft is None
        and clean.year_built is None
    )
    assert any("implausible asking price" in i for i in clean.issues)
    assert "located by ZIP centroid" in clean.issues
    lost = validate(clean_record(RawRecord(source="FSBO", external_id="2", title="Somewhere nice")))
    assert not lost.ok and "no location" in lost.problems and "missing or invalid ZIP code" in lost.problems
