# tests/hl7/node.sh -- sourced by the HL7 v2 node tests: one real node made
# with the project's own tools (hie-certs CA, hie-node init --mllp-port) in
# a temp dir on free loopback ports.  Sets D, BIN, MLLP (port), HTTP (port);
# hl7_node_start / hl7_node_kill [SIGNAL] / hl7_node_wait_listen.
BIN=$(cd "$1" && pwd)
[ -x "$BIN/node/hie-node" ] && [ -x "$BIN/certs/hie-certs" ] || { echo "no hie-node/hie-certs in $BIN"; exit 1; }
D=$(mktemp -d "${TMPDIR:-/tmp}/hie-hl7-XXXXXX")
NODE_PID=
trap '[ -n "$NODE_PID" ] && kill -9 $NODE_PID 2>/dev/null; wait 2>/dev/null; [ "${KEEP:-}" ] || rm -rf "$D"' EXIT

hl7_listening() {
  while read -r _ local _ st _; do
    if [ "$st" = 0A ]; then printf '%d\n' "0x${local##*:}"; fi
  done < <(tail -n +2 /proc/net/tcp)
}
base=$((20000 + RANDOM % 12000)) # below 32768: the kernel hands out ephemeral ports from there
while hl7_listening | grep -xE "$base|$((base + 1))|$((base + 2))" >/dev/null; do base=$((base + 7)); done
HTTP=$((base + 1)); MLLP=$((base + 2))
COMMUNITY=urn:oid:1.3.6.1.4.1.21367.13.20.2000
"$BIN/certs/hie-certs" init-ca --ca "$D/ca" --name "HL7 Test CA" >/dev/null || exit 1
"$BIN/node/hie-node" init "$D/node" --name hospital-b --community "$COMMUNITY" --ca "$D/ca" --unsigned-peers \
  --peer-port "$base" --http-port "$HTTP" --mllp-port "$MLLP" >/dev/null || exit 1
# Short timeouts so the slowloris case does not take 30 s.
sed -i 's/^frame_timeout_s = .*/frame_timeout_s = 2/; s/^idle_timeout_s = .*/idle_timeout_s = 20/' "$D/node/hie-node.ini"

hl7_node_start() {
  "$BIN/node/hie-node" -c "$D/node/hie-node.ini" >> "$D/node.log" 2>&1 &
  NODE_PID=$!
  for _ in $(seq 100); do
    hl7_listening | grep -x "$MLLP" >/dev/null && return 0
    kill -0 $NODE_PID 2>/dev/null || break
    sleep 0.1
  done
  echo "node did not start"; tail -20 "$D/node.log"; exit 1
}
hl7_node_kill() {
  kill "-${1:-TERM}" $NODE_PID 2>/dev/null; wait $NODE_PID 2>/dev/null; NODE_PID=
  : > "$D/node.log.restart"; cat "$D/node.log" >> "$D/node.log.all"; : > "$D/node.log"
}
# hie-mpi reads the node's LMDB environment while the node runs.
hl7_mpi() { "$BIN/mpi/hie-mpi" -d "$D/node/data" "$@"; }
