#!/usr/bin/env bash
# tests/audit_forward.sh BUILD_DIR [CORPUS] -- the audit trail forwarded to
# an audit repository (ATNA ITI-20: RFC 5424 syslog over TLS, RFC 5425
# framing) from a real node to an independent receiver
# (tests/audit/syslog_receiver.py: Python's ssl and lxml, no code of ours)
# that requires the node's client certificate, checks every frame as RFC
# 5424 and every message as an AuditMessage (against the DICOM schema with
# the corpus), and records the trail sequence number of each:
#  - records made while the repository is down arrive once it is up, and
#    the node answers its transactions normally meanwhile (/health ok)
#  - the receiver killed mid-stream and restarted: nothing missing
#    (duplicates allowed, counted)
#  - the node restarted: it resumes from its cursor (nothing accepted is
#    sent again)
#  - a repository with a certificate from another CA is refused; the
#    records arrive at the right one afterwards
# Certificates come from hie-certs and hie-node init.
set -uo pipefail
BIN=$(cd "$1" && pwd)
CORPUS=${2:-}
HIE_ROOT=${HIE_SOURCE_DIR:-$(cd "$(dirname "$0")/.." && pwd)}
PY=/usr/bin/python3
. "$HIE_ROOT/tests/lib.sh"
[ -x "$PY" ] && "$PY" -c 'import lxml' 2>/dev/null || { echo "skipped: python3-lxml not installed"; exit 77; }
command -v curl >/dev/null || { echo "skipped: curl not installed"; exit 77; }

T=$(mktemp -d "${TMPDIR:-/tmp}/hie-auditfwd-XXXXXX")
NODE_PID= RECV_PID=
cleanup() {
  [ -n "$RECV_PID" ] && kill "$RECV_PID" 2>/dev/null
  if [ -n "$NODE_PID" ]; then kill -TERM "$NODE_PID" 2>/dev/null; wait "$NODE_PID" 2>/dev/null; fi
  if [ "${KEEP:-0}" = 1 ]; then echo "kept $T"; else rm -rf "$T"; fi
}
trap cleanup EXIT

COMMUNITY=urn:oid:1.3.6.1.4.1.21367.13.20.2000
base=$((20000 + RANDOM % 12000)) # below 32768: ephemeral ports start there
HTTP=127.0.0.1:$((base + 1)) REPO_PORT=$((base + 4))
XSD="$CORPUS/schemas/atna/dicom2017c.xsd"
XSDARG=()
if [ -n "$CORPUS" ] && [ -f "$XSD" ]; then XSDARG=(--xsd "$XSD"); else echo "note - no corpus: messages are not validated against the DICOM schema"; fi

"$BIN/certs/hie-certs" init-ca --ca "$T/ca" --name "Audit test CA" >/dev/null || exit 1
"$BIN/node/hie-node" init "$T/node" --name hospital-b --community "$COMMUNITY" --ca "$T/ca" --unsigned-peers \
  --peer-port "$base" --http-port $((base + 1)) >/dev/null || exit 1
"$BIN/node/hie-node" init "$T/client" --name clinic-a --community urn:oid:1.3.6.1.4.1.21367.13.20.1000 --ca "$T/ca" \
  --unsigned-peers --peer-port $((base + 2)) --http-port $((base + 3)) >/dev/null || exit 1
# The repository is a member of the network (its certificate from the
# network CA, named as its address's host); the rogue one is not.
"$BIN/certs/hie-certs" issue --ca "$T/ca" --name localhost --community urn:oid:1.3.6.1.4.1.21367.13.20.9000 \
  --out "$T/repo" >/dev/null || exit 1
"$BIN/certs/hie-certs" init-ca --ca "$T/rogue-ca" --name "Rogue CA" >/dev/null || exit 1
"$BIN/certs/hie-certs" issue --ca "$T/rogue-ca" --name localhost --community urn:oid:1.3.6.1.4.1.21367.13.20.9000 \
  --out "$T/rogue" >/dev/null || exit 1
INI=$T/node/hie-node.ini
grep -q '^syslog_url =' "$INI" || { echo "hie-node init wrote no [audit] syslog_url"; exit 1; }
sed -i "s|^syslog_url =.*|syslog_url = tls+tcp://localhost:$REPO_PORT|; s|^syslog_backoff_min_ms =.*|syslog_backoff_min_ms = 100|;
        s|^syslog_backoff_max_s =.*|syslog_backoff_max_s = 1|; s|^syslog_confirm_ms =.*|syslog_confirm_ms = 300|" "$INI"

