#!/usr/bin/env bash
# The base image the image test builds the Dockerfile on (`--build-arg BASE_IMAGE=...`), made without any image
# registry: a Debian 12 root from debootstrap (minbase, plus what the build stage needs to compile better-sqlite3:
# python3, make, g++, and ca-certificates for npm), with this machine's Node.js 20 copied in (/usr/bin/node, npm,
# npx, and the headers in /usr/include/node so node-gyp needs no download), and this machine's CA bundle
# (/etc/ssl/certs/ca-certificates.crt, named by NODE_EXTRA_CA_CERTS): a build trusts what the machine trusts, a
# TLS-inspecting proxy on the way to the npm registry included.
#
# Built once and reused while its inputs are the same: the script itself, the Node.js and npm versions, the CA
# bundle and the package list are hashed into the label `shipwatch-test.base-inputs`; a different hash rebuilds the image.
# Debian's packages come from SHIPWATCH_TEST_DEBIAN_MIRROR (default: the first Debian archive in this machine's apt
# sources, so the base image is fetched from wherever apt already fetches); the downloaded
# .deb files are kept under the cache folder, so a rebuild downloads only what changed.
set -euo pipefail
SERVICE_NAME=base-image
. "$(dirname "$0")/lib.sh"
service_lock

IMAGE="${SHIPWATCH_TEST_BASE_IMAGE:-shipwatch-test/node-base:bookworm}"
apt_mirror() {
  # deb822 sources first (Debian 12's default), then the one-line format.
  # Missing files and no match are normal here: never let them end the script (set -e, pipefail).
  { grep -hs '^URIs:' /etc/apt/sources.list.d/*.sources || true
    grep -hsE '^deb[[:space:]]' /etc/apt/sources.list /etc/apt/sources.list.d/*.list || true
  } | awk '$1 == "URIs:" {print $2; next} {print $2}' | { grep -v -- '-security' || true; } | sed -n 1p
}
MIRROR="${SHIPWATCH_TEST_DEBIAN_MIRROR:-$(apt_mirror)}"
[ -n "$MIRROR" ] || die "no Debian archive in this machine's apt sources: set SHIPWATCH_TEST_DEBIAN_MIRROR"
SUITE=bookworm
PACKAGES=ca-certificates,python3,make,g++
SOCKET=/var/run/docker.sock
INPUTS_LABEL=shipwatch-test.base-inputs
# What of the machine's Node.js goes into the image (paths relative to /).
NODE_PATHS=(usr/bin/node usr/bin/npm usr/bin/npx usr/lib/node_modules/npm usr/include/node)
CA_BUNDLE=/etc/ssl/certs/ca-certificates.crt

# test/deploy/manifests.test.ts reads the deployment examples' YAML through PyYAML.
if is_root; then apt_install python3-yaml; fi

command -v node >/dev/null 2>&1 || die "node is not installed on this machine (the image copies it)"
node_major="$(node -p 'process.versions.node.split(".")[0]')"
[ "$node_major" = 20 ] || die "this machine's Node.js is $(node --version); the image needs Node.js 20"
[ -f /usr/include/node/node_api.h ] || die "/usr/include/node is missing (the Node.js headers; node-gyp needs them)"
[ -f "$CA_BUNDLE" ] || die "$CA_BUNDLE is missing (install ca-certificates)"
for path in "${NODE_PATHS[@]}"; do
  [ -e "/$path" ] || die "/$path is missing (expected from the Node.js 20 install)"
done

inputs="$(
  {
    cat "$0"
    echo "$SUITE $PACKAGES $MIRROR"
    node --version
    npm --version 2>/dev/null
    cat "$CA_BUNDLE"
  } | sha256sum | cut -c1-16
)"

engine_answers() { curl -fsS --max-time 2 --unix-socket "$SOCKET" http://localhost/_ping >/dev/null 2>&1; }

current_inputs() {
  docker image inspect --format "{{ index .Config.Labels \"$INPUTS_LABEL\" }}" "$IMAGE" 2>/dev/null || true
}

# docker.sh may still be starting the engine (the scripts run side by side).
wait_until 120 engine_answers || die "the Docker engine does not answer on $SOCKET (test/services/docker.sh starts it)"
if [ "$(current_inputs)" = "$inputs" ]; then
  say "image $IMAGE present (inputs $inputs)"
  exit 0
fi

if ! is_root; then
  # Only the image test needs it; it says so when the image is missing. The other tests can still run.
  say "image $IMAGE missing or stale, and only root can debootstrap: not built (test/deploy/image.test.ts will fail)"
  exit 0
fi
command -v debootstrap >/dev/null 2>&1 || apt_install debootstrap
started=$SECONDS
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
root="$work/root"
debs="$SHIPWATCH_TEST_CACHE/debootstrap-$SUITE"
mkdir -p "$root" "$debs" "$SHIPWATCH_TEST_LOGS"
log="$SHIPWATCH_TEST_LOGS/base-image-debootstrap.log"
say "debootstrap $SUITE (minbase + $PACKAGES) from $MIRROR (log: $log)"
if ! debootstrap --variant=minbase --include="$PACKAGES" --cache-dir="$debs" "$SUITE" "$root" "$MIRROR" >"$log" 2>&1 8>&-; then
  tail -n 20 "$log" >&2
  die "debootstrap failed (log: $log)"
fi

say "adding Node.js $(node --version) and npm $(npm --version 2>/dev/null) from this machine"
tar -C / -cf - "${NODE_PATHS[@]}" | tar -C "$root" -xf -
cp "$CA_BUNDLE" "$root$CA_BUNDLE"
chroot "$root" /usr/bin/node -e 'process.exit(0)' || die "node does not run inside the new root"
chroot "$root" /usr/bin/npm --version >/dev/null || die "npm does not run inside the new root"

# What an image does not need: downloaded packages and package lists (apt-get update brings them back).
rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/* "$root"/tmp/* "$root"/var/log/*.log

previous="$(docker image inspect --format '{{.Id}}' "$IMAGE" 2>/dev/null || true)"
tar --numeric-owner -C "$root" -cf - . |
  docker import \
    --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change "ENV NODE_EXTRA_CA_CERTS=$CA_BUNDLE" \
    --change "LABEL $INPUTS_LABEL=$inputs" \
    --change 'CMD ["node"]' \
    --message "shipwatch test base image: Debian $SUITE minbase, Node.js $(node --version)" - "$IMAGE" >/dev/null
# The stale image, now nameless; images built on it keep it (docker refuses), which is fine.
[ -n "$previous" ] && docker rmi "$previous" >/dev/null 2>&1 || true
say "built image $IMAGE in $((SECONDS - started)) s (inputs $inputs)"
