#!/usr/bin/env bash
# tests/federation.sh BUILD_DIR -- black-box test of real nodes on loopback:
# three nodes with mutual TLS made by hie-certs/hie-node, the clinician
# query, a stopped peer, a hung peer, a node from a rogue CA, SIGHUP reload,
# bad configs, an occupied port, hostile HTTP input, clean shutdown.
set -uo pipefail
BIN=$(cd "$1" && pwd)
HIE_ROOT=${HIE_SOURCE_DIR:-$(cd "$(dirname "$0")/.." && pwd)}
. "$HIE_ROOT/scripts/lib/federation.sh"
FED=$(mktemp -d "${TMPDIR:-/tmp}/hie-fed-XXXXXX")
trap 'fed_stop_all; [ "${KEEP:-}" ] || rm -rf "$FED"' EXIT

. "$HIE_ROOT/tests/lib.sh"

# json EXPR: evaluates a Python expression over the JSON on stdin (j).
json() { /usr/bin/python3 -c "import json,sys; j=json.load(sys.stdin); print($1)"; }
query() { "$BIN/xca/hie-query" -n "$(fed_http clinic-a)" --patient "$PATIENT" --json "$@"; }
peer_status() { json "{p['name']: p['status'] for p in j['peers']}['$1']"; }

# A base port where nothing listens (checked against /proc/net/tcp).
base=$(fed_base_port)

# The peers come from the admin's signed directory, as hie-node init sets up.
quiet_setup() { FED_SIGNED=1 fed_setup "$1" >/dev/null; }
check "federation set up (CA, three nodes, demo documents)" quiet_setup "$base"
# Tighter deadlines so the hung-peer case runs quickly.
sed -i 's/^peer_deadline_ms = .*/peer_deadline_ms = 1000/; s/^overall_deadline_ms = .*/overall_deadline_ms = 2000/' \
  "$FED/clinic-a/hie-node.ini"

# ---- configuration and init ----
check "--check accepts a node made by init" \
  bash -c "'$BIN/node/hie-node' --check -c '$FED/clinic-a/hie-node.ini' | grep -qx 'configuration OK'"
check "node keys are 0600" test "$(stat -c %a "$FED/clinic-a/node.key")" = 600
check "CA key is 0600" test "$(stat -c %a "$FED/ca/ca.key")" = 600
cp "$FED/clinic-a/hie-node.ini" "$FED/clinic-a/bad.ini"
printf '[query]\npeer_deadline_ms = fast\n' >> "$FED/clinic-a/bad.ini"
out=$("$BIN/node/hie-node" --check -c "$FED/clinic-a/bad.ini" 2>&1); rc=$?
check "--check names the bad key and exits 1" test $rc = 1 -a -n "$(echo "$out" | grep 'query.peer_deadline_ms')"
sed 's/^cert = .*/cert = missing.crt/' "$FED/clinic-a/hie-node.ini" > "$FED/clinic-a/nocert.ini"
out=$("$BIN/node/hie-node" -c "$FED/clinic-a/nocert.ini" 2>&1); rc=$?
check "a missing certificate is named and the node does not start" \
  test $rc = 1 -a -n "$(echo "$out" | grep 'tls.cert: file not found')"
sed 's|^data_dir = .*|data_dir = /proc/hie-cannot-be-here|' "$FED/clinic-a/hie-node.ini" > "$FED/clinic-a/nodata.ini"
out=$("$BIN/node/hie-node" -c "$FED/clinic-a/nodata.ini" 2>&1); rc=$?
check "an unusable data dir is named and the node does not start" \
  test $rc = 1 -a -n "$(echo "$out" | grep 'data_dir /proc/hie-cannot-be-here')"
