# Shared by the service scripts of the test set-up (sourced, not run).
# Everything they install or keep lives outside the repository: caches under SHIPWATCH_TEST_CACHE
# (default /opt/shipwatch-test), logs under SHIPWATCH_TEST_LOGS (default /var/log/shipwatch-test).

SHIPWATCH_TEST_CACHE="${SHIPWATCH_TEST_CACHE:-/opt/shipwatch-test}"
SHIPWATCH_TEST_LOGS="${SHIPWATCH_TEST_LOGS:-/var/log/shipwatch-test}"
SERVICE_NAME="${SERVICE_NAME:-service}"

say() { printf '[%s] %s\n' "$SERVICE_NAME" "$*"; }
die() { printf '[%s] error: %s\n' "$SERVICE_NAME" "$*" >&2; exit 1; }

is_root() { [ "$(id -u)" = 0 ]; }

need_root() {
  is_root || die "$1 needs root (run the test set-up as root, or install and start it yourself)"
}

# service_lock: one run of this service's script at a time (several test runs may start it at once). The lock
# is held on fd 8 until the script exits, so every daemon a script starts must be started with `8>&-`.
service_lock() {
  is_root || return 0
  exec 8>"/var/lock/shipwatch-test-$SERVICE_NAME.lock"
  flock -w 600 8 || die "another run of the $SERVICE_NAME script held its lock for 10 minutes"
}

# apt_install <package>...: installs what is missing. `apt-get update` runs only when a package is unknown
# to the local lists (a fresh machine). Several scripts may run at once, so apt is serialised with a lock.
apt_install() {
  local missing=() pkg
  for pkg in "$@"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || missing+=("$pkg")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  need_root "installing ${missing[*]}"
  say "installing ${missing[*]} (apt)"
  (
    flock 9
    export DEBIAN_FRONTEND=noninteractive
    for pkg in "${missing[@]}"; do
      if ! apt-cache show "$pkg" >/dev/null 2>&1; then
        say "apt-get update (the package lists do not know $pkg)"
        apt-get update -qq
        break
      fi
    done
    # The packages' own services (victoria-metrics, prometheus) must not start: the scripts start what the
    # tests need, where they need it. policy-rc.d is how Debian says so to a package's install scripts.
    local policy=/usr/sbin/policy-rc.d own_policy=
    if [ ! -e "$policy" ]; then
      printf '#!/bin/sh\nexit 101\n' >"$policy" && chmod +x "$policy" && own_policy=1
    fi
    local status=0
    install() { apt-get install -y -qq --no-install-recommends -o DPkg::Lock::Timeout=300 "${missing[@]}" >/dev/null; }
    # Stale lists name files the mirror no longer has: refresh once and retry.
    install || { say "apt-get install failed; apt-get update and retry"; apt-get update -qq && install; } || status=$?
    [ -n "$own_policy" ] && rm -f "$policy"
    exit "$status"
  ) 9>/var/lock/shipwatch-test-apt.lock || die "apt-get install ${missing[*]} failed"
}

# wait_until <seconds> <command...>: polls the command every half second; fails when time is up.
wait_until() {
  local seconds="$1"
  shift
  local deadline=$((SECONDS + seconds))
  until "$@" >/dev/null 2>&1; do
    [ "$SECONDS" -ge "$deadline" ] && return 1
    sleep 0.5
  done
  return 0
}

command -v curl >/dev/null 2>&1 || apt_install curl ca-certificates

http_ok() { curl -fsS --max-time 2 "$1" >/dev/null 2>&1; }
