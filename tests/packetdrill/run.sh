#!/bin/sh
# Runs packetdrill scripts against tuntcp in-process (packetdrill's
# --so_filename mode): no TUN device, no network, a virtual clock.
#
#   PACKETDRILL=/path/to/packetdrill run.sh --so build/tests/packetdrill/tt_packetdrill.so \
#       [--so-flags '--msl 1s'] [--verbose] SCRIPT.pkt|DIR ...
#
# --verbose: packetdrill's --verbose (every packet and call) for each script.
#
# Each script may carry its own knobs on its first lines, e.g.
#   --so_flags="--msl 1s --tcp-rfc1337 1"
# --so-flags here overrides them (packetdrill: the command line wins).
#
# Back-quoted shell commands (upstream scripts start with
# `../common/defaults.sh`, which sets the kernel's sysctls) are left out:
# they configure the host's TCP, which is not the stack under test.
#
# Exit status: 0 all passed, 1 a failure, 77 skipped (PACKETDRILL not set).

set -u

LOCAL_IP=192.168.0.1 # the adapter's default --addr
SO=
SO_FLAGS=
VERBOSE=0

usage() {
    echo "usage: PACKETDRILL=BIN $0 --so LIB.so [--so-flags FLAGS] [--verbose] SCRIPT|DIR ..." >&2
    exit 2
}

while [ $# -gt 0 ]; do
    case "$1" in
    --so) [ $# -ge 2 ] || usage; SO=$2; shift 2 ;;
    --so-flags) [ $# -ge 2 ] || usage; SO_FLAGS=$2; shift 2 ;;
    --verbose) VERBOSE=1; shift ;;
    -h|--help) usage ;;
    --) shift; break ;;
    -*) usage ;;
    *) break ;;
    esac
done
if [ -z "$SO" ] || [ $# -eq 0 ]; then usage; fi

if [ -z "${PACKETDRILL:-}" ]; then
    echo "SKIP: PACKETDRILL not set: point it at a packetdrill binary built from" \
         "https://github.com/google/packetdrill (gtests/net/packetdrill) to run these scripts"
    exit 77
fi
if [ ! -x "$PACKETDRILL" ]; then
    echo "FAIL: PACKETDRILL=$PACKETDRILL is not an executable" >&2
    exit 1
fi
if [ ! -f "$SO" ]; then
    echo "FAIL: $SO not found (build the project first)" >&2
    exit 1
fi
case "$SO" in /*) ;; *) SO=$(pwd)/$SO ;; esac

TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT INT TERM

# Drops the shell commands: a line that starts with a back quote, up to the
# line with the closing one.
strip_commands() {
    awk 'skip { if (index($0, "`")) skip = 0; next }
         /^[[:space:]]*`/ { rest = substr($0, index($0, "`") + 1)
                            if (!index(rest, "`")) skip = 1
                            next }
         { print }'
}

run_one() {
    script=$1
    name=$(basename "$script")
    copy="$TMP/$name"
    strip_commands < "$script" > "$copy"
    set -- "--so_filename=$SO" "--local_ip=$LOCAL_IP"
    [ -n "$SO_FLAGS" ] && set -- "$@" "--so_flags=$SO_FLAGS"
    [ "$VERBOSE" = 1 ] && set -- "$@" --verbose
    # LD_PRELOAD: packetdrill reads TCP_INFO for `%{ }%` blocks with the C
    # library's getsockopt(), which the adapter answers (pd_preload.c).
    # Only for scripts with such blocks: the rest need no preloading.
    preload=
    grep -q '%{' "$copy" && preload=$SO
    if (cd "$TMP" && LD_PRELOAD="$preload" timeout 120 "$PACKETDRILL" "$@" "$name") > "$TMP/out" 2>&1; then
        echo "PASS $script"
        [ "$VERBOSE" = 1 ] && sed 's/^/    /' "$TMP/out"
        return 0
    fi
    echo "FAIL $script"
    sed 's/^/    /' "$TMP/out"
    if grep -q 'lockall\|pthread_create' "$TMP/out"; then
        echo "    hint: packetdrill locks its memory (mlockall): run it as root or raise ulimit -l"
    fi
    return 1
}

pass=0
fail=0

run_counted() {
    if [ ! -f "$1" ]; then
        echo "FAIL $1: no such script"
        fail=$((fail + 1))
    elif run_one "$1"; then
        pass=$((pass + 1))
    else
        fail=$((fail + 1))
    fi
}

for arg in "$@"; do
    if [ -d "$arg" ]; then
        for script in "$arg"/*.pkt; do run_counted "$script"; done
    else
        run_counted "$arg"
    fi
done

echo "packetdrill: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