sed 's/^key = .*/key = other.key/' "$FED/clinic-a/hie-node.ini" > "$FED/clinic-a/wrongkey.ini"
cp "$FED/hospital-b/node.key" "$FED/clinic-a/other.key"
out=$("$BIN/node/hie-node" --check -c "$FED/clinic-a/wrongkey.ini" 2>&1); rc=$?
check "--check finds a key that does not belong to the certificate" test $rc = 1 -a -n "$(echo "$out" | grep 'tls.key: does not belong')"
sed 's|^ca = .*|ca = ../rogueca-check/ca.crt|' "$FED/clinic-a/hie-node.ini" > "$FED/clinic-a/wrongca.ini"
"$BIN/certs/hie-certs" init-ca --ca "$FED/rogueca-check" >/dev/null
out=$("$BIN/node/hie-node" --check -c "$FED/clinic-a/wrongca.ini" 2>&1); rc=$?
check "--check explains a certificate the CA did not issue" test $rc = 1 -a -n "$(echo "$out" | grep 'tls.cert: not issued by the network CA')"
out=$("$BIN/node/hie-node" init "$FED/clinic-a" --name clinic-a --community urn:oid:1.2.3 2>&1); rc=$?
check "init refuses to overwrite a node" test $rc = 1 -a -n "$(echo "$out" | grep 'already exists')"
out=$("$BIN/node/hie-node" init "$FED/x" --name 'bad name' --community urn:oid:1.2.3 2>&1); rc=$?
check "init refuses a name that cannot be a DNS name" test $rc = 2

# ---- the clinician query ----
for n in hospital-b hospital-c clinic-a; do fed_start "$n" || bad "start $n"; done
check "clinic-a connects to both peers over mutual TLS" fed_wait_peers clinic-a 2
r=$(query --user "Dr. Anna Lee" --purpose TREATMENT)
check "query: both peers ok" test "$(echo "$r" | json "[p['status'] for p in j['peers']]")" = "['ok', 'ok']"
check "query: four documents, newest first" \
  test "$(echo "$r" | json "[d['typeCode'] for d in j['documents']]")" = "['18842-5', '52521-2', '57133-1', '34133-9']"
check "peers log the verified requester from the signed assertion" \
  grep -q 'requester="urn:oid:1.3.6.1.4.1.21367.13.20.1000 Dr. Anna Lee"' "$FED/hospital-b.log"
out=$("$BIN/xca/hie-query" -n "$(fed_http clinic-a)" --patient "$PATIENT" --purpose MARKETING 2>&1); rc=$?
check "an unknown purpose of use is refused" test $rc = 1 -a -n "$(echo "$out" | grep 'X-HIE-Purpose')"
check "query: documents carry their community and repository" \
  test "$(echo "$r" | json "sorted({d['homeCommunityId'] for d in j['documents']})")" = \
  "['urn:oid:1.3.6.1.4.1.21367.13.20.2000', 'urn:oid:1.3.6.1.4.1.21367.13.20.3000']"
r=$(query --type 18842-5)
check "query --type 18842-5: one discharge summary" test "$(echo "$r" | json "len(j['documents'])")" = 1
out=$("$BIN/xca/hie-query" -n "$(fed_http clinic-a)" --patient "not-a-cx" 2>&1); rc=$?
check "a malformed patient id is refused with a reason" test $rc = 1 -a -n "$(echo "$out" | grep 'ID^^^&OID&ISO')"
check "human-readable table lists both peers" \
  bash -c "'$BIN/xca/hie-query' -n '$(fed_http clinic-a)' --patient '$PATIENT' | grep -c ' ok ' | grep -qx 2"

# ---- retrieving documents (ITI-39) ----
out=$("$BIN/xca/hie-query" -n "$(fed_http clinic-a)" --patient "$PATIENT" --type 18842-5 --retrieve "$FED/got")
check "--retrieve fetches the discharge summary from hospital-b" \
  cmp -s "$FED/got/2.25.299418744817305917185341891893493520418_HB-DS-0002.xml" "$HIE_ROOT/conf/demo/hospital-b-discharge.xml"
check "--retrieve prints one line per document" test "$(echo "$out" | grep -c '^retrieved ')" = 1
code=$(curl -s -o /dev/null -w '%{http_code}' \
  "http://$(fed_http clinic-a)/api/documents/urn:oid:1.3.6.1.4.1.21367.13.20.2000/1.3.6.1.4.1.21367.13.20.2000.1/2.25.9%5Enope")
check "retrieving a document the peer does not have: 404" test "$code" = 404
code=$(curl -s -o /dev/null -w '%{http_code}' "http://$(fed_http clinic-a)/api/documents/urn:oid:9.9/1.2/x")
check "retrieving from a community not in the directory: 404" test "$code" = 404
code=$(curl -s -o /dev/null -w '%{http_code}' "http://$(fed_http clinic-a)/api/documents/not-a-urn/x")
check "a malformed document path: 400" test "$code" = 400

