#!/usr/bin/env bash
# tests/interop_zeep.sh BUILD_DIR -- WS-Security interop with python3-zeep
# (zeep.wsse.signature, tests/interop/zeep_py.py) and the xmlsec1 CLI,
# offline (`hie-node soap verify`) and against a running node over HTTP:
#   1. zeep's BinarySignature, given what the policy needs (a Timestamp, the
#      node's XUA assertion, references over the wsa headers and the
#      assertion), verifies in hie-node; tampered, it is refused;
#   2. zeep as it comes (Body and Timestamp only; SHA-1 digests) is refused
#      with the policy's reason -- the policy is not weakened for it;
#   3. a request signed by xmlsec1 (message signature made by the CLI over a
#      template) is answered by a running node;
#   4. zeep posts its signed ITI-38 to a running node with its own transport
#      and verifies the node's signed response with verify_envelope.
set -uo pipefail
BIN=$(cd "$1" && pwd)
HERE=$(cd "$(dirname "$0")" && pwd)
PY=/usr/bin/python3
Z="$HERE/interop/zeep_py.py"
$PY -c 'import zeep.wsse.signature, xmlsec' 2>/dev/null || { echo "skipped: python3-zeep or python3-xmlsec not installed"; exit 77; }
command -v xmlsec1 >/dev/null || { echo "skipped: xmlsec1 CLI not installed"; exit 77; }
T=$(mktemp -d "${TMPDIR:-/tmp}/hie-zeep-XXXXXX")
NODE_PID=
trap '[ -n "$NODE_PID" ] && kill "$NODE_PID" 2>/dev/null; wait 2>/dev/null; [ "${KEEP:-}" ] || rm -rf "$T"' EXIT
pass=0 fail=0
check() { local what=$1; shift; if "$@" >"$T/last.log" 2>&1; then pass=$((pass + 1)); echo "ok   - $what"; else fail=$((fail + 1)); echo "FAIL - $what"; tail -3 "$T/last.log"; fi; }

