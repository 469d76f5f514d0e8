#!/usr/bin/env bash
# Prometheus (Debian's package) for the integration tests. Tests start their own prometheus process with their
# own configuration (test/helpers/prometheus.ts); this only makes sure the binary exists and prints its path.
set -euo pipefail
SERVICE_NAME=prometheus
. "$(dirname "$0")/lib.sh"

command -v prometheus >/dev/null 2>&1 || apt_install prometheus
say "binary: $(command -v prometheus) ($(prometheus --version 2>&1 | head -n 1))"
