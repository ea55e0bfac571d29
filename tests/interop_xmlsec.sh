#!/usr/bin/env bash
# tests/interop_xmlsec.sh BUILD_DIR -- signed SOAP against independent
# implementations: the xmlsec1 command-line tool and python3-xmlsec (lxml),
# see tests/interop/xmlsec_py.py:
#   1. hie-node soap sign output verifies with xmlsec1 (message signature
#      and the XUA assertion's own signature);
#   2. a WS-Security message signed by xmlsec1 from a template verifies in
#      hie-node soap verify; tampering with it is refused;
#   3. the same both ways with python3-xmlsec.
set -uo pipefail
BIN=$(cd "$1" && pwd)
command -v xmlsec1 >/dev/null || { echo "skipped: xmlsec1 CLI not installed"; exit 77; }
T=$(mktemp -d "${TMPDIR:-/tmp}/hie-xmlsec-XXXXXX")
trap 'rm -rf "$T"' EXIT
pass=0 fail=0
check() { local what=$1; shift; if "$@" >"$T/last.log" 2>&1; then pass=$((pass + 1)); echo "ok   - $what"; else fail=$((fail + 1)); echo "FAIL - $what"; tail -3 "$T/last.log"; fi; }

"$BIN/certs/hie-certs" init-ca --ca "$T/ca" >/dev/null
"$BIN/node/hie-node" init "$T/a" --name node-a --community urn:oid:1.2.3.1 --ca "$T/ca" --unsigned-peers >/dev/null
"$BIN/node/hie-node" init "$T/b" --name node-b --community urn:oid:1.2.3.2 --ca "$T/ca" --unsigned-peers >/dev/null

WSU=http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd
WSSE=http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd
IDS=(--id-attr:Id http://www.w3.org/2003/05/soap-envelope:Body --id-attr:Id "$WSU:Timestamp"
     --id-attr:Id http://www.w3.org/2005/08/addressing:Action --id-attr:Id http://www.w3.org/2005/08/addressing:MessageID
     --id-attr:Id http://www.w3.org/2005/08/addressing:To --id-attr:Id http://www.w3.org/2005/08/addressing:RelatesTo
     --id-attr:ID urn:oasis:names:tc:SAML:2.0:assertion:Assertion)
MSG_SIG="/*[local-name()='Envelope']/*[local-name()='Header']/*[local-name()='Security']/*[local-name()='Signature']"

# ---- 1. ours, checked by xmlsec1 ----
cat > "$T/req.xml" <<'XML'
<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope" xmlns:a="http://www.w3.org/2005/08/addressing"><s:Header><a:Action>urn:ihe:iti:2007:CrossGatewayQuery</a:Action><a:MessageID>urn:uuid:0b5c1f7e-6d0c-4c39-9f0e-3f7a8d1e2b4c</a:MessageID><a:To>tls+tcp://127.0.0.1:7410</a:To></s:Header><s:Body><x:Q xmlns:x="urn:x">hello</x:Q></s:Body></s:Envelope>
XML
"$BIN/node/hie-node" soap sign -c "$T/a/hie-node.ini" --audience urn:oid:1.2.3.2 --user "Dr. Anna Lee" "$T/req.xml" > "$T/signed.xml"
check "hie-node's message signature verifies in xmlsec1" \
  xmlsec1 --verify --pubkey-cert-pem "$T/a/node.crt" "${IDS[@]}" --node-xpath "$MSG_SIG" "$T/signed.xml"
check "hie-node's XUA assertion signature verifies in xmlsec1" \
  xmlsec1 --verify --pubkey-cert-pem "$T/a/node.crt" "${IDS[@]}" --node-xpath "//*[local-name()='Assertion']/*[local-name()='Signature']" "$T/signed.xml"
sed 's/hello/HELLO/' "$T/signed.xml" > "$T/tampered.xml"
check "xmlsec1 refuses our message once tampered" \
  bash -c "! xmlsec1 --verify --pubkey-cert-pem '$T/a/node.crt' ${IDS[*]} --node-xpath \"$MSG_SIG\" '$T/tampered.xml'"
check "hie-node soap verify accepts it at the audience" bash -c "'$BIN/node/hie-node' soap verify -c '$T/b/hie-node.ini' '$T/signed.xml' | grep -q '^ok: signed by urn:oid:1.2.3.1'"

