#!/usr/bin/env bash
# Checks systemd/arkroute.service: `systemd-analyze verify` accepts it (on a copy whose ExecStart
# is the freshly built binary, since the installed path need not exist here) and
# `systemd-analyze security --offline` rates its exposure at 1.5 or lower.
# usage: systemd_unit_test.sh UNIT_FILE ARKROUTE_BINARY
set -euo pipefail
unit="$1"
binary="$(realpath "$2")"

if ! command -v systemd-analyze >/dev/null 2>&1; then
  echo "systemd-analyze is not installed: scripts/setup.sh installs the systemd package" >&2
  exit 1
fi

work="$(mktemp -d /tmp/arkroute-unit-XXXXXX)"
trap 'rm -rf "$work"' EXIT
copy="$work/arkroute.service"
sed "s#^ExecStart=/usr/bin/arkroute #ExecStart=${binary} #" "$unit" > "$copy"
grep -q "^ExecStart=${binary} serve" "$copy" || { echo "FAIL: no ExecStart=/usr/bin/arkroute line"; exit 1; }

echo "== systemd-analyze verify"
if ! out="$(systemd-analyze verify --man=no "$copy" 2>&1)"; then
  echo "$out"
  echo "FAIL: systemd-analyze verify"
  exit 1
fi
# verify exits 0 on some warnings; any line naming the unit is a problem with it.
if grep -F "arkroute.service" <<<"$out"; then
  echo "FAIL: systemd-analyze verify warned about the unit"
  exit 1
fi
echo "ok"

echo "== systemd-analyze security"
report="$(systemd-analyze security --offline=true "$copy" 2>&1 || true)"
exposure="$(sed -n -E 's/.*Overall exposure level for arkroute.service: ([0-9]+\.[0-9]+).*/\1/p' <<<"$report")"
if [ -z "$exposure" ]; then
  echo "$report"
  echo "FAIL: no exposure level in the report"
  exit 1
fi
echo "exposure: $exposure"
grep -F "✗" <<<"$report" || true
# --threshold is in tenths of the printed level: 15 means 1.5.
if ! systemd-analyze security --offline=true --threshold=15 "$copy" >/dev/null 2>&1; then
  echo "FAIL: exposure $exposure is above 1.5"
  exit 1
fi
awk -v e="$exposure" 'BEGIN { exit !(e <= 1.5) }' || { echo "FAIL: exposure $exposure > 1.5"; exit 1; }
echo "ok"

echo "== required settings"
for setting in Type=notify ExecReload= DynamicUser=yes StateDirectory=arkroute \
    LoadCredential= EnvironmentFile=-/etc/default/arkroute ProtectSystem=strict \
    "CapabilityBoundingSet=$" NoNewPrivileges=yes WatchdogSec= LimitNOFILE= \
    LogsDirectory=arkroute SystemCallFilter=setpriority; do
  grep -q "^${setting}" "$unit" || { echo "FAIL: $setting missing"; exit 1; }
done
echo "ok"
