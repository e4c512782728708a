"""Production is the default and refuses unsafe settings at start-up, in one clear line."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from click.testing import CliRunner

from aiqleads.app import create_app
from aiqleads.cli import main
from aiqleads.domain.settings import DEVELOPMENT_JWT_SECRET, Settings, UnsafeSettings

STRONG = "k" * 48
STRIPE = {"AIQ_STRIPE_SECRET_KEY": "sk_live_123", "AIQ_STRIPE_WEBHOOK_SECRET": "whsec_123"}


def _env(**values: str | None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AIQ_")}
    env.update({k: v for k, v in values.items() if v is not None})
    return env


def _settings(**values: str | None) -> Settings:
    saved = dict(os.environ)
    try:
        os.environ.clear()
        os.environ.update(_env(**values))
        return Settings.from_env()
    finally:
        os.environ.clear()
        os.environ.update(saved)


def test_production_is_the_default_environment() -> None:
    assert _settings().env == "production"
    assert _settings(AIQ_ENV="development").env == "development"
    with pytest.raises(ValueError, match="AIQ_ENV must be one of"):
        _settings(AIQ_ENV="staging")


@pytest.mark.parametrize(
    ("env", "reason"),
    [
        ({**STRIPE}, "AIQ_JWT_SECRET is not set"),
        ({"AIQ_JWT_SECRET": DEVELOPMENT_JWT_SECRET, **STRIPE}, "is the development value"),
        ({"AIQ_JWT_SECRET": "short-secret", **STRIPE}, "shorter than 32 bytes"),
        ({"AIQ_JWT_SECRET": STRONG}, "no payment provider is configured"),
        (
            {"AIQ_JWT_SECRET": STRONG, "AIQ_PAYMENT_PROVIDER": "development", **STRIPE},
            "only with AIQ_ENV=dev",
        ),
        ({"AIQ_JWT_SECRET": STRONG, "AIQ_STRIPE_SECRET_KEY": "sk_live_1"}, "AIQ_STRIPE_WEBHOOK_SECRET"),
        ({"AIQ_JWT_SECRET": STRONG, **STRIPE, "AIQ_STRIPE_SECRET_KEY": "sk_test_1"}, "test-mode key"),
        ({"AIQ_JWT_SECRET": STRONG, **STRIPE, "AIQ_STRIPE_API_BASE": "http://evil"}, "AIQ_STRIPE_API_BASE"),
    ],
)
def test_each_unsafe_production_setting_is_named(env: dict[str, str], reason: str) -> None:
    settings = _settings(**env)
    with pytest.raises(UnsafeSettings, match=reason):
        settings.check_safe_to_serve()
    with pytest.raises(UnsafeSettings, match=reason):
        create_app(settings)  # also when started as a uvicorn factory directly


def test_safe_production_and_any_development_settings_start() -> None:
    assert _settings(AIQ_JWT_SECRET=STRONG, **STRIPE).unsafe_reasons() == []
    development = _settings(AIQ_ENV="development")
    assert development.unsafe_reasons() == []
    assert development.effective_payment_provider == "development"
    assert _settings(AIQ_JWT_SECRET=STRONG, **STRIPE).effective_payment_provider == "stripe"


@pytest.mark.parametrize("command", [["serve"], ["worker"]])
def test_serve_and_worker_exit_non_zero_with_one_line(command: list[str]) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "aiqleads.cli", *command],
        env=_env(AIQ_JWT_SECRET=DEVELOPMENT_JWT_SECRET, **STRIPE),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2, result
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("aiqleads: refusing to start with AIQ_ENV=production")
    assert "AIQ_JWT_SECRET is the development value" in lines[0]


def test_cli_names_every_reason_at_once() -> None:
    unset: dict[str, str | None] = {k: None for k in os.environ if k.startswith("AIQ_")}
    result = CliRunner().invoke(main, ["worker"], env=unset)
    assert result.exit_code == 2
    assert "AIQ_JWT_SECRET is not set" in result.output
    assert "no payment provider is configured" in result.output


def test_development_serves_only_on_loopback() -> None:
    unset: dict[str, str | None] = {k: None for k in os.environ if k.startswith("AIQ_")}
    result = CliRunner().invoke(main, ["serve", "--host", "0.0.0.0"], env={**unset, "AIQ_ENV": "development"})
    assert result.exit_code == 2
    assert "refusing to serve AIQ_ENV=development on 0.0.0.0" in result.output
