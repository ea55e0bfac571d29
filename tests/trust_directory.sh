#!/usr/bin/env bash
# tests/trust_directory.sh BUILD_DIR -- the signed peer directory, end to
# end with the project's own tools: the HIE admin lists members with
# hie-certs directory add and signs; nodes configured with
# [peers] signed_directory fan out to its members and accept inbound
# messages only from a listed community signing with a listed certificate;
# a forged, unsigned or rogue-signed directory stops a node from starting
# and is refused on SIGHUP (the old one kept, queries still answered);
# adding a hospital is one admin step (add, sign, copy, SIGHUP).
set -uo pipefail
BIN=$(cd "$1" && pwd)
HIE_ROOT=${HIE_SOURCE_DIR:-$(cd "$(dirname "$0")/.." && pwd)}
T=$(mktemp -d "${TMPDIR:-/tmp}/hie-dir-XXXXXX")
PIDS=()
trap 'for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done; wait 2>/dev/null; [ "${KEEP:-}" ] || rm -rf "$T"' EXIT
pass=0 fail=0
check() { local what=$1; shift; if "$@"; then pass=$((pass + 1)); echo "ok   - $what"; else fail=$((fail + 1)); echo "FAIL - $what"; fi; }
CERTS="$BIN/certs/hie-certs"; NODE="$BIN/node/hie-node"
A=urn:oid:1.3.6.1.4.1.21367.13.20.1000
B=urn:oid:1.3.6.1.4.1.21367.13.20.2000
C=urn:oid:1.3.6.1.4.1.21367.13.20.3000
PATIENT="DEMO-1001^^^&1.3.6.1.4.1.21367.13.20.3000&ISO"
port() { /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
declare -A PP HP
for n in clinic-a hospital-b hospital-c; do PP[$n]=$(port); HP[$n]=$(port); done

"$CERTS" init-ca --ca "$T/ca" >/dev/null
"$NODE" init "$T/clinic-a" --name clinic-a --community $A --ca "$T/ca" --peer-port "${PP[clinic-a]}" --http-port "${HP[clinic-a]}" >/dev/null
"$NODE" init "$T/hospital-b" --name hospital-b --community $B --ca "$T/ca" --peer-port "${PP[hospital-b]}" --http-port "${HP[hospital-b]}" >/dev/null
"$NODE" init "$T/hospital-c" --name hospital-c --community $C --ca "$T/ca" --peer-port "${PP[hospital-c]}" --http-port "${HP[hospital-c]}" >/dev/null
"$NODE" import -c "$T/hospital-b/hie-node.ini" "$HIE_ROOT"/conf/demo/hospital-b-*.xml >/dev/null
"$NODE" import -c "$T/hospital-c/hie-node.ini" "$HIE_ROOT"/conf/demo/hospital-c-*.xml >/dev/null

# ---- the admin ----
add() { "$CERTS" directory add --file "$T/admin/directory.ini" --ca "$T/ca" --name "$1" --community "$2" \
          --cert "$T/$1/node.crt" --address "tls+tcp://127.0.0.1:${PP[$1]}" --http "http://127.0.0.1:${HP[$1]}" >/dev/null; }
mkdir -p "$T/admin"
check "admin lists clinic-a" add clinic-a $A
check "admin lists hospital-b" add hospital-b $B
check "admin signs the directory" bash -c "'$CERTS' directory sign --file '$T/admin/directory.ini' --ca '$T/ca' --out '$T/admin/directory.signed' | grep -q 'signed serial 1, 2 members'"
check "hie-certs directory verify: signed by the network CA" \
  bash -c "'$CERTS' directory verify --file '$T/admin/directory.signed' --ca-cert '$T/ca/ca.crt' | grep -q 'signed by the network CA, serial 1, 2 members'"
check "a certificate of another community cannot be listed under this one" \
  bash -c "! '$CERTS' directory add --file '$T/admin/directory.ini' --ca '$T/ca' --name hospital-c --community $B --cert '$T/hospital-c/node.crt' --address tls+tcp://127.0.0.1:1 2>/dev/null"
for n in clinic-a hospital-b hospital-c; do
  cp "$T/admin/directory.signed" "$T/$n/directory.signed"
  sed -i 's/^signed_directory =.*/signed_directory = directory.signed/' "$T/$n/hie-node.ini"
done
check "--check accepts the signed directory" bash -c "'$NODE' --check -c '$T/hospital-b/hie-node.ini' | grep -qx 'configuration OK'"

# ---- forged directories stop a node ----
sed "s/${PP[hospital-b]}/6666/" "$T/admin/directory.signed" > "$T/forged.signed"
head -n -1 "$T/admin/directory.signed" > "$T/unsigned.signed"
"$CERTS" init-ca --ca "$T/rogue" >/dev/null
cp "$T/admin/directory.ini" "$T/rogue.ini"
"$CERTS" directory sign --file "$T/rogue.ini" --ca "$T/rogue" --out "$T/rogue.signed" >/dev/null
for f in forged unsigned rogue; do
  sed "s|^signed_directory =.*|signed_directory = $T/$f.signed|" "$T/clinic-a/hie-node.ini" > "$T/clinic-a/$f.ini"
  out=$("$NODE" --check -c "$T/clinic-a/$f.ini" 2>&1)
  check "--check refuses the $f directory ($(echo "$out" | grep -o 'signed_directory: .*' | head -1))" \
    bash -c "echo '$out' | grep -q 'peers.signed_directory: .*\(does not verify\|not signed\)'"
  timeout 10 "$NODE" -c "$T/clinic-a/$f.ini" > "$T/$f.log" 2>&1; rc=$?
  check "a node with the $f directory does not start (exit $rc), saying why" \
    bash -c "test $rc = 1 && grep -q 'signed peer directory .* refused' '$T/$f.log'"
done
# (an old copy with a lower serial is still validly signed: the rollback
# section below shows nodes refusing it.)

# ---- running nodes ----
start() {
  "$NODE" -c "$T/$1/hie-node.ini" 2>> "$T/$1.log" &
  PIDS+=($!); eval "PID_${1//-/_}=$!"
  for _ in $(seq 100); do curl -sf --max-time 10 "http://127.0.0.1:${HP[$1]}/health" >/dev/null && return 0; sleep 0.1; done
  return 1
}
check "hospital-b starts with the signed directory" start hospital-b
check "clinic-a starts with the signed directory" start clinic-a
check "hospital-c starts (same CA, not yet listed)" start hospital-c
check "clinic-a logs the directory it loaded" grep -q 'signed peer directory .*/directory.signed: serial 1, 2 members' "$T/clinic-a.log"
for _ in $(seq 50); do curl -sf --max-time 10 "http://127.0.0.1:${HP[clinic-a]}/health" | grep -q '"reachable":true' && break; sleep 0.1; done
query() { timeout 60 "$BIN/xca/hie-query" -n "127.0.0.1:${HP[clinic-a]}" --patient "$PATIENT" --json; }
statuses() { /usr/bin/python3 -c "import json,sys; j=json.load(sys.stdin); print(' '.join('%s=%s' % (p['name'], p['status']) for p in j['peers']))"; }
r=$(query | statuses)
check "clinic-a queries its one listed peer: $r" test "$r" = "hospital-b=ok"

# ---- identity from the signature ----
cat > "$T/req.xml" <<XML
<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope" xmlns:a="http://www.w3.org/2005/08/addressing"><s:Header><a:Action>urn:ihe:iti:2007:CrossGatewayQuery</a:Action><a:MessageID>urn:uuid:0b5c1f7e-6d0c-4c39-9f0e-3f7a8d1e2b4c</a:MessageID><a:To>x</a:To></s:Header><s:Body><x:Q xmlns:x="urn:x">hello</x:Q></s:Body></s:Envelope>
XML
sign() { "$NODE" soap sign -c "$1" --audience $B "$T/req.xml" > "$2"; }
verify() { "$NODE" soap verify -c "$T/hospital-b/hie-node.ini" "$1"; }
sign "$T/clinic-a/hie-node.ini" "$T/from-a.xml"
check "a listed member's message verifies" bash -c "'$NODE' soap verify -c '$T/hospital-b/hie-node.ini' '$T/from-a.xml' | grep -q '^ok: signed by $A'"
sign "$T/hospital-c/hie-node.ini" "$T/from-c.xml"
check "a CA-issued node not in the directory is refused" \
  bash -c "'$NODE' soap verify -c '$T/hospital-b/hie-node.ini' '$T/from-c.xml' | grep -q '^refused: community $C is not in the peer directory (wsse:InvalidSecurityToken)'"
"$CERTS" issue --ca "$T/ca" --name clinic-a --community $A --out "$T/clinic-a-other" >/dev/null
cp "$T/clinic-a/hie-node.ini" "$T/clinic-a/crl.pem" "$T/clinic-a-other/"
sed -i "s|^data_dir = .*|data_dir = $T/clinic-a-other/data|" "$T/clinic-a-other/hie-node.ini"
sign "$T/clinic-a-other/hie-node.ini" "$T/from-a-other.xml"
check "clinic-a's community signed with a certificate the directory does not list is refused" \
  bash -c "'$NODE' soap verify -c '$T/hospital-b/hie-node.ini' '$T/from-a-other.xml' | grep -q '^refused: signing certificate is not one the peer directory lists for $A'"
r=$(timeout 60 "$BIN/xca/hie-query" -n "127.0.0.1:${HP[hospital-c]}" --patient "$PATIENT" --json | statuses)
check "hospital-c (unlisted) asking the network gets nothing from hospital-b: $r" \
  bash -c "echo '$r' | grep -q 'hospital-b=\(refused\|error\)'"

# ---- SIGHUP: a forged directory is refused, the old one kept ----
cp "$T/forged.signed" "$T/clinic-a/directory.signed"
kill -HUP "$PID_clinic_a"; sleep 0.5
check "SIGHUP with a forged directory: refused and logged" grep -q 'signed peer directory .*/directory.signed refused: the admin signature does not verify' "$T/clinic-a.log"
check "... the old configuration is kept" grep -q 'peer directory: .*keeping the old one\|keeping the old ones' "$T/clinic-a.log"
r=$(query | statuses)
check "... and clinic-a still queries hospital-b: $r" test "$r" = "hospital-b=ok"

# ---- adding a hospital: one admin step ----
check "admin lists hospital-c" add hospital-c $C
check "admin signs again (serial 2)" bash -c "'$CERTS' directory sign --file '$T/admin/directory.ini' --ca '$T/ca' --out '$T/admin/directory.signed' | grep -q 'signed serial 2, 3 members'"
for n in clinic-a hospital-b; do cp "$T/admin/directory.signed" "$T/$n/directory.signed"; done
kill -HUP "$PID_clinic_a" "$PID_hospital_b"; sleep 0.5
check "hospital-b now accepts hospital-c's signature" \
  bash -c "'$NODE' soap verify -c '$T/hospital-b/hie-node.ini' '$T/from-c.xml' | grep -q '^ok: signed by $C'"
for _ in $(seq 50); do [ "$(curl -sf --max-time 10 "http://127.0.0.1:${HP[clinic-a]}/health" | grep -o '"reachable":true' | wc -l)" -ge 2 ] && break; sleep 0.1; done
r=$(query | statuses)
check "clinic-a now fans out to both: $r" test "$r" = "hospital-b=ok hospital-c=ok"

# ---- rollback: a validly signed but older directory is refused ----
# The admin removes hospital-c (serial 3); someone then puts the serial-2
# directory, which still lists it, back in place of hospital-b's copy.
cp "$T/admin/directory.signed" "$T/serial2.signed"
check "admin removes hospital-c" "$CERTS" directory remove --file "$T/admin/directory.ini" --name hospital-c
check "admin signs again (serial 3)" bash -c "'$CERTS' directory sign --file '$T/admin/directory.ini' --ca '$T/ca' --out '$T/admin/directory.signed' | grep -q 'signed serial 3, 2 members'"
cp "$T/admin/directory.signed" "$T/hospital-b/directory.signed"
kill -HUP "$PID_hospital_b"; sleep 0.5
check "hospital-b loads serial 3" grep -q 'signed peer directory .*/directory.signed: serial 3, 2 members' "$T/hospital-b.log"
check "... and keeps the highest serial in its data dir (0600)" \
  bash -c "test \"\$(cat '$T/hospital-b/data/directory.serial')\" = 3 && test \"\$(stat -c %a '$T/hospital-b/data/directory.serial')\" = 600"
r=$(timeout 60 "$BIN/xca/hie-query" -n "127.0.0.1:${HP[hospital-c]}" --patient "$PATIENT" --json | statuses)
check "hospital-c (removed) gets nothing from hospital-b: $r" bash -c "echo '$r' | grep -q 'hospital-b=\(refused\|error\)'"
cp "$T/serial2.signed" "$T/hospital-b/directory.signed"
check "the replayed serial-2 directory is validly signed" \
  bash -c "'$CERTS' directory verify --file '$T/hospital-b/directory.signed' --ca-cert '$T/ca/ca.crt' | grep -q 'signed by the network CA, serial 2, 3 members'"
kill -HUP "$PID_hospital_b"; sleep 0.5
check "SIGHUP with the older directory: refused and logged" \
  grep -q 'signed peer directory .*/directory.signed refused: serial 2 is lower than serial 3 already loaded' "$T/hospital-b.log"
r=$(timeout 60 "$BIN/xca/hie-query" -n "127.0.0.1:${HP[hospital-c]}" --patient "$PATIENT" --json | statuses)
check "... hospital-c is still not let back in: $r" bash -c "echo '$r' | grep -q 'hospital-b=\(refused\|error\)'"
r=$(query | statuses)
check "... and clinic-a still gets hospital-b's answer: $r" bash -c "echo '$r' | grep -q 'hospital-b=ok'"
# (its own data dir holding only the remembered serial: the running
# hospital-b keeps its stores)
mkdir -p "$T/rollback-data" && cp -p "$T/hospital-b/data/directory.serial" "$T/rollback-data/"
sed "s|^signed_directory =.*|signed_directory = $T/serial2.signed|; s|^data_dir = .*|data_dir = $T/rollback-data|" \
  "$T/hospital-b/hie-node.ini" > "$T/hospital-b/rollback.ini"
timeout 10 "$NODE" -c "$T/hospital-b/rollback.ini" > "$T/rollback.log" 2>&1; rc=$?
check "a node restarted with the older directory does not start (exit $rc), saying why" \
  bash -c "test $rc = 1 && grep -q 'refused: serial 2 is lower than serial 3' '$T/rollback.log'"
# The offline tools refuse what the node refuses, without moving its state.
check "hie-node --check with the older directory fails, saying why" \
  bash -c "! '$NODE' --check -c '$T/hospital-b/rollback.ini' 2>&1 | grep -q 'configuration OK' &&
           '$NODE' --check -c '$T/hospital-b/rollback.ini' 2>&1 | grep -q 'signed_directory: serial 2 is lower than serial 3'"
check "hie-node soap verify with the older directory refuses (the serial, not the message)" \
  bash -c "'$NODE' soap verify -c '$T/hospital-b/rollback.ini' '$T/from-a.xml' | grep -q '^refused: peer directory .*serial 2 is lower than serial 3'"
check "... and neither wrote the remembered serial" test "$(cat "$T/rollback-data/directory.serial")" = 3
cp "$T/admin/directory.signed" "$T/hospital-b/directory.signed"

for p in "${PIDS[@]}"; do
  kill "$p"; for _ in $(seq 200); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
  kill -0 "$p" 2>/dev/null && { echo "node $p did not stop on SIGTERM"; kill -9 "$p"; }
  wait "$p" || { echo "node $p exited $?"; fail=$((fail + 1)); }
done; PIDS=()
"$NODE" audit list -c "$T/hospital-b/hie-node.ini" > "$T/audit-b.txt" 2>&1
check "audit: the rollback is a security alert at hospital-b" \
  grep -q '"event":"security-alert".*serial 2 is lower than serial 3' "$T/audit-b.txt"
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
