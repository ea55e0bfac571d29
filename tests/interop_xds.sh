#!/usr/bin/env bash
# tests/interop_xds.sh BUILD_DIR -- XDS.b over the wire with an independent
# client (tests/interop/xds_py.py: lxml, python3-xmlsec, urllib and the
# email package, no code of ours), every response validated against the
# official schemas with libxml2's xmllint:
#   1. one real node (CA and certificates from hie-certs / hie-node init),
#      the demo C-CDA documents imported;
#   2. the IHE sample messages of $HIE_CORPUS/ihe (ITI-18 and ITI-41),
#      re-enveloped, signed by a second federation member, POSTed;
#   3. our own requests: the 14 stored queries (LeafClass and ObjectRef),
#      parameter errors, ITI-41 inline and MTOM, ITI-43 inline and MTOM,
#      an RPLC replacement.
# One line per case (name, expected, got, schema, signature); exit 1 on a
# mismatch, 77 when the corpus (samples and schemas) is absent.
set -uo pipefail
BIN=$(cd "$1" && pwd)
HERE=$(cd "$(dirname "$0")" && pwd)
PY=/usr/bin/python3
CORPUS=${HIE_CORPUS:-}
[ -n "$CORPUS" ] && [ -d "$CORPUS/ihe" ] && [ -f "$CORPUS/schemas/ihe-iti/soap12-xds.xsd" ] ||
  { echo "skipped: HIE_CORPUS (IHE samples and schemas) not found: '${CORPUS}'"; exit 77; }
[ -x "$PY" ] && "$PY" -c 'import lxml, xmlsec' 2>/dev/null || { echo "skipped: python3-lxml/python3-xmlsec not installed"; exit 77; }
command -v xmllint >/dev/null || { echo "skipped: xmllint (libxml2-utils) not installed"; exit 77; }
command -v curl >/dev/null || { echo "skipped: curl not installed"; exit 77; }

T=$(mktemp -d "${TMPDIR:-/tmp}/hie-xds-XXXXXX")
NODE_PID=
cleanup() {
  if [ -n "$NODE_PID" ]; then kill -TERM "$NODE_PID" 2>/dev/null; wait "$NODE_PID" 2>/dev/null; fi
  if [ "${KEEP:-0}" = 1 ]; then echo "kept $T"; else rm -rf "$T"; fi
}
trap cleanup EXIT

ROOT=${HIE_SOURCE_DIR:-$(cd "$HERE/.." && pwd)}
COMMUNITY=urn:oid:1.3.6.1.4.1.21367.13.20.2000
CLIENT_COMMUNITY=urn:oid:1.3.6.1.4.1.21367.13.20.1000
base=$((20000 + RANDOM % 12000)) # below 32768: the kernel hands out ephemeral ports from there
HTTP_PORT=$((base + 1)) PEER_PORT=$base

"$BIN/certs/hie-certs" init-ca --ca "$T/ca" --name "XDS interop CA" >/dev/null || exit 1
"$BIN/node/hie-node" init "$T/registry" --name hospital-b --community "$COMMUNITY" --ca "$T/ca" --unsigned-peers \
  --peer-port "$PEER_PORT" --http-port "$HTTP_PORT" >/dev/null || exit 1
# The client is another member of the federation: its key and certificate
# come from the same tooling; it never runs as a node.
"$BIN/node/hie-node" init "$T/client" --name clinic-a --community "$CLIENT_COMMUNITY" --ca "$T/ca" --unsigned-peers \
  --peer-port $((base + 2)) --http-port $((base + 3)) >/dev/null || exit 1
"$BIN/node/hie-node" import -c "$T/registry/hie-node.ini" "$ROOT"/conf/demo/*.xml > "$T/import.log" || {
  echo "demo import failed:"; cat "$T/import.log"; exit 1; }
cat "$T/import.log"
# The patient identity feed for the Continua sample's patient (the demo
# patient came with the import): the registry only takes known patients.
printf 'given_name,surname,date_of_birth,id\nSample,Continua,19700101,SELF-5^^^&1.3.6.1.4.1.21367.2005.3.7&ISO\n' \
  > "$T/patients.csv"
"$BIN/mpi/hie-mpi" -d "$T/registry/data" load "$T/patients.csv" > "$T/mpi.log" || {
  echo "patient feed failed:"; cat "$T/mpi.log"; exit 1; }

"$BIN/node/hie-node" -c "$T/registry/hie-node.ini" 2>> "$T/node.log" &
NODE_PID=$!
for _ in $(seq 1 100); do
  curl -sf "http://127.0.0.1:$HTTP_PORT/health" >/dev/null 2>&1 && break
  kill -0 "$NODE_PID" 2>/dev/null || { echo "node failed to start:"; tail -5 "$T/node.log"; exit 1; }
  sleep 0.1
done

"$PY" "$HERE/interop/xds_py.py" --url "http://127.0.0.1:$HTTP_PORT" \
  --key "$T/client/node.key" --cert "$T/client/node.crt" --community "$CLIENT_COMMUNITY" \
  --audience "$COMMUNITY" --node-cert "$T/registry/node.crt" --corpus "$CORPUS" --out "$T/msgs"
rc=$?
if ! kill -0 "$NODE_PID" 2>/dev/null; then
  echo "FAIL - the node died during the run:"; tail -20 "$T/node.log"; rc=1
fi
[ "$rc" -eq 0 ] || { echo "node log tail:"; tail -15 "$T/node.log"; }
exit "$rc"
