"""An installed wheel migrates a fresh database from outside the checkout (migrations ship in the package).

The wheel is built from a copy of the package's sources, installed with ``pip install --target`` into
a temporary folder, and run from a folder outside the repository with ``PYTHONPATH`` naming that
folder and the virtualenv's site-packages only. ``python -S`` keeps the site module from running
the checkout's editable-install hook (a ``.pth`` file in site-packages), so nothing can be imported
from the checkout; the test checks that too, from the process's own module paths. pip builds the wheel
as ``pip install .`` would, in an isolated build environment (setuptools and wheel from the index).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
import uuid
from collections.abc import Iterator
from pathlib import Path

import asyncpg
import pytest
from aiqtest_support.database import BASE, app_url, asyncpg_dsn, drop_database, owner_url, run_off_loop
from alembic.script import ScriptDirectory

from aiqleads.cli import alembic_config

REPO = Path(__file__).resolve().parents[1]
# what setup.py packages: the package folders and the files the build reads
SOURCES = ("setup.py", "pyproject.toml", "README.md")
PACKAGE_FOLDERS = ("aiqleads", "schema", "resolvers", "domain", "workers", "migrations", "devtools")

PROBE = """
import json, sys
import aiqleads, aiqleads.cli, aiqleads.migrations, aiqleads.domain.models
files = {name: getattr(module, "__file__", None) for name, module in sys.modules.items()
         if name == "aiqleads" or name.startswith(("aiqleads.", "aiqleads_dev"))}
editable = [name for name in sys.modules if name.startswith("__editable__")]
print(json.dumps({"aiqleads": aiqleads.__file__, "path": sys.path, "files": files, "editable": editable}))
"""


def _run(
    command: list[str], cwd: Path | None = None, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        command, cwd=cwd, env=env, capture_output=True, text=True, timeout=600, check=False
    )
    assert result.returncode == 0, f"{command}\n{result.stdout}\n{result.stderr}"
    return result


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The package built as a wheel and installed into a private target folder."""
    root = tmp_path_factory.mktemp("installed")
    source = root / "source"
    source.mkdir()
    for name in SOURCES:
        shutil.copy2(REPO / name, source / name)
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info")
    for folder in PACKAGE_FOLDERS:
        shutil.copytree(REPO / folder, source / folder, ignore=ignore)
    pip = [sys.executable, "-m", "pip", "--quiet"]
    wheels = root / "wheels"
    _run([*pip, "wheel", "--no-deps", "--wheel-dir", str(wheels), str(source)])
    (wheel,) = wheels.glob("aiqleads-*.whl")
    target = root / "target"
    _run([*pip, "install", "--no-deps", "--target", str(target), str(wheel)])
    return target


@pytest.fixture
def fresh_database() -> Iterator[tuple[str, str]]:
    """An empty database on the test server (no migrations): (its name, the owner's URL of it)."""
    name = f"aiq_wheel_{os.getpid()}_{uuid.uuid4().hex[:8]}"

    async def create() -> None:
        conn = await asyncpg.connect(asyncpg_dsn(owner_url(BASE)))
        try:
            await conn.execute(f'CREATE DATABASE "{name}"')
        finally:
            await conn.close()

    run_off_loop(create())
    try:
        yield name, owner_url(BASE, name)
    finally:
        run_off_loop(drop_database(BASE, name))


def _outside_env(target: Path, owner: str) -> dict[str, str]:
    site_packages = sysconfig.get_paths()["purelib"]
    env = {key: value for key, value in os.environ.items() if not key.startswith("PYTHON")}
    env.update(
        PYTHONPATH=os.pathsep.join([str(target), site_packages]),
        PYTHONNOUSERSITE="1",
        AIQ_ENV="development",
        DATABASE_URL=app_url(owner),  # the API's least-privilege role, granted by migrate
        AIQ_MIGRATION_DATABASE_URL=owner,
    )
    return env


def test_an_installed_wheel_migrates_a_fresh_database_outside_the_checkout(
    installed: Path, fresh_database: tuple[str, str], tmp_path: Path
) -> None:
    _, owner = fresh_database
    env = _outside_env(installed, owner)
    python = [sys.executable, "-S"]

    probe = json.loads(_run([*python, "-c", PROBE], cwd=tmp_path, env=env).stdout)
    assert Path(probe["aiqleads"]).is_relative_to(installed), probe["aiqleads"]
    venv = Path(sys.prefix).resolve()  # the virtualenv may live in the checkout; its site-packages is allowed
    checkout = [e for e in probe["path"] if e and Path(e).resolve().is_relative_to(REPO)]
    assert all(Path(e).resolve().is_relative_to(venv) for e in checkout), checkout
    assert not probe["editable"], probe["editable"]  # the checkout's editable-install finder never ran
    outside = {
        name: file for name, file in probe["files"].items() if not Path(file).is_relative_to(installed)
    }
    assert not outside, outside

    done = _run([*python, "-m", "aiqleads.cli", "migrate"], cwd=tmp_path, env=env)
    assert "database at revision head" in done.stdout

    head = ScriptDirectory.from_config(alembic_config()).get_current_head()  # the checkout's migrations

    async def state() -> tuple[str | None, int]:
        owner_conn = await asyncpg.connect(asyncpg_dsn(owner))
        try:
            revision = await owner_conn.fetchval("SELECT version_num FROM alembic_version")
        finally:
            await owner_conn.close()
        app_conn = await asyncpg.connect(asyncpg_dsn(app_url(owner)))
        try:  # the grant reached the application role
            leads = await app_conn.fetchval("SELECT count(*) FROM leads")
        finally:
            await app_conn.close()
        return revision, leads

    revision, leads = run_off_loop(state())
    assert revision == head
    assert leads == 0
