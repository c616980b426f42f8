#!/usr/bin/env bash
# Storing large answers: what the cache adds to a miss, and what a hit read back from disk costs,
# for ~1.4 MB base64 answers one request at a time. Each series sends BENCH_STORE_REQUESTS
# requests, one curl each (curl times the request itself), and reads the CPU time of every thread
# of the gateway's processes around the series:
#   sim direct, ArkRoute with the cache off (references);
#   misses stored by nginx proxy_cache and by ArkRoute (unique prompts), and ArkRoute's /healthz
#   latency while it stores more (its event loops must not wait on the database);
#   ArkRoute restarted: the same prompts again are cold hits (read from RocksDB), then warm hits.
# Loopback only; every series is bounded by its request count. Run by hand (needs a build in
# BUILD_DIR, and nginx, as scripts/bench.sh does).
#
#   BENCH_STORE_REQUESTS=150  requests per series. Keep it under ~190: ArkRoute keeps up to
#                             256 MiB of entries in memory, and warm hits over more than that
#                             cycle through it and are read from disk again.
set -euo pipefail
cd "$(dirname "$0")/../.."
REPO_ROOT="$(pwd)"
BUILD_DIR="${ARKROUTE_BUILD_DIR:-${BUILD_DIR:-$REPO_ROOT/build}}"
REQUESTS="${BENCH_STORE_REQUESTS:-150}"
# shellcheck source=tests/bench/lib.sh
source tests/bench/lib.sh
bench_init
TICK_MS="$(awk -v hz="$(getconf CLK_TCK)" 'BEGIN { print 1000 / hz }')"

# series NAME URL PROMPT_PREFIX PID...: REQUESTS generations with prompts PREFIX-1..N; prints a
# table row (client time p50 and p90, CPU per request of the PIDs, the X-ArkRoute-Cache values
# seen) and fails on any non-200.
series() {
  local name="$1" url="$2" prefix="$3" times="$BENCH_WORK/times-$RANDOM" before after i
  shift 3
  before="$(cpu_ticks all "$@")"
  for i in $(seq 1 "$REQUESTS"); do
    curl -s -o /dev/null -w '%{http_code} %{time_total} %header{x-arkroute-cache}\n' -H 'Content-Type: application/json' \
      -d "{\"model\":\"gpt-image-1\",\"prompt\":\"$prefix-$i\",\"size\":\"1024x1024\"}" "$url"
  done >"$times"
  after="$(cpu_ticks all "$@")"
  if grep -qv '^200 ' "$times"; then
    echo "store_bench: $name: not every answer was a 200:" >&2
    sort "$times" | uniq -c | sort -rn | head -5 >&2
    exit 1
  fi
  local cpu statuses
  cpu="$(awk -v t=$((after - before)) -v ms="$TICK_MS" -v n="$REQUESTS" \
    'BEGIN { printf "%.2f", t * ms / n }')"
  statuses="$(awk '{ print ($3 == "" ? "-" : $3) }' "$times" | sort | uniq -c |
    awk '{ printf "%s%s %d", (NR > 1 ? ", " : ""), $2, $1 }')"
  awk '{ print $2 * 1000 }' "$times" | sort -n | awk -v name="$name" -v n="$REQUESTS" \
    -v cpu="$cpu" -v statuses="$statuses" '{ v[NR] = $1 } END {
      printf "| %s | %.2f ms | %.2f ms | %s ms | %s |\n", name, v[int(n * 0.5)], v[int(n * 0.9)],
        cpu, statuses }'
}

# The gateway's processes: nginx's master and workers, or ArkRoute's one process.
nginx_pids() { echo "$NGINX_PID" $(pgrep -P "$NGINX_PID"); }

start_sim  # the default payload: ~1.4 MB
start_arkroute "$SIM_PORT"
PLAIN_PID="$ARKROUTE_PID" PLAIN_PORT="$ARKROUTE_PORT"
BENCH_ARKROUTE_CACHE=true start_arkroute "$SIM_PORT"
start_nginx "$SIM_PORT" \
  "client_body_buffer_size 64k; proxy_buffers 64 64k;
  proxy_cache_path @DIR@/cache levels=1:2 keys_zone=images:10m max_size=2g inactive=1h;" \
  "proxy_cache images; proxy_cache_methods POST; proxy_cache_valid 200 1h;
      proxy_cache_key \"\$request_uri|\$request_body\";"
path=/v1/images/generations
run="$(date +%s)"

echo "| series (${REQUESTS} requests of ~1.4 MB, one at a time) | p50 | p90 | gateway CPU per request | X-ArkRoute-Cache |"
echo "|---|---:|---:|---:|---|"
series "sim direct (CPU: the simulator's)" "http://127.0.0.1:$SIM_PORT$path" "direct-$run" "$SIM_PID"
series "ArkRoute, cache off" "http://127.0.0.1:$PLAIN_PORT$path" "plain-$run" "$PLAIN_PID"
# shellcheck disable=SC2046
series "nginx proxy_cache, misses" "http://127.0.0.1:$NGINX_PORT$path" "nginx-$run" $(nginx_pids)
series "ArkRoute cache, misses" "http://127.0.0.1:$ARKROUTE_PORT$path" "ark-$run" "$ARKROUTE_PID"

# The event loop while answers are stored: /healthz on the same gateway, one request at a time,
# during another series of misses (a loop that waited on a database write would show here).
wrk -t1 -c1 -d2s --latency "http://127.0.0.1:$ARKROUTE_PORT/healthz" >"$BENCH_WORK/healthz.txt" &
wrk_pid=$!
series "ArkRoute cache, misses, /healthz alongside (CPU includes it)" "http://127.0.0.1:$ARKROUTE_PORT$path" \
  "ark2-$run" "$ARKROUTE_PID"
wait "$wrk_pid"
awk '/Latency  / { max = $4 } / 50% / { p50 = $2 } / 99% / { p99 = $2 }
  END { printf "| /healthz during those misses (wrk -c1, 2 s) | %s | %s (p99) | max %s | |\n", p50, p99, max }' \
  "$BENCH_WORK/healthz.txt"

stop_pid "$ARKROUTE_PID"
dir="$(dirname "$ARKROUTE_CONFIG")"
"$BUILD_DIR/proxy/arkroute" serve --config "$ARKROUTE_CONFIG" >"$dir/arkroute-2.log" 2>&1 &
ARKROUTE_PID=$!
BENCH_PIDS+=("$ARKROUTE_PID")
ARKROUTE_PORT="$(wait_listening "$dir/arkroute-2.log" "$ARKROUTE_PID")"
series "ArkRoute cache, cold hits (after a restart)" "http://127.0.0.1:$ARKROUTE_PORT$path" \
  "ark-$run" "$ARKROUTE_PID"
series "ArkRoute cache, warm hits" "http://127.0.0.1:$ARKROUTE_PORT$path" "ark-$run" "$ARKROUTE_PID"
