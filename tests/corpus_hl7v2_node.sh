#!/usr/bin/env bash
# tests/corpus_hl7v2_node.sh BUILD_DIR CORPUS -- every message of
# CORPUS/hl7v2, in the order of tests/data/corpus_hl7v2.expect, sent with
# hie-node hl7-send to a real node's MLLP listener; each line's 4th column
# is the answer expected (AA, AE:204, AR:200, CE:204, SENT for MSH-15 NE)
# and the optional 5th what must have changed:
#   mpi=CX        hie-mpi lookup CX finds the patient
#   merged=CX,CX  both identifiers resolve to the same enterprise id
#   doc           the node logged the document it registered
# Exit 77 (skipped) when the corpus is absent.
set -uo pipefail
corpus=${2:-}/hl7v2
[ -d "$corpus" ] || { echo "skipped: $corpus absent"; exit 77; }
HIE_ROOT=${HIE_SOURCE_DIR:-$(cd "$(dirname "$0")/.." && pwd)}
. "$HIE_ROOT/tests/hl7/node.sh" "$1"
hl7_node_start
fail=0; n=0
while read -r file te ctl want check; do
  case "$file" in ''|'#'*) continue;; esac
  [ -n "${want:-}" ] || { echo "FAIL $file: no expected answer in the .expect file"; fail=1; continue; }
  n=$((n + 1))
  out=$("$BIN/node/hie-node" hl7-send -t 10 "127.0.0.1:$MLLP" "$corpus/$file" | head -1)
  case "$want" in
    SENT) ok=$([[ "$out" == "SENT $ctl"* ]] && echo 1);;
    *:*)  ok=$([ "$out" = "ACK ${want%%:*} $ctl ERR ${want#*:}" ] && echo 1);;
    *)    ok=$([ "$out" = "ACK $want $ctl" ] && echo 1);;
  esac
  [ -n "$ok" ] || { echo "FAIL $file: got '$out', want $want"; fail=1; continue; }
  case "${check:-}" in
    mpi=*) hl7_mpi lookup "${check#mpi=}" | grep -q '^enterprise ' ||
             { echo "FAIL $file: ${check#mpi=} not in the MPI"; fail=1; };;
    merged=*) a=${check#merged=}; b=${a#*,}; a=${a%%,*}
             ea=$(hl7_mpi lookup "$a" | awk '/^enterprise/ {print $2}')
             eb=$(hl7_mpi lookup "$b" | awk '/^enterprise/ {print $2}')
             [ -n "$ea" ] && [ "$ea" = "$eb" ] || { echo "FAIL $file: $a ($ea) and $b ($eb) not merged"; fail=1; };;
    doc) grep "control_id=\"$ctl\"" "$D/node.log" | grep -q 'detail="document ' ||
             { echo "FAIL $file: no document registered"; fail=1; };;
  esac
done < "$HIE_ROOT/tests/data/corpus_hl7v2.expect"
kill -0 $NODE_PID || { echo "FAIL node died"; fail=1; }
echo "corpus hl7v2 against a node: $n messages, fail=$fail"
[ $fail = 0 ] || tail -5 "$D/node.log"
exit $fail
