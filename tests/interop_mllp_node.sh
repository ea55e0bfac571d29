#!/usr/bin/env bash
# tests/interop_mllp_node.sh BUILD_DIR -- a real node's MLLP listener
# (tests/hl7/node.sh) against an independent client, python3-hl7's
# mllp_send, then hostile input from raw sockets (/usr/bin/python3).
# Messages are made here (the corpus is not needed):
#   A04 x3, A08, A40 (merge), A47 (identifier change), ORU^R01 (TX),
#   an A08 and an A40 for unknown patients (/metrics: unmatched ADT),
#   MDM^T02 (ED base64), QBP^Q23 (PIX), QBP^Q22 (PDQ), a retransmission;
#   each ACK checked, and the MPI checked with hie-mpi.
#   Bad input: invalid escape (AE 102), unknown event (AR 201) and type
#   (AR 200), unknown patient (AE 204), oversized frame (AR 207), no MSH,
#   garbage, a truncated frame and a slowloris connection (closed); the
#   listener keeps serving a well-behaved client throughout.
# Exit 77 when mllp_send (python3-hl7) is missing.
set -uo pipefail
HIE_ROOT=${HIE_SOURCE_DIR:-$(cd "$(dirname "$0")/.." && pwd)}
MLLP_SEND=$(command -v mllp_send || echo /usr/bin/mllp_send)
[ -x "$MLLP_SEND" ] || { echo "skipped: mllp_send (python3-hl7) not installed"; exit 77; }
. "$HIE_ROOT/tests/hl7/node.sh" "$1"
# A small HL7 message limit for the oversize case (the [hl7] key, not [limits]).
/usr/bin/python3 - "$D/node/hie-node.ini" <<'PY'
import sys, re
p = sys.argv[1]; s = open(p).read()
s = re.sub(r'(\[hl7\][^\[]*?)max_message_bytes = \d+', r'\1max_message_bytes = 65536', s, flags=re.S)
open(p, 'w').write(s)
PY
hl7_node_start
fail=0
A=1.2.840.114350.1.13.99.2.7.5.737384.14
H='MSH|^~\&|EPIC|MERCY^1.2.840.114350.1.13.99^ISO|HIE|NODE|20261125101500||'
msg() { printf '%s' "$1" | tr '\n' '\r' > "$D/$2.hl7"; }
send() { timeout 20 /usr/bin/python3 "$MLLP_SEND" --loose -f "$D/$1.hl7" -p "$MLLP" 127.0.0.1 | tr -d '\013\034' | tr '\r' '\n'; }
expect() { # name pattern...
  local name=$1 out; shift; out=$(send "$name")
  for pat in "$@"; do echo "$out" | grep -q -- "$pat" || { echo "FAIL $name: no '$pat' in: $out"; fail=1; }; done
}
lookup() { hl7_mpi lookup "$1^^^&$A&ISO"; }

