#!/usr/bin/env bash
# tests/gateway_api.sh BUILD_DIR -- the clinician's and EHR's side of the
# gateway on real nodes (hie-node init, mutual TLS, signed ITI-38/39): the
# JSON API's filters (type, date range, confidentiality), the referral
# workflow (newest discharge summary from any peer, retrieved), and the
# per-patient result cache with its explicit invalidation.
set -uo pipefail
BIN=$(cd "$1" && pwd)
HIE_ROOT=${HIE_SOURCE_DIR:-$(cd "$(dirname "$0")/.." && pwd)}
. "$HIE_ROOT/scripts/lib/federation.sh"
FED=$(mktemp -d "${TMPDIR:-/tmp}/hie-gwapi-XXXXXX")
trap 'fed_stop_all; [ "${KEEP:-}" ] || rm -rf "$FED"' EXIT

. "$HIE_ROOT/tests/lib.sh"
json() { /usr/bin/python3 -c "import json,sys; j=json.load(sys.stdin); print($1)"; }
query() { "$BIN/xca/hie-query" -n "$(fed_http clinic-a)" --patient "$PATIENT" --json "$@"; }
ndocs() { json "len(j['documents'])"; }
statuses() { json "','.join(p['status'] for p in j['peers'])"; }
# hospital-c stopped: asked and failed -- "error" once its connection is
# gone, "timeout" while a stopping node still holds it without answering.
c_down() { case "$1" in ok,error|ok,timeout) return 0;; esac; echo "     got $1"; return 1; }

base=$(fed_base_port)
fed_setup "$base" >/dev/null || { echo "FAIL - federation set up"; exit 1; }
# Short deadlines (a stopped peer below), and the result cache on.
sed -i 's/^peer_deadline_ms = .*/peer_deadline_ms = 1000/; s/^overall_deadline_ms = .*/overall_deadline_ms = 2000/;
        s/^cache_ttl_s = .*/cache_ttl_s = 300/; s/^max_in_flight = .*/max_in_flight = 2/' "$FED/clinic-a/hie-node.ini"
for n in clinic-a hospital-b hospital-c; do fed_start "$n" || exit 1; done
check "clinic-a reaches both peers" fed_wait_peers clinic-a 2

# ---- filters ----
check "no filter: four documents" test "$(query | ndocs)" = 4
check "--type 18842-5: the discharge summary only" \
  test "$(query --type 18842-5 | json "[d['typeCode'] for d in j['documents']]")" = "['18842-5']"
check "--since 20261101: created on or after" test "$(query --since 20261101 | json "all(d['creationTime'] >= '20261101' for d in j['documents']) and len(j['documents']) > 0")" = True
check "--until 20261101: created before" test "$(query --until 20261101 | json "all(d['creationTime'] < '20261101' for d in j['documents']) and len(j['documents']) > 0")" = True
check "--since and --until together split the four" \
  test $(( $(query --since 20261101 | ndocs) + $(query --until 20261101 | ndocs) )) = 4
check "--until 1990: nothing" test "$(query --until 1990 | ndocs)" = 0
check "--confidentiality N: all four (the demo documents are normal)" test "$(query --confidentiality N | ndocs)" = 4
check "--confidentiality R,V: none" test "$(query --confidentiality R,V | ndocs)" = 0
out=$(curl -s "http://$(fed_http clinic-a)/api/patients/$(/usr/bin/python3 -c "import urllib.parse;print(urllib.parse.quote('$PATIENT',safe=''))")/documents?confidentiality=r%3Cx")
check "a malformed confidentiality code is refused by name" bash -c "echo '$out' | grep -q 'confidentiality must be'"
out=$(curl -s "http://$(fed_http clinic-a)/api/patients/x/documents?until=yesterday")
check "a malformed date is refused" bash -c "echo '$out' | grep -q 'error'"

