#!/usr/bin/env bash
# tests/bench/audit_net.sh BIN [N] [ROUNDS] -- what auditing costs on a
# signed ITI-38 round trip through the network: a real hie-node (hospital-b,
# the demo documents imported, log_level warn) answers N Cross Gateway
# Queries POSTed to /xca/iti38 by tests/bench_xds_http (2 threads, libcurl,
# kept-alive connections, each request signed in advance by another member
# of the federation, XUA assertion included), once with the audit trail on
# and once with [audit] off_for_measurement = 1, ROUNDS times (the order of
# the two alternating from round to round).
# Prints each run and the on/off ratio of the medians of the rates.
# Run by `scripts/bench audit`; BIN is a (Release) build directory.
set -euo pipefail
BIN=$(cd "$1" && pwd)
N=${2:-4000}
ROUNDS=${3:-3}
HIE_ROOT=$(cd "$(dirname "$0")/../.." && pwd)
D=$(mktemp -d "${TMPDIR:-/tmp}/hie-bench-auditnet-XXXXXX")
PID=
trap '[ -n "$PID" ] && kill "$PID" 2>/dev/null; wait 2>/dev/null; rm -rf "$D"' EXIT
B=urn:oid:1.3.6.1.4.1.21367.13.20.2000 A=urn:oid:1.3.6.1.4.1.21367.13.20.1000
PATIENT='DEMO-1001^^^&1.3.6.1.4.1.21367.13.20.3000&ISO'
base=$((20000 + RANDOM % 12000))
"$BIN/certs/hie-certs" init-ca --ca "$D/ca" >/dev/null
"$BIN/node/hie-node" init "$D/b" --name hospital-b --community $B --ca "$D/ca" --unsigned-peers \
  --peer-port $base --http-port $((base + 1)) >/dev/null
"$BIN/node/hie-node" init "$D/a" --name clinic-a --community $A --ca "$D/ca" --unsigned-peers \
  --peer-port $((base + 2)) --http-port $((base + 3)) >/dev/null
"$BIN/node/hie-node" import -c "$D/b/hie-node.ini" "$HIE_ROOT"/conf/demo/hospital-b-*.xml >/dev/null
sed -i 's/^log_level = .*/log_level = warn/' "$D/b/hie-node.ini"
URL=http://127.0.0.1:$((base + 1))/xca/iti38

run() { # on|off -> one line of bench_xds_http
  sed -i "s/^off_for_measurement = .*/off_for_measurement = $([ "$1" = off ] && echo 1 || echo 0)/" "$D/b/hie-node.ini"
  "$BIN/node/hie-node" -c "$D/b/hie-node.ini" 2>> "$D/node.log" &
  PID=$!
  for _ in $(seq 1 100); do curl -sf -o /dev/null "http://127.0.0.1:$((base + 1))/health" && break; sleep 0.1; done
  "$BIN/tests/bench_xds_http" "$URL" iti38 200 2 "$D/a" $A $B "$PATIENT" >/dev/null # warm-up
  "$BIN/tests/bench_xds_http" "$URL" iti38 "$N" 2 "$D/a" $A $B "$PATIENT"
  kill -TERM $PID
  wait $PID || true
  PID=
}
: > "$D/rates"
for r in $(seq 1 "$ROUNDS"); do
  # The order alternates between rounds: whatever the first run of a pair
  # pays (a cold page cache, the other's growing replay cache) falls on
  # both modes alike.
  order="on off"; [ $((r % 2)) = 0 ] && order="off on"
  for mode in $order; do
    line=$(run $mode)
    echo "ITI-38 over HTTP (signed), audit $mode, round $r: $line"
    echo "$mode $(echo "$line" | sed -n 's/.* rate=\([0-9.]*\)\/s.*/\1/p')" >> "$D/rates"
  done
done
grep -q 'HIE-AUDIT-OFF' "$D/node.log" || { echo "the node never ran with auditing off" >&2; exit 1; }
awk '{ v[$1] = v[$1] " " $2 }
  function median(s,   a, n, i, j, t) { n = split(s, a, " ");
    for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (a[j] + 0 < a[i] + 0) { t = a[i]; a[i] = a[j]; a[j] = t }
    return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2 }
  END { on = median(v["on"]); off = median(v["off"]);
    printf "median rate: audit on %.0f/s, off %.0f/s; auditing adds %.1f %% to a round trip (1/on - 1/off over 1/off)\n",
      on, off, (off / on - 1) * 100 }' "$D/rates"
uptime