# ---- health and metrics ----
h=$(curl -sf "http://$(fed_http clinic-a)/health")
check "/health reports node, LMDB and reachable peers" \
  test "$(echo "$h" | json "(j['node'], j['lmdb'], [p['reachable'] for p in j['peers']])")" = "('clinic-a', 'ok', [True, True])"
check "/health says the audit trail is writable" bash -c "echo '$h' | grep -q '\"audit\":\"ok\"'"
m=$(curl -sf "http://$(fed_http hospital-b)/metrics")
check "/metrics counts ITI-38 requests" bash -c "echo '$m' | grep -q 'hie_requests_total{transaction=\"ITI-38\",status=\"ok\"}'"
check "/metrics counts audit records" bash -c "echo '$m' | grep -q 'hie_audit_records_total{result=\"written\"}'"
m=$(curl -sf "http://$(fed_http clinic-a)/metrics")
check "/metrics has per-peer latency histograms" bash -c "echo '$m' | grep -q 'hie_peer_calls_seconds_bucket{peer=\"hospital-b\"'"

# ---- hostile input over HTTP ----
code=$(curl -s -o "$FED/fault.xml" -w '%{http_code}' -H 'Content-Type: application/soap+xml' \
  --data-binary '<!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><x>&e;</x>' "http://$(fed_http hospital-b)/xca/iti38")
check "XXE over HTTP: SOAP fault, nothing read" test "$code" = 400 -a -z "$(grep root: "$FED/fault.xml")"
cat > "$FED/unsigned.xml" <<'XML'
<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope" xmlns:a="http://www.w3.org/2005/08/addressing"><s:Header><a:Action>urn:ihe:iti:2007:CrossGatewayQuery</a:Action><a:MessageID>urn:uuid:0b5c1f7e-6d0c-4c39-9f0e-3f7a8d1e2b4c</a:MessageID></s:Header><s:Body><query:AdhocQueryRequest xmlns:query="urn:oasis:names:tc:ebxml-regrep:xsd:query:3.0" xmlns:rim="urn:oasis:names:tc:ebxml-regrep:xsd:rim:3.0"><query:ResponseOption returnType="LeafClass"/><rim:AdhocQuery id="urn:uuid:14d4debf-8f97-4251-9a74-a90016b0af0d"><rim:Slot name="$XDSDocumentEntryPatientId"><rim:ValueList><rim:Value>'DEMO-1001^^^&amp;1.3.6.1.4.1.21367.13.20.3000&amp;ISO'</rim:Value></rim:ValueList></rim:Slot><rim:Slot name="$XDSDocumentEntryStatus"><rim:ValueList><rim:Value>('urn:oasis:names:tc:ebxml-regrep:StatusType:Approved')</rim:Value></rim:ValueList></rim:Slot></rim:AdhocQuery></query:AdhocQueryRequest></s:Body></s:Envelope>
XML
code=$(curl -s -o "$FED/fault2.xml" -w '%{http_code}' -H 'Content-Type: application/soap+xml' \
  --data-binary @"$FED/unsigned.xml" "http://$(fed_http hospital-b)/xca/iti38")
check "an unsigned ITI-38 is refused with a WS-Security fault, no documents" \
  test "$code" = 400 -a -n "$(grep 'wsse:InvalidSecurity' "$FED/fault2.xml")" -a -z "$(grep -i ExtrinsicObject "$FED/fault2.xml")"
check "the refusal is logged with its reason" grep -q 'HIE-SOAP-REQ.*status=fault.*not signed' "$FED/hospital-b.log"
long=$(printf '1%.0s' $(seq 63)); types=$(for i in $(seq 16); do printf 'type=%s&' "$long"; done)
code=$(curl -s -o /dev/null -w '%{http_code}' "http://$(fed_http clinic-a)/api/patients/DEMO-1001%5E%5E%5E%261.3.6.1.4.1.21367.13.20.3000%26ISO/documents?${types%&}")
check "16 maximal type codes: answered ($code), node up" test "$code" = 200
code=$(curl -s -o /dev/null -w '%{http_code}' "http://$(fed_http clinic-a)/api/patients")
check "the bare /api/patients path: 404" test "$code" = 404
head -c 300000 /dev/urandom > "$FED/garbage.bin"
curl -s -o /dev/null --data-binary @"$FED/garbage.bin" "http://$(fed_http hospital-b)/xca/iti38"
check "garbage over HTTP: node still answers" curl -sf -o /dev/null "http://$(fed_http hospital-b)/health"

