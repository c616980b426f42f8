#!/usr/bin/env bash
# One benchmark run comparing, on this machine and in the same run: the simulator directly, a
# minimal relay (the floor: what any proxy adds here; by read/write and by splice), nginx
# proxy_pass (upstream keepalive), ArkRoute (cache off) and Portkey's open-source gateway, each in
# front of arkroute-sim on 127.0.0.1, for a ~1 KB response and a ~1.5 MB base64 response, at
# concurrency 1 and 64, measured with wrk: req/s, p50, p99, the ratio to nginx, CPU time per
# request of each target's own processes (read from /proc around the measured run; on a machine
# whose cores wrk and the simulator share, it moves far less between runs than req/s) and the
# gateways' memory. Prints a Markdown table and writes it to tests/bench/out/results.md. Building
# blocks are in tests/bench/lib.sh.
#
# Environment:
#   BENCH_DURATION=10          seconds per measured run (each run is preceded by a 1 s warm-up)
#   BENCH_WARMUP=1             seconds of warm-up per run (0 = none)
#   BENCH_ROUNDS=1             measured rounds per row, interleaved (every target once per round);
#                              with more than one, the table gives medians and each round's
#                              ratio vs nginx, which a single run's scheduling luck moves less
#   BENCH_CONCURRENCY="1 64"   connection counts
#   BENCH_PAYLOADS="small large"
#   BENCH_TARGETS="sim relay splice nginx arkroute portkey"
#                              relay / splice: arkroute-floor-relay, a blocking thread-per-connection
#                              relay that parses only the head's end and Content-Length and moves
#                              bodies by read/write / by splice through a pipe (tests/bench/)
#   BENCH_TLS=1                the simulator serves HTTPS with a fresh self-signed certificate for
#                              localhost, which nginx, ArkRoute and Portkey verify (what a real
#                              provider costs a gateway); wrk still talks plain HTTP to the
#                              gateways, and to the simulator over HTTPS. Default targets without
#                              the relays, which speak plain HTTP only.
#   BENCH_SIM_THREADS=2        arkroute-sim --threads
#   BENCH_ARKROUTE_WORKERS=0   [server] workers for ArkRoute (0 = one per core)
#   BENCH_NGINX_WORKERS=2      nginx worker_processes (compare like with like: on this 2-core
#                              machine 0 above means 2)
#   BENCH_NGINX_LISTEN=""      extra nginx listen parameters, e.g. "reuseport": each worker gets its
#                              own socket, as ArkRoute's workers do (SO_REUSEPORT)
#   ARKROUTE_BUILD_DIR=build   build tree; the binaries are (re)built there first
#   BENCH_NO_BUILD=1           use the binaries as they are
#   BENCH_CACHE=0              skip the cache-hit and coalescing runs (tests/bench/cache_bench.sh)
#   BENCH_CPUS=0               pin everything (simulator, gateways, wrk) to these cores (taskset
#                              list); unset = no pinning. See tests/bench/lib.sh.
# A target that cannot be started or does not answer 200 gets "n/a" in its rows. The exit status is
# non-zero when the simulator, nginx or ArkRoute could not be measured (Portkey is optional).
set -euo pipefail
cd "$(dirname "$0")/.."
REPO_ROOT="$PWD"
BUILD_DIR="${ARKROUTE_BUILD_DIR:-build}"
DURATION="${BENCH_DURATION:-10}"
WARMUP="${BENCH_WARMUP:-1}"
ROUNDS="${BENCH_ROUNDS:-1}"
CONCURRENCY="${BENCH_CONCURRENCY:-1 64}"
PAYLOADS="${BENCH_PAYLOADS:-small large}"
DEFAULT_TARGETS="sim relay splice nginx arkroute portkey"
[ "${BENCH_TLS:-0}" = "1" ] && DEFAULT_TARGETS="sim nginx arkroute portkey"  # the relays are plain
TARGETS="${BENCH_TARGETS:-$DEFAULT_TARGETS}"
OUT_DIR="tests/bench/out"

# shellcheck source=../tests/bench/lib.sh
source tests/bench/lib.sh