A=urn:oid:1.3.6.1.4.1.21367.13.20.1000
B=urn:oid:1.3.6.1.4.1.21367.13.20.2000
port() { $PY -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
HP=$(port)
"$BIN/certs/hie-certs" init-ca --ca "$T/ca" >/dev/null
"$BIN/node/hie-node" init "$T/a" --name clinic-a --community $A --ca "$T/ca" --unsigned-peers --peer-port "$(port)" --http-port "$(port)" >/dev/null
"$BIN/node/hie-node" init "$T/b" --name hospital-b --community $B --ca "$T/ca" --unsigned-peers --peer-port "$(port)" --http-port "$HP" >/dev/null

# request NAME: an unsigned ITI-38 with a fresh MessageID in $T/NAME.xml,
# and hie-node's signed version (the source of a fresh XUA assertion) in
# $T/NAME.hn.xml.
request() {
  cat > "$T/$1.xml" <<XML
<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope" xmlns:a="http://www.w3.org/2005/08/addressing"><s:Header><a:Action>urn:ihe:iti:2007:CrossGatewayQuery</a:Action><a:MessageID>urn:uuid:$(cat /proc/sys/kernel/random/uuid)</a:MessageID><a:To>http://127.0.0.1:$HP/xca/iti38</a:To></s:Header><s:Body><query:AdhocQueryRequest xmlns:query="urn:oasis:names:tc:ebxml-regrep:xsd:query:3.0" xmlns:rim="urn:oasis:names:tc:ebxml-regrep:xsd:rim:3.0"><query:ResponseOption returnType="LeafClass"/><rim:AdhocQuery id="urn:uuid:14d4debf-8f97-4251-9a74-a90016b0af0d"><rim:Slot name="\$XDSDocumentEntryPatientId"><rim:ValueList><rim:Value>'DEMO-1001^^^&amp;1.3.6.1.4.1.21367.13.20.3000&amp;ISO'</rim:Value></rim:ValueList></rim:Slot><rim:Slot name="\$XDSDocumentEntryStatus"><rim:ValueList><rim:Value>('urn:oasis:names:tc:ebxml-regrep:StatusType:Approved')</rim:Value></rim:ValueList></rim:Slot></rim:AdhocQuery></query:AdhocQueryRequest></s:Body></s:Envelope>
XML
  "$BIN/node/hie-node" soap sign -c "$T/a/hie-node.ini" --audience $B --user "Dr. Anna Lee" "$T/$1.xml" > "$T/$1.hn.xml"
}
verify_ok() { "$BIN/node/hie-node" soap verify -c "$T/b/hie-node.ini" "$1" > "$T/v.txt"; cat "$T/v.txt"; grep -q "^ok: signed by $A" "$T/v.txt"; }
refused() { "$BIN/node/hie-node" soap verify -c "$T/b/hie-node.ini" "$1" > "$T/v.txt"; cat "$T/v.txt"; grep -q "^refused: $2" "$T/v.txt"; }

# ---- 1. zeep, with what the policy needs ----
request r1
$PY "$Z" sign "$T/r1.xml" "$T/a/node.key" "$T/a/node.crt" --assertion "$T/r1.hn.xml" > "$T/zeep.xml"
check "zeep BinarySignature (Timestamp, assertion, wsa headers, Body) verifies in hie-node soap verify" verify_ok "$T/zeep.xml"
sed 's/DEMO-1001/DEMO-6666/' "$T/zeep.xml" > "$T/zeep-bad.xml"
check "the zeep message tampered is refused" refused "$T/zeep-bad.xml" "signature does not verify"

# ---- 2. zeep as it comes ----
$PY "$Z" sign "$T/r1.xml" "$T/a/node.key" "$T/a/node.crt" --plain > "$T/zeep-plain.xml"
check "plain zeep (Body and Timestamp only) is refused: the wsa headers must be signed" \
  refused "$T/zeep-plain.xml" "wsa:Action is not covered"
$PY "$Z" sign "$T/r1.xml" "$T/a/node.key" "$T/a/node.crt" --assertion "$T/r1.hn.xml" --sha1 > "$T/zeep-sha1.xml"
check "zeep with its default SHA-1 digests is refused" refused "$T/zeep-sha1.xml" "digest method http://www.w3.org/2000/09/xmldsig#sha1 not allowed"

# ---- 3 and 4: a running node ----
"$BIN/node/hie-node" -c "$T/b/hie-node.ini" 2> "$T/b.log" &
NODE_PID=$!
for _ in $(seq 100); do curl -sf --max-time 10 "http://127.0.0.1:$HP/health" >/dev/null && break; sleep 0.1; done

# xmlsec1 makes the message signature: hie-node's signed request turned
# back into a template (digests and signature value emptied, the assertion's
# own signature kept), then signed by the CLI.
request r2
$PY - "$T/r2.hn.xml" "$T/r2.tmpl.xml" <<'PYEOF'
import sys
from lxml import etree
DS = "http://www.w3.org/2000/09/xmldsig#"
WSSE = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd"
root = etree.parse(sys.argv[1]).getroot()
sig = root.find(".//{%s}Security/{%s}Signature" % (WSSE, DS))
for el in sig.iter("{%s}DigestValue" % DS, "{%s}SignatureValue" % DS):
    el.text = None
open(sys.argv[2], "wb").write(etree.tostring(root))
PYEOF
WSU=http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd
WSSE=http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd
MSG_SIG="/*[local-name()='Envelope']/*[local-name()='Header']/*[local-name()='Security']/*[local-name()='Signature']"
check "xmlsec1 signs the request template" \
  xmlsec1 --sign --privkey-pem "$T/a/node.key" --id-attr:Id http://www.w3.org/2003/05/soap-envelope:Body \
    --id-attr:Id "$WSU:Timestamp" --id-attr:Id http://www.w3.org/2005/08/addressing:Action \
    --id-attr:Id http://www.w3.org/2005/08/addressing:MessageID --id-attr:Id http://www.w3.org/2005/08/addressing:To \
    --id-attr:ID urn:oasis:names:tc:SAML:2.0:assertion:Assertion --id-attr:Id "$WSSE:BinarySecurityToken" \
    --node-xpath "$MSG_SIG" --output "$T/xmlsec1.xml" "$T/r2.tmpl.xml"
check "the xmlsec1-signed request differs from hie-node's (a new signature value)" \
  bash -c "! cmp -s '$T/xmlsec1.xml' '$T/r2.hn.xml' && grep -q SignatureValue '$T/xmlsec1.xml'"
post() { curl -s --max-time 60 -o "$T/out.xml" -w '%{http_code}' -H 'Content-Type: application/soap+xml' --data-binary @"$1" "http://127.0.0.1:$HP/xca/iti38"; }
check "a running node answers the xmlsec1-signed ITI-38" bash -c "test \"\$(curl -s --max-time 60 -o '$T/out.xml' -w '%{http_code}' -H 'Content-Type: application/soap+xml' --data-binary @'$T/xmlsec1.xml' http://127.0.0.1:$HP/xca/iti38)\" = 200 && grep -q AdhocQueryResponse '$T/out.xml'"

request r3
$PY "$Z" sign "$T/r3.xml" "$T/a/node.key" "$T/a/node.crt" --assertion "$T/r3.hn.xml" > "$T/zeep3.xml"
check "zeep's transport posts its signed ITI-38 to a running node: 200" \
  bash -c "test \"\$($PY '$Z' post http://127.0.0.1:$HP/xca/iti38 '$T/zeep3.xml' '$T/zeep3.out')\" = 200 && grep -q AdhocQueryResponse '$T/zeep3.out'"
check "zeep verify_envelope accepts the node's signed response" $PY "$Z" verify "$T/zeep3.out" "$T/b/node.crt"
sed 's/AdhocQueryResponse /AdhocQueryResponse foo="bar" /' "$T/zeep3.out" > "$T/zeep3-bad.out"
check "zeep verify_envelope refuses the response once tampered" bash -c "! $PY '$Z' verify '$T/zeep3-bad.out' '$T/b/node.crt'"
check "the running node refuses the same zeep message again (replay)" \
  bash -c "test \"\$($PY '$Z' post http://127.0.0.1:$HP/xca/iti38 '$T/zeep3.xml' '$T/zeep3.out')\" = 400 && grep -q replayed '$T/zeep3.out'"

# A node that does not stop within 20 s is a failure, not a hung test.
kill "$NODE_PID"; for _ in $(seq 200); do kill -0 "$NODE_PID" 2>/dev/null || break; sleep 0.1; done
kill -0 "$NODE_PID" 2>/dev/null && { echo "node did not stop on SIGTERM"; kill -9 "$NODE_PID"; }
wait "$NODE_PID"; rc=$?; NODE_PID=
check "hospital-b stops cleanly (exit $rc)" test $rc = 0
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