# ---- 2. xmlsec1's, checked by us ----
now=$(date -u +%Y-%m-%dT%H:%M:%SZ); later=$(date -u -d '+4 min' +%Y-%m-%dT%H:%M:%SZ)
token=$(sed '/-----/d' "$T/a/node.crt" | tr -d '\n')
cat > "$T/tmpl.xml" <<XML
<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope" xmlns:a="http://www.w3.org/2005/08/addressing" xmlns:wsu="$WSU"><s:Header><a:Action wsu:Id="act">urn:ihe:iti:2007:CrossGatewayQueryResponse</a:Action><a:MessageID wsu:Id="mid">urn:uuid:$(cat /proc/sys/kernel/random/uuid)</a:MessageID><a:RelatesTo wsu:Id="rel">urn:uuid:0b5c1f7e-6d0c-4c39-9f0e-3f7a8d1e2b4c</a:RelatesTo><wsse:Security xmlns:wsse="$WSSE" s:mustUnderstand="true"><wsu:Timestamp wsu:Id="ts"><wsu:Created>$now</wsu:Created><wsu:Expires>$later</wsu:Expires></wsu:Timestamp><wsse:BinarySecurityToken wsu:Id="tok" ValueType="http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-x509-token-profile-1.0#X509v3" EncodingType="http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-soap-message-security-1.0#Base64Binary">$token</wsse:BinarySecurityToken><ds:Signature xmlns:ds="http://www.w3.org/2000/09/xmldsig#"><ds:SignedInfo><ds:CanonicalizationMethod Algorithm="http://www.w3.org/2001/10/xml-exc-c14n#"/><ds:SignatureMethod Algorithm="http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha256"/>$(for id in ts act mid rel body; do printf '<ds:Reference URI="#%s"><ds:Transforms><ds:Transform Algorithm="http://www.w3.org/2001/10/xml-exc-c14n#"/></ds:Transforms><ds:DigestMethod Algorithm="http://www.w3.org/2001/04/xmlenc#sha256"/><ds:DigestValue/></ds:Reference>' $id; done)</ds:SignedInfo><ds:SignatureValue/><ds:KeyInfo><wsse:SecurityTokenReference><wsse:Reference URI="#tok"/></wsse:SecurityTokenReference></ds:KeyInfo></ds:Signature></wsse:Security></s:Header><s:Body wsu:Id="body"><x:R xmlns:x="urn:x">answer</x:R></s:Body></s:Envelope>
XML
check "xmlsec1 signs a WS-Security template" \
  xmlsec1 --sign --privkey-pem "$T/a/node.key" "${IDS[@]}" --id-attr:Id "$WSSE:BinarySecurityToken" \
    --node-xpath "$MSG_SIG" --output "$T/theirs.xml" "$T/tmpl.xml"
check "hie-node soap verify accepts xmlsec1's signature" \
  bash -c "'$BIN/node/hie-node' soap verify -c '$T/b/hie-node.ini' --response '$T/theirs.xml' | grep -q '^ok: signed by urn:oid:1.2.3.1'"
sed 's/answer/ANSWER/' "$T/theirs.xml" > "$T/theirs-bad.xml"
check "hie-node refuses xmlsec1's message once tampered" \
  bash -c "'$BIN/node/hie-node' soap verify -c '$T/b/hie-node.ini' --response '$T/theirs-bad.xml' | grep -q '^refused: signature does not verify'"

# ---- 3. python3-xmlsec, both ways ----
PY=$(dirname "$0")/interop/xmlsec_py.py
if /usr/bin/python3 -c 'import xmlsec, lxml' 2>/dev/null; then
  check "hie-node's signatures verify in python3-xmlsec" /usr/bin/python3 "$PY" verify "$T/signed.xml" "$T/a/node.crt"
  cat > "$T/resp.xml" <<'XML'
<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope" xmlns:a="http://www.w3.org/2005/08/addressing"><s:Header><a:Action>urn:ihe:iti:2007:CrossGatewayQueryResponse</a:Action><a:MessageID>urn:uuid:5b5c1f7e-6d0c-4c39-9f0e-3f7a8d1e2b4c</a:MessageID><a:RelatesTo>urn:uuid:0b5c1f7e-6d0c-4c39-9f0e-3f7a8d1e2b4c</a:RelatesTo></s:Header><s:Body><x:R xmlns:x="urn:x">answer</x:R></s:Body></s:Envelope>
XML
  /usr/bin/python3 "$PY" sign "$T/resp.xml" "$T/a/node.key" "$T/a/node.crt" > "$T/py.xml"
  check "python3-xmlsec's WS-Security signature verifies in hie-node" \
    bash -c "'$BIN/node/hie-node' soap verify -c '$T/b/hie-node.ini' --response '$T/py.xml' | grep -q '^ok: signed by urn:oid:1.2.3.1'"
else
  echo "skip - python3-xmlsec not installed"
fi

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
