#!/usr/bin/env bash
# Builds ArkRoute and runs it in the foreground in front of the bundled simulator, so the default
# config (conf/arkroute.toml: every model routed to arkroute-sim on 127.0.0.1:9090) works with no
# provider key and no internet. Ctrl-C (or SIGTERM) stops the gateway and the simulator.
#
# Environment:
#   ARKROUTE_CONFIG     config file (default conf/arkroute.toml)
#   ARKROUTE_LISTEN     IP:PORT to listen on, overriding the config's [server] listen (public_url follows it unless the config sets one)
#   ARKROUTE_SIM=0      do not start the simulator (for a config that uses real providers)
#   ARKROUTE_BUILD_DIR  build tree (default build)
set -euo pipefail
cd "$(dirname "$0")/.."

CONFIG="${ARKROUTE_CONFIG:-conf/arkroute.toml}"
LISTEN="${ARKROUTE_LISTEN:-}"
START_SIM="${ARKROUTE_SIM:-1}"
BUILD_DIR="${ARKROUTE_BUILD_DIR:-build}"
SIM_LISTEN="127.0.0.1:9090"   # where conf/arkroute.toml's upstream "sim" points

./scripts/setup.sh

echo "run.sh: building arkroute and arkroute-sim in ${BUILD_DIR}/"
cmake -S . -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$BUILD_DIR" -j2 --target arkroute arkroute-sim

RUN_DIR="var/run"
mkdir -p "$RUN_DIR"
SIM_PID=""
GATEWAY_PID=""

stop_children() {
  if [ -n "$GATEWAY_PID" ] && kill -0 "$GATEWAY_PID" 2>/dev/null; then
    kill -TERM "$GATEWAY_PID" 2>/dev/null || true
    wait "$GATEWAY_PID" 2>/dev/null || true
  fi
  if [ -n "$SIM_PID" ] && kill -0 "$SIM_PID" 2>/dev/null; then
    kill -TERM "$SIM_PID" 2>/dev/null || true
    wait "$SIM_PID" 2>/dev/null || true
  fi
  GATEWAY_PID=""
  SIM_PID=""
}
trap stop_children EXIT
trap 'stop_children; exit 130' INT
trap 'stop_children; exit 143' TERM

if [ "$START_SIM" != "0" ]; then
  SIM_LOG="$RUN_DIR/arkroute-sim.log"
  "$BUILD_DIR/tests/sim/arkroute-sim" --listen "$SIM_LISTEN" >"$SIM_LOG" 2>&1 &
  SIM_PID=$!
  for _ in $(seq 1 100); do
    grep -q 'listening on' "$SIM_LOG" 2>/dev/null && break
    if ! kill -0 "$SIM_PID" 2>/dev/null; then
      echo "run.sh: arkroute-sim failed to start (is $SIM_LISTEN in use?):" >&2
      cat "$SIM_LOG" >&2
      exit 1
    fi
    sleep 0.1
  done
  grep -q 'listening on' "$SIM_LOG" || { echo "run.sh: arkroute-sim did not start within 10 s" >&2; cat "$SIM_LOG" >&2; exit 1; }
  echo "run.sh: $(grep -m1 'listening on' "$SIM_LOG") (pid $SIM_PID, log $SIM_LOG)"
fi

# The address to show in the example: the override, else the config's [server] listen.
SHOW="$LISTEN"
if [ -z "$SHOW" ]; then
  SHOW="$(sed -n 's/^[[:space:]]*listen[[:space:]]*=[[:space:]]*"\([^"]*\)".*/\1/p' "$CONFIG" | head -n1)"
fi
SHOW="${SHOW:-127.0.0.1:8080}"
SHOW="${SHOW/0.0.0.0/127.0.0.1}"

cat <<EOF

When ArkRoute prints "arkroute listening on ...", try it from another terminal:

  curl -s http://${SHOW}/v1/images/generations -H 'Content-Type: application/json' -d '{"model":"gpt-image-1","prompt":"a lighthouse at dawn","size":"1024x1024"}' | jq -r '.data[0].b64_json' | base64 -d > image.png && echo saved image.png

Or with the OpenAI SDK: OPENAI_BASE_URL=http://${SHOW}/v1 OPENAI_API_KEY=unused (any model from ${CONFIG}).
Press Ctrl-C to stop.

EOF

ARGS=(serve --config "$CONFIG")
[ -n "$LISTEN" ] && ARGS+=(--listen "$LISTEN")
"$BUILD_DIR/proxy/arkroute" "${ARGS[@]}" &
GATEWAY_PID=$!
set +e
wait "$GATEWAY_PID"
STATUS=$?
set -e
GATEWAY_PID=""
exit "$STATUS"