# ---- referral: the newest discharge summary from any peer ----
out=$("$BIN/xca/hie-query" -n "$(fed_http clinic-a)" --patient "$PATIENT" --type 18842-5 --latest --retrieve "$FED/referral")
rc=$?
echo "$out" | sed 's/^/     /'
check "referral: exit 0, one document retrieved" test $rc = 0 -a "$(ls "$FED/referral" | wc -l)" = 1
check "referral: it is the discharge summary, verified against its hash" \
  grep -q "Discharge Summary" "$FED"/referral/*
check "--latest keeps the newest of several" \
  test "$(query --latest | json "len(j['documents'])")" = 1 -a \
       "$(query --latest | json "j['documents'][0]['creationTime']")" = "$(query | json "max(d['creationTime'] for d in j['documents'])")"

# ---- streamed results and one budget (issue 8) ----
out=$("$BIN/xca/hie-query" -n "$(fed_http clinic-a)" --patient "$PATIENT" --stream)
echo "$out" | sed 's/^/     /'
check "--stream: a line per peer as it answered, before the whole result" \
  bash -c "echo \"\$1\" | grep -n '^peer \|^Patient' | cut -d: -f2 | cut -c1-7 | tr '\n' ' ' | grep -q '^peer ho peer ho Patient'" _ "$out"
check "--stream: each peer line has its documents" test "$(echo "$out" | grep -c '^peer hospital-[bc] ok .*, 2 documents')" = 2
lines=$(query --stream)
check "--stream --json: the peers' lines are NDJSON objects with a peer" \
  test "$(echo "$lines" | /usr/bin/python3 -c "import json,sys; ls=[json.loads(l) for l in sys.stdin]; print(sum('peer' in l for l in ls), 'peers' in ls[-1])")" = "2 True"
check "--stream: the final result is the plain query's (same documents)" \
  test "$(echo "$lines" | tail -1 | json "sorted(d['uniqueId'] for d in j['documents'])")" = "$(query --refresh | json "sorted(d['uniqueId'] for d in j['documents'])")"
hdrs=$(curl -s -D - -o /dev/null -H 'Accept: application/x-ndjson' \
  "http://$(fed_http clinic-a)/api/patients/$(/usr/bin/python3 -c "import urllib.parse;print(urllib.parse.quote('$PATIENT',safe=''))")/documents")
check "the API streams as chunked application/x-ndjson" \
  bash -c "echo \"\$1\" | grep -qi '^transfer-encoding: chunked' && echo \"\$1\" | grep -qi '^content-type: application/x-ndjson'" _ "$hdrs"
for n in hospital-b hospital-c; do kill -STOP "$(cat "$FED/$n.pid")"; done
st=$(query --refresh --deadline 0.3 | statuses)
for n in hospital-b hospital-c; do kill -CONT "$(cat "$FED/$n.pid")"; done
check "--deadline 0.3 with both peers hung: every peer is a timeout" test "$st" = "timeout,timeout"
check "--deadline 5 (more than overall_deadline_ms): ok, the node's deadline holds" \
  test "$(query --refresh --deadline 5 | statuses)" = "ok,ok"
out=$(curl -s -H 'X-HIE-Deadline-Ms: soon' "http://$(fed_http clinic-a)/api/patients/$(/usr/bin/python3 -c "import urllib.parse;print(urllib.parse.quote('$PATIENT',safe=''))")/documents")
check "a malformed X-HIE-Deadline-Ms is refused by name" bash -c "echo '$out' | grep -q 'X-HIE-Deadline-Ms must be'"
doc=$(query | json "'/'.join(__import__('urllib.parse').parse.quote(j['documents'][0][k], safe='') for k in ('homeCommunityId', 'repositoryUniqueId', 'uniqueId'))")
# The peers are stopped for this one: a 1 ms budget alone is a race that a
# fast loopback retrieve can win.
for n in hospital-b hospital-c; do kill -STOP "$(cat "$FED/$n.pid")"; done
t0=$(date +%s%N)
code=$(curl -s -o "$FED/doc.out" -w '%{http_code}' -H 'X-HIE-Deadline-Ms: 300' "http://$(fed_http clinic-a)/api/documents/$doc")
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
for n in hospital-b hospital-c; do kill -CONT "$(cat "$FED/$n.pid")"; done
echo "     retrieve from a hung peer with a 300 ms budget: answered in $ms ms"
check "retrieve within a 300 ms budget from a hung peer: 502 timeout ($(head -c 200 "$FED/doc.out"))" bash -c "[ '$code' = 502 ] && grep -qE 'within|deadline' '$FED/doc.out'"
code=$(curl -s -o /dev/null -w '%{http_code}' -H 'X-HIE-Deadline-Ms: 3000' "http://$(fed_http clinic-a)/api/documents/$doc")
check "retrieve within a 3 s budget: 200" test "$code" = 200

# ---- requests in flight are bounded ([query] max_in_flight = 2 here) ----
# Two retrieves wait on hung peers; a third request is refused at once,
# and once they are done the node answers again.
for n in hospital-b hospital-c; do kill -STOP "$(cat "$FED/$n.pid")"; done
waiting=()
for i in 1 2; do
  curl -s -o /dev/null -H 'X-HIE-Deadline-Ms: 3000' "http://$(fed_http clinic-a)/api/documents/$doc" &
  waiting+=($!)
done
sleep 0.3 # they wait at most peer_deadline_ms (1 s here)
curl -s -D "$FED/busy.hdr" -o "$FED/busy.out" -H 'X-HIE-Deadline-Ms: 3000' "http://$(fed_http clinic-a)/api/documents/$doc"
for n in hospital-b hospital-c; do kill -CONT "$(cat "$FED/$n.pid")"; done
wait "${waiting[@]}"
check "a third request while two wait on peers: 503 with Retry-After ($(head -c 200 "$FED/busy.out"))" \
  bash -c "head -1 '$FED/busy.hdr' | grep -q ' 503' && grep -qi '^Retry-After: 1' '$FED/busy.hdr' && grep -q 'in flight' '$FED/busy.out'"
check "... counted in /metrics" bash -c "curl -s 'http://$(fed_http clinic-a)/metrics' | grep -q '^hie_api_busy_total{via=\"api\"} 1'"
code=$(curl -s -o /dev/null -w '%{http_code}' -H 'X-HIE-Deadline-Ms: 3000' "http://$(fed_http clinic-a)/api/documents/$doc")
check "... and once they are done, a retrieve is answered again: 200" test "$code" = 200

# ---- the result cache ----
r1=$(query --type 34133-9,18842-5)
fed_stop hospital-c
r2=$(query --type 34133-9,18842-5)
check "cache: the same query again is answered from the cache (hospital-c is down)" test "$r2" = "$r1"
check "cache: the node logged the cached answer" grep -q "cached result" "$FED/clinic-a.log"
check "cache: another filter is not served from it" c_down "$(query --type 18842-5,11488-4 | statuses)"
check "cache: --refresh asks the peers" c_down "$(query --type 34133-9,18842-5 --refresh | statuses)"
check "cache: a result with a failed peer is not kept" c_down "$(query --type 34133-9,18842-5 | statuses)"
fed_start hospital-c && fed_wait_peers clinic-a 2
check "cache: all peers answer again" test "$(query --type 34133-9,18842-5 | statuses)" = "ok,ok"
fed_stop hospital-c
check "cache: that result is served while hospital-c is down" test "$(query --type 34133-9,18842-5 | statuses)" = "ok,ok"
out=$("$BIN/xca/hie-query" -n "$(fed_http clinic-a)" --patient "$PATIENT" --forget)
check "cache: --forget drops the patient's results" test "$(echo "$out" | json "j['dropped'] >= 1")" = True
check "cache: after --forget the peers are asked" c_down "$(query --type 34133-9,18842-5 | statuses)"
out=$(curl -s -o /dev/null -w '%{http_code}' -X PUT "http://$(fed_http clinic-a)/api/patients/x/documents")
check "PUT on the query is refused (405 or 400)" bash -c "[ '$out' = 405 ] || [ '$out' = 400 ]"

echo "# gateway_api: $pass passed, $fail failed"
[ "$fail" = 0 ]
