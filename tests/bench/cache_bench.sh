#!/usr/bin/env bash
# Cache benchmarks, in one run on this machine: (1) cache-hit throughput and latency of ArkRoute
# against nginx proxy_cache serving the same request and response (POST cached with the request
# body in the key), for a ~1 KB and a ~1.5 MB response at concurrency 1 and 64; (2) coalescing:
# 200 concurrent identical requests to a simulator with 5 s latency, counting the upstream calls
# ArkRoute and nginx (default proxy_cache_lock settings) make. Appends Markdown to
# tests/bench/out/results.md. Run by scripts/bench.sh (or alone: needs a build in BUILD_DIR).
set -euo pipefail
cd "$(dirname "$0")/../.."
BUILD_DIR="${ARKROUTE_BUILD_DIR:-build}"
DURATION="${BENCH_DURATION:-10}"
CONCURRENCY="${BENCH_CONCURRENCY:-1 64}"
OUT_DIR="tests/bench/out"
# shellcheck source=lib.sh
source tests/bench/lib.sh
bench_init
mkdir -p "$OUT_DIR"

# start_nginx_cache SIM_PORT: nginx proxy_cache for POST, keyed on the upstream, URI and body.
start_nginx_cache() {
  start_nginx "$1" \
    "client_body_buffer_size 64k; proxy_buffers 64 64k;
  proxy_cache_path @DIR@/cache levels=1:2 keys_zone=images:10m max_size=1g inactive=1h;" \
    "proxy_cache images; proxy_cache_methods POST; proxy_cache_valid 200 1h; proxy_cache_lock on;
      proxy_cache_key \"127.0.0.1:$1|\$request_uri|\$request_body\";
      add_header X-Cache \$upstream_cache_status;"
}

sim_requests() {  # upstream image calls the simulator has seen
  curl -s "http://127.0.0.1:$1/_sim/stats" | jq '.requests["/v1/images/generations"] // 0'
}

table="| target | payload | conc | hit req/s | p50 | p99 | ratio vs nginx proxy_cache |
|---|---|---:|---:|---:|---:|---:|"
COMMANDS=()
for payload in small large; do
  body="$BENCH_WORK/cache-body-$payload.json"
  printf '{"model":"gpt-image-1","prompt":"cached lighthouse %s","size":"1024x1024"}' "$payload" >"$body"
  sim_args=()
  [ "$payload" = small ] && sim_args=(--payload-bytes 700)
  start_sim "${sim_args[@]}"
  BENCH_ARKROUTE_CACHE=true start_arkroute "$SIM_PORT"
  start_nginx_cache "$SIM_PORT"
  declare -A rps=() p50=() p99=()
  for target in nginx arkroute; do
    port_var="${target^^}_PORT"
    url="http://127.0.0.1:${!port_var}/v1/images/generations"
    check_target "$url" "$body"  # the miss that fills the cache
    check_target "$url" "$body"
    for conc in $CONCURRENCY; do
      run_wrk "$url" "$body" "$conc" 1
      run_wrk "$url" "$body" "$conc" "$DURATION"
      COMMANDS+=("$target cache-hit $payload c=$conc: $WRK_CMD")
      rps[$target$conc]="$WRK_RPS"; p50[$target$conc]="$WRK_P50"; p99[$target$conc]="$WRK_P99"
      echo "bench: cache-hit $target $payload c=$conc $WRK_RPS req/s p50 $WRK_P50 ms p99 $WRK_P99 ms errors $WRK_ERRORS"
    done
  done
  upstream_calls="$(sim_requests "$SIM_PORT")"
  for conc in $CONCURRENCY; do
    for target in nginx arkroute; do
      ratio="$(awk -v a="${rps[$target$conc]}" -v b="${rps[nginx$conc]}" 'BEGIN { printf "%.2f", a / b }')"
      table+=$'\n'"| $target | $payload | $conc | $(printf '%.0f' "${rps[$target$conc]}") | ${p50[$target$conc]} ms | ${p99[$target$conc]} ms | $ratio |"
    done
  done
  echo "bench: upstream calls during the $payload cache-hit runs: $upstream_calls (2 fills expected)"
  stop_pid "$ARKROUTE_PID"; stop_pid "$NGINX_PID"; stop_pid "$SIM_PID"
done

# Coalescing: 200 concurrent identical requests, provider latency 5 s.
start_sim --payload-bytes 20000 --latency-ms 5000
BENCH_ARKROUTE_CACHE=true start_arkroute "$SIM_PORT"
start_nginx_cache "$SIM_PORT"
coalescing="| gateway | concurrent identical requests | upstream calls | all answered 200 |
|---|---:|---:|---|"
for target in arkroute nginx; do
  port_var="${target^^}_PORT"
  url="http://127.0.0.1:${!port_var}/v1/images/generations"
  before="$(sim_requests "$SIM_PORT")"
  body="{\"model\":\"gpt-image-1\",\"prompt\":\"stampede through $target\"}"
  codes="$(seq 200 | xargs -P 200 -I{} curl -s -o /dev/null -w '%{http_code}\n' --max-time 60 \
    -H 'Content-Type: application/json' -d "$body" "$url" | sort | uniq -c | tr '\n' ' ')"
  calls=$(( $(sim_requests "$SIM_PORT") - before ))
  ok="$([[ "$codes" =~ ^\ *200\ 200\ *$ ]] && echo yes || echo "no: $codes")"
  coalescing+=$'\n'"| $target | 200 | $calls | $ok |"
  echo "bench: coalescing $target: $calls upstream call(s); status codes: $codes"
done
stop_pid "$ARKROUTE_PID"; stop_pid "$NGINX_PID"; stop_pid "$SIM_PID"

{
  echo
  echo "## Cache hits: ArkRoute vs nginx proxy_cache (same request, same response)"
  echo
  echo "$table"
  echo
  echo "## Coalescing: 200 concurrent identical requests, provider latency 5 s"
  echo
  echo "$coalescing"
  echo
  echo "Commands:"
  echo
  for c in "${COMMANDS[@]}"; do echo "- \`$c\`"; done
  echo "- coalescing: \`seq 200 | xargs -P 200 -I{} curl -s -d BODY URL\` against each gateway"
} | tee -a "$OUT_DIR/results.md"