msg "${H}ADT^A04^ADT_A01|C1|P|2.5.1
EVN|A04|20261125101500
PID|1||P1^^^&$A&ISO^MR||Wilson^Grace^M^^^^L||19800412|F|||12 Oak Ave^^Dayton^OH^45402^USA^H||^PRN^PH^^1^937^5550101
PV1|1|O" a04p1
msg "${H}ADT^A04^ADT_A01|C2|P|2.5.1
EVN|A04|20261125101500
PID|1||P2^^^&$A&ISO^MR||Wilson^Gracie||19800412|F" a04p2
msg "${H}ADT^A04^ADT_A01|C3|P|2.5.1
EVN|A04|20261125101500
PID|1||P3^^^&$A&ISO^MR||Okafor^Chidi||19751103|M" a04p3
msg "${H}ADT^A08^ADT_A01|C4|P|2.5.1
EVN|A08|20261125101500
PID|1||P1^^^&$A&ISO^MR||Wilson-Hart^Grace^M^^^^L||19800412|F" a08p1
msg "${H}ADT^A40^ADT_A39|C5|P|2.5.1
EVN|A40|20261125101500
PID|1||P1^^^&$A&ISO^MR||Wilson-Hart^Grace
MRG|P2^^^&$A&ISO^MR" a40
msg "${H}ADT^A47^ADT_A30|C6|P|2.5.1
EVN|A47|20261125101500
PID|1||P3NEW^^^&$A&ISO^MR||Okafor^Chidi||19751103|M
MRG|P3^^^&$A&ISO^MR" a47
msg "${H}ORU^R01^ORU_R01|C7|P|2.5.1
PID|1||P1^^^&$A&ISO^MR||Wilson-Hart^Grace||19800412|F
OBR|1|ORD1|FIL1|24331-1^Lipid panel^LN|||20261125080000-0500
OBX|1|NM|2093-3^Cholesterol^LN||182|mg/dL|<200|N|||F
OBX|2|TX|8251-1^Comment^LN||Fasting sample.||||||F" oru
doc=$(printf '%%PDF-1.4 discharge summary of Grace Wilson-Hart\n' | base64 -w0)
msg "${H}MDM^T02^MDM_T02|C8|P|2.5.1
EVN|T02|20261125101500
PID|1||P1^^^&$A&ISO^MR||Wilson-Hart^Grace||19800412|F
PV1|1|I
TXA|1|DS^Discharge summary|AP|20261125100000-0500||||||||1.2.840.114350.1.13.99.3.88001||||||AU
OBX|1|ED|18842-5^Discharge summary^LN||^application^pdf^Base64^$doc||||||F" mdm
msg "${H}MDM^T02^MDM_T02|C9|P|2.5.1
EVN|T02|20261125101500
PID|1||NOBODY^^^&$A&ISO^MR||Nobody^No
TXA|1|DS|TX|20261125100000
OBX|1|TX|||text" mdm_unknown
msg "${H}QBP^Q23^QBP_Q21|C10|P|2.5.1
QPD|IHE PIX Query|Q10|P1^^^&$A&ISO
RCP|I" pix
msg "${H}QBP^Q22^QBP_Q21|C11|P|2.5.1
QPD|IHE PDQ Query|Q11|@PID.5.1.1^Okafor~@PID.7^19751103
RCP|I|10^RD" pdq
# Unmatched ADT (issue 9's data-quality counter): an update for a patient
# the sender never registered (created), a merge whose MRG-1 is unknown.
msg "${H}ADT^A08^ADT_A01|U1|P|2.5.1
EVN|A08|20261125101500
PID|1||P8^^^&$A&ISO^MR||Stranger^Sam||19900101|M" a08_unknown
msg "${H}ADT^A40^ADT_A39|U2|P|2.5.1
EVN|A40|20261125101500
PID|1||P1^^^&$A&ISO^MR||Wilson-Hart^Grace
MRG|GONE^^^&$A&ISO^MR" a40_unknown
msg "${H}ADT^A04^ADT_A01|BAD1|P|2.5.1
PID|1||P9^^^&$A&ISO^MR||A\\Q\\B" bad_escape
msg "${H}ADT^A99^ADT_A01|BAD2|P|2.5.1
PID|1||P9^^^&$A&ISO^MR||X^Y" bad_event
msg "${H}ZZZ^Z01|BAD3|P|2.5.1
PID|1" bad_type

expect a04p1 '^MSA|AA|C1'
expect a04p2 '^MSA|AA|C2'
expect a04p3 '^MSA|AA|C3'
expect a08p1 '^MSA|AA|C4'
lookup P1 | grep -q '^enterprise' || { echo "FAIL: P1 not in the MPI"; fail=1; }
expect a40 '^MSA|AA|C5'
e1=$(lookup P1 | awk '/^enterprise/ {print $2}'); e2=$(lookup P2 | awk '/^enterprise/ {print $2}')
[ -n "$e1" ] && [ "$e1" = "$e2" ] || { echo "FAIL A40: P1 ($e1) and P2 ($e2) not merged"; fail=1; }
expect a47 '^MSA|AA|C6'
lookup P3NEW | grep -q '^enterprise' && ! lookup P3 >/dev/null 2>&1 || { echo "FAIL A47: P3 -> P3NEW"; fail=1; }
expect oru '^MSA|AA|C7'
expect mdm '^MSA|AA|C8'
grep 'control_id="C8"' "$D/node.log" | grep -q 'document 1.2.840.114350.1.13.99.3.88001 type 18842-5' ||
  { echo "FAIL MDM: document not registered with TXA-12 and OBX-3 type"; fail=1; }
