"""What importing the app and starting it do: no password hash at import, every client at start-up."""

from __future__ import annotations

import os
import subprocess
import sys

from starlette.applications import Starlette


def test_importing_the_app_computes_no_password_hash() -> None:
    code = (
        "import aiqleads.app, aiqleads.cli, aiqleads.workers.settings\n"
        "from aiqleads.domain.users import service\n"
        "print(len(service._dummy))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=os.environ.copy(), check=True
    )
    assert result.stdout.strip() == "0", result.stdout + result.stderr


def test_the_payment_provider_is_built_with_the_other_clients(app: Starlette) -> None:
    provider = app.state.deps.payments
    assert provider.name == "development"
