#!/usr/bin/env bash
# A bounded soak of one gateway under a mixed, hostile load (tests/bench/soak.lua): OpenAI,
# Seedream and Kling generations and edits through the cache, streams, every simulator fault,
# malformed requests, MCP sessions and tool calls, the admin API, and the operational endpoints,
# from wrk on loopback. It fails (exit 1) when the gateway dies or stops answering /healthz, answers with a
# status outside the expected set, reports a sanitizer error, keeps descriptors or memory it
# should not, or does not exit 0 on SIGTERM. Run it against the ASan+UBSan tree to check memory
# safety under load:
#
#   ARKROUTE_BUILD_DIR=build-asan SOAK_DURATION=30 tests/bench/soak.sh
#
#   SOAK_DURATION=20  seconds of load      SOAK_CONNECTIONS=16  wrk connections
#   SOAK_SEED=1       varies the draw      ARKROUTE_BUILD_DIR   tree with arkroute and arkroute-sim
# Loopback only; every process it starts is stopped by PID.
set -euo pipefail
cd "$(dirname "$0")/../.."
REPO_ROOT="$(pwd)"
BUILD_DIR="${ARKROUTE_BUILD_DIR:-${BUILD_DIR:-$REPO_ROOT/build}}"
DURATION="${SOAK_DURATION:-20}"
CONNECTIONS="${SOAK_CONNECTIONS:-16}"
# shellcheck source=tests/bench/lib.sh
source tests/bench/lib.sh
bench_init
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1}" UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1}"

fail() {
  echo "soak: FAIL: $*" >&2
  [ -f "${log:-}" ] && { echo "soak: the gateway's last lines:" >&2; tail -n 30 "$log" >&2; }
  exit 1
}

start_sim --payload-bytes 20000 --latency-ms 5 --jitter-ms 5
dir="$BENCH_WORK/gateway"
mkdir -p "$dir"
log="$dir/arkroute.log"
sim="http://127.0.0.1:$SIM_PORT"
cat >"$dir/arkroute.toml" <<EOF
[server]
listen = "127.0.0.1:0"

[auth]
admin_token_env = "SOAK_ADMIN_TOKEN"

[cache]
enabled = true
path = "$dir/cache"

[mcp]
enabled = true
max_sessions = 50

[[upstream]]
name = "openai"
base_url = "$sim/v1"
max_concurrency = 6
max_retries = 1
retry_base = "10ms"
first_byte_timeout = "2s"
timeout = "4s"

[[upstream]]
name = "seedream"
base_url = "$sim/seedream/v1"
api = "seedream"

[[upstream]]
name = "kling"
base_url = "$sim/kling"
api = "kling"
api_key_env = "SOAK_KLING_KEYS"
poll_interval = "20ms"

[[model]]
name = "gpt-image-1"
upstream = "openai"
fallbacks = ["gpt-image-1-mini"]
[model.price]
text_input_per_million = 5.0
image_input_per_million = 10.0
image_output_per_million = 40.0

[[model]]
name = "gpt-image-1-mini"
upstream = "openai"
[model.price.per_image]
"*" = { "*" = 0.011 }

[[model]]
name = "seedream-4.5"
upstream = "seedream"
upstream_model = "seedream-4-5-251128"
default_response_format = "url"
[model.price.per_image]
"*" = { "*" = 0.01 }

[[model]]
name = "kling-v3"
upstream = "kling"
[model.price.per_image]
"*" = { "*" = 0.02 }

[log]
access_log = "off"
EOF
SOAK_KLING_KEYS="sim-access-key:sim-secret-key" SOAK_ADMIN_TOKEN="soak-admin" \
  "$BUILD_DIR/proxy/arkroute" serve --config "$dir/arkroute.toml" >"$log" 2>&1 &
gateway_pid=$!
BENCH_PIDS+=("$gateway_pid")
port="$(wait_listening "$log" "$gateway_pid")" || fail "the gateway did not start"
url="http://127.0.0.1:$port"

# A real PNG for the edits: one the simulator drew.
png="$BENCH_WORK/edit.png"
curl -sf -X POST "$sim/v1/images/generations" -H 'Content-Type: application/json' \
  -d '{"model":"gpt-image-1","prompt":"edit source","size":"64x64"}' |
  sed -n 's/.*"b64_json":"\([^"]*\)".*/\1/p' | base64 -d >"$png"
[ -s "$png" ] || fail "could not get a PNG from the simulator"

fds() { find "/proc/$gateway_pid/fd" -mindepth 1 -maxdepth 1 | wc -l; }
rss_kib() { awk '/^VmRSS:/ {print $2}' "/proc/$gateway_pid/status"; }
curl -sf -o /dev/null "$url/healthz" || fail "/healthz before the load"
fds_before="$(fds)"