start_node() {
  "$BIN/node/hie-node" -c "$INI" 2>> "$T/node.log" &
  NODE_PID=$!
  for _ in $(seq 1 100); do curl -sf -o /dev/null "http://$HTTP/health" && return 0; sleep 0.1; done
  return 1
}
stop_node() { kill -TERM "$NODE_PID"; wait "$NODE_PID"; NODE_PID=; }
start_receiver() { # DIR (repo or rogue)
  rm -f "$T/port"
  "$PY" "$HIE_ROOT/tests/audit/syslog_receiver.py" --port "$REPO_PORT" --port-file "$T/port" --cert "$T/$1/node.crt" \
    --key "$T/$1/node.key" --ca "$T/ca/ca.crt" --out "$T/$1.out" "${XSDARG[@]}" 2>> "$T/receiver.log" &
  RECV_PID=$!
  for _ in $(seq 1 100); do [ -f "$T/port" ] && return 0; sleep 0.1; done
  return 1
}
stop_receiver() { kill -KILL "$RECV_PID" 2>/dev/null; wait "$RECV_PID" 2>/dev/null; RECV_PID=; }
last_seq() { "$BIN/node/hie-node" audit list -c "$INI" -n 1 2>/dev/null | cut -d' ' -f1; }
# One signed ITI-18 from clinic-a (a stored query; every one is audited).
iti18() {
  printf '<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope" xmlns:a="http://www.w3.org/2005/08/addressing"><s:Header><a:Action>urn:ihe:iti:2007:RegistryStoredQuery</a:Action><a:MessageID>urn:uuid:%s</a:MessageID><a:To>http://%s/xds/iti18</a:To></s:Header><s:Body><query:AdhocQueryRequest xmlns:query="urn:oasis:names:tc:ebxml-regrep:xsd:query:3.0" xmlns:rim="urn:oasis:names:tc:ebxml-regrep:xsd:rim:3.0"><query:ResponseOption returnType="LeafClass" returnComposedObjects="true"/><rim:AdhocQuery id="urn:uuid:14d4debf-8f97-4251-9a74-a90016b0af0d"><rim:Slot name="$XDSDocumentEntryPatientId"><rim:ValueList><rim:Value>'"'"'P-%s^^^&amp;1.3.6.1.4.1.21367.13.20.3000&amp;ISO'"'"'</rim:Value></rim:ValueList></rim:Slot><rim:Slot name="$XDSDocumentEntryStatus"><rim:ValueList><rim:Value>('"'"'urn:oasis:names:tc:ebxml-regrep:StatusType:Approved'"'"')</rim:Value></rim:ValueList></rim:Slot></rim:AdhocQuery></query:AdhocQueryRequest></s:Body></s:Envelope>' \
    "$(cat /proc/sys/kernel/random/uuid)" "$HTTP" "$RANDOM" > "$T/req.xml"
  "$BIN/node/hie-node" soap sign -c "$T/client/hie-node.ini" --audience "$COMMUNITY" --user "Dr. Test" "$T/req.xml" \
    > "$T/req.signed" || return 1
  curl -s -m 10 -o "$T/resp.xml" -w '%{http_code}' -H 'Content-Type: application/soap+xml; charset=UTF-8' \
    --data-binary @"$T/req.signed" "http://$HTTP/xds/iti18"
}
# Waits (up to 60 s) until the receiver's file holds every sequence number
# 1..last_seq; prints nothing, returns 0 when complete.
complete() { # OUTFILE
  local n
  for _ in $(seq 1 600); do
    n=$(last_seq)
    [ -n "$n" ] && [ "$(cut -f1 "$1" 2>/dev/null | grep -x '[0-9]*' | sort -un | awk -v n="$n" '$1 >= 1 && $1 <= n' | wc -l)" = "$n" ] && return 0
    sleep 0.1
  done
  return 1
}
dups() { cut -f1 "$1" | grep -x '[0-9]*' | sort -n | uniq -d | wc -l; }
metric() { curl -s "http://$HTTP/metrics" | awk -v m="$1" '$1 == m {print $2}'; }

# ---- the repository down: the node works, records wait ----
start_node || { bad "node starts"; cat "$T/node.log"; exit 1; }
codes=""
for i in 1 2 3 4 5; do codes="$codes $(iti18)"; done
check "repository down: 5 signed ITI-18 answered normally (200)" test "$codes" = " 200 200 200 200 200"
check "repository down: the answers are Success" grep -q 'ResponseStatusType:Success' "$T/resp.xml"
h=$(curl -s -w ' %{http_code}' "http://$HTTP/health")
check "repository down: /health 200, status ok, forwarding down" \
  bash -c "echo '$h' | grep -q '\"status\":\"ok\".*\"audit_forwarding\":\"down\".* 200\$'"
check "repository down: /metrics hie_audit_forward_up 0" test "$(metric hie_audit_forward_up)" = 0
check "repository down: /metrics lag counts the waiting records" test "$(metric hie_audit_forward_lag_records)" -ge 6
check "repository down: the log says so" grep -q 'HIE-AUDIT-FWD-DOWN' "$T/node.log"

