#!/usr/bin/env bash
# Chromium (Debian's package) for the web UI's real-browser test (test/query/ui-browser.test.ts), which runs it
# headless with --dump-dom / --screenshot against a query server on loopback. This only makes sure the binary
# exists and prints its path; no daemon is started.
set -euo pipefail
SERVICE_NAME=chromium
. "$(dirname "$0")/lib.sh"

if ! command -v chromium >/dev/null 2>&1; then
  started=$SECONDS
  apt_install chromium
  say "installed in $((SECONDS - started)) s"
fi
say "binary: $(command -v chromium) ($(chromium --version 2>/dev/null | head -n 1))"
