#!/usr/bin/env bash
# tests/crash_iti41.sh BUILD_DIR -- crash test of ITI-41 Provide and
# Register (issue 4): one real node made with the project's own tools
# (hie-certs CA, hie-node init) on loopback ports in a temp dir; a client
# (tests/xds/crash_driver.py) submits signed documents one by one, the node
# is killed with SIGKILL after a random 1-3 s and restarted on the same data
# dir, 3 times; after each restart every acknowledged document must be
# retrievable with its bytes and nothing half-stored (ITI-18 lists exactly
# the retrievable documents).  Exit 77 (skipped) without python3 or curl.
set -uo pipefail
BIN=$(cd "$1" && pwd)
HIE_ROOT=${HIE_SOURCE_DIR:-$(cd "$(dirname "$0")/.." && pwd)}
ROUNDS=${CRASH_ROUNDS:-3}
[ -x /usr/bin/python3 ] || { echo "skip: no /usr/bin/python3"; exit 77; }
[ -x "$BIN/node/hie-node" ] && [ -x "$BIN/certs/hie-certs" ] || { echo "no hie-node/hie-certs in $BIN"; exit 1; }
D=$(mktemp -d "${TMPDIR:-/tmp}/hie-crash-XXXXXX")
trap '[ "${KEEP:-}" ] || rm -rf "$D"' EXIT

# Two loopback ports nothing listens on (checked against /proc/net/tcp).
listening() {
  while read -r _ local _ st _; do
    [ "$st" = 0A ] && printf '%d\n' "0x${local##*:}"
  done < <(tail -n +2 /proc/net/tcp)
}
base=$((20000 + RANDOM % 12000)) # below 32768: the kernel hands out ephemeral ports from there
while listening | grep -qxE "$base|$((base + 1))|$((base + 2))|$((base + 3))"; do base=$((base + 7)); done

COMMUNITY=urn:oid:1.3.6.1.4.1.21367.13.20.2000
"$BIN/certs/hie-certs" init-ca --ca "$D/ca" --name "Crash Test CA" >/dev/null || exit 1
"$BIN/node/hie-node" init "$D/node" --name hospital-b --community "$COMMUNITY" --ca "$D/ca" --unsigned-peers \
  --peer-port "$base" --http-port "$((base + 1))" >/dev/null || exit 1
# The submitter is another member of the federation, with its own certificate.
"$BIN/node/hie-node" init "$D/client" --name clinic-a --community urn:oid:1.3.6.1.4.1.21367.13.20.1000 --ca "$D/ca" --unsigned-peers \
  --peer-port "$((base + 2))" --http-port "$((base + 3))" >/dev/null || exit 1
sed -i 's/^log_level = .*/log_level = warn/' "$D/node/hie-node.ini"
REPO=${COMMUNITY#urn:oid:}.1

echo "crash test: node $D/node on 127.0.0.1:$((base + 1)), $ROUNDS rounds of kill -9 / restart"
/usr/bin/python3 "$HIE_ROOT/tests/xds/crash_driver.py" "$BIN" "$D/node" "$D/client/hie-node.ini" \
  "127.0.0.1:$((base + 1))" "$COMMUNITY" "$REPO" "$ROUNDS"
rc=$?
if [ $rc -ne 0 ]; then echo "node log (last 20 lines):"; tail -20 "$D/node.log"; fi
exit $rc
