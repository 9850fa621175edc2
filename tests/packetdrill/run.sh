#!/bin/sh
# Runs packetdrill scripts against tuntcp in-process (packetdrill's
# --so_filename mode): no TUN device, no network, a virtual clock.
#
#   PACKETDRILL=/path/to/packetdrill run.sh --so build/tests/packetdrill/tt_packetdrill.so \
#       [--base-flags FLAGS] [--so-flags '--msl 1s'] [--verbose] SCRIPT.pkt|DIR ...
#
# --verbose: packetdrill's --verbose (every packet and call) for each script.
# --base-flags: flags put first, before those of a script's sysctls, so that
# a script's own setting wins over them (run-upstream.sh passes the values
# of the upstream scripts' defaults.sh this way).
#
# Each script may carry its own knobs on its first lines, e.g.
#   --so_flags="--msl 1s --tcp-rfc1337 1"
# --so-flags here overrides them (packetdrill: the command line wins).
#
# Back-quoted shell commands (upstream scripts start with
# `../common/defaults.sh`, which sets the kernel's sysctls) are never run:
# they configure the host's TCP, which is not the stack under test. The
# net.ipv4 sysctls that the script's setup sets (its shell blocks before
# the first event line: `sysctl -q net.ipv4.NAME=VALUE`,
# `../common/set_sysctls.py /proc/sys/net/ipv4/NAME=VALUE`) become the
# adapter's flags where it has the knob (sysctl_flag below), put after
# --base-flags and before --so-flags, which wins. The others are ignored;
# they tune what the engine does not have (TSO: tcp_tso_win_divisor,
# tcp_tso_rtt_log; ECN: tcp_ecn; path
# MTU probing: tcp_mtu_probing, tcp_base_mss; tcp_frto, tcp_dsack,
# tcp_fack, tcp_reordering, ...), as are the other commands (tc, ethtool,
# ip route) and defaults.sh itself (its values are the engine's defaults
# but tcp_rmem and tcp_slow_start_after_idle, which run-upstream.sh passes
# as --base-flags). A sysctl set later, at a time point mid-run, cannot
# be applied at the start: it stays dropped. A FAIL lists what was applied,
# ignored and dropped (--verbose: a PASS too).
# A mid-run `tc qdisc ... dev tun0 root ...` is the one command that does
# reach the stack: the adapter sees tun0's emulated qdisc refuse or accept
# the stack's packets from that time point on (strip_commands, pd_qdisc.c).
#
# The qdisc a setup puts on tun0 becomes --tcp-pacing (qdisc_flag below):
# `tc qdisc replace|add dev tun0 root fq` paces the flow in Linux (fq
# honours TCP's departure times), so --tcp-pacing 1; any other root qdisc
# (defaults.sh's pfifo) does not, --tcp-pacing 0, the engine's default.
#
# Exit status: 0 all passed, 1 a failure, 77 skipped (PACKETDRILL not set).

set -u

LOCAL_IP=192.168.0.1 # the adapter's default --addr
SO=
SO_FLAGS=
BASE_FLAGS=
VERBOSE=0

usage() {
    echo "usage: PACKETDRILL=BIN $0 --so LIB.so [--base-flags FLAGS] [--so-flags FLAGS] [--verbose] SCRIPT|DIR ..." >&2
    exit 2
}

