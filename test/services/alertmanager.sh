#!/usr/bin/env bash
# Alertmanager (Debian's package) for the integration tests. Tests start their own process with their own
# configuration (the collector's alarm notifications through /api/v2/alerts); this only makes sure the binary exists
# and prints its path. The package's own service is not needed: it is stopped when the package started it.
set -euo pipefail
SERVICE_NAME=alertmanager
. "$(dirname "$0")/lib.sh"

command -v prometheus-alertmanager >/dev/null 2>&1 || apt_install prometheus-alertmanager
if is_root && command -v systemctl >/dev/null 2>&1 && systemctl is-active --quiet prometheus-alertmanager 2>/dev/null; then
  systemctl stop prometheus-alertmanager || true
fi
say "binary: $(command -v prometheus-alertmanager) ($(prometheus-alertmanager --version 2>&1 | head -n 1))"
