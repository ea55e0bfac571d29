#!/usr/bin/env bash
# tests/interop_mtom.sh MTOM_TOOL -- MTOM/XOP against an independent MIME
# implementation, Python's standard email package (tests/interop/mtom_py.py):
#   1. a message Python builds (root not first, base64 and 8bit parts, an
#      empty part, %-escaped cid: hrefs) parses in node/mtom.c with every
#      part and every Document element's bytes as Python wrote them;
#   2. a message mtom_build writes (binary parts holding CRLF, NUL and
#      delimiter-like lines) parses in Python with every attachment equal
#      byte for byte to its file.
set -uo pipefail
TOOL=$1
PY=/usr/bin/python3
HERE=$(cd "$(dirname "$0")" && pwd)
[ -x "$PY" ] || { echo "skipped: $PY not installed"; exit 77; }
T=$(mktemp -d "${TMPDIR:-/tmp}/hie-mtom-XXXXXX")
trap 'rm -rf "$T"' EXIT
pass=0 fail=0
check() { local what=$1; shift; if "$@" >"$T/last.log" 2>&1; then pass=$((pass + 1)); echo "ok   - $what"; else fail=$((fail + 1)); echo "FAIL - $what"; tail -20 "$T/last.log"; fi; }

# ---- 1. Python's, parsed by us ----
mkdir -p "$T/py"
check "python builds an MTOM message" "$PY" "$HERE/interop/mtom_py.py" make "$T/py"
check "mtom_parse reads it: parts, root and Document bytes as python wrote them" \
  bash -c "'$TOOL' parse '$T/py/ctype' '$T/py/body' > '$T/py/got' && diff -u '$T/py/expect' '$T/py/got'"

# ---- 2. ours, parsed by Python ----
mkdir -p "$T/c"
head -c 200000 /dev/urandom > "$T/c/random.bin"
{ printf 'line one\r\n--MIMEBoundary_\r\n--\r\n\r\n\0\n\r'; head -c 3000 /dev/urandom; printf '\r\n'; } > "$T/c/nasty.bin"
: > "$T/c/empty.bin"
printf '<ClinicalDocument xmlns="urn:hl7-org:v3">h\xc3\xa9llo</ClinicalDocument>\n' > "$T/c/ccda.xml"
ACTION=urn:ihe:iti:2007:RetrieveDocumentSetResponse
check "mtom_build writes a message" "$TOOL" build "$T/c" "$ACTION" \
  "$T/c/random.bin:application/octet-stream" "$T/c/nasty.bin:application/pdf" \
  "$T/c/empty.bin:text/plain" "$T/c/ccda.xml:text/xml; charset=UTF-8"
check "python's email parser reads it, attachments byte for byte" "$PY" "$HERE/interop/mtom_py.py" check "$T/c" "$ACTION"
check "and mtom_parse reads it back" "$TOOL" parse "$T/c/ctype" "$T/c/body"

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
