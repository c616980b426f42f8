#!/usr/bin/env bash
# Builds the Debian package and proves it installs and runs: cpack -G DEB in a release build tree,
# checks the package's Depends and conffiles, `apt-get install ./arkroute_<version>_<arch>.deb`,
# runs the installed /usr/bin/arkroute --version and `check` on the installed config (with a fake
# credential), then removes (purges) the package again. Needs root: scripts/test.sh runs it only
# as root with CI=true or ARKROUTE_TEST_DEB=1. Environment: ARKROUTE_PACKAGE_BUILD_DIR
# (default build-package), or ARKROUTE_PACKAGE_FROM=DIR to package a tree that is already
# configured and built (scripts/test.sh passes its own build tree, which saves a third build: the
# package's layout, Depends and conffiles do not depend on the build type, and cpack strips it).
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "$(id -u)" -ne 0 ]; then
  echo "package_test: needs root (apt-get install)" >&2
  exit 1
fi
if dpkg-query -W -f='${Status}' arkroute 2>/dev/null | grep -q 'install ok installed'; then
  echo "package_test: an arkroute package is already installed; not touching it" >&2
  exit 1
fi
# An arkroute installed another way (cmake --install) or left by one: installing and purging the
# package would overwrite its files and delete its state (cache, ledger, virtual keys).
for path in /usr/bin/arkroute /etc/arkroute /var/lib/arkroute /var/lib/private/arkroute; do
  if [ -e "$path" ]; then
    echo "package_test: $path exists (an arkroute installed without the package?); not touching it" >&2
    exit 1
  fi
done

dir="${ARKROUTE_PACKAGE_FROM:-${ARKROUTE_PACKAGE_BUILD_DIR:-build-package}}"
version="$(sed -n -E 's/^project\(arkroute VERSION ([0-9.]+).*/\1/p' CMakeLists.txt)"
arch="$(dpkg --print-architecture)"
deb="$dir/arkroute_${version}_${arch}.deb"

if [ -z "${ARKROUTE_PACKAGE_FROM:-}" ]; then
  cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE=Release -DARKROUTE_BUILD_TESTS=OFF >/dev/null
fi
cmake --build "$dir" -j2 --target arkroute
rm -f "$dir"/arkroute_*.deb
(cd "$dir" && cpack -G DEB)
[ -f "$deb" ] || { echo "package_test: $deb was not built" >&2; ls "$dir"; exit 1; }

echo "== package fields"
dpkg-deb --field "$deb" Package Version Architecture Depends
depends="$(dpkg-deb --field "$deb" Depends)"
for lib in libevent libssl3 libsystemd0 libtomlplusplus libsimdjson libxxhash libhttp-parser libh2o-evloop libmimalloc; do
  grep -q "$lib" <<<"$depends" || { echo "package_test: Depends lacks $lib" >&2; exit 1; }
done
dpkg-deb --info "$deb" conffiles | grep -qx "/etc/arkroute/arkroute.toml" ||
  { echo "package_test: /etc/arkroute/arkroute.toml is not a conffile" >&2; exit 1; }
contents="$(dpkg-deb --contents "$deb")"
for path in ./usr/bin/arkroute ./etc/arkroute/arkroute.toml ./usr/lib/systemd/system/arkroute.service \
    ./usr/share/doc/arkroute/README.md; do
  grep -q " ${path}$" <<<"$contents" || grep -q " ${path} " <<<"$contents" ||
    { echo "package_test: $path missing from the package" >&2; exit 1; }
done
if grep -q "arkroute-sim" <<<"$contents"; then
  echo "package_test: the simulator must not be packaged" >&2; exit 1
fi

cleanup() { apt-get purge -y -qq arkroute >/dev/null 2>&1 || true; rm -rf "$creds"; }
creds="$(mktemp -d)"
trap cleanup EXIT

echo "== install"
export DEBIAN_FRONTEND=noninteractive
apt-get install -y -qq "$(realpath "$deb")"
installed="$(/usr/bin/arkroute --version)"
echo "$installed"
[ "$installed" = "arkroute $version" ] || { echo "package_test: wrong version" >&2; exit 1; }
echo "sk-package-test" > "$creds/openai"
CREDENTIALS_DIRECTORY="$creds" /usr/bin/arkroute check --config /etc/arkroute/arkroute.toml
if command -v systemd-analyze >/dev/null 2>&1; then
  systemd-analyze verify --man=no /usr/lib/systemd/system/arkroute.service
fi

echo "== remove"
apt-get purge -y -qq arkroute
[ ! -e /usr/bin/arkroute ] || { echo "package_test: /usr/bin/arkroute left behind" >&2; exit 1; }
[ ! -e /etc/arkroute/arkroute.toml ] || { echo "package_test: config left after purge" >&2; exit 1; }
echo "package_test: ok ($deb)"
