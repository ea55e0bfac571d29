#!/usr/bin/env bash
# tests/corpus_ccda.sh BUILD_DIR CORPUS -- imports every C-CDA sample of the
# shared corpus into a fresh node and compares each file's outcome with
# tests/data/corpus_ccda.expect.  Skipped (77) where the corpus is absent.
set -uo pipefail
BIN=$(cd "$1" && pwd)
CORPUS=$2
HIE_ROOT=${HIE_SOURCE_DIR:-$(cd "$(dirname "$0")/.." && pwd)}
if [ ! -d "$CORPUS/ccda" ]; then
  echo "skipped: no corpus at $CORPUS"
  exit 77
fi
T=$(mktemp -d "${TMPDIR:-/tmp}/hie-corpus-XXXXXX")
trap 'rm -rf "$T"' EXIT
"$BIN/certs/hie-certs" init-ca --ca "$T/ca" >/dev/null
"$BIN/node/hie-node" init "$T/n" --name corpus --community urn:oid:1.2.3.4 --ca "$T/ca" --unsigned-peers >/dev/null

pass=0 fail=0
"$BIN/node/hie-node" import -c "$T/n/hie-node.ini" "$CORPUS"/ccda/*.xml > "$T/out"
rc=$?
# One line per file: FILE<TAB>imported TYPE | rejected: REASON
awk '/^imported/ {n=split($NF, p, "/"); print p[n] "\timported " $(NF-1)}
     /^rejected/ {f=$2; sub(/:$/, "", f); n=split(f, p, "/"); $1=""; $2=""; sub(/^  /, ""); print p[n] "\trejected: " $0}' \
  "$T/out" | sort > "$T/got"
grep -v '^#' "$HIE_ROOT/tests/data/corpus_ccda.expect" | sort > "$T/want"
while IFS=$'\t' read -r file outcome; do
  got=$(awk -F'\t' -v f="$file" '$1 == f { print $2 }' "$T/got")
  if [ -z "$got" ]; then
    echo "skip - $file: not in this corpus (held out?)"
  elif [ "$got" = "$outcome" ]; then
    pass=$((pass + 1))
  else
    fail=$((fail + 1)); echo "FAIL - $file: got '$got', want '$outcome'"
  fi
done < "$T/want"
# Files the expectation does not know yet must at least get a clear answer.
cut -f1 "$T/want" > "$T/known"
while IFS=$'\t' read -r file outcome; do
  grep -qxF "$file" "$T/known" || echo "note - new corpus file $file: $outcome"
done < "$T/got"
imported=$(grep -c $'\timported' "$T/got")
echo "imported $imported of $(ls "$CORPUS"/ccda/*.xml | wc -l) files; import exit code $rc"
# Every rejection left nothing behind: importing again changes nothing.
"$BIN/node/hie-node" import -c "$T/n/hie-node.ini" "$CORPUS"/ccda/*.xml > "$T/again"
if [ "$(grep -c '^unchanged' "$T/again")" = "$imported" ] && ! grep -q '^imported' "$T/again"; then
  pass=$((pass + 1))
else
  fail=$((fail + 1)); echo "FAIL - second import changed the registry"
fi
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
