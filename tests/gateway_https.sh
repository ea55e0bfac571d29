#!/usr/bin/env bash
# tests/gateway_https.sh BUILD_DIR -- a peer outside the nng network: in
# clinic-a's directory hospital-b is an https:// SOAP endpoint (a real node's
# HTTP SOAP listener behind a TLS front that requires our client
# certificate, tests/https_forward.py), called with libcurl; hospital-c stays
# on the nng link.  ITI-38 and ITI-39 (MTOM/XOP, as ITI-39 requires) both
# ways, signed; a front that does not
# answer is bounded by the deadline; a rogue CA's front is refused, and so is
# a front whose certificate the network CRL revokes.
set -uo pipefail
BIN=$(cd "$1" && pwd)
HIE_ROOT=${HIE_SOURCE_DIR:-$(cd "$(dirname "$0")/.." && pwd)}
. "$HIE_ROOT/scripts/lib/federation.sh"
FED=$(mktemp -d "${TMPDIR:-/tmp}/hie-gwhttps-XXXXXX")
FWD=
trap '[ -n "$FWD" ] && kill $FWD 2>/dev/null; fed_stop_all; [ "${KEEP:-}" ] || rm -rf "$FED"' EXIT

. "$HIE_ROOT/tests/lib.sh"
json() { /usr/bin/python3 -c "import json,sys; j=json.load(sys.stdin); print($1)"; }
query() { "$BIN/xca/hie-query" -n "$(fed_http clinic-a)" --patient "$PATIENT" --json "$@"; }

base=$(fed_base_port)
fport=$((base + 50))
fed_setup "$base" >/dev/null || { echo "FAIL - federation set up"; exit 1; }
sed -i 's/^peer_deadline_ms = .*/peer_deadline_ms = 1500/; s/^overall_deadline_ms = .*/overall_deadline_ms = 3000/' \
  "$FED/clinic-a/hie-node.ini"
# The TLS front's certificate: from the network CA, for hospital-b's
# community, named after the host clinic-a dials (checked by curl).
"$BIN/certs/hie-certs" issue --ca "$FED/ca" --name localhost --community urn:oid:1.3.6.1.4.1.21367.13.20.2000 \
  --out "$FED/front" >/dev/null || { echo "FAIL - front certificate"; exit 1; }
/usr/bin/python3 "$HIE_ROOT/tests/https_forward.py" "$FED/front/node.crt" "$FED/front/node.key" "$FED/ca/ca.crt" \
  "$fport" "http://$(fed_http hospital-b)/xca/iti38" > "$FED/fwd.out" 2> "$FED/fwd.log" &
FWD=$!
for _ in $(seq 1 50); do grep -q ready "$FED/fwd.out" 2>/dev/null && break; sleep 0.1; done
/usr/bin/python3 - "$FED/clinic-a/peers.ini" "$fport" <<'PY'
import re, sys
p, port = sys.argv[1], sys.argv[2]
s = open(p).read()
s = re.sub(r'(\[hospital-b\][^\[]*address = )\S+', r'\g<1>https://localhost:%s/xca/iti38' % port, s)
open(p, 'w').write(s)
PY
check "clinic-a's directory accepts an https:// peer" \
  bash -c "'$BIN/node/hie-node' --check -c '$FED/clinic-a/hie-node.ini' | grep -qx 'configuration OK'"
for n in clinic-a hospital-b hospital-c; do fed_start "$n" || exit 1; done
fed_wait_peers clinic-a 2

r=$(query)
echo "$r" | json "'\n'.join('     %s %s %s ms %s' % (p['name'], p['status'], p['ms'], p.get('error', '')) for p in j['peers'])"
check "ITI-38 over https (curl, mutual TLS, signed) and over nng: both ok" \
  test "$(echo "$r" | json "','.join(p['status'] for p in j['peers'])")" = "ok,ok"
check "four documents, hospital-b's with its community" \
  test "$(echo "$r" | json "len(j['documents'])"),$(echo "$r" | json "sum(d['homeCommunityId'].endswith('2000') for d in j['documents'])")" = "4,2"
check "the front saw our client certificate's requests" grep -q "POST" "$FED/fwd.log"
out=$("$BIN/xca/hie-query" -n "$(fed_http clinic-a)" --patient "$PATIENT" --type 18842-5 --latest --retrieve "$FED/got" 2>&1)
check "ITI-39 over https: the discharge summary retrieved and its hash checked" \
  bash -c "ls '$FED/got' | grep -q HB-DS && grep -q 'Discharge Summary' '$FED'/got/*"
