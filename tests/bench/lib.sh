# Benchmark building blocks, sourced by scripts/bench.sh (bash). Each start_* function starts one
# server on a free 127.0.0.1 port, records its PID for bench_cleanup, and sets <NAME>_PORT and
# <NAME>_PID; run_wrk measures one target and sets WRK_* results. Everything runs on loopback only,
# every load is bounded by BENCH_DURATION, and bench_cleanup (installed as an EXIT/INT/TERM trap by
# bench_init) stops exactly the processes started here, by PID.
#
# Needs: REPO_ROOT (the repository root) and BUILD_DIR (build tree with the binaries).
#
# BENCH_CPUS (a taskset core list such as 0 or 0,1) pins this shell, and so every server and wrk it
# starts, to those cores. On a small virtual machine a wake-up across cores costs tens of µs, which
# at concurrency 1 outweighs the gateways' own work: pinned to one core, the comparison measures
# the gateways instead of where the scheduler happened to put them. Unset: no pinning.

BENCH_PIDS=()
BENCH_WORK=""

bench_init() {
  if [ -n "${BENCH_CPUS:-}" ]; then
    if ! taskset -cp "$BENCH_CPUS" $$ >/dev/null; then
      echo "bench: cannot pin to cores $BENCH_CPUS" >&2
      exit 2
    fi
    echo "bench: pinned to cores $BENCH_CPUS (BENCH_CPUS)"
  fi
  BENCH_WORK="$(mktemp -d /tmp/arkroute-bench-XXXXXX)"
  chmod 755 "$BENCH_WORK"   # nginx workers may run as another user and need to reach their temp dirs
  if [ "${BENCH_TLS:-0}" = "1" ]; then
    BENCH_TLS_CERT="$BENCH_WORK/tls-cert.pem" BENCH_TLS_KEY="$BENCH_WORK/tls-key.pem"
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 \
      -subj /CN=localhost -addext subjectAltName=DNS:localhost \
      -keyout "$BENCH_TLS_KEY" -out "$BENCH_TLS_CERT" >/dev/null 2>&1 ||
      { echo "bench: cannot create a test certificate with openssl" >&2; exit 2; }
    chmod 644 "$BENCH_TLS_KEY"
    echo "bench: the simulator serves HTTPS (BENCH_TLS=1); gateways verify it against $BENCH_TLS_CERT"
  fi
  trap bench_cleanup EXIT
  trap 'bench_cleanup; exit 130' INT
  trap 'bench_cleanup; exit 143' TERM
}

bench_cleanup() {
  local pid
  for pid in "${BENCH_PIDS[@]}"; do
    kill -TERM "$pid" 2>/dev/null || true
  done
  for pid in "${BENCH_PIDS[@]}"; do
    for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
  BENCH_PIDS=()
  [ -n "$BENCH_WORK" ] && rm -rf "$BENCH_WORK"
  BENCH_WORK=""
}

# stop_pid PID: stops one process started here and forgets it.
stop_pid() {
  local pid="$1" kept=() p
  kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  kill -KILL "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  for p in "${BENCH_PIDS[@]}"; do [ "$p" = "$pid" ] || kept+=("$p"); done
  BENCH_PIDS=("${kept[@]}")
}

# cpu_ticks FIELD PID...: the sum of one /proc/PID/stat field over these processes (14: utime,
# 15: stime, "all": both). A process's figures cover all its threads, ended ones included (the
# floor relay's thread per connection ends with its connection).
cpu_ticks() {
  local field="$1" total=0 pid stat
  shift
  for pid in "$@"; do
    stat="/proc/$pid/stat"
    [ -r "$stat" ] || continue
    # The command name may contain spaces: count fields after its closing parenthesis.
    total=$((total + $(sed 's/.*) //' "$stat" | awk -v f="$field" \
      '{ if (f == "all") print $12 + $13; else print $(f - 2) }')))
  done
  echo "$total"
}

# with_children PID: the PID and its direct children (nginx's workers), one per line.
with_children() {
  echo "$1"
  pgrep -P "$1" || true
}

# us_per_request TICKS REQUESTS: microseconds of CPU per request for that many clock ticks.
us_per_request() {
  awk -v t="$1" -v n="$2" -v hz="$(getconf CLK_TCK)" \
    'BEGIN { if (n > 0) printf "%.1f", t * 1e6 / hz / n; else print "n/a" }'
}