# ---- the audit trail ----
sleep 0.3 # the audit writer commits in the background
out=$("$BIN/node/hie-node" audit verify -c "$FED/hospital-b/hie-node.ini")
check "hospital-b's audit trail is intact while it runs" bash -c "echo '$out' | grep -q '^audit trail intact'"
"$BIN/node/hie-node" audit list -c "$FED/hospital-b/hie-node.ini" > "$FED/audit-b.txt"
check "audit: ITI-38 answered for Dr. Anna Lee, with purpose and patient" \
  grep -q '"event":"ITI-38","role":"responder".*"user":"Dr. Anna Lee".*"purpose":"TREATMENT","patient":"DEMO-1001' "$FED/audit-b.txt"
check "audit: the unsigned request is a security alert" grep -q '"event":"security-alert".*not signed' "$FED/audit-b.txt"
check "audit: ITI-39 names the disclosed document" grep -q '"event":"ITI-39".*HB-DS-0002' "$FED/audit-b.txt"
"$BIN/node/hie-node" audit list -c "$FED/clinic-a/hie-node.ini" > "$FED/audit-a.txt"
check "audit: the initiating side records who asked about whom" \
  grep -q '"event":"ITI-38","role":"initiator".*"user":"Dr. Anna Lee".*"patient":"DEMO-1001.*ok=2' "$FED/audit-a.txt"

# ---- a stopped peer ----
fed_stop hospital-c
t0=$(date +%s%N)
r=$(query)
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
echo "     stopped peer: query answered in $ms ms"
check "stopped peer: hospital-b still ok with its 2 documents" \
  test "$(echo "$r" | json "(j['peers'][0]['status'], len(j['documents']))")" = "('ok', 2)"
# error when the node has seen the connection drop, timeout if the request
# was already on its way: either way reported, and bounded.
check "stopped peer: hospital-c reported as error or timeout" \
  bash -c "echo '$(echo "$r" | peer_status hospital-c)' | grep -qxE 'error|timeout'"
# The node's own time for the query (wall time adds hie-query's start,
# which on a loaded machine under ASan is not the node's doing).
node_ms=$(echo "$r" | json "j['ms']")
check "stopped peer: answered within the overall deadline (node: $node_ms ms)" test "$node_ms" -lt 2000

# ---- a hung peer (SIGSTOP: connected, never answers) ----
kill -STOP "$(cat "$FED/hospital-b.pid")"
t0=$(date +%s%N)
r=$(query)
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
kill -CONT "$(cat "$FED/hospital-b.pid")"
echo "     hung peer: query answered in $ms ms (peer deadline 1000 ms)"
check "hung peer: reported as timeout" test "$(echo "$r" | peer_status hospital-b)" = timeout
node_ms=$(echo "$r" | json "j['ms']")
check "hung peer: the query ends at the deadline, not later (node: $node_ms ms)" test "$node_ms" -lt 2000

# ---- the stopped peer comes back ----
fed_start hospital-c
fed_wait_peers clinic-a 2
check "restarted peer answers again" test "$(query | peer_status hospital-c)" = ok

# ---- a node whose certificate is not from the network CA ----
"$BIN/certs/hie-certs" init-ca --ca "$FED/rogueca" >/dev/null
"$BIN/node/hie-node" init "$FED/intruder" --name intruder --community urn:oid:1.3.6.1.4.1.21367.13.20.9000 \
  --ca "$FED/rogueca" --unsigned-peers --peer-port $((base + 30)) --http-port $((base + 110)) >/dev/null
# The network's directory is signed by a CA the intruder does not trust: it
# can only make up a peer list of its own.
cp "$FED/peers.ini" "$FED/intruder/peers.ini"
echo "intruder urn:oid:1.3.6.1.4.1.21367.13.20.9000 $((base + 30)) $((base + 110))" >> "$FED/nodes"
fed_start intruder
sleep 2
r=$("$BIN/xca/hie-query" -n "$(fed_http intruder)" --patient "$PATIENT" --json)
check "rogue-CA node cannot connect to any peer" \
  test "$(echo "$r" | json "sorted({p['status'] for p in j['peers']})")" = "['error']"
check "rogue-CA node got no documents" test "$(echo "$r" | json "len(j['documents'])")" = 0
check "the real network is unaffected" test "$(query | json "len(j['documents'])")" = 4
fed_stop intruder

