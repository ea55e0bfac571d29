#!/usr/bin/env bash
# tests/interop_mllp.sh BUILD_DIR CORPUS -- interop with an independent MLLP
# client: python3-hl7's mllp_send (Debian package python3-hl7) sends every
# corpus message, one connection per file, to our listener
# (mllp_echo_server); each answer must be an ACK with MSA-2 = the
# message's MSH-10 and AA (CA in enhanced mode); messages whose MSH-15 is
# NE get no answer by the rules and are left out.  Then a message with an
# invalid escape must get AE with an ERR segment, and an unsupported
# version AR.  Exit 77 when mllp_send or the corpus is missing.
set -u
build=$1; corpus=${2:-}/hl7v2
MLLP_SEND=$(command -v mllp_send || echo /usr/bin/mllp_send)
[ -x "$MLLP_SEND" ] || { echo "skipped: mllp_send (python3-hl7) not installed"; exit 77; }
[ -d "$corpus" ] || { echo "skipped: $corpus absent"; exit 77; }
server=$build/tests/mllp_echo_server
work=$(mktemp -d); pid=
trap '[ -n "$pid" ] && kill $pid 2>/dev/null; wait 2>/dev/null; rm -rf "$work"' EXIT

port=$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
"$server" "$port" "$work/data" > "$work/server.out" 2> "$work/server.err" &
pid=$!
for _ in $(seq 50); do grep -q listening "$work/server.out" 2>/dev/null && break; sleep 0.1; done
grep -q listening "$work/server.out" || { echo "server did not start"; cat "$work/server.err"; exit 1; }

fail=0; sent=0
# field N of the MSH (first segment) of a file
msh() { head -c 4096 "$1" | tr '\r\n' '\n\n' | head -1 | cut -d'|' -f"$2"; }
# the ACK printed by mllp_send: segment MSA, framing bytes dropped
msa() { tr -d '\013\034' | tr '\r' '\n' | grep '^MSA' | head -1; }

for f in "$corpus"/*.hl7; do
  ctl=$(msh "$f" 10); acc=$(msh "$f" 15 | tr -d ' '); app=$(msh "$f" 16 | tr -d ' ')
  [ "$acc" = NE ] && continue
  want=AA; { [ -n "$acc" ] || [ -n "$app" ]; } && want=CA
  got=$(timeout 10 /usr/bin/python3 "$MLLP_SEND" --loose -f "$f" -p "$port" 127.0.0.1 | msa)
  sent=$((sent + 1))
  if [ "$got" != "MSA|$want|$ctl" ]; then echo "FAIL $(basename "$f"): got '$got', want 'MSA|$want|$ctl'"; fail=1; fi
done

# Bad messages: an AE with an ERR segment (102), and an AR for version 2.9.
printf 'MSH|^~\\&|A|B|C|D|2024||ADT^A01|BAD1|P|2.5\rPID|1||1||A\\Q\\B\r' > "$work/bad1.hl7"
printf 'MSH|^~\\&|A|B|C|D|2024||ADT^A01|BAD2|P|2.9\rPID|1\r' > "$work/bad2.hl7"
out=$(timeout 10 /usr/bin/python3 "$MLLP_SEND" --loose -f "$work/bad1.hl7" -p "$port" 127.0.0.1 | tr -d '\013\034' | tr '\r' '\n')
echo "$out" | grep -q '^MSA|AE|BAD1' && echo "$out" | grep -q '^ERR||PID^1^5^1^1^1|102^' || { echo "FAIL bad escape: $out"; fail=1; }
out=$(timeout 10 /usr/bin/python3 "$MLLP_SEND" --loose -f "$work/bad2.hl7" -p "$port" 127.0.0.1 | tr -d '\013\034' | tr '\r' '\n')
echo "$out" | grep -q '^MSA|AR|BAD2' && echo "$out" | grep -q '|203^Unsupported version id^HL70357|' || { echo "FAIL bad version: $out"; fail=1; }

# All messages of a file over one connection (mllp_send reuses it).
cat "$corpus"/ADT-A04-01.hl7 "$corpus"/ORU-R01-RMGEAD.hl7 "$corpus"/ADT04-23.hl7 > "$work/three.hl7"
n=$(timeout 10 /usr/bin/python3 "$MLLP_SEND" --loose -f "$work/three.hl7" -p "$port" 127.0.0.1 | tr -d '\013\034' | tr '\r' '\n' | grep -c '^MSA|AA|')
[ "$n" = 3 ] || { echo "FAIL three messages on one connection: $n AA"; fail=1; }

# Our own client, hie-node hl7-send, on the same file plus a refused message.
out=$("$build/node/hie-node" hl7-send -t 5 "127.0.0.1:$port" "$work/three.hl7" "$work/bad2.hl7")
[ "$(echo "$out" | grep -c '^ACK AA ')" = 3 ] && echo "$out" | grep -q '^ACK AR BAD2 ERR 203$' ||
  { echo "FAIL hie-node hl7-send: $out"; fail=1; }

kill -0 $pid || { echo "FAIL server died"; fail=1; }
echo "interop mllp_send: $sent corpus messages sent, fail=$fail"
exit $fail
