#!/usr/bin/env python3
"""tuntcp's data-path benchmark, side by side with its competition (issue 5).

    python3 tests/bench/run.py --quick     # CI's smoke: about 10 s, figures not judged
    python3 tests/bench/run.py --full      # the figures for the README: about 80 s
    python3 tests/bench/run.py --full --queue 500,4096   # every TUN peer at both queue lengths
    python3 tests/bench/run.py --full --profile bulk,crr   # perf profile of echo-server
    python3 tests/bench/run.py --modes bulk --peers tuntcp,tuntcp-nooff,lwip \
        --baseline build-main --queue 500           # before/after, side by side

Run as root (it makes network namespaces with `ip netns add`); binaries from
--build-dir (default build/, a Release build is what the figures are for):
apps/echo-server, bench/loadgen, bench/tun_reflector, bench/lwip_echo (the
last only where liblwip-dev was present at build time; lwIP is skipped with
a message otherwise). Exit status: 0 when every run's echo was verified, 1
when one was not (the figures never decide), 77 when namespaces cannot be
made (under CI=true that is a failure: docs/contract.md §6).

THE METHOD, and why the comparison is fair
------------------------------------------
Peers, each in network namespaces this script makes (ttb<PID>-<peer>) and
deletes at exit; no packet leaves them:
  tuntcp     echo-server on a TUN device (10.7.0.2), the kernel's side 10.7.0.1;
  lwip       lwIP 2.1 (Debian's liblwip-dev) in tests/bench/lwip_echo.c, on the
             same TUN set-up and the same I/O loop as tuntcp's driver;
  linux      the kernel's own TCP: `loadgen serve` (an epoll echo server) in a
             second namespace, reached over a veth pair (default offloads);
  linux-tun  the kernel's TCP at both ends with a userspace TUN hop between
             (tests/bench/tun_hop.c): the load's side reaches 10.7.0.2 over the
             TUN device as for the TUN peers, the hop copies each datagram into
             a second TUN device in a namespace where `loadgen serve` listens;
             Linux's TCP under the per-packet cost a userspace stack pays;
  reflector  tests/bench/tun_reflector.c: returns each datagram it reads from
             the TUN device with addresses and ports swapped. It does no TCP;
             it gives the ceiling any userspace stack on this TUN device has.
The load always comes from the Linux side (loadgen, one C program with
epoll, in the peer's client namespace), the same binary and arguments for
every peer. The TUN peers open the device alike (IFF_TUN | IFF_NO_PI, one
queue, MTU 1500) and read it with poll; lwIP and the reflector make up to
64 read()s per wake-up and write each answer at once with one write();
tuntcp reads until EAGAIN (up to 256) and writes its answers in chunks of
32 between reads (stack/driver/pump.h). tuntcp
runs twice: `tuntcp` with its default --offload on (IFF_VNET_HDR, TSO4:
the kernel passes TCP super-segments of up to 64 KB both ways,
docs/contract.md §3.8) and `tuntcp-nooff` with --offload off, the same
I/O as lwIP's.

The device's queue (--queue N, default 500): the datagrams the kernel holds
for a TUN peer to read, txqueuelen; beyond it the kernel drops them and
counts tx_dropped. The script sets it on every TUN peer's device once the
peer is up (echo-server asks for 4096 when it configures the device, lwIP
and the reflector leave Linux's default of 500, the value a device made
beforehand has), so all are measured at N. Bulk's "drops at the device" is
that counter's growth over the run (/sys/class/net/DEV/statistics/
tx_dropped in the peer's namespace); the linux peer has no TUN device.

Several queue lengths in one run (--queue 500,4096): every TUN peer runs once
per value, as NAME@500 and NAME@4096, in the same rounds, and each ratio to
the reflector or to lwIP is taken at the same queue length.

Before/after (--baseline DIR): the peers tuntcp-before and
tuntcp-nooff-before run DIR/apps/echo-server (another build, e.g. of the
main branch) next to tuntcp and tuntcp-nooff, in the same rounds.

CPU placement (--placement; default `same`): the load generator and the peer
run on one core (the last), with the kernel's work for both. On this 2-core
VM a wake-up across vCPUs costs tens of microseconds with a millisecond tail,
and the ping-pong of packets between a Linux-side process and a TUN peer is
a chain of such wake-ups: split across the two cores, the reflector reached
only 70-90k packets/s with both processes mostly idle (0.8 s of CPU each in
2.2 s), against 125-155k on one core with the core saturated; its UDP round
trip was 55 us p50 / 3.4 ms p99 split, 15 us / 26 us on one core. One core
for everything makes every figure a CPU cost rather than the hypervisor's
wake-up latency, and puts each peer and the ceiling in the same situation.
`split` (loadgen on CPU 0, peer on CPU 1) and `free` (no pinning) are there
to compare.

Modes:
  ceiling  loadgen blast: UDP datagrams of 1472 B (1500-byte IP packets, the
           size of a full TCP segment at MTU 1500), a window in flight
           (--full: 32, 64 and 128, the best of the three per round), to the
           reflector: packets/s through TUN read+write. Ceiling for bulk =
           pps x MSS (1460 at MTU 1500; with timestamps on a segment carries
           1448 B, so even a perfect stack reaches at most 0.99 of it, and it
           also has ACKs to read and write).
  bulk     loadgen bulk: 4 connections at once each send B bytes of a known
           pattern and verify the echo byte for byte. MB/s each way (1e6 B/s).
           The peer's CPU per MB moved is printed as well.
  crr      loadgen crr: connect, 64 B echo verified, close (Linux closes first,
           as netperf TCP_CRR), 32 at a time. Connections/s, and the peer's
           CPU per connection: the peer's CPU time over the run (after a 0.3 s
           settle so the closes are counted), divided by connections. CPU
           time is the peer's on-CPU time in /proc/PID/schedstat (ns; the
           exact sum of what /proc/PID/stat's utime+stime samples in 10 ms
           ticks), or utime+stime where schedstat is missing. It includes
           the kernel's work in the peer's system calls: a write() to the
           TUN device runs Linux's receive path (IP, TCP) for that packet,
           the same for every TUN peer. For linux this is the echo process
           only (softirq work is charged to whoever runs): not comparable,
           shown in brackets.
  rr       loadgen rr: one connection (TCP_NODELAY), 1 byte written, 1 byte
           read back, N times after a warm-up; p50 and p99. The reflector's
           round trip is the same loop over UDP (1-byte datagrams).
  rss      a fresh peer (its own new namespace), loadgen hold: 10,000
           connections open at once (128 connecting at a time), each having
           echoed 64 B; then the peer's VmHWM (peak RSS) from /proc/PID/status.
           linux: the echo process only (socket memory is the kernel's).
Rounds: every round runs each mode against every peer, the peers' order
rotated each round, so slow drifts of this shared machine hit all peers
alike. Printed: the median over rounds with [min-max], and ratios computed
within each round (a peer against the reflector of the same round), then
their median. Timing is never pass/fail.
"""
import argparse
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
SKIP = 77
STACK = "10.7.0.2"
HOST = "10.7.0.1"
MSS = 1460
TUN = "ttb0"
CLK_TCK = os.sysconf("SC_CLK_TCK")

