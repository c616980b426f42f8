#!/usr/bin/env bash
# Large edit uploads and the event loop: while one client uploads a large image edit (a miss, then
# hits), another asks /healthz on the same worker (workers = 1) one request at a time; the worst
# /healthz time is how long the upload held the loop. Loopback only, bounded by its request count.
# Run by hand (needs a build in BUILD_DIR, as scripts/bench.sh does).
#
#   BENCH_UPLOAD_MIB=50   size of the uploaded image (random bytes behind a PNG signature)
#   BENCH_UPLOADS=3       uploads of the same edit: the first is a miss, the others hits
set -euo pipefail
cd "$(dirname "$0")/../.."
REPO_ROOT="$(pwd)"
BUILD_DIR="${ARKROUTE_BUILD_DIR:-${BUILD_DIR:-$REPO_ROOT/build}}"
MIB="${BENCH_UPLOAD_MIB:-50}"
UPLOADS="${BENCH_UPLOADS:-3}"
# shellcheck source=tests/bench/lib.sh
source "$REPO_ROOT/tests/bench/lib.sh"
bench_init

BOUNDARY="----formdata-undici-063158492703"  # the shape the Node SDK sends
BODY="$BENCH_WORK/edit.form"
python3 - "$BODY" "$BOUNDARY" "$MIB" <<'PY'
import os, sys
path, boundary, mib = sys.argv[1], sys.argv[2], int(sys.argv[3])
with open(path, "wb") as out:
    for name, value in (("model", "gpt-image-1"), ("prompt", "a large upload")):
        out.write(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode())
    out.write(f'--{boundary}\r\nContent-Disposition: form-data; name="image"; filename="in.png"\r\n'
              f'Content-Type: image/png\r\n\r\n'.encode())
    out.write(b"\x89PNG\r\n\x1a\n" + os.urandom(mib << 20))
    out.write(f'\r\n--{boundary}--\r\n'.encode())
PY

start_sim
# One worker, so /healthz shares the upload's loop; a body limit above the upload.
BENCH_ARKROUTE_WORKERS=1 BENCH_ARKROUTE_CACHE=true start_arkroute "$SIM_PORT"
stop_pid "$ARKROUTE_PID"
sed -i "s/^workers = 1$/workers = 1\nmax_body_bytes = $(((MIB + 1) << 20))/" "$ARKROUTE_CONFIG"
"$BUILD_DIR/proxy/arkroute" serve --config "$ARKROUTE_CONFIG" >"$BENCH_WORK/arkroute.log" 2>&1 &
ARKROUTE_PID=$!
BENCH_PIDS+=("$ARKROUTE_PID")
ARKROUTE_PORT="$(wait_listening "$BENCH_WORK/arkroute.log" "$ARKROUTE_PID")"

echo "| upload ($MIB MiB image) | status | X-ArkRoute-Cache | time | worst /healthz meanwhile |"
echo "|---|---:|---|---:|---:|"
for i in $(seq 1 "$UPLOADS"); do
  python3 - "$ARKROUTE_PORT" "$BODY" "$BOUNDARY" "$i" <<'PY'
import socket, subprocess, sys, threading, time
port, body, boundary, index = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
stop, worst = threading.Event(), [0.0]
def probe():
    conn = socket.create_connection(("127.0.0.1", port))
    while not stop.is_set():
        started = time.perf_counter()
        conn.sendall(b"GET /healthz HTTP/1.1\r\nHost: bench\r\n\r\n")
        data = b""
        while b"\r\n\r\n" not in data:
            data += conn.recv(65536)
        head, _, rest = data.partition(b"\r\n\r\n")
        length = int(next(l.split(b":")[1] for l in head.split(b"\r\n") if l.lower().startswith(b"content-length")))
        while len(rest) < length:
            rest += conn.recv(65536)
        worst[0] = max(worst[0], time.perf_counter() - started)
thread = threading.Thread(target=probe)
thread.start()
time.sleep(0.2)
result = subprocess.run(["curl", "-s", "-o", "/dev/null", "-D", "-", "-w", "%{http_code} %{time_total}",
                         "-H", f"Content-Type: multipart/form-data; boundary={boundary}",
                         "--data-binary", "@" + body, f"http://127.0.0.1:{port}/v1/images/edits"],
                        capture_output=True, text=True, timeout=120)
time.sleep(0.2)
stop.set()
thread.join()
cache = next((l.split(":", 1)[1].strip() for l in result.stdout.splitlines()
              if l.lower().startswith("x-arkroute-cache")), "-")
status, seconds = result.stdout.splitlines()[-1].split()
print(f"| {index} | {status} | {cache} | {float(seconds) * 1000:.0f} ms | {worst[0] * 1000:.1f} ms |")
PY
done