ARKROUTE_SKIP_NPM=1 ./scripts/setup.sh
if [ "${BENCH_NO_BUILD:-0}" != "1" ]; then
  cmake -S . -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
  build_targets=(arkroute-sim)
  [[ " $TARGETS " == *" arkroute "* ]] && build_targets+=(arkroute)
  [[ " $TARGETS " == *" relay "* || " $TARGETS " == *" splice "* ]] && build_targets+=(arkroute-floor-relay)
  cmake --build "$BUILD_DIR" -j2 --target "${build_targets[@]}"
fi

if [[ " $TARGETS " == *" portkey "* ]]; then
  . scripts/node20.sh
  use_node20 || echo "bench: no Node.js 20 or newer: Portkey may not start" >&2
  if [ ! -f tests/bench/node_modules/@portkey-ai/gateway/build/start-server.js ] ||
     [ tests/bench/package-lock.json -nt tests/bench/node_modules/.package-lock.json ]; then
    echo "bench: installing Portkey's gateway into tests/bench/node_modules"
    (cd tests/bench && npm ci --no-audit --no-fund --loglevel=error) ||
      echo "bench: npm ci failed in tests/bench: Portkey rows will be n/a" >&2
  fi
fi

bench_init
mkdir -p "$OUT_DIR"

declare -A RESULT=()   # "target|payload|conc" -> "rps p50 p99 errors;" (or "n/a;") per round
declare -A MEM=()      # "target|payload|conc" -> RSS text
COMMANDS=()
MISSING=0

# payload_setup NAME FILE: writes the request body for a payload to FILE; sets SIM_ARGS.
payload_setup() {
  case "$1" in
    small)
      printf '%s' '{"model":"gpt-image-1","prompt":"a lighthouse at dawn","size":"1024x1024","response_format":"url"}' >"$2"
      SIM_ARGS=(--payload-bytes 700) ;;
    large)
      printf '%s' '{"model":"gpt-image-1","prompt":"a lighthouse at dawn","size":"1024x1024"}' >"$2"
      SIM_ARGS=() ;;
    *) echo "bench: unknown payload $1 (small|large)" >&2; exit 2 ;;
  esac
}

# measure TARGET PAYLOAD CONC PID URL BODY [HEADER...]: check, warm up, measure, record. PID is
# the target's process: its CPU time (and its children's, nginx's workers) is read around the
# measured run; its RSS is recorded for ArkRoute and Portkey.
measure() {
  local target="$1" payload="$2" conc="$3" pid="$4" url="$5" body="$6"
  shift 6
  local key="$target|$payload|$conc" pids ticks cpu
  if ! check_target "$url" "$body" "$@"; then
    RESULT[$key]+="n/a;"; return 1
  fi
  [ "$WARMUP" -gt 0 ] && run_wrk "$url" "$body" "$conc" "$WARMUP" "$@"
  mapfile -t pids < <(with_children "$pid")
  ticks="$(cpu_ticks all "${pids[@]}")"
  run_wrk "$url" "$body" "$conc" "$DURATION" "$@"
  ticks=$(( $(cpu_ticks all "${pids[@]}") - ticks ))
  COMMANDS+=("$target $payload c=$conc: $WRK_CMD")
  if [ "$WRK_REQUESTS" = "0" ]; then
    echo "bench: $target $payload c=$conc completed no request:" >&2
    cat "$WRK_OUT" >&2
    RESULT[$key]+="n/a;"; return 1
  fi
  cpu="$(us_per_request "$ticks" "$WRK_REQUESTS")"
  RESULT[$key]+="$WRK_RPS $WRK_P50 $WRK_P99 $WRK_ERRORS $cpu;"
  case "$target" in arkroute|portkey) MEM[$key]="$(rss "$pid")" ;; esac
  printf 'bench: %-9s %-5s c=%-3s %10s req/s  p50 %8.3f ms  p99 %8.3f ms  CPU %8s µs/req  errors %s\n' \
    "$target" "$payload" "$conc" "$WRK_RPS" "$WRK_P50" "$WRK_P99" "$cpu" "$WRK_ERRORS"
}

