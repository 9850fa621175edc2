#!/usr/bin/env python3
"""Interop: a SYN flood against echo-server, inside the test's own network
namespace (RFC 4987; Linux's tcp_syncookies=1 semantics).

A raw socket in the namespace sends a bounded flood (TT_FLOOD_SECONDS,
default 8 s, at TT_FLOOD_PPS, default 10000 SYNs a second) of SYNs to
10.7.0.2:7 from spoofed sources that do not exist: 10.7.0.100-10.7.0.249,
every 4-tuple used once, with the options Linux puts in a SYN (MSS, SACK
permitted, timestamps, window scale). The stack's SYN-ACKs to them come back
into the kernel by the TUN device and die there: those addresses are not the
kernel's, and the namespace does not forward. Nobody ever ACKs them, as in a
real spoofed flood.

Checked while the flood runs:
- the half-open queue fills to the listener's backlog (128 SYN_RECEIVED
  rows in the SIGUSR1 listing) and never beyond; every SYN past it gets a
  SYN cookie: TcpExtSyncookiesSent + 128 == the SYNs the stack received
  (flood and Linux's, exactly, from the stack's TcpInSegs and Linux's own
  counters);
- legitimate Linux clients connect during the flood, each through a cookie
  (TcpExtSyncookiesRecv == their number, TcpExtSyncookiesFailed 0), with the
  options a cookie carries (seen on the wire by a BPF-filtered packet
  socket: the SYN-ACK offers MSS, SACK, timestamps, window scale; the
  connection uses timestamps and Linux's window scale), and echo 256 KiB
  each way, compared by SHA-256;
- echo-server's VmRSS (from /proc, 20 samples a second) stays bounded: it
  does not grow with the flood's length (second half of the flood against
  the first) and its peak is reported; the number of connections it holds
  stays at 128 + the live legitimate ones;
- the kernel's TUN counters agree with the stack's (everything the kernel
  queued to the TUN was read by the stack, or dropped by the kernel's own
  queue and counted there);
- after the flood the server still serves, and exits 0 on SIGTERM.
"""
import hashlib
import os
import random
import socket
import struct
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ttinterop as ti  # noqa: E402
import test_blind as tb  # noqa: E402  (the raw-segment helpers)

PORT = 7
BACKLOG = 128  # echo-server's listen backlog
FLOOD_SECONDS = float(os.environ.get("TT_FLOOD_SECONDS", "8"))
FLOOD_PPS = int(os.environ.get("TT_FLOOD_PPS", "10000"))
SPOOF_BASE = 100  # sources 10.7.0.100 .. 10.7.0.249
SPOOF_COUNT = 150
RSS_GROWTH_MAX_KB = 1024  # second half of the flood against the first
RSS_PEAK_MAX_KB = 16 * 1024  # above the idle server's RSS


# ---- the flooder (a child process, in the same namespace) --------------------------

def _csum_fold(s):
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return s


