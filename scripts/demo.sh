#!/usr/bin/env bash
# tuntcp demo: watch TCP's close and TIME_WAIT against the Linux kernel.
#
#   bash scripts/demo.sh
#
# 1. installs what is missing (Debian 12 packages; needs root or sudo);
# 2. builds the apps (Release, no sanitizers) in build/ (BUILD_DIR=... to change);
# 3. in a private network namespace it makes itself (`unshare -n` as root,
#    `unshare -rn` otherwise), so nothing leaves this machine's loopback world:
#    scene 1: echo-server --close-after 1000 --msl 1s: tuntcp closes first and
#             holds TIME_WAIT for 2*MSL = 2 s; a Linux client (python3 socket)
#             talks to it;
#    scene 2: echo-client --close-wait against a Linux echo server: Linux
#             closes first and holds TIME_WAIT, always 60 s on Linux;
# 4. prints each scene's connection timeline (from --trace) and packets (from
#    --pcap, with tshark when it is installed), and leaves the captures in
#    build/demo/ for Wireshark.
#
# Takes about 10 s after the build; everything is bounded (60 s at most).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
BUILD=${BUILD_DIR:-build}
case $BUILD in /*) ;; *) BUILD=$ROOT/$BUILD ;; esac
OUT=$BUILD/demo

if [ "${1:-}" != "--in-netns" ]; then
    # ---- 1. dependencies ---------------------------------------------------
    need=()
    command -v cmake >/dev/null || need+=(cmake)
    command -v make >/dev/null || need+=(make)
    command -v cc >/dev/null || need+=(gcc)
    dpkg -s libc6-dev >/dev/null 2>&1 || need+=(libc6-dev)
    command -v pkg-config >/dev/null || need+=(pkg-config)
    dpkg -s libuv1-dev >/dev/null 2>&1 || need+=(libuv1-dev)
    dpkg -s libcmocka-dev >/dev/null 2>&1 || need+=(libcmocka-dev)
    command -v ip >/dev/null || need+=(iproute2)
    command -v python3 >/dev/null || need+=(python3)
    SUDO=""
    [ "$(id -u)" -ne 0 ] && SUDO="sudo"
    if [ ${#need[@]} -gt 0 ] || ! command -v tshark >/dev/null; then
        echo "== installing: ${need[*]} $(command -v tshark >/dev/null || echo tshark)"
        $SUDO apt-get update -qq
        if [ ${#need[@]} -gt 0 ]; then
            DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need[@]}"
        fi
        # tshark only makes the packet list nicer: the demo goes on without it
        command -v tshark >/dev/null ||
            DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq tshark ||
            echo "(tshark not installed: packets will be listed by a small python reader)"
    fi

    # ---- 2. build ------------------------------------------------------------
    mkdir -p "$BUILD"
    echo "== building the apps in $BUILD (Release, log: $BUILD/demo-build.log)"
    if ! { cmake -S . -B "$BUILD" -DCMAKE_BUILD_TYPE=Release -DTT_SANITIZE=OFF &&
        cmake --build "$BUILD" -j"$(nproc)" --target echo-server echo-client; } \
        >"$BUILD/demo-build.log" 2>&1; then
        tail -n 30 "$BUILD/demo-build.log"
        echo "demo: the build failed (full log: $BUILD/demo-build.log)" >&2
        exit 1
    fi

    # ---- 3. a private network namespace ---------------------------------------
    if [ "$(id -u)" -eq 0 ]; then ns=(unshare -n); else ns=(unshare -rn); fi
    if ! "${ns[@]}" true 2>/dev/null; then
        echo "demo: cannot create a network namespace with '${ns[*]}':" >&2
        echo "      run as root, or allow unprivileged user namespaces" >&2
        echo "      (sysctl kernel.unprivileged_userns_clone=1)" >&2
        exit 1
    fi
    if [ ! -e /dev/net/tun ]; then
        echo "demo: /dev/net/tun is missing (modprobe tun, or in a container: --device /dev/net/tun)" >&2
        exit 1
    fi
    if [ ! -r /dev/net/tun ] || [ ! -w /dev/net/tun ]; then
        echo "demo: you may not open /dev/net/tun ($(ls -l /dev/net/tun)); run it as root:" >&2
        echo "      sudo bash scripts/demo.sh" >&2
        exit 1
    fi
    rm -rf "$OUT"
    mkdir -p "$OUT"
    echo "== entering a private network namespace (${ns[*]}): TUN device tt0,"
    echo "   tuntcp is 10.7.0.2, the Linux kernel is 10.7.0.1; nothing leaves the namespace"
    # timeout signals its whole process group: every process of the demo
    exec timeout -k 5 60 "${ns[@]}" bash "$0" --in-netns
fi

# ---- inside the namespace -----------------------------------------------------
ip link set lo up
exec python3 - "$ROOT" "$BUILD" "$OUT" <<'PY'
import json, os, re, shutil, signal, socket, subprocess, sys, threading, time

ROOT, BUILD, OUT = sys.argv[1:4]
sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.join(ROOT, "tests", "interop"))
import ttinterop as ti  # pcap reader, shared with the interop tests

SERVER = os.path.join(BUILD, "apps", "echo-server")
CLIENT = os.path.join(BUILD, "apps", "echo-client")
MSL = 1.0
TSHARK = shutil.which("tshark")
failed = []


def say(s=""):
    print(s, flush=True)


def show_cmd(args):
    say("  $ " + " ".join(os.path.relpath(a, ROOT) if a.startswith(ROOT) else a
                          for a in args))


def run_app(args, **kw):
    show_cmd(args)
    return subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            text=True, **kw)


def wait_listening(proc, errfile, timeout=10):
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout:
        line = proc.stdout.readline()
        if line.startswith("listening on"):
            return
        if not line and proc.poll() is not None:
            break
    proc.kill()
    proc.wait()
    sys.exit("demo: echo-server did not start listening: " + open(errfile).read().strip())


def stack_conns(proc, errfile):
    """SIGUSR1: echo-server prints its counters, then its connections like ss."""
    start = os.path.getsize(errfile)
    proc.send_signal(signal.SIGUSR1)
    for _ in range(50):
        time.sleep(0.02)
        with open(errfile) as f:
            f.seek(start)
            text = f.read()
        lines = text.splitlines()
        if any(l.startswith("State ") for l in lines):
            return lines[[l.startswith("State ") for l in lines].index(True):]
    return []


def linux_tw():
    r = subprocess.run(["ss", "-tanoH", "state", "time-wait"], capture_output=True,
                       text=True, timeout=5)
    return [" ".join(l.split()) for l in r.stdout.splitlines() if l.strip()]


# ---- the timeline, from the trace ---------------------------------------------

NOTES = {
    ("CLOSED", "SYN_SENT"): "the app connects: SYN sent",
    ("LISTEN", "SYN_RECEIVED"): "a SYN arrived; SYN-ACK sent",
    ("SYN_SENT", "ESTABLISHED"): "SYN-ACK arrived; handshake done",
    ("SYN_RECEIVED", "ESTABLISHED"): "the ACK of our SYN-ACK arrived",
    ("ESTABLISHED", "FIN_WAIT_1"): "the app closed: our FIN sent (active close)",
    ("FIN_WAIT_1", "FIN_WAIT_2"): "our FIN was ACKed",
    ("FIN_WAIT_1", "TIME_WAIT"): "the peer's FIN (with the ACK of ours): final ACK sent, 2*MSL starts",
    ("FIN_WAIT_2", "TIME_WAIT"): "the peer's FIN: final ACK sent, 2*MSL starts",
    ("FIN_WAIT_1", "CLOSING"): "the peer's FIN crossed ours (simultaneous close)",
    ("CLOSING", "TIME_WAIT"): "our FIN was ACKed: 2*MSL starts",
    ("ESTABLISHED", "CLOSE_WAIT"): "the peer's FIN (its ACK waits, as Linux's); the app reads EOF (passive close)",
    ("CLOSE_WAIT", "LAST_ACK"): "the app closed: our FIN sent",
}


def timeline(trace):
    events = [json.loads(l) for l in open(trace) if l.strip()]
    conns = sorted({e["conn"] for e in events if "conn" in e})
    for conn in conns:
        say(f"  connection {conn} (tuntcp's side > Linux's side), from {os.path.relpath(trace, ROOT)}:")
        say("       t (s)   event          (t: seconds since the app started)")
        tw_start = tw_end = None
        for e in events:
            if e.get("conn") != conn:
                continue
            if e["ev"] == "state":
                step = f'{e["from"]:>12} -> {e["to"]:<12}'
                note = NOTES.get((e["from"], e["to"]), "")
                if e["to"] == "CLOSED":
                    note = f'why: {e["why"]}' + (": 2*MSL is over, the 4-tuple is free"
                                                 if e["why"] == "timewait_expired" else "")
                if e["to"] == "TIME_WAIT":
                    tw_start = e["t"]
                if e["from"] == "TIME_WAIT":
                    tw_end = e["t"]
            elif e["ev"] == "timewait_restart":
                step, note = f'{"timewait_restart":>28}', f'2*MSL restarts, expires at {e["expires"]}'
                tw_start = e["t"]
            else:
                step, note = f'{e["ev"]:>28}', json.dumps({k: v for k, v in e.items()
                                                          if k not in ("t", "ts", "ev", "conn")})
            say(f"  {e['t']:>10.6f}   {step}  {note}")
        if tw_start is not None and tw_end is not None:
            lasted = tw_end - tw_start
            say(f"  TIME_WAIT: from t={tw_start:.6f} to t={tw_end:.6f}: {lasted:.6f} s "
                f"(2*MSL = {2 * MSL:.3f} s; timers fire at most 10 ms late)")
            if not 2 * MSL <= lasted < 2 * MSL + 0.050:
                say("  (that is off: is the machine very busy?)")


# ---- the packets, from the pcap -------------------------------------------------

def roles(pcap):
    """Frame number -> what it is in the close, worked out from the segments."""
    _, pkts = ti.read_pcap(pcap)
    segs = {}
    for i, (ts, p) in enumerate(pkts, 1):
        if len(p) >= 40 and p[9] == 6:
            segs[i] = ti.Tcp(ts, p)
    who = lambda s: "tuntcp" if s.src == ti.STACK_ADDR else "Linux"
    out, fins = {}, {}
    for n, s in segs.items():
        if s.has("R"):
            out[n] = f"RST from {who(s)}"
        elif s.has("S"):
            out[n] = "SYN-ACK" if s.has("A") else "SYN"
        elif s.has("F"):
            first = not fins
            if s.src in fins:
                out[n] = f"FIN from {who(s)} again (a retransmission)"
            else:
                out[n] = f"FIN from {who(s)}" + (" (the first: the active close)" if first else "")
                fins[s.src] = s
    for n, s in segs.items():
        if n in out or s.len or len(fins) < 2:
            continue
        peer = [f for src, f in fins.items() if src != s.src]
        if peer and s.ack == peer[0].seq + 1 and s.ts >= max(f.ts for f in fins.values()):
            other = "Linux" if who(s) == "tuntcp" else "tuntcp"
            out[n] = f"final ACK: {who(s)} ACKs {other}'s FIN; {who(s)} is in TIME_WAIT"
    return pkts, segs, out


def packets(pcap):
    pkts, segs, role = roles(pcap)
    if TSHARK:
        say(f"  $ tshark -r {os.path.relpath(pcap, ROOT)} -n --disable-protocol echo")
        r = subprocess.run([TSHARK, "-r", pcap, "-n", "--disable-protocol", "echo",
                            "-T", "fields", "-E", "separator=/t", "-e", "frame.number",
                            "-e", "frame.time_relative", "-e", "ip.src", "-e", "ip.dst",
                            "-e", "_ws.col.Info"],
                           capture_output=True, text=True, timeout=30)
        for line in r.stdout.splitlines():
            num, rel, src, dst, info = (line.split("\t") + [""] * 5)[:5]
            info = re.sub(r" (TSval|TSecr|WS|MSS)=\d+| SACK_PERM", "", info)
            mark = role.get(int(num), "")
            say(f"  {num:>3} {float(rel):9.6f} {src:>8} -> {dst:<8} {info}"
                + (f"   <- {mark}" if mark else ""))
        say("  (TCP options left out; relative sequence numbers)")
    else:
        say(f"  {os.path.relpath(pcap, ROOT)} (tshark is not installed: a python reading):")
        t0 = pkts[0][0] if pkts else 0
        isn = {}
        for s in segs.values():
            if s.has("S"):
                isn.setdefault(s.src, s.seq)
        for n, s in segs.items():
            flags = "".join(c for c, b in ti.Tcp.FLAGS.items() if s.flags & b)
            mark = role.get(n, "")
            seq = (s.seq - isn.get(s.src, 0)) % 2**32
            ack = (s.ack - isn.get(s.dst, 0)) % 2**32 if s.has("A") else 0
            say(f"  {n:>3} {s.ts - t0:9.6f} {s.src}:{s.sport} -> {s.dst}:{s.dport} "
                f"[{flags}] seq={seq} ack={ack} len={s.len}" + (f"   <- {mark}" if mark else ""))
        say("  (relative sequence numbers)")


def bounded_wait(proc, what, timeout):
    try:
        return proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
        failed.append(f"{what} did not finish within {timeout} s")
        return None


# ---- scene 1 --------------------------------------------------------------------

say()
say("== scene 1: tuntcp closes first, so tuntcp holds TIME_WAIT (MSL 1s: TIME_WAIT 2 s)")
trace1, pcap1, err1 = (os.path.join(OUT, f) for f in ("server.jsonl", "server.pcap", "server.err"))
with open(err1, "w") as errf:
    srv = run_app([SERVER, "--msl", "1s", "--close-after", "1000", "--max-conns", "1",
                   "--trace", trace1, "--pcap", pcap1], stderr=errf)
wait_listening(srv, err1)
say("  Linux client (python3): connect to 10.7.0.2:7, send 1000 bytes, read until EOF, close")
s = socket.create_connection((ti.STACK_ADDR, 7), timeout=5)
s.sendall(b"x" * 1000)
got = b""
while True:
    chunk = s.recv(65536)
    if not chunk:
        break
    got += chunk
s.close()
say(f"  Linux client: {len(got)} bytes echoed, then EOF: echo-server closed first")
if got != b"x" * 1000:
    failed.append(f"scene 1: the echo returned {len(got)} bytes, not 1000")
time.sleep(0.5)
say("  0.5 s later, echo-server's connections (kill -USR1 <echo-server>):")
for line in stack_conns(srv, err1):
    say("    " + line)
say("  and Linux's (ss -tano state time-wait): " + ("; ".join(linux_tw()) or "none"))
say("  waiting for TIME_WAIT to end (echo-server --max-conns 1 then exits)...")
rc = bounded_wait(srv, "echo-server", 10)
if rc != 0:
    failed.append(f"scene 1: echo-server exit status {rc}: {open(err1).read()}")
say()
timeline(trace1)
say()
packets(pcap1)

# ---- scene 2 --------------------------------------------------------------------

say()
say("== scene 2: Linux closes first, so Linux holds TIME_WAIT (always 60 s on Linux)")
lsock = socket.socket()
lsock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
lsock.bind(("0.0.0.0", 7))
lsock.listen(8)
lsock.settimeout(10)
server_errors = []


def linux_server():
    try:
        c, _ = lsock.accept()
        c.settimeout(5)
        data = b""
        while len(data) < 500:
            chunk = c.recv(65536)
            if not chunk:
                break
            data += chunk
        c.sendall(data)
        c.close()  # Linux closes first
    except OSError as e:
        server_errors.append(e)


t = threading.Thread(target=linux_server, daemon=True)
t.start()
say("  Linux server (python3) on 10.7.0.1:7: echoes 500 bytes, then closes")
trace2, pcap2 = (os.path.join(OUT, f) for f in ("client.jsonl", "client.pcap"))
cli = run_app([CLIENT, "--msl", "1s", "--bytes", "500", "--close-wait",
               "--trace", trace2, "--pcap", pcap2], stderr=subprocess.PIPE)
rc = bounded_wait(cli, "echo-client", 10)
t.join(5)
lsock.close()
if rc != 0 or server_errors:
    failed.append(f"scene 2: echo-client exit status {rc}: {cli.stderr.read()} {server_errors}")
say(f"  echo-client: exit status {rc} (0: the echo was verified)")
time.sleep(0.1)
say("  Linux's TIME_WAIT (ss -tano state time-wait):")
for line in linux_tw() or ["none"]:
    say("    " + line)
say("  timer:(timewait,59sec,0): Linux's TIME_WAIT is compiled in (TCP_TIMEWAIT_LEN, 60 s);")
say("  it vanishes here with the namespace. tuntcp's is 2*MSL, set with --msl.")
say()
timeline(trace2)
say()
packets(pcap2)

say()
if failed:
    for f in failed:
        say("demo: FAILED: " + f)
    sys.exit(1)
say(f"== the captures: open them in Wireshark:  wireshark {pcap1}")
say(f"                                          wireshark {pcap2}")
say(f"   traces (JSON Lines): {trace1} {trace2}")
say("   more scenarios (lost final ACK, linger0, simultaneous close): pcap/README.md")
say("   every flag: build/apps/echo-server --help; the tests: bash scripts/test.sh")
PY