for payload in $PAYLOADS; do
  body="$BENCH_WORK/body-$payload.json"
  payload_setup "$payload" "$body"
  start_sim "${SIM_ARGS[@]}" || { echo "bench: arkroute-sim did not start" >&2; exit 1; }
  echo "bench: payload $payload: arkroute-sim ${SIM_ARGS[*]} on port $SIM_PORT (pid $SIM_PID)"
  declare -A UP=()
  for target in $TARGETS; do
    case "$target" in
      sim) UP[sim]="$(upstream_origin "$SIM_PORT")/v1/images/generations $SIM_PID" ;;
      relay) start_floor_relay "$SIM_PORT" && UP[relay]="http://127.0.0.1:$RELAY_PORT/v1/images/generations $RELAY_PID" ;;
      splice) start_floor_relay "$SIM_PORT" --splice && UP[splice]="http://127.0.0.1:$RELAY_PORT/v1/images/generations $RELAY_PID" ;;
      nginx) start_nginx "$SIM_PORT" && UP[nginx]="http://127.0.0.1:$NGINX_PORT/v1/images/generations $NGINX_PID" ;;
      arkroute) start_arkroute "$SIM_PORT" && UP[arkroute]="http://127.0.0.1:$ARKROUTE_PORT/v1/images/generations $ARKROUTE_PID" ;;
      portkey) start_portkey && UP[portkey]="http://127.0.0.1:$PORTKEY_PORT/v1/images/generations $PORTKEY_PID" ;;
      *) echo "bench: unknown target $target" >&2; exit 2 ;;
    esac || true
  done
  for conc in $CONCURRENCY; do
    for round in $(seq 1 "$ROUNDS"); do
    for target in $TARGETS; do
      key="$target|$payload|$conc"
      if [ -z "${UP[$target]:-}" ]; then RESULT[$key]+="n/a;"; continue; fi
      read -r url pid <<<"${UP[$target]}"
      headers=("Authorization: Bearer bench-key")
      [ "$target" = portkey ] &&
        headers+=("x-portkey-provider: openai" "x-portkey-custom-host: $(upstream_origin "$SIM_PORT")/v1")
      measure "$target" "$payload" "$conc" "$pid" "$url" "$body" "${headers[@]}" || true
      if ! kill -0 "$pid" 2>/dev/null; then
        echo "bench: $target (pid $pid) died during the $payload c=$conc run" >&2
        RESULT[$key]+="n/a;"; unset 'UP[$target]'
      fi
    done
    done
  done
  for target in $TARGETS; do
    [ -n "${UP[$target]:-}" ] || continue
    read -r _ pid <<<"${UP[$target]}"
    [ "$target" = "sim" ] || stop_pid "$pid"
  done
  stop_pid "$SIM_PID"
  unset UP
done

# ---- report ------------------------------------------------------------------------------------
# summarize ROUNDS REF_ROUNDS: "rps p50 p99 errors cpu ratio" from one row's rounds ("rps p50 p99
# errors cpu;" each): medians of req/s, p50, p99 and CPU per request, the errors summed, and the
# ratio vs nginx (REF,
# the same rounds of nginx, or n/a): the median of the rounds' ratios, each round's listed after
# it when there are several.
summarize() {
  awk -v rounds="$1" -v ref="$2" '
    function median(list, n,    i, j, t) {
      for (i = 2; i <= n; i++) for (j = i; j > 1 && list[j - 1] > list[j]; j--) {
        t = list[j]; list[j] = list[j - 1]; list[j - 1] = t
      }
      return n % 2 ? list[(n + 1) / 2] : (list[n / 2] + list[n / 2 + 1]) / 2
    }
    BEGIN {
      n = split(rounds, row, ";") - 1
      m = split(ref, refrow, ";") - 1
      errors = 0; listed = ""
      for (i = 1; i <= n; i++) {
        split(row[i], f, " ")
        rps[i] = f[1]; p50[i] = f[2]; p99[i] = f[3]; errors += f[4]; cpu[i] = f[5]
        if (ref != "n/a" && m == n) {
          split(refrow[i], g, " ")
          ratio[i] = g[1] > 0 ? f[1] / g[1] : 0
          listed = listed (i > 1 ? " / " : "") sprintf("%.2f", ratio[i])
        }
      }
      text = "n/a"
      if (ref != "n/a" && m == n) {
        text = sprintf("%.2f", median(ratio, n))
        if (n > 1) text = text " (" listed ")"
      }
      printf "%s %s %s %d %s %s\n", median(rps, n), median(p50, n), median(p99, n), errors,
             median(cpu, n), text
    }'
}