while [ $# -gt 0 ]; do
    case "$1" in
    --so) [ $# -ge 2 ] || usage; SO=$2; shift 2 ;;
    --so-flags) [ $# -ge 2 ] || usage; SO_FLAGS=$2; shift 2 ;;
    --base-flags) [ $# -ge 2 ] || usage; BASE_FLAGS=$2; shift 2 ;;
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
# line with the closing one. A command at a time point mid-run (`+0 \`cmd\``)
# becomes `true` at the same time point, so that the events after it keep
# their times: such commands inspect or change the host's kernel (its
# /proc/net/tcp), not the stack under test. One kind is kept, as a word
# written into the FIFO $1 (pd_qdisc.c): a one-line command that sets
# tun0's root qdisc, by which scripts emulate local congestion: `pfifo
# limit 0` (drops every packet) writes "refuse", any other root qdisc
# "accept".
strip_commands() {
    awk -v fifo="$1" '
         function qdisc_word(cmd) {
             if (cmd !~ /tc qdisc/ || cmd !~ /dev tun0 root/) return ""
             return cmd ~ /pfifo limit 0([^0-9]|$)/ ? "refuse" : "accept"
         }
         skip { if (index($0, "`")) skip = 0; next }
         /^[[:space:]]*`/ { rest = substr($0, index($0, "`") + 1)
                            if (!index(rest, "`")) skip = 1
                            next }
         /^[[:space:]]*[0-9+*.][^`]*`/ { at = substr($0, 1, index($0, "`") - 1)
                                       rest = substr($0, index($0, "`") + 1)
                                       closed = index(rest, "`")
                                       word = closed ? qdisc_word(substr(rest, 1, closed - 1)) : ""
                                       if (word != "")
                                           print at "`echo " word " > " fifo "`"
                                       else
                                           print at "`true`"
                                       if (!closed) skip = 1
                                       next }
         { print }'
}

# The text of the back-quoted shell blocks: with $1 = 1 those of the setup
# (before the first event line, which starts with its time: 0, +0, .1, *),
# with 0 those after it.
shell_text() {
    awk -v setup="$1" '
         inb { if (setup != done) print; if (index($0, "`")) inb = 0; next }
         /^[[:space:]]*`/ { rest = substr($0, index($0, "`") + 1)
                            if (setup != done) print rest
                            if (!index(rest, "`")) inb = 1
                            next }
         /^[[:space:]]*[0-9+*.]/ { done = 1
                                   if (!setup && index($0, "`")) print substr($0, index($0, "`") + 1) }'
}

# NAME=VALUE for each net.ipv4 sysctl the shell text sets, one a line, in
# order, quotes removed.
sysctl_assignments() {
    sed 's/#.*//' |
        grep -oE '(net[./]ipv4[./]|/proc/sys/net/ipv4/)[a-z0-9_]+=("[^"]*"|[^[:space:]`"]+)' |
        sed -E 's#^(net[./]ipv4[./]|/proc/sys/net/ipv4/)##; s/"//g'
}

# The adapter's flag for sysctl $1 set to $2; status 1: no such knob.
# tcp_wmem and tcp_rmem are "min default max": a new socket's send buffer
# is the default (Linux sk_sndbuf); the receive buffer's max is what sets
# Linux's window scale.
sysctl_flag() {
    case $1 in
    tcp_notsent_lowat) echo "--tcp-notsent-lowat $2" ;;
    tcp_timestamps) echo "--tcp-timestamps $2" ;;
    tcp_sack) echo "--tcp-sack $2" ;;
    tcp_window_scaling) echo "--tcp-window-scaling $2" ;;
    tcp_early_retrans) echo "--tcp-early-retrans $2" ;;
    tcp_recovery) echo "--tcp-recovery $2" ;;
    tcp_slow_start_after_idle) echo "--tcp-slow-start-after-idle $2" ;;
    tcp_min_tso_segs) echo "--tcp-min-tso-segs $2" ;;
    tcp_ecn) echo "--tcp-ecn $2" ;;
    tcp_pacing_ss_ratio) echo "--tcp-pacing-ss-ratio $2" ;;
    tcp_pacing_ca_ratio) echo "--tcp-pacing-ca-ratio $2" ;;
    tcp_congestion_control) echo "--tcp-congestion-control $2" ;;
    tcp_rfc1337) echo "--tcp-rfc1337 $2" ;;
    tcp_tw_reuse) echo "--tcp-tw-reuse $2" ;;
    tcp_max_tw_buckets) echo "--tcp-max-tw-buckets $2" ;;
    tcp_syncookies) echo "--tcp-syncookies $2" ;;
    tcp_max_syn_backlog) echo "--tcp-max-syn-backlog $2" ;;
    tcp_orphan_retries) echo "--tcp-orphan-retries $2" ;;
    tcp_fin_timeout) echo "--tcp-fin-timeout ${2}s" ;;
    tcp_invalid_ratelimit) echo "--tcp-invalid-ratelimit ${2}ms" ;;
    tcp_wmem) echo "--sndbuf $(echo "$2" | awk '{ print $2 }')" ;;
    tcp_rmem) echo "--rcvbuf $(echo "$2" | awk '{ print $3 }')" ;;
    ip_local_port_range) echo "--ip-local-port-range $(echo "$2" | awk '{ print $1 "-" $2 }')" ;;
    *) return 1 ;;
    esac
}

# The --tcp-pacing flag for the last root qdisc that the shell text on
# stdin puts on tun0; nothing when it sets none. Only fq paces (Linux sets
# sk_pacing_status for a socket whose packets meet fq).
qdisc_flag() {
    sed 's/#.*//' |
        grep -oE 'tc qdisc (replace|add) dev tun0 root [a-z_]+' |
        awk 'END { if (NR) print ($NF == "fq" ? "--tcp-pacing 1" : "--tcp-pacing 0") }'
}

