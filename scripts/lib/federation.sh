# scripts/lib/federation.sh -- a federation of real nodes on loopback, made
# only with the project's own programs.  Sourced by scripts/demo and
# tests/federation.sh.  Needs BIN (the build directory) and FED (a scratch
# directory) set by the caller.

PID_OID=1.3.6.1.4.1.21367.13.20.3000
PATIENT="DEMO-1001^^^&$PID_OID&ISO"

# fed_base_port: a base port for a test federation (its nodes listen on
# base+0 .. base+110, see fed_setup) where nothing listens yet.  Below 32768:
# from there the kernel hands out ephemeral ports, and a client connection of
# a test running alongside could hold one of ours.
fed_base_port() {
  local base=$((20000 + RANDOM % 12000)) busy clash o
  busy=$(while read -r _ local _ st _; do
           [ "$st" = 0A ] && printf '%d\n' "0x${local##*:}"
         done < <(tail -n +2 /proc/net/tcp))
  while :; do
    clash=0
    for o in 0 10 20 30 50 80 90 100 110; do
      if grep -qx "$((base + o))" <<<"$busy"; then clash=1; break; fi
    done
    [ "$clash" = 0 ] && break
    base=$((base + 7))
  done
  echo "$base"
}

# fed_node NAME COMMUNITY PEER_PORT HTTP_PORT: a node signed by the FED CA.
fed_node() {
  local unsigned=--unsigned-peers
  [ "${FED_SIGNED:-0}" = 1 ] && unsigned=
  "$BIN/node/hie-node" init "$FED/$1" --name "$1" --community "$2" --ca "$FED/ca" $unsigned \
    --peer-port "$3" --http-port "$4" >/dev/null
  echo "$1 $2 $3 $4" >> "$FED/nodes"
}

# fed_directory: who is in the network.  With FED_SIGNED=1 (the demo, the
# federation test) the way a real network does it: the HIE admin lists each
# node's certificate in the directory and signs it (hie-certs directory
# add/sign, kept in $FED/admin), and every node gets a copy as
# directory.signed.  Otherwise (nodes made with hie-node init
# --unsigned-peers) every node gets the same unsigned peers.ini (tests that
# edit a node's peers by hand).
# $FED/peers.ini is written either way (its own entry is skipped by a node).
fed_directory() {
  : > "$FED/peers.ini"
  while read -r name community pport hport; do
    printf '[%s]\ncommunity = %s\naddress = tls+tcp://127.0.0.1:%s\n\n' "$name" "$community" "$pport" >> "$FED/peers.ini"
  done < "$FED/nodes"
  if [ "${FED_SIGNED:-0}" = 1 ]; then
    mkdir -p "$FED/admin"
    while read -r name community pport hport; do
      "$BIN/certs/hie-certs" directory add --file "$FED/admin/directory.ini" --ca "$FED/ca" --name "$name" \
        --community "$community" --cert "$FED/$name/node.crt" --address "tls+tcp://127.0.0.1:$pport" >/dev/null || return 1
    done < "$FED/nodes"
    fed_directory_publish
  else
    while read -r name rest; do cp "$FED/peers.ini" "$FED/$name/peers.ini"; done < "$FED/nodes"
  fi
}

# fed_directory_publish: the admin signs the working directory and every
# node gets the new copy (they read it at start and on SIGHUP).
fed_directory_publish() {
  "$BIN/certs/hie-certs" directory sign --file "$FED/admin/directory.ini" --ca "$FED/ca" \
    --out "$FED/admin/directory.signed" >/dev/null || return 1
  while read -r name rest; do cp "$FED/admin/directory.signed" "$FED/$name/directory.signed"; done < "$FED/nodes"
}

