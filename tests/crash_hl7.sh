#!/usr/bin/env bash
# tests/crash_hl7.sh BUILD_DIR -- crash test of the HL7 v2 feed: a real
# node (tests/hl7/node.sh) takes a stream of ADT^A04 over two pipelining
# MLLP connections (tests/bench/bench_hl7, which writes down every
# identifier acknowledged AA the moment the ACK arrives); the node is
# killed with SIGKILL after a random 0.3-1 s and restarted on the same data
# dir, CRASH_ROUNDS (2) times.  After each restart every identifier that
# was acknowledged AA must be in the MPI (hie-mpi lookup, reading the
# node's LMDB environment from another process), and a retransmission of
# an acknowledged message is acknowledged AA again without a second record.
set -uo pipefail
HIE_ROOT=${HIE_SOURCE_DIR:-$(cd "$(dirname "$0")/.." && pwd)}
ROUNDS=${CRASH_ROUNDS:-2}
. "$HIE_ROOT/tests/hl7/node.sh" "$1"
sed -i 's/^log_level = .*/log_level = warn/' "$D/node/hie-node.ini"
OID=1.3.6.1.4.1.21367.99.1
fail=0
for round in $(seq "$ROUNDS"); do
  hl7_node_start
  : > "$D/acked.$round"
  "$BIN/tests/bench_hl7" 127.0.0.1 "$MLLP" 1000000 2 16 "R$round" "$D/acked.$round" > "$D/bench.$round" 2>&1 &
  bpid=$!
  # The kill comes at a random moment once the stream is flowing (a slow
  # build under load may take a while to answer the first group).
  for _ in $(seq 300); do [ -s "$D/acked.$round" ] && break; sleep 0.1; done
  sleep "$(awk -v r=$RANDOM 'BEGIN { printf "%.2f", 0.3 + (r % 70) / 100 }')"
  hl7_node_kill KILL
  wait $bpid 2>/dev/null
  n=$(wc -l < "$D/acked.$round")
  echo "round $round: node killed with $n messages acknowledged AA"
  [ "$n" -gt 0 ] || { echo "FAIL round $round: nothing was acknowledged before the kill"; fail=1; continue; }
  hl7_node_start
  missing=$(sed "s|\$|^^^\&$OID\&ISO|" "$D/acked.$round" |
    xargs -P 2 -I{} sh -c '"$0" -d "$1" lookup "$2" >/dev/null 2>&1 || echo "$2"' "$BIN/mpi/hie-mpi" "$D/node/data" {} |
    head -5)
  [ -z "$missing" ] || { echo "FAIL round $round: acknowledged but not in the MPI: $missing"; fail=1; }
  # A retransmission of the last acknowledged message: AA again, no new record.
  last=$(tail -1 "$D/acked.$round"); conn=${last#R$round-}; conn=${conn%%-*}; i=${last##*-}
  before=$(hl7_mpi lookup "$last^^^&$OID&ISO" | grep -c '^  ')
  printf 'MSH|^~\\&|BENCH|BENCHFAC|HIE|NODE|20261125120000||ADT^A04^ADT_A01|%s|P|2.5.1\rPID|1||%s^^^&%s&ISO^MR||X^Y||19700101|M\r' \
    "$last" "$last" "$OID" > "$D/retx.hl7"
  out=$("$BIN/node/hie-node" hl7-send -t 10 "127.0.0.1:$MLLP" "$D/retx.hl7")
  # A different body under the same control id is a new message (hl7_seen):
  # only a byte-identical retransmission is answered from hl7.seen, so
  # this checks the node answers and keeps one record per identifier.
  after=$(hl7_mpi lookup "$last^^^&$OID&ISO" | grep -c '^  ')
  [[ "$out" == "ACK AA $last" ]] || { echo "FAIL round $round: resent $last: $out"; fail=1; }
  [ "$before" = "$after" ] || { echo "FAIL round $round: resending $last changed its identifiers ($before -> $after)"; fail=1; }
  hl7_node_kill TERM
done
[ $fail = 0 ] && echo "crash hl7: every acknowledged message survived $ROUNDS kill -9"
exit $fail
