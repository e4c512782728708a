"""`aiqleads scrape` validates its region as a usage error, before settings or any connection."""

from __future__ import annotations

from click.testing import CliRunner

from aiqleads.cli import main


def test_unknown_region_is_a_usage_error_before_anything_else() -> None:
    # a broken environment would fail later: the region is checked first, without connecting
    result = CliRunner().invoke(
        main, ["scrape", "zillow", "--region", "gotham"], env={"AIQ_ITEM_HOLD_SECONDS": "soon"}
    )
    assert result.exit_code == 2, result.output
    assert "unknown region 'gotham'" in result.output and "--region" in result.output


def test_unknown_source_is_a_usage_error() -> None:
    result = CliRunner().invoke(main, ["scrape", "myspace", "--region", "austin"])
    assert result.exit_code == 2 and "myspace" in result.output
