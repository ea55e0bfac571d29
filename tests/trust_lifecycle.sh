#!/usr/bin/env bash
# tests/trust_lifecycle.sh BUILD_DIR -- the certificate lifecycle on a
# running federation (three real nodes, scripts/lib/federation.sh):
#   - clinician queries run in a loop while every node gets SIGHUP after
#     SIGHUP: every query answers with both peers ok (a reload never drops
#     a query in flight); and while hospital-b rotates its certificate (its
#     peer listener restarts: every query is still answered by both), then
#     all ok again;
#   - after the rotation, a message signed with hospital-b's old key and
#     certificate is still accepted by its peers (same CA, not expired, not
#     revoked); once it is revoked and the CRL reloaded, refused.  (Expiry
#     itself is OpenSSL's chain check; hie-certs cannot make an expired
#     certificate, so it is not exercised here.)
set -uo pipefail
BIN=$(cd "$1" && pwd)
HIE_ROOT=${HIE_SOURCE_DIR:-$(cd "$(dirname "$0")/.." && pwd)}
. "$HIE_ROOT/scripts/lib/federation.sh"
FED=$(mktemp -d "${TMPDIR:-/tmp}/hie-life-XXXXXX")
trap 'fed_stop_all; [ "${KEEP:-}" ] || rm -rf "$FED"' EXIT
. "$HIE_ROOT/tests/lib.sh"
A=urn:oid:1.3.6.1.4.1.21367.13.20.1000
B=urn:oid:1.3.6.1.4.1.21367.13.20.2000

base=$(fed_base_port)
fed_setup "$base" >/dev/null || { echo "FAIL - federation setup"; exit 1; }
for n in clinic-a hospital-b hospital-c; do fed_start "$n" || exit 1; done
fed_wait_peers clinic-a 2
pid() { cat "$FED/$1.pid"; }

# query_loop SECONDS OUT: clinician queries back to back; one line per query
# with each peer's status.
query_loop() {
  local end=$(( $(date +%s) + $1 ))
  while [ "$(date +%s)" -lt "$end" ]; do
    timeout 30 "$BIN/xca/hie-query" -n "$(fed_http clinic-a)" --patient "$PATIENT" --json 2>/dev/null |
      /usr/bin/python3 -c "import json,sys
try:
    j=json.load(sys.stdin); print(' '.join('%s=%s' % (p['name'], p['status']) for p in j['peers']), len(j['documents']))
    for p in j['peers']:
        if p['status'] != 'ok':
            print('%s: %s' % (p['name'], p.get('error', '')), file=sys.stderr)
except Exception as e:
    print('no-answer', e)" 2>> "$2.why"
  done > "$2"
}
# The counts of each outcome, and why a peer was not ok (the coordinator's
# own words), so that a failure in CI says what happened.
summary() {
  sort "$1" | uniq -c | sed 's/^ */     /'
  for f in "$@"; do [ -s "$f.why" ] && sort "$f.why" | uniq -c | sed 's/^ */     why: /'; done
  return 0
}
all_ok() { [ -s "$1" ] && ! grep -qv '^hospital-b=ok hospital-c=ok 4$' "$1"; }

# ---- SIGHUP storm ----
# Two clinicians at once, so that reloads land while queries are in flight.
# A SIGHUP every second to each node.  A reload that changes neither the
# peers nor the certificates keeps the fan-out and its TLS connections
# (node/daemon.c).  It used to replace them every time: new fan-outs still
# handshaking when replaced again made queries wait or fail under load,
# and nng 1.5.2 leaks the TLS connection of a dialer closed mid-handshake
# (LeakSanitizer at exit, indirect leaks inside nng/mbedTLS).
query_loop 9 "$FED/storm1.txt" &
loop=$!
query_loop 9 "$FED/storm2.txt" &
loop2=$!
n=0
for _ in $(seq 8); do
  for node in clinic-a hospital-b hospital-c; do kill -HUP "$(pid $node)"; done
  n=$((n + 3)); sleep 1
done
wait $loop $loop2
cat "$FED/storm1.txt" "$FED/storm2.txt" > "$FED/storm.txt"
summary "$FED/storm.txt" "$FED/storm1.txt" "$FED/storm2.txt"
check "$(wc -l < "$FED/storm.txt") queries during $n SIGHUPs: every one answered by both peers with 4 documents" all_ok "$FED/storm.txt"
check "the reloads are logged" test "$(grep -c HIE-NODE-RELOAD "$FED/clinic-a.log")" -ge 8
# Nothing changed for the fan-out: its connections stay up across a reload.
check "a SIGHUP that changes nothing keeps the peer connections" \
  test "$(grep -c 'HIE-NODE-RELOAD.*peer connections kept' "$FED/clinic-a.log")" -ge 8