# ---- SIGHUP reloads the peer directory ----
sed -i '/^intruder /d' "$FED/nodes"
# The admin removes hospital-c from the network: one signed directory, copied, SIGHUP.
"$BIN/certs/hie-certs" directory remove --file "$FED/admin/directory.ini" --name hospital-c >/dev/null
fed_directory_publish
kill -HUP "$(cat "$FED/clinic-a.pid")"
sleep 1.5
check "after SIGHUP the query goes to the new directory's peers" \
  test "$(query | json "[p['name'] for p in j['peers']]")" = "['hospital-b']"
check "SIGHUP is logged" grep -q HIE-NODE-RELOAD "$FED/clinic-a.log"
check "the reload names the new directory's serial" grep -q 'serial 2' "$FED/clinic-a.log"

# ---- certificate rotation and revocation, on SIGHUP ----
read -r _ community pport _ < <(grep '^hospital-c ' "$FED/nodes")
"$BIN/certs/hie-certs" directory add --file "$FED/admin/directory.ini" --ca "$FED/ca" --name hospital-c \
  --community "$community" --cert "$FED/hospital-c/node.crt" --address "tls+tcp://127.0.0.1:$pport" >/dev/null
fed_directory_publish
kill -HUP "$(cat "$FED/clinic-a.pid")"
fed_wait_peers clinic-a 2
check "hospital-c listed again: both peers answer" test "$(query | json "len(j['peers'])")" = 2
check "hie-certs rotate gives hospital-b a new key and certificate" \
  "$BIN/certs/hie-certs" rotate --ca "$FED/ca" --node "$FED/hospital-b"
check "the rotated key is 0600" test "$(stat -c %a "$FED/hospital-b/node.key")" = 600
# The peers learn the new certificate from the admin: it is added next to
# the old one (both valid until the old one expires), signed, handed out.
read -r _ community pport _ < <(grep '^hospital-b ' "$FED/nodes")
check "the admin lists hospital-b's new certificate next to the old" \
  "$BIN/certs/hie-certs" directory add --file "$FED/admin/directory.ini" --ca "$FED/ca" --name hospital-b \
  --community "$community" --cert "$FED/hospital-b/node.crt" --address "tls+tcp://127.0.0.1:$pport"
fed_directory_publish
for n in clinic-a hospital-c; do kill -HUP "$(cat "$FED/$n.pid")"; done
sleep 0.5
kill -HUP "$(cat "$FED/hospital-b.pid")"
sleep 0.5; fed_wait_peers clinic-a 2
check "after hospital-b rotates its certificate (SIGHUP) it still answers" \
  test "$(query | peer_status hospital-b)" = ok
check "the rotation is logged" grep -q 'HIE-NODE-RELOAD.*certificates, CA and CRL' "$FED/hospital-b.log"
"$BIN/certs/hie-certs" revoke --ca "$FED/ca" --cert "$FED/clinic-a/node.crt" >/dev/null
"$BIN/certs/hie-certs" crl --ca "$FED/ca" --out "$FED/hospital-b/crl.pem" >/dev/null
kill -HUP "$(cat "$FED/hospital-b.pid")"
sleep 1.5
st=$(query | peer_status hospital-b)
check "after clinic-a is revoked and hospital-b reloads its CRL, hospital-b refuses it ($st)" test "$st" != ok
check "hospital-c, without the new CRL yet, still answers clinic-a" test "$(query | peer_status hospital-c)" = ok

# ---- an occupied port ----
out=$("$BIN/node/hie-node" -c "$FED/hospital-b/hie-node.ini" 2>&1); rc=$?
check "occupied port: clear error, exit 1" test $rc = 1 -a -n "$(echo "$out" | grep 'address already in use')"

# ---- clean shutdown ----
fed_stop clinic-a TERM; rc=$?
check "SIGTERM: exit 0" test $rc = 0
check "SIGTERM: shutdown logged" grep -q HIE-NODE-STOP "$FED/clinic-a.log"
check "SIGTERM: node-stop is the last audit record, trail intact" \
  bash -c "'$BIN/node/hie-node' audit list -c '$FED/clinic-a/hie-node.ini' -n 1 | grep -q '\"event\":\"node-stop\"' &&
           '$BIN/node/hie-node' audit verify -c '$FED/clinic-a/hie-node.ini' >/dev/null"

fed_stop_all
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
