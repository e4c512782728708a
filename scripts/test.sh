#!/usr/bin/env bash
# The README's test command: install what is missing, start the real services, check, test.
#
#   ./scripts/test.sh [pytest args...]
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
# Tests run the development deployment (development payment provider); production is the default
# everywhere else and is covered by its own start-up tests.
export AIQ_ENV=development
# The environment may set PYTHONDONTWRITEBYTECODE=1; then every run compiles our ~300 sources (and
# pytest re-rewrites every test module) from scratch, seconds of each run. Bytecode goes to the
# git-ignored __pycache__ folders, where later runs (a plain `pytest -m unit` too) read it.
unset PYTHONDONTWRITEBYTECODE

bash scripts/bootstrap.sh
# the Node.js the bootstrap installed when the machine had none new enough (web/ checks below)
if [ -x .venv/node/bin/node ]; then export PATH="$ROOT/.venv/node/bin:$PATH"; fi
.venv/bin/aiqleads services up

echo "[test] migrate the development database and check models against migrations"
.venv/bin/aiqleads migrate >/dev/null
.venv/bin/alembic -c migrations/alembic.ini check

echo "[test] schema SDL, lint and types"
.venv/bin/aiqleads export-schema --check
.venv/bin/ruff check .
.venv/bin/ruff format --check .
.venv/bin/python scripts/static_checks.py

echo "[test] web app: generated operations match the SDL, TypeScript, Vitest"
npm --prefix web run --silent check

echo "[test] pytest"
exec .venv/bin/pytest -p no:cacheprovider "$@"