# ---- rotation under load ----
cp "$FED/hospital-b/node.crt" "$FED/b-old.crt"
query_loop 6 "$FED/rotate1.txt" &
loop=$!
query_loop 6 "$FED/rotate2.txt" &
loop2=$!
sleep 1
check "hie-certs rotate hospital-b" "$BIN/certs/hie-certs" rotate --ca "$FED/ca" --node "$FED/hospital-b" >/dev/null
kill -HUP "$(pid hospital-b)"
sleep 1; kill -HUP "$(pid clinic-a)"
wait $loop $loop2
cat "$FED/rotate1.txt" "$FED/rotate2.txt" > "$FED/rotate.txt"
summary "$FED/rotate.txt" "$FED/rotate1.txt" "$FED/rotate2.txt"
# Restarting the peer listener on the new certificate drops clinic-a's
# connection: a query that starts before clinic-a has reconnected waits for
# the new connection within its deadline, and a request that was on the
# dropped connection is resent once, freshly signed (xca/call.c).  No query
# may fail.
check "$(wc -l < "$FED/rotate.txt") queries while hospital-b rotates and reloads: every one answered by both" \
  all_ok "$FED/rotate.txt"
check "clinic-a logs its reconnection to hospital-b, with how long it took" \
  grep -q 'HIE-XCA-RECONNECTED.*peer=hospital-b ms=[0-9]' "$FED/clinic-a.log"
sleep 1; fed_wait_peers clinic-a 2
query_loop 2 "$FED/after.txt"
check "after the rotation, $(wc -l < "$FED/after.txt") queries answered by both" all_ok "$FED/after.txt"
check "hospital-b serves the new certificate" bash -c "! cmp -s '$FED/hospital-b/node.crt' '$FED/b-old.crt'"

# ---- the old certificate until it expires or is revoked ----
cat > "$FED/req.xml" <<XML
<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope" xmlns:a="http://www.w3.org/2005/08/addressing"><s:Header><a:Action>urn:ihe:iti:2007:CrossGatewayQuery</a:Action><a:MessageID>urn:uuid:$(cat /proc/sys/kernel/random/uuid)</a:MessageID><a:To>x</a:To></s:Header><s:Body><x:Q xmlns:x="urn:x">hello</x:Q></s:Body></s:Envelope>
XML
sed -e 's/^cert = .*/cert = node.crt.old/' -e 's/^key = .*/key = node.key.old/' \
  "$FED/hospital-b/hie-node.ini" > "$FED/hospital-b/old.ini"
"$BIN/node/hie-node" soap sign -c "$FED/hospital-b/old.ini" --audience $A "$FED/req.xml" > "$FED/by-old.xml"
verify_a() { "$BIN/node/hie-node" soap verify -c "$FED/clinic-a/hie-node.ini" "$1"; }
check "a message signed with hospital-b's old certificate is still accepted" \
  bash -c "'$BIN/node/hie-node' soap verify -c '$FED/clinic-a/hie-node.ini' '$FED/by-old.xml' | grep -q '^ok: signed by $B'"
"$BIN/certs/hie-certs" revoke --ca "$FED/ca" --cert "$FED/b-old.crt" >/dev/null
"$BIN/certs/hie-certs" crl --ca "$FED/ca" --out "$FED/clinic-a/crl.pem" >/dev/null
out=$(verify_a "$FED/by-old.xml")
check "once revoked (clinic-a's new CRL), the old certificate is refused ($out)" \
  bash -c "echo '$out' | grep -q '^refused: signing certificate not trusted: certificate revoked'"
kill -HUP "$(pid clinic-a)"; sleep 1; fed_wait_peers clinic-a 2
check "clinic-a, reloaded with the CRL, still gets hospital-b's answers (new certificate)" \
  bash -c "timeout 30 '$BIN/xca/hie-query' -n '$(fed_http clinic-a)' --patient '$PATIENT' --json | grep -q '\"name\":\"hospital-b\",\"status\":\"ok\"\|\"status\": *\"ok\"'"

for node in clinic-a hospital-b hospital-c; do
  fed_stop "$node"; rc=$?
  check "$node stops cleanly (exit $rc)" test $rc = 0
done
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
