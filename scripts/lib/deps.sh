# scripts/lib/deps.sh -- the Debian packages hienode builds, tests and runs
# with; sourced by scripts/demo, scripts/test and scripts/bench.
# Installs what is missing when run as root (or with sudo), else says what to run.

HIE_BUILD_DEPS="build-essential cmake pkg-config libnng-dev libmbedtls-dev libxml2-dev libxmlsec1-dev
  libssl-dev liblmdb-dev libcurl4-openssl-dev libinih-dev libjson-c-dev libcmocka-dev libmimalloc-dev"
HIE_RUN_DEPS="curl python3 python3-xmlsec python3-lxml python3-hl7 python3-zeep xmlsec1 libxml2-utils lmdb-utils procps"

hie_deps() {
  missing=""
  for p in $HIE_BUILD_DEPS $HIE_RUN_DEPS; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
  done
  [ -z "$missing" ] && return 0
  echo "installing Debian packages:$missing"
  if [ "$(id -u)" -eq 0 ]; then SUDO=""; elif command -v sudo >/dev/null; then SUDO="sudo"; else
    echo "run as root: apt-get install -y$missing" >&2; return 1
  fi
  $SUDO apt-get update -q >/dev/null || return 1
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends $missing >/dev/null || return 1
}

# hie_build DIR [cmake args...]: configure and build into DIR.
hie_build() {
  dir=$1; shift
  mkdir -p "$dir"
  if ! cmake -S "$HIE_ROOT" -B "$dir" "$@" > "$dir/build.log" 2>&1 ||
     ! cmake --build "$dir" -j "$(nproc)" >> "$dir/build.log" 2>&1; then
    grep -E "error|Error" "$dir/build.log" | head -20
    echo "build failed; full log: $dir/build.log" >&2
    return 1
  fi
}
