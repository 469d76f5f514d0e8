#!/usr/bin/env bash
# Builds Fluent Bit for bench/peer-pilot.bench.ts from a checkout of its public source, as a release build, and
# prints the binary's path (SHIPWATCH_BENCH_FLUENT_BIT_BIN). Does nothing but print the path when it is built.
#
#   SHIPWATCH_BENCH_FLUENT_BIT_BIN=$(bash bench/peers/build-fluent-bit.sh <fluent-bit source folder>) \
#     node --import tsx bench/peer-pilot.bench.ts
#
# Release build: Fluent Bit's CMake default is a debug build, about half as fast. Its bundled SQLite is replaced by
# the system's (FLB_PREFER_SYSTEM_LIB_SQLITE), so a source snapshot without the 9 MB amalgamation builds as well.
# Needs cmake, a C compiler, flex, bison and the headers of libyaml, OpenSSL and SQLite (Debian: flex bison
# libyaml-dev libssl-dev libsqlite3-dev); installs them with apt-get when run as root and they are missing.
set -euo pipefail

SRC="${1:?usage: build-fluent-bit.sh <fluent-bit source folder>}"
SRC="$(cd "$SRC" && pwd)"
VERSION="$(git -C "$SRC" describe --tags 2>/dev/null || echo unknown)"
CACHE="${XDG_CACHE_HOME:-$HOME/.cache}/shipwatch/fluent-bit-${VERSION}"
OUT="$CACHE/fluent-bit"

if [ -x "$OUT" ]; then
  echo "$OUT"
  exit 0
fi
for tool in cmake make cc; do
  command -v "$tool" >/dev/null || { echo "build-fluent-bit: $tool is needed" >&2; exit 1; }
done
if ! command -v flex >/dev/null || ! command -v bison >/dev/null || [ ! -e /usr/include/yaml.h ] || [ ! -e /usr/include/sqlite3.h ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q flex bison libyaml-dev libssl-dev libsqlite3-dev pkg-config >&2
  else
    echo "build-fluent-bit: flex, bison and the libyaml, OpenSSL and SQLite headers are needed" >&2
    exit 1
  fi
fi

mkdir -p "$CACHE/build"
cmake -S "$SRC" -B "$CACHE/build" -DCMAKE_BUILD_TYPE=Release -DFLB_RELEASE=On -DFLB_DEBUG=Off \
  -DFLB_EXAMPLES=Off -DFLB_TESTS_RUNTIME=Off -DFLB_TESTS_INTERNAL=Off -DFLB_SHARED_LIB=Off -DFLB_WASM=Off \
  -DFLB_LUAJIT=Off -DFLB_PREFER_SYSTEM_LIB_SQLITE=On >&2
make -C "$CACHE/build" -j"$(nproc)" fluent-bit-bin >&2
cp "$CACHE/build/bin/fluent-bit" "$OUT.partial"
mv "$OUT.partial" "$OUT"
echo "$OUT"
