#!/usr/bin/env bash
# tests/hl7_tls.sh BUILD_DIR -- the MLLP listener on tls+tcp:// ([listen]
# mllp): a sender with a certificate from the network CA (hie-certs issue)
# gets its A04 acknowledged AA over TLS; a sender without a certificate,
# and one with a certificate from another CA, are refused in the handshake
# (mutual TLS, as on the peer link).  Client: /usr/bin/python3's ssl.
set -uo pipefail
HIE_ROOT=${HIE_SOURCE_DIR:-$(cd "$(dirname "$0")/.." && pwd)}
[ -x /usr/bin/python3 ] || { echo "skipped: no /usr/bin/python3"; exit 77; }
. "$HIE_ROOT/tests/hl7/node.sh" "$1"
sed -i 's|^mllp = tcp://|mllp = tls+tcp://|' "$D/node/hie-node.ini"
"$BIN/certs/hie-certs" issue --ca "$D/ca" --name sender --community urn:oid:1.3.6.1.4.1.21367.13.20.2001 --out "$D/s" >/dev/null || exit 1
"$BIN/certs/hie-certs" init-ca --ca "$D/rogue" --name "Rogue CA" >/dev/null || exit 1
"$BIN/certs/hie-certs" issue --ca "$D/rogue" --name sender --community urn:oid:1.3.6.1.4.1.21367.13.20.2001 --out "$D/r" >/dev/null || exit 1
hl7_node_start
/usr/bin/python3 - "$D" "$MLLP" <<'PY'
import socket, ssl, sys
d, port = sys.argv[1], int(sys.argv[2])
msg = (b"\x0bMSH|^~\\&|A|B|C|D|2024||ADT^A04^ADT_A01|TLS1|P|2.5.1\r"
       b"PID|1||T1^^^&1.2.3.9&ISO^MR||Tls^Tom||19700101|M\r\x1c\r")
def call(cert):
    ctx = ssl.create_default_context(cafile=d + "/ca/ca.crt")
    ctx.check_hostname = False
    if cert: ctx.load_cert_chain(d + "/" + cert + "/node.crt", d + "/" + cert + "/node.key")
    try:
        s = ctx.wrap_socket(socket.create_connection(("127.0.0.1", port), timeout=10))
        s.sendall(msg)
        r = b""
        while not r.endswith(b"\x1c\r"):
            c = s.recv(4096)
            if not c: break
            r += c
        return r
    except (ssl.SSLError, OSError) as e:
        return None
bad = 0
r = call("s")
if not r or b"MSA|AA|TLS1" not in r: print("FAIL member certificate:", r); bad = 1
for who in (None, "r"):
    r = call(who)
    if r: print("FAIL sender", who or "without certificate", "was answered:", r); bad = 1
sys.exit(bad)
PY
rc=$?
kill -0 $NODE_PID || { echo "FAIL node died"; rc=1; }
[ $rc = 0 ] && echo "hl7 over mutual TLS: ok"
exit $rc
