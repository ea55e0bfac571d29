#!/usr/bin/env bash
# tests/hl7_appack.sh BUILD_DIR -- enhanced-mode application
# acknowledgements (issue 6): a real node (tests/hl7/node.sh) whose
# [hl7] app_ack_routes send EPIC^MERCY's acknowledgements to an independent
# MLLP receiver (python3-hl7's asyncio server, tests/hl7/appack_receiver.py,
# run with /usr/bin/python3), messages sent with python3-hl7's mllp_send.
#   MSH-16 AL: AA for a good A04, AE (ERR 101) for one without PID-3, and AE
#   204 for an MDM of an unknown patient (the document path); ER: only the
#   AE; SU: only the AA; NE and original mode: nothing; a sender without a
#   route: CA, nothing sent, counted unrouted.  The accept ack on the
#   connection is CA (with NE, CE for the bad one: it is all the sender hears).
#   Receiver down: the acknowledgement is retried and arrives once it is
#   up; queued, then the node killed (-9) and restarted: it still arrives.
#   app_ack_max_queued 2 with three waiting: the oldest is dropped, audited.
#   tls+tcp:// route: delivered over mutual TLS with the node's certificate.
# Exit 77 when python3-hl7 (mllp_send, hl7.mllp) is missing.
set -uo pipefail
HIE_ROOT=${HIE_SOURCE_DIR:-$(cd "$(dirname "$0")/.." && pwd)}
MLLP_SEND=$(command -v mllp_send || echo /usr/bin/mllp_send)
[ -x "$MLLP_SEND" ] && /usr/bin/python3 -c 'import hl7.mllp; hl7.mllp.start_hl7_server' 2>/dev/null ||
  { echo "skipped: python3-hl7 with hl7.mllp.start_hl7_server not installed"; exit 77; }
. "$HIE_ROOT/tests/hl7/node.sh" "$1"
. "$HIE_ROOT/tests/lib.sh"
RPORT=$((base + 3)); TPORT=$((base + 4))
while hl7_listening | grep -xE "$RPORT|$TPORT" >/dev/null; do RPORT=$((RPORT + 7)); TPORT=$((TPORT + 7)); done
INI=$D/node/hie-node.ini
# The receiver for TLS: a member certificate of the same network CA, for the
# host name the route names (the node checks it, as peers do).
"$BIN/certs/hie-certs" issue --ca "$D/ca" --name localhost --community urn:oid:1.3.6.1.4.1.21367.13.20.2100 \
  --out "$D/lab" >/dev/null || exit 1
cat > "$D/node/app-ack-routes" <<ROUTES
# MSH-3 (sending application)  MSH-4 (sending facility)  destination
EPIC      MERCY     tcp://127.0.0.1:$RPORT
LIS       *         tls+tcp://localhost:$TPORT
ROUTES
sed -i "s|^app_ack_routes =.*|app_ack_routes = app-ack-routes|; s|^app_ack_retry_max_s = .*|app_ack_retry_max_s = 1|" "$INI"
grep -q '^app_ack_routes = app-ack-routes' "$INI" || { echo "no [hl7] app_ack_routes key in $INI"; exit 1; }

RECV_PID=
TLS_PID=
recv_start() {
  /usr/bin/python3 "$HIE_ROOT/tests/hl7/appack_receiver.py" "$RPORT" "$D/received" >> "$D/receiver.log" 2>&1 &
  RECV_PID=$!
  for _ in $(seq 100); do hl7_listening | grep -qx "$RPORT" && return 0; sleep 0.1; done
  echo "receiver did not start"; cat "$D/receiver.log"; exit 1
}
recv_stop() { [ -n "$RECV_PID" ] && kill "$RECV_PID" 2>/dev/null; wait "$RECV_PID" 2>/dev/null; RECV_PID=; }
trap 'recv_stop; [ -n "$TLS_PID" ] && kill $TLS_PID 2>/dev/null; [ -n "$NODE_PID" ] && kill -9 $NODE_PID 2>/dev/null; wait 2>/dev/null; [ "${KEEP:-}" ] || rm -rf "$D"' EXIT

