#!/usr/bin/env bash
# Installs every apt package ArkRoute needs to build, test and benchmark, and the npm packages the
# acceptance tests use (with Node.js 20 where the system's is older: scripts/node20.sh).
# Idempotent: quiet when nothing is missing. Runs as root (or via sudo).
set -euo pipefail
cd "$(dirname "$0")/.."

APT_PACKAGES=(
  g++ cmake pkg-config clang-format
  libevent-dev libssl-dev librocksdb-dev libxxhash-dev libsimdjson-dev libtomlplusplus-dev
  libgtest-dev libgmock-dev libbenchmark-dev libsystemd-dev libmimalloc-dev
  nginx-light wrk jq openssl curl ca-certificates nlohmann-json3-dev zlib1g-dev libhttp-parser-dev
  libh2o-evloop-dev
  systemd dpkg-dev prometheus
)
# prometheus is here for /usr/bin/promtool (`promtool check metrics` validates GET /metrics in the
# tests); ~19 MB download, ~96 MB installed. The server it also ships is never left running.

missing=()
for pkg in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || missing+=("$pkg")
done

# Node.js may come from Debian (nodejs + npm) or from NodeSource (nodejs bundles npm): test commands.
command -v node >/dev/null 2>&1 || missing+=(nodejs)
command -v npm >/dev/null 2>&1 || missing+=(npm)

if [ ${#missing[@]} -gt 0 ]; then
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  echo "setup: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  # nginx is a test reference only: never leave a system nginx running on port 80.
  # Likewise prometheus: only promtool is wanted.
  if command -v systemctl >/dev/null 2>&1; then
    $SUDO systemctl disable --now nginx >/dev/null 2>&1 || true
    $SUDO systemctl disable --now prometheus >/dev/null 2>&1 || true
  fi
fi

# npm packages for acceptance tests and benchmarks live in tests/acceptance/node_modules, and need
# Node.js 20 or newer (scripts/node20.sh).
if [ "${ARKROUTE_SKIP_NPM:-0}" != "1" ] && [ -f tests/acceptance/package.json ]; then
  . scripts/node20.sh
  use_node20
  if [ ! -d tests/acceptance/node_modules ] ||
     [ tests/acceptance/package-lock.json -nt tests/acceptance/node_modules/.package-lock.json ]; then
    echo "setup: installing npm packages for tests/acceptance"
    (cd tests/acceptance && npm ci --no-audit --no-fund --loglevel=error)
  fi
fi
