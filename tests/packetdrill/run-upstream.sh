#!/bin/sh
# Runs packetdrill's own Linux scripts (google/packetdrill gtests/net/tcp)
# against tuntcp, Fast Open and zerocopy left out (out of scope, issue 13),
# with the receive buffer the scripts' defaults.sh gives Linux (tcp_rmem max
# 15 MB: window scale 8). Prints PASS/FAIL per script, the first error of
# each failure, and the totals. Scripts are run unedited (run.sh drops only
# their back-quoted shell commands, which set the host's sysctls).
#
#   PACKETDRILL=/path/to/packetdrill tests/packetdrill/run-upstream.sh \
#       [--so build/tests/packetdrill/tt_packetdrill.so] packetdrill/gtests/net/tcp
#
# Exit status: 0 all passed, 1 a failure, 2 bad usage, 77 PACKETDRILL not set.

set -u

HERE=$(cd "$(dirname "$0")" && pwd)
SO=build/tests/packetdrill/tt_packetdrill.so
# What the scripts' defaults.sh gives Linux and the engine's defaults do
# not: tcp_rmem max 15 MB, tcp_slow_start_after_idle 0. A script's own
# sysctls come after these and win.
BASE_FLAGS='--rcvbuf 15728640 --tcp-slow-start-after-idle 0'

usage() {
    echo "usage: PACKETDRILL=BIN $0 [--so LIB.so] TCP_DIR" >&2
    exit 2
}

while [ $# -gt 0 ]; do
    case "$1" in
    --so) [ $# -ge 2 ] || usage; SO=$2; shift 2 ;;
    -h|--help) usage ;;
    -*) usage ;;
    *) break ;;
    esac
done
[ $# -eq 1 ] || usage
TCP_DIR=$1
if [ ! -d "$TCP_DIR" ]; then
    echo "$0: $TCP_DIR is not a directory (packetdrill's gtests/net/tcp)" >&2
    exit 2
fi

dirs=
for d in "$TCP_DIR"/*/; do
    case "$(basename "$d")" in
    fastopen|zerocopy|common) continue ;;
    esac
    dirs="$dirs ${d%/}"
done

OUT=$(mktemp)
trap 'rm -f "$OUT"' EXIT INT TERM
# shellcheck disable=SC2086 # $dirs is a list of directories without spaces
"$HERE/run.sh" --so "$SO" --base-flags "$BASE_FLAGS" $dirs > "$OUT" 2>&1
rc=$?
[ $rc -eq 77 ] && { cat "$OUT"; exit 77; }
# Each FAIL line with the first line of its error after it.
awk '/^PASS /{ print; next }
     /^FAIL /{ print; want = 1; next }
     want && /^    / { sub(/^ +/, "    "); print; want = 0; next }
     /^packetdrill: /{ total = $0 }
     END { if (total != "") print total }' "$OUT"
[ $rc -eq 0 ]
