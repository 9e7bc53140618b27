#!/bin/sh
# Browser tests: flightdeck's web UI in Debian's chromium, driven by playwright-core.
# Called by `make browser` with FLIGHTDECK_BIN set to the server binary. Never downloads a browser.
set -eu
cd "$(dirname "$0")"

if [ -z "${FLIGHTDECK_BIN:-}" ]; then
    echo "tests/browser: FLIGHTDECK_BIN is not set (make browser sets it)" >&2
    exit 2
fi
if [ ! -x /usr/bin/chromium ] && [ -z "${CHROMIUM:-}" ]; then
    echo "tests/browser: /usr/bin/chromium is missing (apt-get install chromium)" >&2
    exit 2
fi
if [ ! -d node_modules/playwright-core ]; then
    # The lock file pins playwright-core; the browser it would download is never used.
    PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund
fi
mkdir -p artifacts
# One test file at a time: each starts its own server and browser on a 2-core machine.
exec node --test --test-concurrency=1 ./*.test.mjs
