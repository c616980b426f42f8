#!/usr/bin/env bash
# Cache hits of large images as JSON, as streams and through MCP: the same kind of stored answer
# (the simulator's ~1.4 MB image) served BENCH_HITS times each way, one request at a time, to a
# one-worker gateway. A stream hit is the stored answer rewritten as SSE events on the worker's
# loop, an MCP hit the answer wrapped in a JSON-RPC result, so the difference from a JSON hit is
# what that rewriting costs. Loopback only, bounded by its request count.
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

# times BODY [URL CURL_ARGS...]: one miss to store it, then HITS hits; prints "median max" of the
# hits in ms. Each must be a HIT: the x-arkroute-cache header says so, or for MCP (no such
# header) the result, which is kept in memory (/dev/shm) to be read.
times() {
  local body="$1" url="${2:-$URL}" answer=/dev/null i
  shift 2 || shift 1
  [ "$url" = "$MCP" ] && answer="$(mktemp -p /dev/shm arkroute-bench-XXXXXX)"
  curl -s -o /dev/null -H 'Content-Type: application/json' "$@" -d "$body" "$url"
  for i in $(seq 1 "$HITS"); do
    curl -s -o "$answer" -w '%{time_total} %header{x-arkroute-cache}' \
      -H 'Content-Type: application/json' "$@" -d "$body" "$url"
    if [ "$answer" != /dev/null ] && grep -q '"cache":"HIT"' "$answer"; then echo " HIT"; else echo; fi
  done | python3 -c '
import statistics, sys
rows = [line.split() for line in sys.stdin]
assert all(row[1:] and row[1] == "HIT" for row in rows), rows
ms = sorted(float(row[0]) * 1000 for row in rows)
print(f"{statistics.median(ms):.2f} {ms[-1]:.2f}")'
  if [ "$answer" != /dev/null ]; then rm -f "$answer"; fi
}

# An MCP session for generate_image.
MCP="http://127.0.0.1:$ARKROUTE_PORT/mcp"
SESSION="$(curl -s -D - -o /dev/null -H 'Content-Type: application/json' \
  -H 'Accept: application/json, text/event-stream' \
  -d '{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"bench","version":"1"}}}' \
  "$MCP" | tr -d '\r' | awk -F': ' 'tolower($1) == "mcp-session-id" {print $2}')"
MCP_HEADERS=(-H 'Accept: application/json, text/event-stream' -H "Mcp-Session-Id: $SESSION"
  -H 'MCP-Protocol-Version: 2025-11-25')
curl -s -o /dev/null -H 'Content-Type: application/json' "${MCP_HEADERS[@]}" \
  -d '{"jsonrpc":"2.0","method":"notifications/initialized"}' "$MCP"

read -r json_median json_max < <(times '{"model":"gpt-image-1","prompt":"a hit as json"}')
read -r sse_median sse_max < <(times '{"model":"gpt-image-1","prompt":"a hit as a stream","stream":true}')
read -r mcp_median mcp_max < <(times '{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"generate_image","arguments":{"prompt":"a hit through mcp","model":"gpt-image-1"}}}' "$MCP" "${MCP_HEADERS[@]}")
echo "| ~1.4 MB image, $HITS hits each | median | max |"
echo "|---|---:|---:|"
echo "| JSON hit | $json_median ms | $json_max ms |"
echo "| stream hit (SSE replay) | $sse_median ms | $sse_max ms |"
echo "| MCP generate_image hit (JSON-RPC result) | $mcp_median ms | $mcp_max ms |"