# free_port: prints a port that was free on 127.0.0.1 a moment ago.
free_port() {
  node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'
}

# wait_listening LOG PID: waits (10 s) for "listening on http(s)://HOST:PORT" in LOG; prints PORT.
wait_listening() {
  local log="$1" pid="$2" line
  for _ in $(seq 1 100); do
    line="$(grep -m1 -o 'listening on https\?://[^ ]*' "$log" 2>/dev/null || true)"
    if [ -n "$line" ]; then echo "${line##*:}"; return 0; fi
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  echo "bench: process $pid did not report listening; its log:" >&2
  tail -n 20 "$log" >&2
  return 1
}

# wait_http URL PID: waits (15 s) until URL answers at all (any HTTP status).
wait_http() {
  local url="$1" pid="$2"
  for _ in $(seq 1 150); do
    kill -0 "$pid" 2>/dev/null || return 1
    curl -s -o /dev/null -m 1 "$url" && return 0
    sleep 0.1
  done
  return 1
}

# upstream_origin PORT: how clients reach the simulator: https://localhost:PORT with BENCH_TLS=1 (the
# test certificate's name), else http://127.0.0.1:PORT.
upstream_origin() {
  if [ "${BENCH_TLS:-0}" = "1" ]; then echo "https://localhost:$1"; else echo "http://127.0.0.1:$1"; fi
}

# start_sim [SIM ARGS...]: arkroute-sim on a free port (with --threads BENCH_SIM_THREADS, default
# 2, when this build of the simulator has that flag). Sets SIM_PORT, SIM_PID.
start_sim() {
  local log="$BENCH_WORK/sim-$RANDOM.log" sim="$BUILD_DIR/tests/sim/arkroute-sim" threads=()
  if "$sim" --help 2>&1 | grep -q -- '--threads'; then threads=(--threads "${BENCH_SIM_THREADS:-2}"); fi
  [ "${BENCH_TLS:-0}" = "1" ] && set -- "$@" --tls-cert "$BENCH_TLS_CERT" --tls-key "$BENCH_TLS_KEY"
  "$sim" --listen 127.0.0.1:0 "${threads[@]}" "$@" >"$log" 2>&1 &
  SIM_PID=$!
  BENCH_PIDS+=("$SIM_PID")
  SIM_PORT="$(wait_listening "$log" "$SIM_PID")"
}

# start_arkroute SIM_PORT [EXTRA_TOML]: `arkroute serve` with a generated config (cache off unless
# EXTRA_TOML says otherwise; it is appended after the [cache] table, so it can add keys there or
# new tables). Sets ARKROUTE_PORT, ARKROUTE_PID, ARKROUTE_CONFIG.
start_arkroute() {
  local sim_port="$1" extra="${2:-}" dir
  dir="$(mktemp -d "$BENCH_WORK/arkroute-XXXXXX")"
  ARKROUTE_CONFIG="$dir/arkroute.toml"
  cat >"$ARKROUTE_CONFIG" <<EOF
[server]
listen = "127.0.0.1:0"
workers = ${BENCH_ARKROUTE_WORKERS:-0}

[cache]
enabled = ${BENCH_ARKROUTE_CACHE:-false}
path = "$dir/cache"
$extra

[[upstream]]
name = "sim"
base_url = "$(upstream_origin "$sim_port")/v1"
max_connections = 64
$([ "${BENCH_TLS:-0}" = "1" ] && echo "ca_file = \"$BENCH_TLS_CERT\"")

[[model]]
name = "gpt-image-1"
upstream = "sim"

[log]
access_log = "${BENCH_ARKROUTE_ACCESS_LOG:-off}"   # off, like nginx's here; "stdout" measures it
EOF
  "$BUILD_DIR/proxy/arkroute" serve --config "$ARKROUTE_CONFIG" >"$dir/arkroute.log" 2>&1 &
  ARKROUTE_PID=$!
  BENCH_PIDS+=("$ARKROUTE_PID")
  ARKROUTE_PORT="$(wait_listening "$dir/arkroute.log" "$ARKROUTE_PID")"
}

