#!/usr/bin/env bash
# The README's run command: services, migrations, demo data, search index, worker and API.
#
#   ./scripts/run.sh            # API on http://127.0.0.1:8000/graphql (GraphiQL), worker alongside
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
# A local development deployment: development payment provider, development JWT secret.
# Production (the default when AIQ_ENV is unset) refuses to start without real secrets and Stripe.
export AIQ_ENV="${AIQ_ENV:-development}"
HOST="${AIQ_HOST:-127.0.0.1}"
PORT="${AIQ_PORT:-8000}"

bash scripts/bootstrap.sh
.venv/bin/aiqleads services up
.venv/bin/aiqleads migrate
.venv/bin/aiqleads seed --demo
if .venv/bin/aiqleads reindex --help >/dev/null 2>&1; then
    .venv/bin/aiqleads reindex
fi

mkdir -p .services/logs
.venv/bin/aiqleads worker > .services/logs/worker.log 2>&1 &
WORKER_PID=$!
trap 'kill "$WORKER_PID" 2>/dev/null || true' EXIT INT TERM
echo "[run] worker pid $WORKER_PID (log: .services/logs/worker.log)"
echo "[run] GraphiQL: http://$HOST:$PORT/graphql   metrics: http://$HOST:$PORT/metrics"
.venv/bin/aiqleads serve --host "$HOST" --port "$PORT"
