"""The `aiqleads` console script: help, clear errors, API keys end to end."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from typing import Any

import httpx
import pytest
from click.testing import CliRunner

from aiqleads.cli import main
from aiqleads.domain.settings import Settings


@pytest.mark.parametrize(
    "argv",
    [[], ["services"], ["migrate"], ["seed"], ["serve"], ["worker"], ["apikey", "create"], ["export-schema"]],
)
def test_every_command_has_help(argv: list[str]) -> None:
    result = CliRunner().invoke(main, [*argv, "--help"])
    assert result.exit_code == 0, result.output
    assert "Usage:" in result.output


def test_console_script_is_installed() -> None:
    bin_dir = os.path.dirname(sys.executable)
    result = subprocess.run([os.path.join(bin_dir, "aiqleads"), "--help"], capture_output=True, text=True)
    assert result.returncode == 0
    assert "services" in result.stdout and "seed" in result.stdout


def test_bad_usage_exits_non_zero_with_a_message() -> None:
    runner = CliRunner()
    result = runner.invoke(main, ["services", "sideways"])
    assert result.exit_code != 0 and "sideways" in result.output
    result = runner.invoke(main, ["serve", "--port", "99999"])
    assert result.exit_code != 0 and "99999" in result.output


def test_bad_environment_is_a_clear_error() -> None:
    result = CliRunner().invoke(main, ["apikey", "create", "x"], env={"AIQ_ITEM_HOLD_SECONDS": "soon"})
    assert result.exit_code != 0
    assert "AIQ_ITEM_HOLD_SECONDS must be an integer" in result.output


async def test_apikey_create_authorizes_partner_requests(
    settings: Settings, client: httpx.AsyncClient, gql: Any
) -> None:
    env = {**os.environ, "DATABASE_URL": settings.database_url}
    result = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-m", "aiqleads.cli", "apikey", "create", "Acme Realty"],
        capture_output=True,
        text=True,
        env=env,
        check=True,
    )
    secret = result.stdout.strip().splitlines()[-1]
    assert secret.startswith("aiq_") and "Acme Realty" in result.stdout
    ok = await gql("{ plans { tier } }", api_key=secret)
    assert ok["data"]["plans"]
    refused = await client.post(
        "/graphql", json={"query": "{ plans { tier } }"}, headers={"X-API-Key": "aiq_wrong"}
    )
    assert refused.status_code == 401
    assert refused.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
