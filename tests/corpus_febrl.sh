#!/usr/bin/env bash
# tests/corpus_febrl.sh BUILD_DIR CORPUS_DIR -- the MPI's accuracy on the
# FEBRL deduplication sets: hie-mpi eval on dataset1..3 must reach F1 >= 0.98
# on each (m/u from EM, truth from rec_id).  Exit 77 (skipped) without the
# corpus.
set -euo pipefail
build=$1
febrl=$2/febrl
[ -d "$febrl" ] || { echo "no FEBRL corpus at $febrl: skipped"; exit 77; }
status=0
for set in dataset1 dataset2 dataset3; do
  [ -f "$febrl/$set.csv" ] || { echo "$set: missing"; status=1; continue; }
  out=$("$build/mpi/hie-mpi" eval "$febrl/$set.csv")
  echo "$set: $(echo "$out" | tr '\n' ' ')"
  f1=$(echo "$out" | sed -n 's/.* f1=\([0-9.]*\).*/\1/p')
  if [ -z "$f1" ] || ! awk -v f="$f1" 'BEGIN { exit !(f >= 0.98) }'; then
    echo "$set: F1 ${f1:-?} below 0.98"
    status=1
  fi
done
exit $status