QUICK = dict(rounds=1, bulk_conns=4, bulk_bytes=4 << 20, crr_conns=1000, rr_count=2000,
             blast_secs=0.5, windows=[64], rss_conns=1000, timeout=20)
FULL = dict(rounds=5, bulk_conns=4, bulk_bytes=32 << 20, crr_conns=5000, rr_count=10000,
            blast_secs=1.0, windows=[32, 64, 128], rss_conns=10000, timeout=90)


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def cannot(reason):
    if os.environ.get("CI") == "true":
        print(f"FAIL: {reason} (CI=true: the benchmark's smoke must run, not skip)")
        sys.exit(1)
    print(f"SKIP: {reason}")
    sys.exit(SKIP)


def sh(*argv, check=True):
    r = subprocess.run(list(argv), capture_output=True, text=True)
    if check and r.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)}: {r.stderr.strip()}")
    return r


# ---- namespaces ---------------------------------------------------------------

class Netns:
    """A network namespace made with `ip netns add`, deleted by close()."""
    made = []

    def __init__(self, name):
        self.name = name
        sh("ip", "netns", "add", name)
        Netns.made.append(self)
        self.run("ip", "link", "set", "lo", "up")
        # No IPv6 chatter on the links; a wide port range and TIME_WAIT reuse
        # for the client side of short-connection runs (Linux closes first).
        self.run("sysctl", "-qw", "net.ipv6.conf.all.disable_ipv6=1",
                 "net.ipv6.conf.default.disable_ipv6=1",
                 "net.ipv4.ip_local_port_range=1024 65535", "net.ipv4.tcp_tw_reuse=1")

    def argv(self, argv, cpu=None):
        pin = ["taskset", "-c", str(cpu)] if cpu is not None else []
        return ["ip", "netns", "exec", self.name] + pin + list(argv)

    def run(self, *argv, cpu=None, timeout=60, check=True):
        r = subprocess.run(self.argv(argv, cpu), capture_output=True, text=True,
                           timeout=timeout)
        if check and r.returncode != 0:
            raise RuntimeError(f"{self.name}: {' '.join(argv)}: exit {r.returncode}: "
                               f"{r.stderr.strip()[-2000:]}")
        return r

    def popen(self, argv, cpu=None, **kw):
        # ip netns exec and taskset exec the program: the PID is the peer's own.
        return subprocess.Popen(self.argv(argv, cpu), **kw)

    def close(self):
        if self in Netns.made:
            Netns.made.remove(self)
        subprocess.run(["ip", "netns", "del", self.name], capture_output=True)


def cleanup_all():
    for ns in list(Netns.made):
        ns.close()


# ---- peers --------------------------------------------------------------------

