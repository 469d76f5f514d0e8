#!/usr/bin/env bash
# The Docker engine for the integration tests, and the test image shipwatch-test/busybox:latest.
# Installs docker.io when dockerd is missing, starts dockerd in the background when the socket does not answer,
# waits for it, puts it in swarm mode (a single-node swarm, for the auto scaling tests) when it is in none, and
# builds the image (from Debian's busybox-static) when it is missing. Idempotent.
set -euo pipefail
SERVICE_NAME=docker
. "$(dirname "$0")/lib.sh"
service_lock

SOCKET=/var/run/docker.sock
IMAGE="${SHIPWATCH_TEST_IMAGE:-shipwatch-test/busybox:latest}"
DOCKERD_LOG="$SHIPWATCH_TEST_LOGS/dockerd.log"

engine_answers() { curl -fsS --max-time 2 --unix-socket "$SOCKET" http://localhost/_ping >/dev/null 2>&1; }

if ! command -v dockerd >/dev/null 2>&1 || ! command -v docker >/dev/null 2>&1; then
  apt_install docker.io
fi

if engine_answers; then
  say "engine already answers on $SOCKET"
else
  need_root "starting dockerd"
  mkdir -p "$SHIPWATCH_TEST_LOGS"
  say "starting dockerd (log: $DOCKERD_LOG)"
  # A socket left by a dead engine would make the new one fail to bind.
  [ -S "$SOCKET" ] && rm -f "$SOCKET"
  setsid nohup dockerd >>"$DOCKERD_LOG" 2>&1 </dev/null 8>&- &
  if ! wait_until 60 engine_answers; then
    tail -n 30 "$DOCKERD_LOG" >&2 || true
    die "dockerd did not answer on $SOCKET within 60 s (log: $DOCKERD_LOG)"
  fi
  say "dockerd is up"
fi

# Auto scaling acts on swarm services, so the engine must be a manager. A one-node swarm advertised on the loopback
# address needs no other host and publishes no port; containers started outside it are not touched.
swarm_state="$(docker info --format '{{.Swarm.LocalNodeState}}/{{.Swarm.ControlAvailable}}')"
case "$swarm_state" in
  active/true) say "engine is a swarm manager" ;;
  inactive/*)
    need_root "docker swarm init"
    docker swarm init --advertise-addr 127.0.0.1 >/dev/null || die "docker swarm init failed"
    say "swarm initialised (one node, advertised on 127.0.0.1)"
    ;;
  *) die "the engine's swarm state is $swarm_state: it must be a swarm manager, or in no swarm (then it becomes one)" ;;
esac

if docker image inspect "$IMAGE" >/dev/null 2>&1; then
  say "image $IMAGE present"
else
  # A static busybox is the whole image: no registry is needed, the tests get a shell and the usual tools.
  if ! dpkg-query -W -f='${Status}' busybox-static 2>/dev/null | grep -q 'install ok installed'; then
    apt_install busybox-static
  fi
  root="$(mktemp -d)"
  trap 'rm -rf "$root"' EXIT
  mkdir -p "$root"/{bin,sbin,usr/bin,usr/sbin,etc,tmp,var/log,var/tmp,root,home,proc,sys,dev,run}
  chmod 1777 "$root/tmp" "$root/var/tmp"
  cp /bin/busybox "$root/bin/busybox"
  for applet in $("$root/bin/busybox" --list); do
    [ "$applet" = busybox ] || ln -sf busybox "$root/bin/$applet"
  done
  printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/home:/bin/false\n' >"$root/etc/passwd"
  printf 'root:x:0:\nnogroup:x:65534:\n' >"$root/etc/group"
  tar --numeric-owner --owner=0 --group=0 -C "$root" -cf - . |
    docker import --change 'CMD ["/bin/sh"]' --change 'ENV PATH=/bin:/sbin:/usr/bin:/usr/sbin' \
      --message 'shipwatch test image (busybox-static)' - "$IMAGE" >/dev/null
  say "built image $IMAGE from busybox-static ($("$root/bin/busybox" --list | wc -l) applets)"
fi