A=1.2.840.114350.1.13.99.2.7.5.737384.14
# msg NAME APP FACILITY CONTROL_ID MSH-15 MSH-16 [bad]
msg() {
  local name=$1 app=$2 fac=$3 ctl=$4 m15=$5 m16=$6 pid="PID|1||$4^^^&$A&ISO^MR||Rivera^Ana||19700101|F"
  [ "${7:-}" = bad ] && pid="PID|1" # names no patient: AE 101
  printf 'MSH|^~\\&|%s|%s|HIE|NODE|20261125101500||ADT^A04^ADT_A01|%s|P|2.5.1|||%s|%s\rEVN|A04|20261125101500\r%s\rPV1|1|O\r' \
    "$app" "$fac" "$ctl" "$m15" "$m16" "$pid" > "$D/$name.hl7"
}
send() { timeout 20 /usr/bin/python3 "$MLLP_SEND" --loose -f "$D/$1.hl7" -p "$MLLP" 127.0.0.1 | tr -d '\013\034' | tr '\r' '\n'; }
conn_ack() { # NAME CODE: the answer on the connection
  local out; out=$(send "$1")
  check "$1: $2 on the connection" grep -q "^MSA|$2|" <<< "$out"
}
# The receiver's record of CONTROL_ID: "MSA-1 ERR" per app ack received.
got() { /usr/bin/python3 - "$D/received" "$1" <<'PY'
import json, sys
try: lines = open(sys.argv[1]).read().splitlines()
except FileNotFoundError: lines = []
for l in lines:
    r = json.loads(l)
    if r["msa2"] == sys.argv[2]: print(r["msa1"], r["err"])
PY
}
wait_for() { # CONTROL_ID: up to 20 s
  for _ in $(seq 200); do [ -n "$(got "$1")" ] && return 0; sleep 0.1; done; return 1
}
metric() { curl -s "http://127.0.0.1:$HTTP/metrics" | grep -F "$1" | awk '{print $2}'; }

recv_start
hl7_node_start
msg al_good EPIC MERCY AL1 AL AL;  msg al_bad EPIC MERCY AL2 AL AL bad
msg er_good EPIC MERCY ER1 AL ER;  msg er_bad EPIC MERCY ER2 AL ER bad
msg su_good EPIC MERCY SU1 AL SU;  msg su_bad EPIC MERCY SU2 AL SU bad
msg ne_good EPIC MERCY NE1 AL NE;  msg ne_bad EPIC MERCY NE2 AL NE bad
msg orig EPIC MERCY OR1 "" "";     msg unrouted OTHER SOMEWHERE UR1 AL AL
printf 'MSH|^~\\&|EPIC|MERCY|HIE|NODE|20261125101500||MDM^T02^MDM_T02|DOC1|P|2.5.1|||AL|AL\rEVN|T02|20261125101500\rPID|1||NOBODY^^^&%s&ISO^MR||Nobody^No\rTXA|1|DS|TX|20261125100000\rOBX|1|TX|||text\r' \
  "$A" > "$D/doc.hl7"