run_load() {  # run_load SECONDS COUNTS_FILE
  SOAK_PNG="$png" SOAK_COUNTS="$2" SOAK_SEED="${SOAK_SEED:-1}" \
    wrk -t2 -c"$CONNECTIONS" -d"$1s" --timeout 30s -s tests/bench/soak.lua "$url" \
    >"$BENCH_WORK/wrk.out" 2>&1 || fail "wrk: $(tail -n 5 "$BENCH_WORK/wrk.out")"
}
echo "soak: $DURATION s of mixed load on $url ($CONNECTIONS connections), gateway pid $gateway_pid"
alive() { kill -0 "$gateway_pid" 2>/dev/null || fail "the gateway died under load"; }
run_load 3 "$BENCH_WORK/warm.counts"  # warm-up: caches and pools fill, RSS settles
alive
rss_warm="$(rss_kib)"
run_load "$DURATION" "$BENCH_WORK/counts"
alive
grep -E 'requests in|Socket errors' "$BENCH_WORK/wrk.out" | sed 's/^ */soak: wrk: /'

# Each kind of request may only get the statuses it can cause: valid requests 200; malformed ones
# 400; an unknown model 404; provider faults 429/500/503 (passed on), 502 (resets), 504 (stalls),
# or 200 (a slow drip that finished). "untagged" would be a response without the x-request-id
# the gateway must echo; "mcp-tool-failed" a generate_image call whose result is an error.
expected() {
  case "$1" in
    fault) echo "200 429 500 502 503 504" ;;
    malformed) echo "400" ;;
    unknown-model) echo "404" ;;
    untagged | mcp-tool-failed) echo "" ;;
    *) echo "200" ;;
  esac
}
total=0 wrong=""
while read -r kind status n; do
  total=$((total + n))
  printf 'soak: %-16s HTTP %s: %s\n' "$kind" "$status" "$n"
  case " $(expected "$kind") " in *" $status "*) ;; *) wrong+=" $kind:$status" ;; esac
done < <(sort "$BENCH_WORK/counts")
[ "$total" -gt 0 ] || fail "no response was counted"
[ -z "$wrong" ] || fail "unexpected statuses (kind:status):$wrong"
for kind in openai openai-url openai-stream openai-n2 seedream seedream-stream seedream-set kling \
  edit-openai edit-seedream mcp mcp-tool admin; do
  grep -q "^$kind 200 " "$BENCH_WORK/counts" || fail "no $kind request succeeded"
done

# The cache holds what the provider made: each pooled prompt's image, as the gateway answers it
# now (stored by a JSON or a streamed miss, served as a hit), is the one the simulator draws.
first_image() {  # the first b64_json of an answer, as a digest; nothing when there is none
  local b64
  b64="$(sed -n 's/.*"b64_json":"\([^"]*\)".*/\1/p' | head -c 200000)"
  [ -n "$b64" ] && printf '%s' "$b64" | md5sum
}
for i in $(seq 1 40); do
  ask="{\"model\":\"gpt-image-1\",\"prompt\":\"soak scene $i\"}"
  from_gateway="$(curl -sf -m 20 -X POST "$url/v1/images/generations" \
    -H 'Content-Type: application/json' -d "$ask" | first_image)" || fail "prompt $i: no image"
  from_sim="$(curl -sf -m 20 -X POST "$sim/v1/images/generations" \
    -H 'Content-Type: application/json' -d "$ask" | first_image)"
  [ "$from_gateway" = "$from_sim" ] || fail "prompt $i: the gateway's image is not the provider's"
done
echo "soak: the 40 pooled prompts' images match the simulator's"

# After the load: still serving, nothing held beyond the pools, memory not running away.
curl -sf -o /dev/null -m 5 "$url/healthz" || fail "/healthz after the load"
sleep 2
fds_after="$(fds)" rss_after="$(rss_kib)"
echo "soak: descriptors $fds_before before, $fds_after after; RSS $((rss_warm / 1024)) MiB after" \
  "the warm-up, $((rss_after / 1024)) MiB after the load"
# Pooled upstream connections stay open (idle_timeout); anything beyond a pool's worth is a leak.
[ "$fds_after" -le $((fds_before + 4 * CONNECTIONS + 16)) ] || fail "descriptors grew from $fds_before to $fds_after"
[ "$rss_after" -le $((rss_warm * 2 + 65536)) ] || fail "RSS grew from $rss_warm to $rss_after KiB"

kill -TERM "$gateway_pid"
code=0
wait "$gateway_pid" || code=$?
BENCH_PIDS=("$SIM_PID")
[ "$code" -eq 0 ] || fail "exit code $code at SIGTERM"
if grep -E 'AddressSanitizer|LeakSanitizer|runtime error:' "$log" >/dev/null; then
  grep -E -A20 'AddressSanitizer|LeakSanitizer|runtime error:' "$log" | head -n 40 >&2
  fail "a sanitizer report"
fi
echo "soak: passed ($total responses)"
