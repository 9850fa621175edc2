#!/usr/bin/env bash
# Counts per operation for one echo-server under one loadgen mode: what load
# on a shared machine does not distort (tests/bench/PROFILE.md).
#
#   opcounts.sh [-c] BUILD_DIR MODE [ECHO-SERVER FLAGS...]     as root
#
# MODE: bulk (4 connections x BYTES, default 32 MiB, counts per MB echoed
# each way), crr (CONNS short connections, default 20000, per connection)
# or rr (COUNT 1-byte round trips, default 20000, per round trip). Default:
# perf stat on echo-server's process alone, its system calls (tracepoints)
# and task-clock. -c: valgrind --tool=callgrind instead, its user-space
# instructions in total (run two sizes and take the difference per
# operation: start-up cancels). echo-server and loadgen share the last CPU,
# as run.py's --placement same; the TUN device and every packet stay in a
# network namespace made here and deleted at exit; QLEN sets the device's
# queue (default 500). With -c, CG_KEEP=FILE keeps callgrind's output there
# (callgrind_annotate FILE: instructions by function).
set -euo pipefail
callgrind=false
if [ "${1:-}" = -c ]; then
    callgrind=true
    shift
fi
[ $# -ge 2 ] || { sed -n 2,17p "$0"; exit 2; }
build=$1 mode=$2
shift 2
ns="ttop$$"
cpu=$(($(nproc) - 1))
out=$(mktemp -d)
pid=""
cleanup() {
    [ -n "$pid" ] && kill -TERM "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
    ip netns del "$ns" 2>/dev/null || true
    rm -rf "$out"
}
trap cleanup EXIT
ip netns add "$ns"
ip netns exec "$ns" ip link set lo up
ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 \
    "net.ipv4.ip_local_port_range=1024 65535" net.ipv4.tcp_tw_reuse=1
mkfifo "$out/ready"
run=(taskset -c "$cpu")
$callgrind && run+=(valgrind -q --tool=callgrind "--callgrind-out-file=$out/cg")
ip netns exec "$ns" "${run[@]}" "$build/apps/echo-server" --tun ttb0 -q "$@" >"$out/ready" 2>&1 &
pid=$!
exec 3<"$out/ready"
while read -r -t 60 -u 3 line; do
    case "$line" in *"listening on"*) break ;; esac
done
ip netns exec "$ns" ip link set ttb0 txqueuelen "${QLEN:-500}"
case $mode in
bulk) args=(bulk --conns 4 --bytes "${BYTES:-33554432}") ;;
crr) args=(crr --conns "${CONNS:-20000}" --concurrency 32) ;;
rr) args=(rr --count "${COUNT:-20000}" --warmup 200) ;;
*) echo "mode: bulk, crr or rr" >&2; exit 2 ;;
esac
if ! $callgrind; then
    ev=task-clock
    for s in read write readv writev epoll_wait epoll_pwait epoll_ctl; do
        ev+=",syscalls:sys_enter_$s"
    done
    perf stat -x, -e "$ev" -p "$pid" -o "$out/stat" &
    perf_pid=$!
    sleep 0.3
fi
ip netns exec "$ns" taskset -c "$cpu" "$build/bench/loadgen" "${args[@]}" --to 10.7.0.2:7 \
    --timeout 120 | tail -1 | tee "$out/load"
if $callgrind; then
    kill -TERM "$pid"
    wait "$pid" || true
    pid=""
    grep -E '^(summary|totals):' "$out/cg"
    [ -n "${CG_KEEP:-}" ] && cp "$out/cg" "$CG_KEEP"
    exit 0
fi
sleep 0.3
kill -INT "$perf_pid"
wait "$perf_pid" || true
python3 - "$mode" "$out/load" "$out/stat" <<'EOF'
import json, sys
mode, load, stat = sys.argv[1:]
r = json.loads(open(load).read().strip().splitlines()[-1])
ops = {"bulk": r.get("bytes_each_way", 0) / 1e6, "crr": r.get("conns", 0),
       "rr": r.get("count", 0)}[mode]
unit = {"bulk": "MB echoed", "crr": "connection", "rr": "round trip"}[mode]
for line in open(stat):
    f = line.strip().split(",")
    if len(f) < 3 or not f[0].replace(".", "").isdigit() or float(f[0]) == 0:
        continue
    v, name = float(f[0]), f[2].split(":")[-1]
    if name == "task-clock":
        print(f"  CPU (task-clock) {v:.0f} ms: {v * 1000 / ops:.2f} us per {unit}")
    else:
        print(f"  {name:22s} {v:8.0f}: {v / ops:.3f} per {unit}")
EOF
