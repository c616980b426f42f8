#!/usr/bin/env bash
# Runs every test ArkRoute has, in stages, and ends with one summary line:
#   setup       scripts/setup.sh (apt and npm packages)
#   build       cmake configure + build of everything in build/ (RelWithDebInfo)
#   ctest       unit and integration tests (ctest -j2)
#   acceptance  the official OpenAI SDK against a real gateway + simulator (tests/acceptance)
#   package     scripts/package_test.sh: build the .deb from the build/ tree, install it, run
#               it, remove it (only as root with CI=true or ARKROUTE_TEST_DEB=1; it installs a
#               system package)
#   asan-*      the same build, ctest and acceptance stages with AddressSanitizer and
#               UndefinedBehaviorSanitizer, in build-asan/, then asan-soak: 20 s of mixed, hostile
#               load on that gateway (tests/bench/soak.sh) (skipped only with ARKROUTE_TEST_FAST=1,
#               and then said so)
# A stage that fails does not stop the others; a stage whose build failed is counted as failed,
# not skipped. Exit status is non-zero when any stage failed. Runs non-interactively (CI=true, no
# stdin). Environment: ARKROUTE_TEST_FAST=1, ARKROUTE_BUILD_DIR (default build),
# ARKROUTE_ASAN_BUILD_DIR (default build-asan).
set -euo pipefail
cd "$(dirname "$0")/.."

BUILD_DIR="${ARKROUTE_BUILD_DIR:-build}"
ASAN_DIR="${ARKROUTE_ASAN_BUILD_DIR:-build-asan}"
FAST="${ARKROUTE_TEST_FAST:-0}"
LOG_DIR="$(mktemp -d /tmp/arkroute-test-XXXXXX)"
trap 'rm -rf "$LOG_DIR"' EXIT

# The package stage installs and purges the .deb: only where the caller said this is CI (or asked
# for it), decided before CI gets its default below.
CALLER_CI="${CI:-}"
export CI="${CI:-true}"
export npm_config_update_notifier=false

PASSED=0
FAILED=0
SUMMARY=()
declare -A OK=()

# stage NAME COMMAND...: runs COMMAND with errexit in a subshell under a header, records the result.
stage() {
  local name="$1"; shift
  local started=$SECONDS rc
  printf '\n==================== %s ====================\n' "$name"
  set +e
  ( set -euo pipefail; "$@" ) </dev/null
  rc=$?
  set -e
  local took=$((SECONDS - started))
  if [ "$rc" -eq 0 ]; then
    PASSED=$((PASSED + 1)); OK[$name]=1
    SUMMARY+=("  ok      $name (${took}s)")
    printf -- '---- %s: ok (%ss)\n' "$name" "$took"
  else
    FAILED=$((FAILED + 1))
    SUMMARY+=("  FAILED  $name (exit $rc, ${took}s)")
    printf -- '---- %s: FAILED (exit %s, %ss)\n' "$name" "$rc" "$took"
  fi
}

# not_run NAME BECAUSE: a stage that cannot run because one it needs failed counts as failed.
not_run() {
  printf '\n==================== %s ====================\n---- %s: FAILED (not run: %s)\n' "$1" "$1" "$2"
  FAILED=$((FAILED + 1))
  SUMMARY+=("  FAILED  $1 (not run: $2)")
}

build() {  # build DIR [cmake options...]
  local dir="$1"; shift
  cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo "$@"
  cmake --build "$dir" -j2
}

run_ctest() {  # run_ctest DIR
  ctest --test-dir "$1" --output-on-failure -j2 --no-tests=error --timeout 600
}

# npm test in tests/acceptance against the binaries of build tree DIR; fails when no test ran.
run_acceptance() {  # run_acceptance DIR
  local log="$LOG_DIR/acceptance-$(basename "$1").log"
  . scripts/node20.sh
  use_node20  # the one setup installed, if the system's is older than 20
  (cd tests/acceptance && ARKROUTE_BUILD_DIR="$1" npm test) 2>&1 | tee "$log"
  local ran
  ran="$(sed -n -E 's/^(# |ℹ )tests ([0-9]+)$/\2/p' "$log" | tail -n1)"
  if [ -z "$ran" ] || [ "$ran" -eq 0 ]; then
    echo "acceptance: no test ran" >&2
    return 1
  fi
}

stage setup ./scripts/setup.sh

if [ -n "${OK[setup]:-}" ]; then stage build build "$BUILD_DIR"; else not_run build "setup failed"; fi
if [ -n "${OK[build]:-}" ]; then
  stage ctest run_ctest "$BUILD_DIR"
  stage acceptance run_acceptance "$BUILD_DIR"
else
  not_run ctest "build failed"
  not_run acceptance "build failed"
fi

if [ "$(id -u)" -eq 0 ] && { [ "$CALLER_CI" = "true" ] || [ "${ARKROUTE_TEST_DEB:-0}" = "1" ]; }; then
  if [ -n "${OK[build]:-}" ]; then
    stage package env ARKROUTE_PACKAGE_FROM="$BUILD_DIR" ./scripts/package_test.sh
  else
    not_run package "build failed"
  fi
else
  printf '\n==================== package ====================\n'
  echo "---- not run: needs root and CI=true or ARKROUTE_TEST_DEB=1 (it installs the .deb)"
  SUMMARY+=("  -       package (not run: needs root and CI=true or ARKROUTE_TEST_DEB=1)")
fi

if [ "$FAST" = "1" ]; then
  printf '\n==================== sanitizers ====================\n'
  echo "---- not run: ARKROUTE_TEST_FAST=1 (unset it to run the AddressSanitizer/UBSan pass)"
  SUMMARY+=("  -       asan-build, asan-ctest, asan-acceptance, asan-soak (not run: ARKROUTE_TEST_FAST=1)")
else
  export ASAN_OPTIONS="detect_leaks=1:abort_on_error=1"
  export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
  if [ -n "${OK[setup]:-}" ]; then
    stage asan-build build "$ASAN_DIR" -DARKROUTE_SANITIZE=ON
  else
    not_run asan-build "setup failed"
  fi
  if [ -n "${OK[asan-build]:-}" ]; then
    stage asan-ctest run_ctest "$ASAN_DIR"
    stage asan-acceptance run_acceptance "$ASAN_DIR"
    stage asan-soak env ARKROUTE_BUILD_DIR="$ASAN_DIR" SOAK_DURATION=20 tests/bench/soak.sh
  else
    not_run asan-ctest "asan-build failed"
    not_run asan-acceptance "asan-build failed"
    not_run asan-soak "asan-build failed"
  fi
fi

printf '\n==================== summary ====================\n'
printf '%s\n' "${SUMMARY[@]}"
echo "test.sh: ${PASSED} passed, ${FAILED} failed"
[ "$FAILED" -eq 0 ]