grep 'control_id="C7"' "$D/node.log" | grep -q 'type 24331-1' || { echo "FAIL ORU: no lab document"; fail=1; }
expect mdm_unknown '^MSA|AE|C9' '^ERR||PID^1^3|204^'
expect pix '^MSH|.*|RSP^K23^RSP_K23|' '^MSA|AA|C10' '^QAK|Q10|OK' "P2^^^&$A&ISO"
expect pdq '^MSH|.*|RSP^K22^RSP_K21|' '^MSA|AA|C11' '^QAK|Q11|OK' "^PID|1||P3NEW^^^&$A&ISO"
# A retransmission: the first ACK again, nothing applied twice.
n1=$(hl7_mpi lookup "P1^^^&$A&ISO" | grep -c '^  ')
expect a04p1 '^MSA|AA|C1'
grep 'control_id="C1"' "$D/node.log" | grep -q 'ack=dup' || { echo "FAIL: retransmission not recognised"; fail=1; }
expect bad_escape '^MSA|AE|BAD1' '|102^'
expect a08_unknown '^MSA|AA|U1'
expect a40_unknown '^MSA|AE|U2' '|204^'
metrics=$(curl -s "http://127.0.0.1:$HTTP/metrics")
for ev in A08 A40; do
  echo "$metrics" | grep -qx "hie_hl7_unmatched_adt_total{event=\"$ev\"} 1" ||
    { echo "FAIL: /metrics has no hie_hl7_unmatched_adt_total{event=\"$ev\"} 1"; fail=1; }
done
# A04 creates: never unmatched.
echo "$metrics" | grep -q 'hie_hl7_unmatched_adt_total{event="A04"}' && { echo "FAIL: A04 counted unmatched"; fail=1; }
expect bad_event '^MSA|AR|BAD2' '|201^'
expect bad_type '^MSA|AR|BAD3' '|200^'

# Raw sockets: what no ordinary client sends.
/usr/bin/python3 - "$MLLP" "$D" <<'PY' || fail=1
import socket, sys, time
port, d = int(sys.argv[1]), sys.argv[2]
ok = open(d + "/a04p1.hl7", "rb").read()
def conn():
    s = socket.create_connection(("127.0.0.1", port), timeout=10); return s
def call(s, body):
    s.sendall(b"\x0b" + body + b"\x1c\r"); buf = b""
    while not buf.endswith(b"\x1c\r"):
        c = s.recv(65536)
        if not c: return None
        buf += c
    return buf
def closed(s, wait=10):
    s.settimeout(wait)
    try: return s.recv(1) == b""
    except (ConnectionResetError, BrokenPipeError): return True
    except socket.timeout: return False
bad = 0
def check(cond, what):
    global bad
    if not cond: print("FAIL", what); bad = 1
# a well-behaved client that stays connected throughout
good = conn(); check(b"MSA|AA" in (call(good, ok) or b""), "good client, first message")
# truncated frame, then the sender goes away
s = conn(); s.sendall(b"\x0bMSH|^~\\&|A|B|C|D|2024||ADT^A04|T1|P|2.5.1\rPID|1||"); s.close()
# no MSH: nobody to answer, the connection is closed
s = conn(); s.sendall(b"\x0bPID|1||X\r\x1c\r"); check(closed(s), "frame without MSH: connection closed"); s.close()
# garbage that is not MLLP
s = conn(); s.sendall(bytes(range(256)) * 8)
check(closed(s), "garbage: connection closed"); s.close()
# 0x1C not followed by 0x0D
s = conn(); s.sendall(b"\x0bMSH|^~\\&|A\x1cX"); check(closed(s), "bad frame end: connection closed"); s.close()
# oversized (the test node allows 64 KiB): AR 207 built from the MSH
s = conn(); r = call(s, b"MSH|^~\\&|A|B|C|D|2024||ADT^A04|BIG|P|2.5.1\rNTE|1||" + b"x" * 100000 + b"\r") or b""
check(b"MSA|AR|BIG" in r and b"|207^" in r, "oversized frame: AR 207 (%r)" % r[:120]); s.close()
# slowloris: a frame started and never finished is cut after frame_timeout_s (2 s)
s = conn(); s.sendall(b"\x0bMSH|^~\\&|A|B|C|D|2024||ADT^A04|SLOW|P|2.5.1\r")
t0 = time.time()
for _ in range(3):
    time.sleep(0.5)
    try: s.sendall(b"P")
    except OSError: break
check(closed(s, 10) and time.time() - t0 < 10, "slowloris: connection closed"); s.close()
# and the good client is still served
check(b"MSA|AA" in (call(good, ok) or b""), "good client after the hostile ones")
good.close()
sys.exit(bad)
PY
kill -0 $NODE_PID 2>/dev/null || { echo "FAIL: the node died"; fail=1; }
grep -q HIE-MLLP-TIMEOUT "$D/node.log" || { echo "FAIL: no slowloris timeout logged"; fail=1; }
echo "interop mllp_send against a node: fail=$fail"
[ $fail = 0 ] || tail -30 "$D/node.log"
exit $fail