for n in al_good al_bad er_good er_bad su_good su_bad ne_good unrouted doc; do conn_ack $n CA; done
conn_ack ne_bad CE # NE: the accept ack is all the sender hears, so it carries the error
conn_ack orig AA
check "AL, good A04: AA" wait_for AL1
check "AL, bad A04: AE 101" test "$(wait_for AL2; got AL2)" = "AE 101"
check "AL, MDM for an unknown patient: AE 204" test "$(wait_for DOC1; got DOC1)" = "AE 204"
check "ER, bad A04: AE" test "$(wait_for ER2; got ER2)" = "AE 101"
check "SU, good A04: AA" test "$(wait_for SU1; got SU1)" = "AA "
check "AL, good A04: exactly one AA" test "$(got AL1)" = "AA "
# Everything above was queued before the ones below, in one sender, in order:
# whatever was going to arrive has arrived.
for c in ER1 SU2 NE1 NE2 OR1 UR1; do check "$c: no application ack" test -z "$(got "$c")"; done
/usr/bin/python3 - "$D/received" <<'PY' && ok "app ack form: ACK^A04^ACK, own MSH-10, MSH-15 AL, MSH-16 NE" || bad "app ack form"
import json, sys
r = [json.loads(l) for l in open(sys.argv[1]) if json.loads(l)["msa2"] == "AL1"][0]
sys.exit(0 if r["msh9"] == "ACK^A04^ACK" and r["msh10"] not in ("", "AL1") and r["msh15"] == "AL" and r["msh16"] == "NE" else 1)
PY
check "HIE-HL7-MSG logs app_ack=AE" grep -q 'control_id="AL2" ack=CA app_ack=AE err=101' "$D/node.log"
check "unrouted counted" test "$(metric 'hie_hl7_app_acks_total{status="unrouted"}')" = 1
check "5 delivered counted" test "$(metric 'hie_hl7_app_acks_total{status="delivered"}')" = 5

# Receiver down: retried until it is up.
recv_stop
msg down1 EPIC MERCY DOWN1 AL AL
conn_ack down1 CA
sleep 2.5
check "receiver down: retries logged" grep -q 'HIE-HL7-APPACK.*retry .*control_id="DOWN1"' "$D/node.log"
recv_start
check "receiver up again: DOWN1 arrives" test "$(wait_for DOWN1; got DOWN1)" = "AA "

# Queued across a crash: kill -9, restart, then the receiver comes up.
recv_stop
msg down2 EPIC MERCY DOWN2 AL AL
conn_ack down2 CA
hl7_node_kill KILL
hl7_node_start
recv_start
check "after kill -9 and restart: DOWN2 arrives" test "$(wait_for DOWN2; got DOWN2)" = "AA "

# Bounded queue: 2 at most; the third put drops the oldest, audited.
recv_stop
hl7_node_kill TERM
sed -i "s|^app_ack_max_queued = .*|app_ack_max_queued = 2|" "$INI"
hl7_node_start
for i in 1 2 3; do msg q$i EPIC MERCY Q$i AL AL; conn_ack q$i CA; done
# Queued then: UR1 (no route, still waiting), Q1; Q2 drops UR1, Q3 drops Q1.
check "queue full: drops logged" grep -q 'HIE-HL7-APPACK.*dropped .*control_id="Q1"' "$D/node.log"
check "queue full: dropped counted" test "$(metric 'hie_hl7_app_acks_total{status="dropped"}')" = 2
recv_start
check "Q3 arrives" wait_for Q3
check "Q2 arrives" test "$(got Q2)" = "AA "
check "Q1 was dropped" test -z "$(got Q1)"
check "the drop is in the audit trail" sh -c "'$BIN/node/hie-node' audit list -c '$INI' | grep -q 'dropped'"

# tls+tcp://: the receiver requires a certificate of the network CA.
/usr/bin/python3 "$HIE_ROOT/tests/hl7/appack_receiver.py" "$TPORT" "$D/received" "$D/lab/node.crt" "$D/lab/node.key" \
  "$D/ca/ca.crt" >> "$D/receiver.log" 2>&1 &
TLS_PID=$!
msg tls LIS LAB TLS1 AL AL
conn_ack tls CA
check "tls+tcp:// route: TLS1 arrives over mutual TLS" test "$(wait_for TLS1; got TLS1)" = "AA "
kill -0 $NODE_PID 2>/dev/null || bad "the node died"
# A clean stop with a TLS connection open: nothing leaks (ASan build).
hl7_node_kill TERM
grep -E 'ERROR: (Address|Leak)Sanitizer|runtime error:' "$D/node.log.all" "$D/node.log" 2>/dev/null && bad "sanitizer report"
echo "hl7.appack: pass=$pass fail=$fail"
[ "$fail" = 0 ] || { tail -30 "$D/node.log"; cat "$D/receiver.log"; }
[ "$fail" = 0 ]
