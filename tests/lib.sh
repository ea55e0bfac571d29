# tests/lib.sh -- what the shell tests share: one line per check ("ok   -" or
# "FAIL -"), counted in pass and fail; a test ends with [ "$fail" = 0 ].
pass=0 fail=0
ok()   { pass=$((pass + 1)); echo "ok   - $*"; }
bad()  { fail=$((fail + 1)); echo "FAIL - $*"; }
check() { local what=$1; shift; if "$@"; then ok "$what"; else bad "$what"; fi; }
