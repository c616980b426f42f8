#!/usr/bin/env bash
# CPU per request: nginx proxy_pass and ArkRoute (cache off) in front of one simulator, measured in
# alternating rounds so both see the same machine state. For each run it reads utime+stime of every
# thread of the gateway's processes (/proc/PID/task/*/stat) before and after a wrk run, and prints
# req/s and CPU per request (total and user space). On a machine where the load generator, the
# simulator and the gateway share the cores, CPU per request is what sets the throughput ratio, and
# it moves far less between runs than req/s does. Loopback only; every run is bounded.
#
#   BENCH_DURATION=5      seconds per measured run (after a 1 s warm-up)
#   BENCH_CONCURRENCY=64  wrk connections
#   BENCH_ROUNDS=2        nginx/ArkRoute pairs
#   BENCH_PAYLOAD=small   small (~1 KB url answer) or large (~1.4 MB base64)
#   BENCH_CPUS=0          pin simulator, gateways and wrk to these cores (see lib.sh)
#   BENCH_ARKROUTE_WORKERS=0, BENCH_NGINX_WORKERS=2   worker threads / processes of each gateway
# Needs a build in BUILD_DIR (default build/); run by hand, not by scripts/bench.sh.
set -euo pipefail
cd "$(dirname "$0")/../.."
REPO_ROOT="$(pwd)"
BUILD_DIR="${ARKROUTE_BUILD_DIR:-${BUILD_DIR:-$REPO_ROOT/build}}"
DURATION="${BENCH_DURATION:-5}"
CONC="${BENCH_CONCURRENCY:-64}"
ROUNDS="${BENCH_ROUNDS:-2}"
PAYLOAD="${BENCH_PAYLOAD:-small}"
# shellcheck source=tests/bench/lib.sh
source tests/bench/lib.sh
bench_init

# per TICKS: microseconds per request of that many clock ticks over the run's $n requests.
per() { us_per_request "$1" "$n"; }

body="$BENCH_WORK/body.json"
sim_args=()
if [ "$PAYLOAD" = small ]; then
  sim_args=(--payload-bytes 700)
  printf '{"model":"gpt-image-1","prompt":"a lighthouse at dawn","size":"1024x1024","response_format":"url"}' >"$body"
else
  printf '{"model":"gpt-image-1","prompt":"a lighthouse at dawn","size":"1024x1024"}' >"$body"
fi
start_sim "${sim_args[@]}"
start_arkroute "$SIM_PORT"
start_nginx "$SIM_PORT"
for target in nginx arkroute; do
  port_var="${target^^}_PORT"
  check_target "http://127.0.0.1:${!port_var}/v1/images/generations" "$body"
done

echo "| round | target | req/s | CPU µs/request | of which user | simulator CPU µs/request |"
echo "|---:|---|---:|---:|---:|---:|"
for round in $(seq 1 "$ROUNDS"); do
  for target in nginx arkroute; do
    port_var="${target^^}_PORT"
    pid_var="${target^^}_PID"
    url="http://127.0.0.1:${!port_var}/v1/images/generations"
    pids=("${!pid_var}")
    [ "$target" = nginx ] && mapfile -t -O 1 pids < <(pgrep -P "$NGINX_PID")
    run_wrk "$url" "$body" "$CONC" 1
    before_all="$(cpu_ticks all "${pids[@]}")"
    before_user="$(cpu_ticks 14 "${pids[@]}")"
    before_sim="$(cpu_ticks all "$SIM_PID")"
    run_wrk "$url" "$body" "$CONC" "$DURATION"
    after_all="$(cpu_ticks all "${pids[@]}")"
    after_user="$(cpu_ticks 14 "${pids[@]}")"
    after_sim="$(cpu_ticks all "$SIM_PID")"
    n="${WRK_REQUESTS:-0}"
    if [ "$n" -le 0 ] || [ "$WRK_ERRORS" -ne 0 ]; then
      echo "cpu_bench: $target: $n requests, $WRK_ERRORS errors" >&2
      exit 1
    fi
    echo "| $round | $target | $WRK_RPS | $(per $((after_all - before_all))) |" \
      "$(per $((after_user - before_user))) | $(per $((after_sim - before_sim))) |"
  done
done