# ---- the repository comes up: everything made before arrives ----
start_receiver repo || bad "receiver starts"
check "repository up: every record 1..last arrives" complete "$T/repo.out"
check "repository up: every message valid RFC 5424 + AuditMessage${XSDARG:+ (DICOM schema)}" \
  bash -c "! cut -f2 '$T/repo.out' | grep -qv '^ok\$'"
check "repository up: the node-start record (110100) and the ITI-18 queries (110112) among them" \
  bash -c "grep -q '	110100\$' '$T/repo.out' && grep -q '	110112\$' '$T/repo.out'"
sleep 0.5
check "repository up: /health says forwarding up" bash -c "curl -s http://$HTTP/health | grep -q '\"audit_forwarding\":\"up\"'"
check "repository up: /metrics hie_audit_forward_up 1" test "$(metric hie_audit_forward_up)" = 1
check "repository up: /metrics forwarded >= records" test "$(metric hie_audit_forwarded_total)" -ge "$(last_seq)"

# ---- the receiver killed mid-stream and restarted ----
( for i in $(seq 1 60); do iti18 >/dev/null; done ) &
load=$!
for _ in $(seq 1 100); do [ "$(wc -l < "$T/repo.out")" -gt 20 ] && break; sleep 0.05; done
stop_receiver
sleep 0.3
start_receiver repo || bad "receiver restarts"
wait $load
check "receiver killed mid-stream: every record 1..last arrives after its restart" complete "$T/repo.out"
echo "info - duplicates after the receiver's kill: $(dups "$T/repo.out") of $(last_seq) records"
check "receiver killed: the node's log says the connection was lost" grep -q 'HIE-AUDIT-FWD-LOST\|HIE-AUDIT-FWD-DOWN' "$T/node.log"

# ---- the node restarted: resumes from the cursor ----
for _ in $(seq 1 100); do [ "$(metric hie_audit_forward_lag_records)" = 0 ] && break; sleep 0.1; done
check "caught up: lag 0 (every record accepted)" test "$(metric hie_audit_forward_lag_records)" = 0
before=$(last_seq)
lines=$(wc -l < "$T/repo.out")
stop_node
start_node || bad "node restarts"
iti18 >/dev/null
check "node restarted: the new records arrive" complete "$T/repo.out"
check "node restarted: resumed from the cursor (nothing up to $before sent again)" \
  test "$(tail -n +$((lines + 1)) "$T/repo.out" | cut -f1 | grep -x '[0-9]*' | awk -v b="$before" '$1 <= b' | wc -l)" = 0

# ---- a repository from another CA is refused ----
stop_receiver
start_receiver rogue || bad "rogue receiver starts"
for i in 1 2 3; do iti18 >/dev/null; done
sleep 2
check "rogue repository: not one record sent to it" test "$(cut -f1 "$T/rogue.out" 2>/dev/null | grep -cx '[0-9]*')" = 0
check "rogue repository: the node says why (certificate)" grep -q 'HIE-AUDIT-FWD-DOWN.*certificate' "$T/node.log"
check "rogue repository: /metrics hie_audit_forward_up 0" test "$(metric hie_audit_forward_up)" = 0
check "rogue repository: transactions still answered" test "$(iti18)" = 200
stop_receiver
start_receiver repo || bad "receiver restarts"
check "the right repository back: the records made meanwhile arrive" complete "$T/repo.out"
check "every message of the whole test valid" bash -c "! cut -f2 '$T/repo.out' | grep -q '^bad\$'"

# ---- the repository's certificate revoked: SIGHUP with the new CRL ----
"$BIN/certs/hie-certs" revoke --ca "$T/ca" --cert "$T/repo/node.crt" >/dev/null
"$BIN/certs/hie-certs" crl --ca "$T/ca" --out "$T/node/crl.pem" >/dev/null
sed -i 's|^crl =.*|crl = crl.pem|' "$INI"
refused_before=$(grep -c 'HIE-AUDIT-FWD-DOWN.*certificate' "$T/node.log")
kill -HUP "$NODE_PID"
for _ in $(seq 1 50); do grep -q 'HIE-NODE-RELOAD' "$T/node.log" && break; sleep 0.1; done
iti18 >/dev/null
for _ in $(seq 1 50); do [ "$(grep -c 'HIE-AUDIT-FWD-DOWN.*certificate' "$T/node.log")" -gt "$refused_before" ] && break; sleep 0.1; done
check "repository revoked: after SIGHUP the forwarder refuses its certificate" \
  test "$(grep -c 'HIE-AUDIT-FWD-DOWN.*certificate' "$T/node.log")" -gt "$refused_before"
check "repository revoked: /metrics hie_audit_forward_up 0" test "$(metric hie_audit_forward_up)" = 0
check "repository revoked: transactions still answered" test "$(iti18)" = 200

stop_node
check "the trail verifies intact" bash -c "'$BIN/node/hie-node' audit verify -c '$INI' | grep -q 'audit trail intact'"
check "no sanitizer report in the node's log" bash -c "! grep -q 'Sanitizer\|runtime error' '$T/node.log'"
echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