# start_floor_relay SIM_PORT [--splice]: arkroute-floor-relay (tests/bench/floor_relay.cc), the
# least any relay can do: blocking, one thread per connection, bodies moved by read/write or, with
# --splice, through a pipe. Sets RELAY_PORT, RELAY_PID.
start_floor_relay() {
  local log="$BENCH_WORK/relay-$RANDOM.log"
  if [ "${BENCH_TLS:-0}" = "1" ]; then
    echo "bench: the floor relays speak plain HTTP only (BENCH_TLS=1)" >&2
    return 1
  fi
  "$BUILD_DIR/tests/arkroute-floor-relay" --upstream-port "$@" >"$log" 2>&1 &
  RELAY_PID=$!
  BENCH_PIDS+=("$RELAY_PID")
  RELAY_PORT="$(wait_listening "$log" "$RELAY_PID")"
}

# start_nginx SIM_PORT [HTTP_DIRECTIVES] [LOCATION_DIRECTIVES]: nginx proxy_pass with upstream
# keepalive, own prefix/pid/logs/temp dirs; the optional directives are added to the http and
# location blocks (the cache benchmark adds proxy_cache there). "@DIR@" in them becomes the prefix
# directory. Sets NGINX_PORT, NGINX_PID (the master; SIGTERM stops its workers too).
# BENCH_NGINX_LISTEN adds parameters to the listen directive (e.g. "reuseport").
start_nginx() {
  local sim_port="$1" http_extra="${2:-}" location_extra="${3:-}" dir user_line="" scheme=http
  local tls_lines=""
  if [ "${BENCH_TLS:-0}" = "1" ]; then
    scheme=https
    tls_lines="proxy_ssl_verify on; proxy_ssl_trusted_certificate $BENCH_TLS_CERT;
      proxy_ssl_name localhost; proxy_ssl_server_name on; proxy_ssl_session_reuse on;"
  fi
  dir="$(mktemp -d "$BENCH_WORK/nginx-XXXXXX")"
  chmod 755 "$dir"
  NGINX_PORT="$(free_port)"
  [ "$(id -u)" -eq 0 ] && user_line="user root root;"
  cat >"$dir/nginx.conf" <<EOF
$user_line
worker_processes ${BENCH_NGINX_WORKERS:-2};
pid $dir/nginx.pid;
error_log $dir/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path $dir/client_body;
  proxy_temp_path $dir/proxy_temp;
  fastcgi_temp_path $dir/fastcgi_temp;
  uwsgi_temp_path $dir/uwsgi_temp;
  scgi_temp_path $dir/scgi_temp;
  client_max_body_size 50m;
  ${http_extra//@DIR@/$dir}
  upstream sim {
    server 127.0.0.1:$sim_port;
    keepalive 64;
  }
  server {
    listen 127.0.0.1:$NGINX_PORT${BENCH_NGINX_LISTEN:+ $BENCH_NGINX_LISTEN};
    location / {
      proxy_pass $scheme://sim;
      proxy_http_version 1.1;
      $tls_lines
      proxy_set_header Connection "";
      ${location_extra//@DIR@/$dir}
    }
  }
}
EOF
  nginx -p "$dir" -c nginx.conf -g 'daemon off;' >"$dir/stdout.log" 2>&1 &
  NGINX_PID=$!
  BENCH_PIDS+=("$NGINX_PID")
  if ! wait_http "http://127.0.0.1:$NGINX_PORT/_sim/stats" "$NGINX_PID"; then
    echo "bench: nginx did not start:" >&2
    cat "$dir/stdout.log" "$dir/error.log" >&2 2>/dev/null || true
    return 1
  fi
}

# start_portkey: Portkey's open-source gateway from tests/bench/node_modules (npm ci there first).
# Sets PORTKEY_PORT, PORTKEY_PID. Returns non-zero when it is not installed or does not start.
start_portkey() {
  local entry="$REPO_ROOT/tests/bench/node_modules/@portkey-ai/gateway/build/start-server.js" log
  [ -f "$entry" ] || { echo "bench: Portkey gateway not installed ($entry)" >&2; return 1; }
  log="$BENCH_WORK/portkey-$RANDOM.log"
  PORTKEY_PORT="$(free_port)"
  NODE_EXTRA_CA_CERTS="${BENCH_TLS_CERT:-}" NODE_ENV=production node "$entry" --port="$PORTKEY_PORT" --headless >"$log" 2>&1 &
  PORTKEY_PID=$!
  BENCH_PIDS+=("$PORTKEY_PID")
  if ! wait_http "http://127.0.0.1:$PORTKEY_PORT/" "$PORTKEY_PID"; then
    echo "bench: Portkey gateway did not start:" >&2
    tail -n 20 "$log" >&2
    return 1
  fi
}

# rss PID: "RSS MiB / peak MiB" of a process from /proc (VmRSS, VmHWM), or "-".
rss() {
  local status="/proc/$1/status"
  [ -r "$status" ] || { echo "-"; return; }
  awk '/^VmRSS:/ {r=$2} /^VmHWM:/ {h=$2} END {printf "%.0f / %.0f MiB", r/1024, h/1024}' "$status"
}

# check_target URL BODY_FILE [HEADER...]: one request with curl; succeeds when it answers 200 with
# an OpenAI images body (a "data" array). Run before measuring so a target that answers errors
# fast is reported as such, not as a fast target.
check_target() {
  local url="$1" body="$2" out code args=()
  shift 2
  local h
  for h in "$@"; do args+=(-H "$h"); done
  [ "${BENCH_TLS:-0}" = "1" ] && args+=(--cacert "$BENCH_TLS_CERT")
  out="$BENCH_WORK/check-$RANDOM.out"
  code="$(curl -s -o "$out" -w '%{http_code}' -m 60 -X POST "$url" \
    -H 'Content-Type: application/json' "${args[@]}" --data-binary "@$body" || true)"
  if [ "$code" != "200" ] || ! grep -q '"data"' "$out"; then
    echo "bench: $url answered HTTP $code: $(head -c 300 "$out" 2>/dev/null)" >&2
    return 1
  fi
}

# run_wrk URL BODY_FILE CONC DURATION_S [HEADER...]: POSTs BODY_FILE with wrk --latency (no Lua
# response() hook: it copies every body and becomes the bottleneck). Sets WRK_RPS, WRK_P50,
# WRK_P99 (ms), WRK_ERRORS (socket errors + non-2xx), WRK_REQUESTS, WRK_CMD; raw output in WRK_OUT.
run_wrk() {
  local url="$1" body="$2" conc="$3" duration="$4"
  shift 4
  local script threads h name value
  script="$(mktemp "$BENCH_WORK/wrk-XXXXXX.lua")"
  {
    echo 'wrk.method = "POST"'
    echo "local f = assert(io.open(\"$body\", \"rb\"))"
    echo 'wrk.body = f:read("*a")'
    echo 'f:close()'
    echo 'wrk.headers["Content-Type"] = "application/json"'
    for h in "$@"; do
      name="${h%%:*}"; value="${h#*:}"; value="${value# }"
      printf 'wrk.headers["%s"] = "%s"\n' "$name" "$value"
    done
  } >"$script"
  threads=$(( conc < 2 ? conc : 2 ))
  WRK_OUT="$(mktemp "$BENCH_WORK/wrk-XXXXXX.out")"
  WRK_CMD="wrk -t$threads -c$conc -d${duration}s --timeout 30s --latency -s post.lua $url"
  wrk -t"$threads" -c"$conc" -d"${duration}s" --timeout 30s --latency -s "$script" "$url" >"$WRK_OUT" 2>&1 || true
  local parsed
  parsed="$(awk '
    function ms(v) {
      if (v ~ /us$/) { sub(/us$/, "", v); return v / 1000 }
      if (v ~ /ms$/) { sub(/ms$/, "", v); return v + 0 }
      if (v ~ /m$/)  { sub(/m$/, "", v);  return v * 60000 }
      if (v ~ /s$/)  { sub(/s$/, "", v);  return v * 1000 }
      return -1
    }
    $1 == "50%" { p50 = ms($2) }
    $1 == "99%" { p99 = ms($2) }
    /^Requests\/sec:/ { rps = $2 }
    /requests in/ { reqs = $1 }
    /Non-2xx or 3xx responses:/ { bad += $NF }
    /Socket errors:/ { gsub(",", ""); bad += $4 + $6 + $8 + $10 }
    END { printf "%s %s %s %d %s\n", (rps == "" ? "0" : rps), (p50 == "" ? "-1" : p50), (p99 == "" ? "-1" : p99), bad, (reqs == "" ? "0" : reqs) }
  ' "$WRK_OUT")"
  read -r WRK_RPS WRK_P50 WRK_P99 WRK_ERRORS WRK_REQUESTS <<<"$parsed"
}