# Sets SYSCTL_FLAGS, the flags for the sysctls of script $1's setup, and
# SYSCTL_NOTE, what became of each sysctl the script sets.
translate_sysctls() {
    SYSCTL_FLAGS=
    applied=
    ignored=
    for kv in $(shell_text 1 < "$1" | sysctl_assignments | tr ' ' '\001'); do
        kv=$(echo "$kv" | tr '\001' ' ')
        if flag=$(sysctl_flag "${kv%%=*}" "${kv#*=}"); then
            SYSCTL_FLAGS="$SYSCTL_FLAGS $flag"
            applied="$applied $kv"
        else
            ignored="$ignored $kv"
        fi
    done
    qdisc=$(shell_text 1 < "$1" | qdisc_flag)
    if [ -n "$qdisc" ]; then
        SYSCTL_FLAGS="$SYSCTL_FLAGS $qdisc"
        applied="$applied qdisc($qdisc)"
    fi
    SYSCTL_FLAGS=${SYSCTL_FLAGS# }
    dropped=$(shell_text 0 < "$1" | sysctl_assignments | tr '\n' ' ')
    SYSCTL_NOTE=
    [ -n "$applied" ] && SYSCTL_NOTE="applied:$applied ($SYSCTL_FLAGS);"
    [ -n "$ignored" ] && SYSCTL_NOTE="$SYSCTL_NOTE ignored (no such knob):$ignored;"
    [ -n "$dropped" ] && SYSCTL_NOTE="$SYSCTL_NOTE dropped (set mid-run): $dropped"
    SYSCTL_NOTE=${SYSCTL_NOTE# }
}

# The adapter's flag for packetdrill's own --mss=N on the script's option
# lines: packetdrill puts N in the virtio header of the packets it writes to
# its tun device as gso_size (a GRO packet to Linux); in-process it writes
# none, so the adapter is told (--gso-size).
mss_flag() {
    sed -n 's/^--mss=\([0-9][0-9]*\)[[:space:]]*$/--gso-size \1/p' "$1" | head -n 1
}

run_one() {
    script=$1
    name=$(basename "$script")
    copy="$TMP/$name"
    fifo="$TMP/tun0-qdisc"
    strip_commands "$fifo" < "$script" > "$copy"
    translate_sysctls "$script"
    flags="$BASE_FLAGS $SYSCTL_FLAGS $(mss_flag "$script") $SO_FLAGS"
    # a fresh FIFO for a script that sets tun0's qdisc mid-run (pd_qdisc.c)
    rm -f "$fifo"
    if grep -q "> $fifo\`" "$copy"; then
        mkfifo "$fifo" && flags="$flags --qdisc-fifo $fifo"
    fi
    # shellcheck disable=SC2086 # word splitting drops the blanks of empty parts
    flags=$(echo $flags)
    # -D: the IPv4 names of packetdrill's run_all.py (error-queue scripts)
    set -- "--so_filename=$SO" "--local_ip=$LOCAL_IP" \
        -D CMSG_LEVEL_IP=SOL_IP -D CMSG_TYPE_RECVERR=IP_RECVERR
    [ -n "$flags" ] && set -- "$@" "--so_flags=$flags"
    [ "$VERBOSE" = 1 ] && set -- "$@" --verbose
    # LD_PRELOAD: packetdrill reads TCP_INFO for `%{ }%` blocks with the C
    # library's getsockopt(), which the adapter answers (pd_preload.c).
    # Only for scripts with such blocks: the rest need no preloading.
    preload=
    grep -q '%{' "$copy" && preload=$SO
    if (cd "$TMP" && LD_PRELOAD="$preload" timeout 120 "$PACKETDRILL" "$@" "$name") > "$TMP/out" 2>&1; then
        echo "PASS $script"
        [ "$VERBOSE" = 1 ] && sed 's/^/    /' "$TMP/out"
        [ "$VERBOSE" = 1 ] && [ -n "$SYSCTL_NOTE" ] && echo "  sysctls: $SYSCTL_NOTE"
        return 0
    fi
    echo "FAIL $script"
    sed 's/^/    /' "$TMP/out"
    [ -n "$SYSCTL_NOTE" ] && echo "  sysctls: $SYSCTL_NOTE"
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