# fed_setup BASEPORT: a CA and three nodes; hospital-b and hospital-c hold
# the demo documents for the demo patient; clinic-a holds none.
fed_setup() {
  base=$1
  mkdir -p "$FED"
  : > "$FED/nodes"
  "$BIN/certs/hie-certs" init-ca --ca "$FED/ca" --name "Demo State HIE CA" >/dev/null || return 1
  fed_node clinic-a   urn:oid:1.3.6.1.4.1.21367.13.20.1000 "$base"         "$((base + 80))" || return 1
  fed_node hospital-b urn:oid:1.3.6.1.4.1.21367.13.20.2000 "$((base + 10))" "$((base + 90))" || return 1
  fed_node hospital-c urn:oid:1.3.6.1.4.1.21367.13.20.3000 "$((base + 20))" "$((base + 100))" || return 1
  fed_directory
  "$BIN/node/hie-node" import -c "$FED/hospital-b/hie-node.ini" "$HIE_ROOT"/conf/demo/hospital-b-*.xml || return 1
  "$BIN/node/hie-node" import -c "$FED/hospital-c/hie-node.ini" "$HIE_ROOT"/conf/demo/hospital-c-*.xml || return 1
}

# fed_http NAME: the node's HTTP address.
fed_http() { awk -v n="$1" '$1 == n { print "127.0.0.1:" $4 }' "$FED/nodes"; }

# fed_start NAME: starts a node in the background, waits until /health answers.
fed_start() {
  "$BIN/node/hie-node" -c "$FED/$1/hie-node.ini" 2>> "$FED/$1.log" &
  echo $! > "$FED/$1.pid"
  addr=$(fed_http "$1")
  for _ in $(seq 1 100); do
    curl -sf "http://$addr/health" >/dev/null 2>&1 && return 0
    kill -0 "$(cat "$FED/$1.pid")" 2>/dev/null || { echo "node $1 failed to start:"; tail -5 "$FED/$1.log"; return 1; }
    sleep 0.1
  done
  echo "node $1 did not answer /health"; return 1
}

# fed_wait_peers NAME N: waits (up to 10 s) until N peers are reachable.
fed_wait_peers() {
  addr=$(fed_http "$1")
  for _ in $(seq 1 100); do
    n=$(curl -sf "http://$addr/health" | grep -o '"reachable":true' | wc -l || true)
    [ "$n" -ge "$2" ] && return 0
    sleep 0.1
  done
  return 1
}

# fed_stop NAME [SIGNAL]: stops a node and waits for it to exit, at most
# FED_STOP_TIMEOUT seconds (default 60).  A node that does not exit by then
# is a bug: its threads' stacks are printed (gdb, where installed) so that
# the hang can be read from the test's output, it is killed, and the
# return is 124.  Without the bound a hung node would hold the test until
# ctest's own timeout, which says nothing about where it hung.
fed_stop() {
  local pid rc i limit=$(( ${FED_STOP_TIMEOUT:-60} * 10 ))
  [ -f "$FED/$1.pid" ] || return 0
  pid=$(cat "$FED/$1.pid")
  kill -"${2:-TERM}" "$pid" 2>/dev/null
  for ((i = 0; i < limit; i++)); do
    kill -0 "$pid" 2>/dev/null || break
    # A zombie has exited; only our wait is missing.
    [ "$(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null)" = Z ] && break
    sleep 0.1
  done
  if [ "$i" -ge "$limit" ]; then
    echo "fed_stop: $1 (pid $pid) did not exit within ${FED_STOP_TIMEOUT:-60} s of SIG${2:-TERM}; its threads:"
    if command -v gdb >/dev/null; then
      gdb -batch -p "$pid" -ex 'thread apply all bt' 2>/dev/null | grep -E '^(Thread|#)' | sed 's/^/    /'
    fi
    kill -KILL "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
    rm -f "$FED/$1.pid"
    return 124
  fi
  wait "$pid" 2>/dev/null && rc=0 || rc=$?
  rm -f "$FED/$1.pid"
  return $rc
}

fed_stop_all() {
  for f in "$FED"/*.pid; do
    [ -e "$f" ] || continue
    kill -CONT "$(cat "$f")" 2>/dev/null
    fed_stop "$(basename "$f" .pid)"
  done
}
