#!/usr/bin/env bash
# Builds the reference Jaeger 2.x binary the parity goldens were recorded with, from its public source on the Go
# module proxy, and prints its path. Does nothing but print the path when the binary is already built.
#
#   SHIPWATCH_TEST_JAEGER_BIN=$(bash test/jaeger-parity/build-jaeger.sh) npm test
#
# The module github.com/jaegertracing/jaeger v1.x carries the 2.x binary (cmd/jaeger). `go install pkg@version`
# refuses it (its go.mod has replace directives), so it is built from a throwaway module that requires it as a tool.
set -euo pipefail

VERSION="${JAEGER_VERSION:-v1.75.0}"
CACHE="${XDG_CACHE_HOME:-$HOME/.cache}/shipwatch/jaeger-${VERSION}"
OUT="$CACHE/jaeger"

if [ -x "$OUT" ]; then
  echo "$OUT"
  exit 0
fi
command -v go >/dev/null || { echo "build-jaeger: the Go toolchain (go) is needed" >&2; exit 1; }

mkdir -p "$CACHE"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
(
  cd "$WORK"
  go mod init shipwatch.local/jaeger-build >/dev/null 2>&1
  go get -tool "github.com/jaegertracing/jaeger/cmd/jaeger@${VERSION}" >&2
  go build -o "$OUT.partial" github.com/jaegertracing/jaeger/cmd/jaeger >&2
)
mv "$OUT.partial" "$OUT"
echo "$OUT"