fmt_cpu() { awk -v v="$1" 'BEGIN { if (v == "n/a") print v; else printf "%.1f", v }'; }
fmt_rps() { awk -v v="$1" 'BEGIN { if (v < 10) printf "%.1f", v; else printf "%.0f", v }'; }
# fmt_added P99 DIRECT_P99: the p99 over the simulator's own ("+0.42 ms"); "-" for the simulator's
# row or when it was not measured. The issue's latency target is on this column at c=1.
fmt_added() {
  awk -v v="$1" -v d="$2" 'BEGIN { if (d == "") print "-"; else printf "%+.2f ms", v - d }'
}
fmt_ms() { awk -v v="$1" 'BEGIN { if (v < 0) print "-"; else if (v < 10) printf "%.3f ms", v; else printf "%.1f ms", v }'; }

table="| target | payload | conc | req/s | p50 | p99 | added p99 | ratio vs nginx | CPU µs/request | errors | RSS (now / peak) |
|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---|"
for payload in $PAYLOADS; do
  for conc in $CONCURRENCY; do
    ref="${RESULT[nginx|$payload|$conc]:-n/a}"
    [[ "$ref" == *n/a* ]] && ref="n/a"
    direct_p99=""
    sim_rounds="${RESULT[sim|$payload|$conc]:-n/a}"
    # Only at c=1: at c=64 the large row's simulator is its own bottleneck and the difference says
    # nothing about the relays.
    [[ "$sim_rounds" == *n/a* || "$conc" != 1 ]] || read -r _ _ direct_p99 _ <<<"$(summarize "$sim_rounds" n/a)"
    for target in $TARGETS; do
      value="${RESULT[$target|$payload|$conc]:-n/a}"
      size="$([ "$payload" = small ] && echo '~1 KB' || echo '~1.5 MB')"
      if [[ "$value" == *n/a* ]]; then
        table+=$'\n'"| $target | $payload ($size) | $conc | n/a | n/a | n/a | n/a | n/a | n/a | - | - |"
        [ "$target" = "portkey" ] || MISSING=$((MISSING + 1))
        continue
      fi
      read -r rps p50 p99 errors cpu ratio <<<"$(summarize "$value" "$ref")"
      table+=$'\n'"| $target | $payload ($size) | $conc | $(fmt_rps "$rps") | $(fmt_ms "$p50") | $(fmt_ms "$p99") | $(fmt_added "$p99" "$([ "$target" = sim ] || echo "$direct_p99")") | $ratio | $(fmt_cpu "$cpu") | $errors | ${MEM[$target|$payload|$conc]:--} |"
    done
  done
done

cpu="$(awk -F': ' '/^model name/ {print $2; exit}' /proc/cpuinfo 2>/dev/null || true)"
{
  echo "# ArkRoute benchmark results"
  echo
  echo "$(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) cores (${cpu:-unknown CPU}), wrk on the same cores, ${DURATION} s per run after a ${WARMUP} s warm-up, ${ROUNDS} interleaved round(s) per row (medians)."
  echo "Commit $(git rev-parse --short HEAD 2>/dev/null || echo unknown); ArkRoute with the cache off; upstream over $([ "${BENCH_TLS:-0}" = "1" ] && echo "HTTPS (BENCH_TLS=1)" || echo "plain HTTP"); payloads: small = sim \`--payload-bytes 700\` + \`response_format: url\`, large = sim default (b64_json)."
  echo
  echo "$table"
  echo
  echo "Added p99 (c=1 only) = the row's p99 minus the simulator's (both medians over the rounds)."
  echo "Errors = wrk socket errors + non-2xx responses. RSS is ArkRoute's or Portkey's VmRSS / VmHWM after the run."
  echo "CPU µs/request: user + system time of the target's own processes during the measured run (the simulator's for sim; a gateway's without the simulator behind it), per request served."
  echo
  echo "Commands (post.lua sets method POST, the JSON body and headers; no response() hook):"
  echo
  for c in "${COMMANDS[@]}"; do echo "- \`$c\`"; done
} >"$OUT_DIR/results.md"

echo
echo "$table"
echo
if [ "${BENCH_CACHE:-1}" != "0" ]; then
  echo
  echo "bench: cache-hit and coalescing runs (tests/bench/cache_bench.sh)"
  ARKROUTE_BUILD_DIR="$BUILD_DIR" tests/bench/cache_bench.sh || MISSING=$((MISSING + 1))
fi
echo "bench: written to $OUT_DIR/results.md"
if [ "$MISSING" -gt 0 ]; then
  echo "bench: $MISSING required row(s) could not be measured" >&2
  exit 1
fi