def wait_line(proc, prefix, timeout=10.0):
    """Reads proc's stdout (unbuffered, by os.read) until a line starting with
    prefix; returns it. Lines read past it wait in proc._lines."""
    import select
    buf = getattr(proc, "_lines", None)
    if buf is None:
        buf = proc._lines = [b"", []]
    deadline = time.monotonic() + timeout
    fd = proc.stdout.fileno()
    while True:
        while buf[1]:
            line = buf[1].pop(0)
            if line.startswith(prefix):
                return line
        left = deadline - time.monotonic()
        if left <= 0:
            break
        ready, _, _ = select.select([fd], [], [], left)
        if not ready:
            break
        chunk = os.read(fd, 65536)
        if not chunk:
            break
        data = buf[0] + chunk
        *lines, buf[0] = data.split(b"\n")
        buf[1].extend(l.decode(errors="replace").strip() for l in lines)
    raise RuntimeError(f"no '{prefix}' line from pid {proc.pid} within {timeout}s")


def proc_cpu(pid):
    """CPU time of a process in seconds: on-CPU ns from /proc/PID/schedstat
    (user + system, exact), else utime+stime from /proc/PID/stat (ticks)."""
    try:
        with open(f"/proc/{pid}/schedstat") as f:
            return int(f.read().split()[0]) / 1e9
    except (OSError, ValueError, IndexError):
        pass
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def proc_hwm(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    return 0


class Peer:
    kind = "tcp"  # what loadgen talks to it: tcp, or udp (the reflector)

    def __init__(self, name, tag, cpu):
        self.name, self.cpu = name, cpu
        self.ns = Netns(f"ttb{os.getpid()}-{name.replace('@', 'q')}{tag}")
        self.client = self.ns  # where loadgen runs
        self.proc = None
        self.err_path = None

    def _spawn(self, argv, out_dir, ready):
        self.err_path = os.path.join(out_dir, f"{self.ns.name}.stderr")
        self.err = open(self.err_path, "w")
        self.proc = self.ns.popen(argv, cpu=self.cpu, stdout=subprocess.PIPE,
                                  stderr=self.err, stdin=subprocess.DEVNULL, text=True)
        wait_line(self.proc, ready)

    def tun_up(self):
        self.ns.run("ip", "addr", "add", f"{HOST}/24", "dev", TUN)
        self.ns.run("ip", "link", "set", TUN, "mtu", "1500", "up")

    def tun_dev(self):
        """The TUN device's name, or None for a peer without one."""
        return TUN

    def set_queue(self, n):
        self.ns.run("ip", "link", "set", TUN, "txqueuelen", str(n))

    def tun_dropped(self):
        r = self.ns.run("cat", f"/sys/class/net/{TUN}/statistics/tx_dropped")
        return int(r.stdout.strip())

    @property
    def pid(self):
        return self.proc.pid

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def stop(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.proc is not None:
            self.err.close()
        self.ns.close()


class TuntcpPeer(Peer):
    offload = "on"
    binary = "echo-server"

    def start(self, bins, out_dir):
        # echo-server configures the TUN itself (10.7.0.1/24 on the kernel side).
        self._spawn([bins[self.binary], "--tun", TUN, "-q", "--offload", self.offload],
                    out_dir, "listening on")


class TuntcpNoOffloadPeer(TuntcpPeer):
    offload = "off"


class TuntcpBeforePeer(TuntcpPeer):
    binary = "echo-server-before"


class TuntcpNoOffloadBeforePeer(TuntcpNoOffloadPeer):
    binary = "echo-server-before"


class LwipPeer(Peer):
    def start(self, bins, out_dir):
        self._spawn([bins["lwip_echo"], TUN], out_dir, "ready")
        self.tun_up()
        wait_line(self.proc, "listening on")


class ReflectorPeer(Peer):
    kind = "udp"

    def start(self, bins, out_dir):
        self._spawn([bins["tun_reflector"], TUN], out_dir, "ready")
        self.tun_up()


class LinuxPeer(Peer):
    """The kernel's TCP: an epoll echo server in one namespace, the load in
    another, joined by a veth pair with the same addresses as the TUN set-ups."""

    def __init__(self, name, tag, cpu):
        super().__init__(name, tag, cpu)
        self.client = Netns(f"ttb{os.getpid()}-{name.replace('@', 'q')}{tag}c")
        a, b = f"tbc{os.getpid() % 100000}", f"tbs{os.getpid() % 100000}"
        self.client.run("ip", "link", "add", a, "type", "veth", "peer", "name", b,
                        "netns", self.ns.name)
        self.client.run("ip", "addr", "add", f"{HOST}/24", "dev", a)
        self.client.run("ip", "link", "set", a, "mtu", "1500", "up")
        self.ns.run("ip", "addr", "add", f"{STACK}/24", "dev", b)
        self.ns.run("ip", "link", "set", b, "mtu", "1500", "up")

    def start(self, bins, out_dir):
        self._spawn([bins["loadgen"], "serve", "--addr", STACK, "--port", "7"], out_dir,
                    "listening on")

    def tun_dev(self):
        return None

    def stop(self):
        super().stop()
        self.client.close()


class LinuxTunPeer(Peer):
    """The kernel's TCP on both ends with a userspace TUN hop between them:
    loadgen's side reaches 10.7.0.2 over the TUN device ttb0 (10.7.0.1, as
    for every TUN peer); tun_hop copies each datagram into ttb1, which sits
    in a second namespace where `loadgen serve` listens on 10.7.0.2, and
    back. Every packet crosses one TUN read() and write() each way, as a
    userspace stack's do. The peer's CPU is the hop's (not comparable:
    the TCP work is the kernel's)."""

    TUN_B = "ttb1"

    def __init__(self, name, tag, cpu):
        super().__init__(name, tag, cpu)
        self.server = Netns(f"ttb{os.getpid()}-{name.replace('@', 'q')}{tag}s")
        self.server_proc = None

    def start(self, bins, out_dir):
        self._spawn([bins["tun_hop"], TUN, self.TUN_B], out_dir, "ready")
        self.tun_up()
        self.ns.run("ip", "link", "set", self.TUN_B, "netns", self.server.name)
        self.server.run("ip", "addr", "add", f"{STACK}/24", "dev", self.TUN_B)
        self.server.run("ip", "link", "set", self.TUN_B, "mtu", "1500", "up")
        self.server_err = open(os.path.join(out_dir, f"{self.server.name}.stderr"), "w")
        self.server_proc = self.server.popen(
            [bins["loadgen"], "serve", "--addr", STACK, "--port", "7"], cpu=self.cpu,
            stdout=subprocess.PIPE, stderr=self.server_err, stdin=subprocess.DEVNULL, text=True)
        wait_line(self.server_proc, "listening on")

    def set_queue(self, n):
        super().set_queue(n)
        self.server.run("ip", "link", "set", self.TUN_B, "txqueuelen", str(n))

    def tun_dropped(self):
        r = self.server.run("cat", f"/sys/class/net/{self.TUN_B}/statistics/tx_dropped")
        return super().tun_dropped() + int(r.stdout.strip())

    def alive(self):
        return super().alive() and self.server_proc.poll() is None

    def stop(self):
        if self.server_proc is not None and self.server_proc.poll() is None:
            self.server_proc.send_signal(signal.SIGTERM)
            try:
                self.server_proc.wait(10)
            except subprocess.TimeoutExpired:
                self.server_proc.kill()
                self.server_proc.wait()
            self.server_err.close()
        super().stop()
        self.server.close()


def base_name(label):
    """A peer's label is its name, or NAME@QUEUE when several --queue values
    are measured in one run."""
    return label.split("@", 1)[0]


def queue_of(label, default):
    return int(label.split("@", 1)[1]) if "@" in label else default


def kind_of(label):
    """Which figures apply: every tuntcp variant has tuntcp's, linux-tun
    has linux's."""
    b = base_name(label)
    if b.startswith("tuntcp"):
        return "tuntcp"
    return "linux" if b.startswith("linux") else b


def make_peer(label, tag, cpu):
    return PEER_CLASSES[base_name(label)](label, tag, cpu)


PEER_CLASSES = {"tuntcp": TuntcpPeer, "tuntcp-nooff": TuntcpNoOffloadPeer,
                "tuntcp-before": TuntcpBeforePeer,
                "tuntcp-nooff-before": TuntcpNoOffloadBeforePeer,
                "lwip": LwipPeer, "linux": LinuxPeer, "linux-tun": LinuxTunPeer,
                "reflector": ReflectorPeer}


# ---- the load -------------------------------------------------------------------

class Bench:
    def __init__(self, args, cfg, bins, out_dir):
        self.args, self.cfg, self.bins, self.out_dir = args, cfg, bins, out_dir
        self.results = {}  # (peer, figure) -> [per-round values]
        self.errors = []
        ncpu = os.cpu_count() or 1
        if args.placement == "split" and ncpu >= 2:
            self.load_cpu, self.peer_cpu = 0, 1
        elif args.placement in ("same", "split"):
            self.load_cpu = self.peer_cpu = ncpu - 1
        else:
            self.load_cpu = self.peer_cpu = None

    def add(self, peer, fig, value, rnd):
        self.results.setdefault((peer, fig), {})[rnd] = value

    def loadgen(self, peer, mode, *extra, cpu="load", stdin=None):
        cpu = self.load_cpu if cpu == "load" else cpu
        to = f"{STACK}:{9 if peer.kind == 'udp' else 7}"
        argv = [self.bins["loadgen"], mode, "--to", to, "--timeout",
                str(self.cfg["timeout"])] + [str(x) for x in extra]
        try:
            r = peer.client.run(*argv, cpu=cpu, timeout=self.cfg["timeout"] + 15, check=False)
        except subprocess.TimeoutExpired:
            self.errors.append(f"{peer.name} {mode}: loadgen did not exit in time")
            return None
        if r.returncode != 0 or not r.stdout.strip():
            self.errors.append(f"{peer.name} {mode}: exit {r.returncode}: "
                               f"{r.stderr.strip()[-1500:]}")
            return None
        if not peer.alive():
            self.errors.append(f"{peer.name} {mode}: the peer died (exit {peer.proc.returncode})")
        return json.loads(r.stdout.strip().splitlines()[-1])

    def mode_ceiling(self, peer, rnd):
        best = None
        for w in self.cfg["windows"]:
            r = self.loadgen(peer, "blast", "--window", w, "--duration", self.cfg["blast_secs"])
            if r and (best is None or r["pps"] > best["pps"]):
                best = r
        if best:
            self.add(peer.name, "pps", best["pps"], rnd)
            self.add(peer.name, "ceiling_MBps", best["pps"] * MSS / 1e6, rnd)

    def mode_bulk(self, peer, rnd):
        cpu0 = proc_cpu(peer.pid)
        drop0 = peer.tun_dropped() if peer.tun_dev() else None
        r = self.loadgen(peer, "bulk", "--conns", self.cfg["bulk_conns"], "--bytes",
                         self.cfg["bulk_bytes"])
        if r:
            cpu = proc_cpu(peer.pid) - cpu0
            if drop0 is not None:
                self.add(peer.name, "bulk_tun_drops", peer.tun_dropped() - drop0, rnd)
            self.add(peer.name, "bulk_MBps", r["MBps"], rnd)
            self.add(peer.name, "bulk_cpu_ms_per_MB", cpu * 1e3 / (r["bytes_each_way"] / 1e6),
                     rnd)
            self.add(peer.name, "bulk_linux_retrans", r["linux_retrans"], rnd)

    def mode_crr(self, peer, rnd):
        cpu0 = proc_cpu(peer.pid)
        r = self.loadgen(peer, "crr", "--conns", self.cfg["crr_conns"], "--concurrency", 32)
        time.sleep(0.3)  # the last closes
        if r:
            cpu = proc_cpu(peer.pid) - cpu0
            self.add(peer.name, "crr_per_s", r["conns_per_s"], rnd)
            self.add(peer.name, "crr_cpu_us", cpu * 1e6 / r["conns"], rnd)

    def mode_rr(self, peer, rnd):
        cpu = self.peer_cpu
        extra = ["--udp"] if peer.kind == "udp" else []
        r = self.loadgen(peer, "rr", "--count", self.cfg["rr_count"], "--warmup", 200, *extra,
                         cpu=cpu)
        if r:
            self.add(peer.name, "rr_p50_us", r["p50_us"], rnd)
            self.add(peer.name, "rr_p99_us", r["p99_us"], rnd)

    def mode_rss(self, name):
        """A fresh peer, N connections held open: its VmHWM."""
        peer = make_peer(name, "r", self.peer_cpu)
        try:
            peer.start(self.bins, self.out_dir)
            time.sleep(0.2)
            base = proc_hwm(peer.pid)
            n = self.cfg["rss_conns"]
            argv = [self.bins["loadgen"], "hold", "--to", f"{STACK}:7", "--conns", n,
                    "--concurrency", 128, "--timeout", self.cfg["timeout"]]
            lg = peer.client.popen([str(x) for x in argv], cpu=self.load_cpu,
                                   stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                   stderr=subprocess.PIPE, text=True)
            try:
                line = wait_line(lg, "{", timeout=self.cfg["timeout"] + 5)
                held = json.loads(line)
                time.sleep(0.3)
                hwm = proc_hwm(peer.pid)
                lg.stdin.write("\n")
                lg.stdin.flush()
                _, err = lg.communicate(timeout=30)
            except Exception as e:  # noqa: BLE001 - reported, the run goes on
                lg.kill()
                _, err = lg.communicate()
                self.errors.append(f"{name} rss: {e}: {err.strip()[-1500:]}")
                return
            if lg.returncode != 0 or held["held"] != n:
                self.errors.append(f"{name} rss: held {held['held']} of {n}, exit "
                                   f"{lg.returncode}: {err.strip()[-1500:]}")
                return
            self.add(name, "rss_MiB", hwm / 2**20, 0)
            self.add(name, "rss_base_MiB", base / 2**20, 0)
            self.add(name, "rss_B_per_conn", (hwm - base) / n, 0)
            if not peer.alive():
                self.errors.append(f"{name} rss: the peer died")
        finally:
            peer.stop()


# ---- profile ----------------------------------------------------------------------

def profile(bench, mode, secs, out_dir):
    """perf record (cpu-clock, call graphs) of a tuntcp echo-server while the
    given mode runs against it for about secs seconds; prints perf report's
    top: by DSO (who pays: the stack, libc, the kernel), then by symbol."""
    if shutil.which("perf") is None:
        print("perf is not installed (apt-get install linux-perf)")
        return False
    peer = TuntcpPeer("tuntcp", "p", bench.peer_cpu)
    data = os.path.join(out_dir, f"perf-{mode}.data")
    try:
        peer.start(bench.bins, out_dir)
        rec = subprocess.Popen(["perf", "record", "-q", "-e", "cpu-clock", "-F", "2999", "-g",
                                "-o", data, "-p", str(peer.pid)],
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        time.sleep(0.5)
        t_end, n = time.monotonic() + secs, 0
        while time.monotonic() < t_end and n < 1000:
            getattr(bench, f"mode_{mode}")(peer, n)
            n += 1
        rec.send_signal(signal.SIGINT)
        _, err = rec.communicate(timeout=60)
        if rec.returncode not in (0, -signal.SIGINT):
            print(f"perf record failed ({rec.returncode}): {err.strip()}")
            return False
    finally:
        peer.stop()
    base = ["perf", "report", "-i", data, "--stdio", "--no-children", "-g", "none",
            "--percent-limit", "0.7"]
    for sort in ("dso", "dso,sym"):
        r = subprocess.run(base + ["--sort", sort], capture_output=True, text=True, timeout=120)
        lines = [l for l in r.stdout.splitlines() if l.strip() and not l.startswith("#")]
        print(f"\nperf, tuntcp echo-server under {mode} ({n} runs), by {sort}:")
        print("\n".join(lines[:40]))
    print(f"\n(data: {data}; e.g. perf report -i {data} --no-children --sort sym)")
    return True


# ---- report -----------------------------------------------------------------------

FIGURES = [
    # key, label, peers it applies to, format
    ("pps", "TUN packets/s, 1500 B (read+write)", ["reflector"], "{:.0f}"),
    ("ceiling_MBps", "bulk ceiling = pps x 1460 (MB/s)", ["reflector"], "{:.1f}"),
    ("bulk_MBps", "bulk echo, 4 conns (MB/s each way)", ["tuntcp", "lwip", "linux"], "{:.1f}"),
    ("bulk_cpu_ms_per_MB", "peer CPU per MB echoed (ms)", ["tuntcp", "lwip", "linux"], "{:.2f}"),
    ("bulk_linux_retrans", "Linux retransmissions in bulk", ["tuntcp", "lwip", "linux"], "{:.0f}"),
    ("bulk_tun_drops", "drops at the device in bulk", ["tuntcp", "lwip", "linux-tun"], "{:.0f}"),
    ("crr_per_s", "short connections/s (64 B echo)", ["tuntcp", "lwip", "linux"], "{:.0f}"),
    ("crr_cpu_us", "peer CPU per short connection (us)", ["tuntcp", "lwip", "linux"], "{:.1f}"),
    ("rr_p50_us", "1-byte round trip p50 (us)", ["tuntcp", "lwip", "linux", "reflector"], "{:.1f}"),
    ("rr_p99_us", "1-byte round trip p99 (us)", ["tuntcp", "lwip", "linux", "reflector"], "{:.1f}"),
    ("rss_MiB", "peak RSS with N conns (MiB)", ["tuntcp", "lwip", "linux"], "{:.1f}"),
    ("rss_base_MiB", "peak RSS idle, before (MiB)", ["tuntcp", "lwip", "linux"], "{:.1f}"),
    ("rss_B_per_conn", "RSS growth per connection (B)", ["tuntcp", "lwip", "linux"], "{:.0f}"),
]
NOT_COMPARABLE = {"crr_cpu_us", "bulk_cpu_ms_per_MB", "rss_MiB", "rss_B_per_conn",
                  "rss_base_MiB"}  # for the linux peers: their process is not their TCP


def summary(vals, fmt):
    if not vals:
        return "-"
    med = statistics.median(vals)
    if len(vals) == 1:
        return fmt.format(med)
    return f"{fmt.format(med)} [{fmt.format(min(vals))}-{fmt.format(max(vals))}]"


def report(bench, peers, cfg):
    res = bench.results
    order = ["tuntcp-before", "tuntcp", "tuntcp-nooff-before", "tuntcp-nooff", "lwip",
             "linux", "linux-tun", "reflector"]
    cols = sorted(peers, key=lambda p: (order.index(base_name(p)) if base_name(p) in order
                                        else len(order), queue_of(p, 0)))
    width = 34
    colw = 24
    lines = [f"{'figure (median [min-max] over rounds)':<{width}}" +
             "".join(f"{c:>{colw}}" for c in cols)]
    for key, label, applies, fmt in FIGURES:
        if key.startswith("rss") and cfg["rss_conns"]:
            label = label.replace("N conns", f"{cfg['rss_conns']} conns")
        row = f"{label:<{width}}"
        any_val = False
        for c in cols:
            kind = kind_of(c)
            vals = (list(res.get((c, key), {}).values())
                    if kind in applies or base_name(c) in applies else [])
            cell = summary(vals, fmt)
            if vals and kind == "linux" and key in NOT_COMPARABLE:
                cell = f"({cell})"
            any_val |= bool(vals)
            row += f"{cell:>{colw}}"
        if any_val:
            lines.append(row)
    lines.append("")
    lines.append("ratios, computed within each round, median [min-max]:")

    def per_round(num_key, num_peer, den_key, den_peer):
        a, b = res.get((num_peer, num_key), {}), res.get((den_peer, den_key), {})
        return [a[r] / b[r] for r in a if r in b and b[r]]

    targets = [
        ("bulk / (reflector pps x MSS)", "bulk_MBps", "ceiling_MBps", "reflector", ">= 2"),
        ("RTT p50 / reflector RTT p50", "rr_p50_us", "rr_p50_us", "reflector", "<= 1.15"),
    ]
    def same_queue(peer, other):
        """`other` measured at the queue of `peer` (NAME@Q), if in the run."""
        cand = f"{other}@{peer.split('@', 1)[1]}" if "@" in peer else other
        return cand if cand in peers else None

    for label, nk, dk, dp, target in targets:
        for p in cols:
            den = same_queue(p, dp)
            if base_name(p) in ("tuntcp", "tuntcp-nooff", "lwip", "linux", "linux-tun") and den:
                v = per_round(nk, p, dk, den)
                if v:
                    lines.append(f"  {label:<34} {p:<17} {summary(v, '{:.3f}'):>17}"
                                 f"   (target for tuntcp {target})")
    for p in [c for c in cols if base_name(c) in ("tuntcp", "tuntcp-nooff")]:
        lw = same_queue(p, "lwip")
        if not lw:
            continue
        v = per_round("crr_cpu_us", p, "crr_cpu_us", lw)
        if v:
            lines.append(f"  {'CPU per short conn / lwIP':<34} {p:<17} "
                         f"{summary(v, '{:.3f}'):>17}   (target <= 1)")
        v = per_round("crr_per_s", p, "crr_per_s", lw)
        if v:
            lines.append(f"  {'short conns/s / lwIP':<34} {p:<17} "
                         f"{summary(v, '{:.3f}'):>17}   (target >= 1)")
        v = per_round("bulk_MBps", p, "bulk_MBps", lw)
        if v:
            lines.append(f"  {'bulk / lwIP':<34} {p:<17} {summary(v, '{:.3f}'):>17}"
                         f"   (target >= 2)")
    for p in [c for c in cols if base_name(c) == "tuntcp"]:
        v = list(res.get((p, "rss_MiB"), {}).values())
        if v:
            lines.append(f"  {'RSS at %d conns (MiB)' % cfg['rss_conns']:<34} {p:<17} "
                         f"{summary(v, '{:.1f}'):>17}   (target <= 64 at 10,000)")
    lines.append("")
    lines.append("(in brackets) linux: the echo process only, linux-tun: the hop's process "
                 "only; the kernel's own CPU and socket memory are not charged to them, so "
                 "not comparable.")
    return "\n".join(lines)


# ---- main -----------------------------------------------------------------------------

def find_bins(build):
    bins = {"echo-server": os.path.join(build, "apps", "echo-server")}
    for b in ("loadgen", "tun_reflector", "tun_hop", "lwip_echo"):
        bins[b] = os.path.join(build, "bench", b)
    return bins


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    g = ap.add_mutually_exclusive_group()
    g.add_argument("--quick", action="store_true", help="one short round (CI's smoke)")
    g.add_argument("--full", action="store_true", help="5 rounds, 10,000 connections for RSS")
    ap.add_argument("--build-dir", default=os.environ.get("TT_BUILD_DIR") or
                    os.path.join(HERE, "..", "..", "build"))
    ap.add_argument("--rounds", type=int)
    ap.add_argument("--peers", default="tuntcp,tuntcp-nooff,lwip,linux,linux-tun,reflector",
                    help="tuntcp runs with --offload on, tuntcp-nooff with --offload off")
    ap.add_argument("--modes", default="ceiling,bulk,crr,rr,rss")
    ap.add_argument("--rss-conns", type=int)
    ap.add_argument("--bulk-mib", type=int, help="MiB per connection in bulk")
    ap.add_argument("--placement", choices=["same", "split", "free"], default="same",
                    help="same: loadgen and peer on the last CPU (default); split: loadgen "
                    "on CPU 0, peer on CPU 1 (rr on one CPU); free: no pinning")
    ap.add_argument("--queue", default="500",
                    help="the TUN devices' txqueuelen, set once each peer is up (default 500, "
                    "Linux's default for a new device); several, e.g. 500,4096, measure "
                    "every TUN peer at each (peers NAME@500, NAME@4096) in the same rounds")
    ap.add_argument("--baseline", metavar="DIR",
                    help="a build dir whose apps/echo-server runs as tuntcp-before and "
                    "tuntcp-nooff-before next to tuntcp and tuntcp-nooff")
    ap.add_argument("--json", help="write every per-round figure to this file")
    ap.add_argument("--profile", metavar="MODES",
                    help="instead of the comparison: perf record tuntcp's echo-server under "
                    "each of these modes (bulk, crr, rr), --profile-secs each")
    ap.add_argument("--profile-secs", type=float, default=10.0)
    args = ap.parse_args()
    cfg = dict(FULL if args.full else QUICK)
    if args.rounds:
        cfg["rounds"] = args.rounds
    if args.rss_conns:
        cfg["rss_conns"] = args.rss_conns
    if args.bulk_mib:
        cfg["bulk_bytes"] = args.bulk_mib << 20

    build = os.path.abspath(args.build_dir)
    bins = find_bins(build)
    peers = [p.strip() for p in args.peers.split(",") if p.strip()]
    modes = [m.strip() for m in args.modes.split(",") if m.strip()]
    try:
        queues = [int(q) for q in args.queue.split(",") if q.strip()]
    except ValueError:
        queues = []
    if not queues or min(queues) < 1:
        print(f"FAIL: --queue {args.queue}: expected positive integers, e.g. 500 or 500,4096")
        return 2
    for p in peers:
        if p not in PEER_CLASSES:
            print(f"FAIL: --peers: unknown peer '{p}' (known: {', '.join(PEER_CLASSES)})")
            return 2
    if args.baseline:
        bins["echo-server-before"] = os.path.join(os.path.abspath(args.baseline), "apps",
                                                  "echo-server")
        if not os.access(bins["echo-server-before"], os.X_OK):
            print(f"FAIL: {bins['echo-server-before']} is not built (--baseline)")
            return 1
        for p in ("tuntcp", "tuntcp-nooff"):
            if p in peers:
                peers.insert(peers.index(p), f"{p}-before")
    if len(queues) > 1:
        # Every TUN peer once per queue length; the veth peer has no device.
        peers = [p if p == "linux" else f"{p}@{q}" for p in peers
                 for q in (queues if p != "linux" else queues[:1])]
    for need in ("echo-server", "loadgen", "tun_reflector"):
        if not os.access(bins[need], os.X_OK):
            print(f"FAIL: {bins[need]} is not built (--build-dir, or TT_BUILD_DIR)")
            return 1
    if any(base_name(p) == "lwip" for p in peers) and not os.access(bins["lwip_echo"], os.X_OK):
        log(f"lwIP skipped: {bins['lwip_echo']} is not built (liblwip-dev was not "
            "found at configure time: apt-get install liblwip-dev)")
        peers = [p for p in peers if base_name(p) != "lwip"]
    if any(base_name(p) == "linux-tun" for p in peers) and not os.access(bins["tun_hop"], os.X_OK):
        print(f"FAIL: {bins['tun_hop']} is not built (--build-dir, or TT_BUILD_DIR)")
        return 1
    if os.geteuid() != 0:
        cannot("the benchmark makes network namespaces with `ip netns add`: run it as root")
    if not os.path.exists("/dev/net/tun"):
        cannot("/dev/net/tun does not exist")
    for tool in ("ip", "taskset", "sysctl"):
        if shutil.which(tool) is None:
            cannot(f"{tool} is not installed")
    probe = f"ttb{os.getpid()}-probe"
    r = subprocess.run(["ip", "netns", "add", probe], capture_output=True, text=True)
    if r.returncode != 0:
        cannot(f"cannot make a network namespace: {r.stderr.strip()}")
    subprocess.run(["ip", "netns", "del", probe], capture_output=True)

    out_dir = os.path.join(build, "bench-out")
    os.makedirs(out_dir, exist_ok=True)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))
    t_start = time.monotonic()
    bench = Bench(args, cfg, bins, out_dir)
    if args.profile:
        try:
            ok = all(profile(bench, m.strip(), args.profile_secs, out_dir)
                     for m in args.profile.split(","))
        finally:
            cleanup_all()
        for e in bench.errors:
            print(f"  {e}")
        return 0 if ok and not bench.errors else 1
    live = {}
    try:
        for name in peers if [m for m in modes if m != "rss"] else []:
            p = make_peer(name, "", bench.peer_cpu)
            live[name] = p
            p.start(bins, out_dir)
            if p.tun_dev():
                p.set_queue(queue_of(name, queues[0]))
        order = list(peers)
        for rnd in range(cfg["rounds"]):
            log(f"round {rnd + 1}/{cfg['rounds']} ({time.monotonic() - t_start:.0f} s)")
            rot = order[rnd % len(order):] + order[:rnd % len(order)]
            for mode in [m for m in modes if m != "rss"]:
                for name in rot:
                    peer = live[name]
                    if mode == "ceiling" and peer.kind != "udp":
                        continue
                    if mode in ("bulk", "crr") and peer.kind == "udp":
                        continue
                    if not peer.alive():
                        continue
                    getattr(bench, f"mode_{mode}")(peer, rnd)
        for p in live.values():
            p.stop()
        live.clear()
        if "rss" in modes:
            log(f"rss: {cfg['rss_conns']} connections held, fresh peers "
                f"({time.monotonic() - t_start:.0f} s)")
            # Memory does not depend on the queue: the first queue's peers only;
            # neither the reflector nor the hop holds connections of its own.
            for name in [p for p in peers if base_name(p) not in ("reflector", "linux-tun")
                         and queue_of(p, queues[0]) == queues[0]]:
                bench.mode_rss(name)
    finally:
        for p in live.values():
            p.stop()
        cleanup_all()

    print(f"tuntcp benchmark ({'full' if args.full else 'quick'}): {cfg['rounds']} round(s), "
          f"build {build}, {os.cpu_count()} CPUs, "
          f"placement {args.placement} (loadgen CPU {bench.load_cpu}, peer CPU {bench.peer_cpu}), "
          f"TUN txqueuelen {','.join(map(str, queues))}, {time.monotonic() - t_start:.0f} s")
    print(f"bulk: {cfg['bulk_conns']} conns x {cfg['bulk_bytes'] >> 20} MiB; crr: "
          f"{cfg['crr_conns']} conns/round, 32 at a time; rr: {cfg['rr_count']} round trips")
    print(report(bench, peers, cfg))
    if args.json:
        with open(args.json, "w") as f:
            json.dump({f"{p}/{k}": v for (p, k), v in bench.results.items()}, f, indent=1)
    if bench.errors:
        print(f"\n{len(bench.errors)} run(s) failed:")
        for e in bench.errors:
            print(f"  {e}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
