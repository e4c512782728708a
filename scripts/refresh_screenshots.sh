#!/usr/bin/env bash
# Refresh the README's picture of the cart with live timers (docs/cart.png): run the browser test
# that walks the cart (through the test command, so everything it needs is installed and running),
# then copy the screenshot it took of the cart with both countdowns running.
#
#   ./scripts/refresh_screenshots.sh
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
export AIQ_TEST_OUTPUT="${AIQ_TEST_OUTPUT:-$ROOT/test-output}"
rm -f "$AIQ_TEST_OUTPUT"/browser/cart-*.png
./scripts/test.sh tests/test_web_browser.py -k test_cart_timers_expiry_and_checkout -q
shot="$AIQ_TEST_OUTPUT/browser/cart-02-cart-with-live-timers.png"
mkdir -p docs
cp "$shot" docs/cart.png
echo "[screenshots] docs/cart.png ← $shot"
