#!/usr/bin/env bash
# Cache hits of large images as JSON and as streams: the same stored answer (the simulator's
# ~1.4 MB image) served BENCH_HITS times each way, one request at a time, to a one-worker gateway.
# A stream hit is the stored answer rewritten as SSE events on the worker's loop, so the difference
# between the two columns is what that rewriting costs. Loopback only, bounded by its request count.
# Run by hand (needs a build in BUILD_DIR, as scripts/bench.sh does).
#
#   BENCH_HITS=30   hits per row
set -euo pipefail
cd "$(dirname "$0")/../.."
REPO_ROOT="$(pwd)"
BUILD_DIR="${ARKROUTE_BUILD_DIR:-${BUILD_DIR:-$REPO_ROOT/build}}"
HITS="${BENCH_HITS:-30}"
# shellcheck source=tests/bench/lib.sh
source "$REPO_ROOT/tests/bench/lib.sh"
bench_init

start_sim
BENCH_ARKROUTE_WORKERS=1 BENCH_ARKROUTE_CACHE=true start_arkroute "$SIM_PORT"
URL="http://127.0.0.1:$ARKROUTE_PORT/v1/images/generations"

# times BODY: one miss to store it, then HITS hits; prints "median max" of the hits in ms.
times() {
  local body="$1" i
  curl -s -o /dev/null -H 'Content-Type: application/json' -d "$body" "$URL"
  for i in $(seq 1 "$HITS"); do
    curl -s -o /dev/null -w '%{time_total} %header{x-arkroute-cache}\n' \
      -H 'Content-Type: application/json' -d "$body" "$URL"
  done | python3 -c '
import statistics, sys
rows = [line.split() for line in sys.stdin]
assert all(row[1] == "HIT" for row in rows), rows
ms = sorted(float(row[0]) * 1000 for row in rows)
print(f"{statistics.median(ms):.2f} {ms[-1]:.2f}")'
}

read -r json_median json_max < <(times '{"model":"gpt-image-1","prompt":"a hit as json"}')
read -r sse_median sse_max < <(times '{"model":"gpt-image-1","prompt":"a hit as a stream","stream":true}')
echo "| ~1.4 MB image, $HITS hits each | median | max |"
echo "|---|---:|---:|"
echo "| JSON hit | $json_median ms | $json_max ms |"
echo "| stream hit (SSE replay) | $sse_median ms | $sse_max ms |"