def flood(pps, seconds, seed):
    """Sends SYNs at pps for seconds; prints the number sent."""
    rnd = random.Random(seed)
    sock = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 1 << 20)
    dst = socket.inet_aton(ti.STACK_ADDR)
    # Linux's SYN options: MSS 1460, SACK permitted, timestamps, NOP, window scale 7.
    opts_head = struct.pack("!BBHBB", 2, 4, 1460, 4, 2) + b"\x08\x0a"
    opts_tail = b"\x00\x00\x00\x00\x01\x03\x03\x07"
    sent, i = 0, 0
    t0 = time.monotonic()
    batch = max(1, pps // 200)
    while True:
        now = time.monotonic() - t0
        if now >= seconds:
            break
        due = int(now * pps)
        if sent >= due:
            time.sleep(min(0.005, (sent + batch) / pps - now) if sent + batch > due else 0)
            continue
        for _ in range(min(batch, due - sent)):
            src_host = SPOOF_BASE + i % SPOOF_COUNT
            sport = 1024 + (i // SPOOF_COUNT) % 64000
            i += 1
            src = bytes((10, 7, 0, src_host))
            seq = rnd.getrandbits(32)
            tsval = rnd.getrandbits(32)
            tcp = (struct.pack("!HHIIBBHHH", sport, PORT, seq, 0, 10 << 4, 0x02, 64240, 0, 0)
                   + opts_head + struct.pack("!II", tsval, 0) + opts_tail)
            pseudo = src + dst + struct.pack("!BBH", 0, 6, len(tcp))
            data = pseudo + tcp
            s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
            tcp = tcp[:16] + struct.pack("!H", ~_csum_fold(s) & 0xFFFF) + tcp[18:]
            ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(tcp), i & 0xFFFF, 0x4000, 64,
                             6, 0, src, dst)
            s = sum(struct.unpack("!10H", ip))
            ip = ip[:10] + struct.pack("!H", ~_csum_fold(s) & 0xFFFF) + ip[12:]
            try:
                sock.sendto(ip + tcp, (ti.STACK_ADDR, 0))
                sent += 1
            except (BlockingIOError, OSError):
                sent += 1  # counted as sent: the kernel counts the drop (TUN tx_dropped)
    print(sent, flush=True)


# ---- helpers ---------------------------------------------------------------------

def vmrss_kb(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise AssertionError(f"no VmRSS for {pid}")


class RssSampler:
    def __init__(self, pid, every=0.05):
        self.pid, self.every = pid, every
        self.samples = []  # (monotonic, kB)
        self.stop_flag = False
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        while not self.stop_flag:
            try:
                self.samples.append((time.monotonic(), vmrss_kb(self.pid)))
            except (OSError, AssertionError):
                return
            time.sleep(self.every)

    def stop(self):
        self.stop_flag = True
        self.thread.join(2)

    def between(self, t0, t1):
        return [kb for t, kb in self.samples if t0 <= t <= t1]


def tun_counters(ifname="tt0"):
    """The kernel's counters of the TUN device (tx = towards the stack), by
    `ip -s -j link` (this namespace's /sys is the host's)."""
    import json
    r = subprocess.run(["ip", "-s", "-j", "link", "show", ifname], capture_output=True,
                       text=True, check=True)
    st = json.loads(r.stdout)[0]["stats64"]
    return {"tx_packets": st["tx"]["packets"], "tx_dropped": st["tx"]["dropped"],
            "rx_packets": st["rx"]["packets"], "rx_dropped": st["rx"]["dropped"]}


def legit_sniffer():
    """A tb.Sniffer on tt0 that takes only the segments of 10.7.0.1 (a
    classic BPF filter in the kernel: the flood's are never copied)."""
    import ctypes
    sn = tb.Sniffer()
    host = struct.unpack("!I", socket.inet_aton(ti.HOST_ADDR))[0]
    prog = [(0x20, 0, 0, 12),     # ld [12]: source address
            (0x15, 2, 0, host),   # == 10.7.0.1: accept
            (0x20, 0, 0, 16),     # ld [16]: destination address
            (0x15, 0, 1, host),   # == 10.7.0.1: accept, else drop
            (0x06, 0, 0, 65535),  # accept
            (0x06, 0, 0, 0)]      # drop
    buf = ctypes.create_string_buffer(b"".join(struct.pack("HBBI", *i) for i in prog))
    fprog = struct.pack("HL", len(prog), ctypes.addressof(buf))
    sn.sock.setsockopt(socket.SOL_SOCKET, 26, fprog)  # SO_ATTACH_FILTER
    sn.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8 << 20)
    sn._bpf = buf  # alive as long as the socket
    while True:  # what came before the filter
        try:
            sn.sock.recv(70000)
        except BlockingIOError:
            break
    return sn


def check_cookie_options(segs, port):
    """The connection of Linux's port was made by cookie with the options
    Linux asked for: the stack's SYN-ACK offers MSS, SACK, timestamps and
    window scale; every segment of the stack carries a timestamp; the stack
    applies Linux's window scale (it has more in flight than Linux's raw
    window field) and never sends beyond the scaled window."""
    f = [s for s in tb.flow(segs, port)]
    syn = [s for s in f if s.from_linux and s.has("S")]
    synack = [s for s in f if not s.from_linux and s.has("SA")]
    assert syn and synack, f"port {port}: SYN {syn}, SYN-ACK {synack}"
    o = synack[-1].opts
    assert o.get("mss") == 1460 and "ts" in o and "ws" in o and o.get("sackok"), \
        f"port {port}: cookie SYN-ACK options {o}"
    linux_ws = syn[0].opts["ws"]
    ours = [s for s in f if not s.from_linux and not s.has("S")]
    assert ours and all("ts" in s.opts for s in ours), f"port {port}: a segment without TS"
    ack = wnd = None
    beyond_raw = 0
    for s in f:
        if s.from_linux and s.has("A"):
            ack, wnd = s.ack, s.wnd
        elif not s.from_linux and s.len and ack is not None:
            flight = tb.sdiff(s.seq + s.len, ack)
            assert flight <= wnd << linux_ws, \
                f"port {port}: {flight} bytes in flight, Linux's window {wnd << linux_ws}"
            beyond_raw += flight > wnd
    assert beyond_raw, f"port {port}: never more in flight than the raw window field"


def legit_echo(nbytes=256 * 1024, timeout=15.0):
    """A Linux client: connect, send nbytes of random data, read the echo
    while sending, compare hashes. Returns (seconds to connect, local port)."""
    data = os.urandom(nbytes)
    t0 = time.monotonic()
    s = socket.create_connection((ti.STACK_ADDR, PORT), timeout=timeout)
    took = time.monotonic() - t0
    port = s.getsockname()[1]
    got = hashlib.sha256()
    n = 0
    err = []

    def reader():
        nonlocal n
        try:
            while n < nbytes:
                chunk = s.recv(65536)
                if not chunk:
                    break
                got.update(chunk)
                n += len(chunk)
        except OSError as e:
            err.append(e)
    th = threading.Thread(target=reader)
    th.start()
    s.sendall(data)
    th.join(timeout)
    s.close()
    assert not err, f"Linux client: {err}"
    same = got.digest() == hashlib.sha256(data).digest()
    assert n == nbytes and same, f"echo: {n} of {nbytes} bytes, hash {'ok' if same else 'differs'}"
    return took, port


# ---- the test -----------------------------------------------------------------------

def test_syn_flood_cookies_and_bounded_memory():
    name = "flood"
    srv = ti.LoggedApp(ti.SERVER, ["--msl", "500ms", "--trace", ti.out_path(name + ".jsonl"),
                                   "--seed", "7", "-v", "-q"], name)
    srv.wait_line("listening on")
    flooder = None
    try:
        for _ in range(6):  # warm-up: the idle server's working set (and ASan's quarantine)
            took0, _ = legit_echo()
        time.sleep(0.3)
        c0, rows0 = srv.stats()
        assert not rows0, rows0
        linux0 = ti.linux_nstat("TcpActiveOpens", "TcpOutSegs", "TcpRetransSegs",
                                "TcpExtTCPSynRetrans")
        tun0 = tun_counters()
        sampler = RssSampler(srv.proc.pid)
        sniffer = legit_sniffer()
        time.sleep(0.5)
        t_start = time.monotonic()
        flooder = subprocess.Popen([sys.executable, os.path.abspath(__file__), "--flood",
                                    str(FLOOD_PPS), str(FLOOD_SECONDS), "11"],
                                   stdout=subprocess.PIPE, text=True)
        # During the flood: legitimate clients, and the listing, every second.
        legit, listings = [], []
        time.sleep(1.0)
        while time.monotonic() - t_start < FLOOD_SECONDS - 1.5:
            legit.append(legit_echo())
            sniffer.poll()
            counters, rows = srv.stats(quiet=0.1)
            listings.append(rows)
            time.sleep(0.5)
        out, _ = flooder.communicate(timeout=FLOOD_SECONDS + 30)
        t_end = time.monotonic()
        flood_sent = int(out.strip())
        assert flooder.returncode == 0
        flooder = None
        time.sleep(0.5)
        sampler.stop()
        sniffer.poll()
        sniffer.close()
        c1, rows1 = srv.stats()
        linux1 = ti.linux_nstat("TcpActiveOpens", "TcpOutSegs", "TcpRetransSegs",
                                "TcpExtTCPSynRetrans")
        tun1 = tun_counters()
        # After the flood: still serving.
        took_after, _ = legit_echo()
        time.sleep(0.3)
        c2, rows2 = srv.stats()
    finally:
        if flooder is not None:
            flooder.kill()
            flooder.wait()
        rc = srv.stop()
    assert rc == 0, f"echo-server exit {rc}: {srv.stderr[-2000:]}"

    def d(k, a=c0, b=c1):
        return b[k] - a[k]

    def dl(k):
        return linux1.get(k, 0) - linux0.get(k, 0)
    n_legit = len(legit)
    assert n_legit >= 3, f"only {n_legit} legitimate connections during the flood"
    # The half-open queue: full at the backlog, never beyond.
    for rows in listings + [rows1]:
        states = [r[0] for r in rows]
        assert states.count("SYN_RECEIVED") == BACKLOG, \
            f"{states.count('SYN_RECEIVED')} SYN_RECEIVED rows"
        assert len(rows) <= BACKLOG + 1, f"{len(rows)} rows: {[r[0] for r in rows]}"
    # Cookies: every SYN past the backlog, exactly.
    linux_syns = dl("TcpActiveOpens") + dl("TcpExtTCPSynRetrans")
    linux_segs = dl("TcpOutSegs") + dl("TcpRetransSegs")
    flood_in = d("TcpInSegs") - linux_segs
    assert dl("TcpActiveOpens") == n_legit, (linux0, linux1)
    assert d("TcpExtSyncookiesSent") + BACKLOG == flood_in + linux_syns, \
        (d("TcpExtSyncookiesSent"), flood_in, linux_syns, c1)
    assert d("TcpExtSyncookiesRecv") == n_legit, (d("TcpExtSyncookiesRecv"), n_legit)
    assert d("TcpExtSyncookiesFailed") == 0 and d("TcpExtListenOverflows") == 0, c1
    assert d("TcpPassiveOpens") == n_legit and d("TcpEstabResets") == 0, c1
    for _, port in legit:
        check_cookie_options(sniffer.segs, port)
    # The kernel queued to the TUN what the stack read, or dropped it itself.
    assert tun1["tx_packets"] - tun0["tx_packets"] == d("TtTunInPackets"), (tun0, tun1, c1)
    assert tun1["rx_packets"] - tun0["rx_packets"] == d("TtTunOutPackets"), (tun0, tun1, c1)
    kernel_drops = tun1["tx_dropped"] - tun0["tx_dropped"]
    assert flood_in <= flood_sent, (flood_in, flood_sent)
    # Memory: flat along the flood, bounded at its peak.
    idle = [kb for t, kb in sampler.samples if t < t_start]
    mid = t_start + FLOOD_SECONDS / 2
    first = sampler.between(t_start + 1.0, mid)
    second = sampler.between(mid, t_end)
    assert idle and first and second, (len(idle), len(first), len(second))
    base, peak = max(idle), max(kb for _, kb in sampler.samples)
    growth = max(second) - max(first)
    assert growth <= RSS_GROWTH_MAX_KB, \
        f"VmRSS grew {growth} kB in the flood's second half " \
        f"(first {max(first)}, second {max(second)})"
    assert peak - base <= RSS_PEAK_MAX_KB, f"VmRSS peak {peak} kB, idle {base} kB"
    # After: the 128 half-open connections remain until their SYN-ACK retries
    # run out; nothing else.
    assert d("TcpExtSyncookiesRecv", c1, c2) == 1, c2
    assert [r[0] for r in rows2].count("SYN_RECEIVED") == BACKLOG and len(rows2) == BACKLOG
    secs = t_end - t_start
    print(f"flood: {flood_sent} spoofed SYNs in {secs:.1f} s ({flood_sent / secs:.0f}/s), "
          f"{flood_in} reached the stack, {kernel_drops} dropped by the kernel's TUN queue; "
          f"SyncookiesSent {d('TcpExtSyncookiesSent')}, SyncookiesRecv "
          f"{d('TcpExtSyncookiesRecv')}; {n_legit} legitimate connections during the flood, "
          f"256 KiB echoed each, connect took {min(t for t, _ in legit) * 1000:.1f}-"
          f"{max(t for t, _ in legit) * 1000:.1f} ms (idle {took0 * 1000:.1f} ms, after "
          f"{took_after * 1000:.1f} ms); echo-server VmRSS idle {base} kB, peak {peak} kB, "
          f"first/second half of the flood max {max(first)}/{max(second)} kB", flush=True)


def small_asan_quarantine():
    """ASan holds freed memory in a quarantine of up to 256 MB before reusing
    it: with the sanitized build, every connection's freed buffers would read
    as RSS growth. 1 MB keeps use-after-free detection for recent frees and
    lets RSS show the stack's own memory (the warm-up fills it)."""
    opts = os.environ.get("ASAN_OPTIONS", "")
    if "quarantine_size_mb" not in opts:
        os.environ["ASAN_OPTIONS"] = (opts + ":" if opts else "") + "quarantine_size_mb=1"


if __name__ == "__main__":
    if len(sys.argv) == 5 and sys.argv[1] == "--flood":
        flood(int(sys.argv[2]), float(sys.argv[3]), int(sys.argv[4]))
        sys.exit(0)
    ti.enter_netns()
    small_asan_quarantine()
    ti.run_tests([test_syn_flood_cookies_and_bounded_memory])