check "ITI-39 over https went as MTOM/XOP both ways (the node's answer an attachment)" \
  grep -q "request multipart/related answer multipart/related" "$FED/fwd.log"
check "ITI-38 over https stays plain SOAP" grep -q "request application/soap+xml answer application/soap+xml" "$FED/fwd.log"

# A front that accepts TCP but never answers: bounded by the peer deadline.
kill -STOP $FWD
r=$(query)
echo "$r" | json "'\n'.join('     %s %s %s ms %s' % (p['name'], p['status'], p['ms'], p.get('error', '')) for p in j['peers'])"
check "a hung https peer times out at its deadline; hospital-c still ok" \
  test "$(echo "$r" | json "','.join(p['status'] for p in j['peers'])")" = "timeout,ok"
kill -CONT $FWD; kill $FWD; wait $FWD 2>/dev/null; FWD=

# A front with a certificate from another CA: refused by curl.
"$BIN/certs/hie-certs" init-ca --ca "$FED/rogue" --name "Rogue CA" >/dev/null
"$BIN/certs/hie-certs" issue --ca "$FED/rogue" --name localhost --community urn:oid:1.3.6.1.4.1.21367.13.20.2000 \
  --out "$FED/rfront" >/dev/null
/usr/bin/python3 "$HIE_ROOT/tests/https_forward.py" "$FED/rfront/node.crt" "$FED/rfront/node.key" "$FED/ca/ca.crt" \
  "$fport" "http://$(fed_http hospital-b)/xca/iti38" > "$FED/fwd2.out" 2>> "$FED/fwd.log" &
FWD=$!
for _ in $(seq 1 50); do grep -q ready "$FED/fwd2.out" 2>/dev/null && break; sleep 0.1; done
r=$(query)
echo "$r" | json "'\n'.join('     %s %s %s ms %s' % (p['name'], p['status'], p['ms'], p.get('error', '')) for p in j['peers'])"
check "an https peer with a rogue CA's certificate is an error, not believed" \
  test "$(echo "$r" | json "[p['status'] for p in j['peers']][0]")" = error

# A front with a good certificate that the network then revokes: refused
# once clinic-a has the new CRL (curl checks the network CRL too).
kill $FWD; wait $FWD 2>/dev/null; FWD=
"$BIN/certs/hie-certs" issue --ca "$FED/ca" --name localhost --community urn:oid:1.3.6.1.4.1.21367.13.20.2000 \
  --out "$FED/vfront" >/dev/null
/usr/bin/python3 "$HIE_ROOT/tests/https_forward.py" "$FED/vfront/node.crt" "$FED/vfront/node.key" "$FED/ca/ca.crt" \
  "$fport" "http://$(fed_http hospital-b)/xca/iti38" > "$FED/fwd3.out" 2>> "$FED/fwd.log" &
FWD=$!
for _ in $(seq 1 50); do grep -q ready "$FED/fwd3.out" 2>/dev/null && break; sleep 0.1; done
check "clinic-a has a CRL configured (the network's)" grep -q '^crl = .\+' "$FED/clinic-a/hie-node.ini"
check "a fresh front certificate is believed" test "$(query | json "[p['status'] for p in j['peers']][0]")" = ok
"$BIN/certs/hie-certs" revoke --ca "$FED/ca" --cert "$FED/vfront/node.crt" >/dev/null
"$BIN/certs/hie-certs" crl --ca "$FED/ca" --out "$FED/clinic-a/crl.pem" >/dev/null
kill -HUP "$(cat "$FED/clinic-a.pid")"; sleep 1; fed_wait_peers clinic-a 1
r=$(query)
echo "$r" | json "'\n'.join('     %s %s %s ms %s' % (p['name'], p['status'], p['ms'], p.get('error', '')) for p in j['peers'])"
check "once revoked (clinic-a's new CRL), that front is refused: error, revoked" \
  test "$(echo "$r" | json "[(p['status'], 'revoked' in p.get('error', '')) for p in j['peers']][0]")" = "('error', True)"
check "hospital-c (nng) still ok" test "$(echo "$r" | json "[p['status'] for p in j['peers']][1]")" = ok

echo "# gateway_https: $pass passed, $fail failed"
[ "$fail" = 0 ]
