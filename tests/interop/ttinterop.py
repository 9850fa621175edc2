"""Helpers for the interop tests: tuntcp's apps on a real TUN device against
the Linux kernel's TCP, inside a network namespace each test makes itself.

A test script calls enter_netns() first: the script re-executes itself under
`unshare -n` (as root) or `unshare -rn` (a user namespace otherwise), so the
TUN device, its addresses and every packet live and die with that private
namespace. Nothing is ever sent outside it: the stack is 10.7.0.2, the kernel
side 10.7.0.1, both on the TUN device the app creates.

Without the privileges for that the script exits 77 (skipped) with a clear
message; under CI (CI=true) it fails instead (docs/contract.md §6).
"""
import json
import os
import select
import signal
import socket
import struct
import subprocess
import sys
import time

SKIP = 77
# How late a timer of the real driver may fire in these tests. docs/contract.md §2.6 promises
# 10 ms on an idle machine, the default here; a shared machine (CI runners,
# other jobs) can be slower, so TT_TIMER_SLACK_MS may widen it. Never early:
# every test asserts the lower bound exactly, and the scenario tests check
# the engine's timers to the microsecond on a virtual clock.
TIMER_SLACK = float(os.environ.get("TT_TIMER_SLACK_MS", "10")) / 1000.0
STACK_ADDR = "10.7.0.2"
HOST_ADDR = "10.7.0.1"

BUILD = os.environ.get("TT_BUILD_DIR") or os.path.join(
    os.path.dirname(os.path.abspath(__file__)), "..", "..", "build")
SERVER = os.path.join(BUILD, "apps", "echo-server")
CLIENT = os.path.join(BUILD, "apps", "echo-client")
OUT_DIR = os.environ.get("TT_OUT_DIR") or os.path.join(BUILD, "interop-out")


def _cannot(reason):
    if os.environ.get("CI") == "true":
        print(f"FAIL: {reason} (CI=true: interop tests must run, not skip)")
        sys.exit(1)
    print(f"SKIP: {reason}")
    sys.exit(SKIP)


def enter_netns():
    """Re-executes the calling script inside a new network namespace."""
    if os.environ.get("TT_IN_NETNS") == "1":
        subprocess.run(["ip", "link", "set", "lo", "up"], check=True)
        with open("/proc/sys/net/ipv4/ip_nonlocal_bind", "w") as f:
            f.write("1")  # the Linux peer binds 10.7.0.1 before the TUN exists
        os.makedirs(OUT_DIR, exist_ok=True)
        return
    if not os.path.exists("/dev/net/tun"):
        _cannot("/dev/net/tun does not exist")
    if os.geteuid() != 0 and not os.access("/dev/net/tun", os.R_OK | os.W_OK):
        _cannot("/dev/net/tun is not readable and writable by this user (run as root)")
    for path in (SERVER, CLIENT):
        if not os.access(path, os.X_OK):
            print(f"FAIL: {path} is not built (set TT_BUILD_DIR)")
            sys.exit(1)
    cmd = ["unshare", "-n"] if os.geteuid() == 0 else ["unshare", "-rn"]
    probe = subprocess.run(cmd + ["true"], capture_output=True, text=True)
    if probe.returncode != 0:
        _cannot(f"cannot create a network namespace ({' '.join(cmd)}): "
                f"{probe.stderr.strip()}")
    env = dict(os.environ, TT_IN_NETNS="1")
    r = subprocess.run(cmd + [sys.executable] + sys.argv, env=env)
    sys.exit(r.returncode)


def out_path(name):
    return os.path.join(OUT_DIR, name)


def offload_args(path):
    """TT_OFFLOAD=on|off: every echo-server and echo-client run with --offload
    so (unset: the apps' default, on where the device takes it), so that the
    whole set can run both ways."""
    want = os.environ.get("TT_OFFLOAD")
    if want and os.path.basename(path) in ("echo-server", "echo-client"):
        return ["--offload", want]
    return []


class App:
    """One run of echo-server or echo-client, with its output collected."""

    def __init__(self, path, args, name):
        self.name = name
        self.args = [path] + offload_args(path) + list(args)
        self.proc = subprocess.Popen(self.args, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, text=True)
        self.stdout_lines = []
        self.stderr = ""
        self.rc = None

    def wait_line(self, prefix, timeout=10.0):
        """Reads stdout until a line starting with prefix; returns it."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            left = deadline - time.monotonic()
            ready, _, _ = select.select([self.proc.stdout], [], [], left)
            if not ready:
                break
            line = self.proc.stdout.readline()
            if not line:
                break
            self.stdout_lines.append(line.rstrip("\n"))
            if line.startswith(prefix):
                return line.rstrip("\n")
        self.stop()
        raise AssertionError(f"{self.name}: no '{prefix}' line within {timeout}s; "
                             f"stderr: {self.stderr.strip()}")

    def wait(self, timeout=30.0):
        try:
            out, err = self.proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.stop()
            raise AssertionError(f"{self.name} did not exit within {timeout}s; "
                                 f"stderr: {self.stderr.strip()}")
        self.stdout_lines += out.splitlines()
        self.stderr += err
        self.rc = self.proc.returncode
        return self.rc

    def stop(self, timeout=10.0):
        """SIGTERM (the apps flush pcap and trace and exit 0), SIGKILL as a last resort."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            out, err = self.proc.communicate(timeout=timeout)
            self.stdout_lines += out.splitlines()
            self.stderr += err
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.communicate()
        self.rc = self.proc.returncode
        return self.rc


def start_server(name, *extra, msl="500ms"):
    """echo-server on 10.7.0.2:7 with a pcap and a trace named after the test."""
    args = ["--msl", msl, "--pcap", out_path(name + ".pcap"),
            "--trace", out_path(name + ".jsonl"), "--seed", "7"] + list(extra)
    app = App(SERVER, args, "echo-server")
    app.wait_line("listening on")
    return app


def run_client(name, *extra, msl="500ms", timeout=30.0):
    args = ["--msl", msl, "--pcap", out_path(name + ".pcap"),
            "--trace", out_path(name + ".jsonl"), "--seed", "7"] + list(extra)
    app = App(CLIENT, args, "echo-client")
    app.wait(timeout)
    return app


def linux_echo(data, close_first=True, linger0=False, port=7, timeout=5.0):
    """A Linux client: connect to the stack, send data, read the echo back.

    close_first: Linux closes once the echo is back (Linux is the active
    closer); otherwise it waits for the stack's FIN first. Returns
    (echoed bytes, error or None, the client's local address "IP:PORT")."""
    s = socket.create_connection((STACK_ADDR, port), timeout=timeout)
    local = "%s:%d" % s.getsockname()
    got, err = b"", None
    try:
        s.sendall(data)
        while len(got) < len(data):
            chunk = s.recv(65536)
            if not chunk:
                break
            got += chunk
        if not close_first:
            while s.recv(65536):
                pass
        if linger0:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    except OSError as e:
        err = e
    finally:
        s.close()
    return got, err, local


def read_trace(name):
    events = []
    with open(out_path(name + ".jsonl")) as f:
        for line in f:
            line = line.strip()
            if line:
                events.append(json.loads(line))
    return events


def state_changes(events):
    return [(e["from"], e["to"], e.get("why")) for e in events if e.get("ev") == "state"]


def ss_states(state):
    """4-tuples Linux holds in the given state, per `ss -tan state STATE`."""
    r = subprocess.run(["ss", "-tanH", "state", state], capture_output=True, text=True,
                       check=True)
    rows = []
    for line in r.stdout.splitlines():
        parts = line.split()
        if len(parts) >= 4:
            rows.append((parts[-2], parts[-1]))
    return rows


# ---- pcap (classic, LINKTYPE_RAW) -----------------------------------------

def _csum(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return s


def read_pcapng(path):
    """The Enhanced Packet Blocks of a pcapng written by tuntcp (docs/contract.md §5.1).

    Returns a list of dicts: iface (0 the TUN device, 1 events), ts (seconds),
    data (bytes), flags (epb_flags, 0 if absent) and comments (list of str)."""
    with open(path, "rb") as f:
        blob = f.read()
    assert blob[:4] == b"\x0a\x0d\x0d\x0a", f"{path}: not a pcapng section header"
    endian = "<" if struct.unpack("<I", blob[8:12])[0] == 0x1A2B3C4D else ">"
    off, recs = 0, []
    while off + 12 <= len(blob):
        btype, total = struct.unpack(endian + "II", blob[off:off + 8])
        assert total >= 12 and total % 4 == 0 and off + total <= len(blob), f"block at {off}"
        body = blob[off + 8:off + total - 4]
        if btype == 6:
            iface, hi, lo, incl, _ = struct.unpack(endian + "IIIII", body[:20])
            rec = {"iface": iface, "ts": ((hi << 32) | lo) / 1e6, "data": body[20:20 + incl],
                   "flags": 0, "comments": []}
            o = 20 + ((incl + 3) & ~3)
            while o + 4 <= len(body):
                code, olen = struct.unpack(endian + "HH", body[o:o + 4])
                if code == 0:
                    break
                val = body[o + 4:o + 4 + olen]
                if code == 1:
                    rec["comments"].append(val.decode())
                elif code == 2:
                    rec["flags"] = struct.unpack(endian + "I", val)[0]
                o += 4 + ((olen + 3) & ~3)
            recs.append(rec)
        off += total
    return recs


def read_pcap(path):
    """Returns (linktype, [(ts_seconds, packet bytes)]); a pcapng gives its TUN packets."""
    with open(path, "rb") as f:
        blob = f.read()
    if blob[:4] == b"\x0a\x0d\x0d\x0a":
        return 101, [(r["ts"], r["data"]) for r in read_pcapng(path) if r["iface"] == 0]
    magic = struct.unpack("<I", blob[:4])[0]
    if magic in (0xA1B2C3D4, 0xA1B23C4D):
        endian = "<"
    else:
        endian = ">"
    _, _, _, _, _, _, linktype = struct.unpack(endian + "IHHiIII", blob[:24])
    nano = struct.unpack(endian + "I", blob[:4])[0] == 0xA1B23C4D
    off, pkts = 24, []
    while off + 16 <= len(blob):
        sec, frac, incl, _ = struct.unpack(endian + "IIII", blob[off:off + 16])
        off += 16
        pkts.append((sec + frac / (1e9 if nano else 1e6), blob[off:off + incl]))
        off += incl
    return linktype, pkts


class Tcp:
    """One TCP segment from a capture, with both checksums verified."""
    FLAGS = {"F": 0x01, "S": 0x02, "R": 0x04, "P": 0x08, "A": 0x10, "E": 0x40, "W": 0x80}

    def __init__(self, ts, pkt):
        ihl = (pkt[0] & 0x0F) * 4
        total = struct.unpack("!H", pkt[2:4])[0]
        self.ts = ts
        self.ecn = pkt[1] & 3  # RFC 3168 5: the ECN field of the TOS byte
        self.src = socket.inet_ntoa(pkt[12:16])
        self.dst = socket.inet_ntoa(pkt[16:20])
        self.ip_ok = _csum(pkt[:ihl]) == 0xFFFF
        seg = pkt[ihl:total]
        self.sport, self.dport, self.seq, self.ack = struct.unpack("!HHII", seg[:12])
        self.flags = seg[13]
        self.wnd = struct.unpack("!H", seg[14:16])[0]  # unscaled
        self.len = len(seg) - (seg[12] >> 4) * 4
        pseudo = pkt[12:20] + struct.pack("!BBH", 0, 6, len(seg))
        self.tcp_ok = _csum(pseudo + seg) == 0xFFFF

    def has(self, letters):
        return all(self.flags & self.FLAGS[c] for c in letters)

    def __repr__(self):
        names = "".join(c for c, b in self.FLAGS.items() if self.flags & b)
        return (f"{self.ts:.6f} {self.src}:{self.sport}>{self.dst}:{self.dport} "
                f"[{names}] seq={self.seq} ack={self.ack} len={self.len}")


def tcp_segments(name):
    linktype, pkts = read_pcap(out_path(name + ".pcap"))
    assert linktype == 101, f"pcap link type {linktype}, want 101 (LINKTYPE_RAW)"
    return [Tcp(ts, p) for ts, p in pkts if len(p) >= 20 and p[9] == 6]


def tshark_check(name):
    """tshark reads the capture: frames, and none malformed or with a bad checksum."""
    path = out_path(name + ".pcap")
    base = ["tshark", "-n", "-r", path, "-o", "ip.check_checksum:TRUE",
            "-o", "tcp.check_checksum:TRUE"]
    allf = subprocess.run(base, capture_output=True, text=True, timeout=60)
    assert allf.returncode == 0, f"tshark failed: {allf.stderr}"
    frames = [l for l in allf.stdout.splitlines() if l.strip()]
    # A TCP checksum of 0xFFFF is what one's complement gives when the sum
    # folds to zero (RFC 1624 3): Linux sends it now and then, every stack
    # accepts it, and tshark calls it bad. Not a fault of the capture.
    bad = subprocess.run(base + ["-Y", "_ws.malformed || ip.checksum.status == 0 || "
                                 "(tcp.checksum.status == 0 && tcp.checksum != 0xffff)"],
                         capture_output=True, text=True, timeout=60)
    assert bad.returncode == 0, f"tshark failed: {bad.stderr}"
    bad_frames = [l for l in bad.stdout.splitlines() if l.strip()]
    assert frames, "tshark read no frame"
    assert not bad_frames, f"tshark flags frames: {bad_frames}"
    return frames


# ---- a tiny runner -----------------------------------------------------------

def run_tests(tests):
    """Runs each test function; prints ok/FAIL lines and 'N passed, N failed'."""
    passed = failed = 0
    for t in tests:
        t0 = time.monotonic()
        try:
            t()
            passed += 1
            print(f"ok   {t.__name__} ({time.monotonic() - t0:.2f}s)", flush=True)
        except Exception as e:  # a failed assertion or an unexpected error
            failed += 1
            print(f"FAIL {t.__name__}: {type(e).__name__}: {e}", flush=True)
    print(f"{passed} passed, {failed} failed")
    sys.exit(1 if failed else 0)


# ---- Linux echo servers (the kernel's TCP on 10.7.0.1) ----------------------

class LinuxEchoServer:
    """Echoes each connection, a thread per connection; closes after
    close_after bytes if given, else at the client's EOF. Records every error
    a connection saw. delay: seconds to wait before echoing a connection's
    first bytes (paces a sequential client). addr: the kernel-side address to
    listen on; conn_timeout: how long a connection may stay silent."""

    def __init__(self, close_after=None, port=7, delay=0.0, backlog=128, addr=HOST_ADDR,
                 conn_timeout=10):
        import threading
        self.close_after = close_after
        self.delay = delay
        self.conn_timeout = conn_timeout
        self.errors = []
        self.conns = 0
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind((addr, port))
        self.sock.listen(backlog)
        self.sock.settimeout(0.2)
        self.stop_flag = False
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _serve(self, c):
        done = 0
        try:
            while self.close_after is None or done < self.close_after:
                data = c.recv(65536)
                if not data:
                    break
                if done == 0 and self.delay:
                    time.sleep(self.delay)
                c.sendall(data)
                done += len(data)
        except OSError as e:
            self.errors.append(e)
        finally:
            c.close()

    def _run(self):
        import threading
        while not self.stop_flag:
            try:
                c, _ = self.sock.accept()
            except socket.timeout:
                continue
            self.conns += 1
            c.settimeout(self.conn_timeout)
            threading.Thread(target=self._serve, args=(c,), daemon=True).start()

    def close(self):
        self.stop_flag = True
        self.thread.join(2)
        self.sock.close()


class LinuxFastEchoServer:
    """An event-driven (epoll) echo server in one thread, for churn: echoes
    each connection until the client's EOF, then closes (Linux is the
    passive closer). Counts connections, echoed bytes and errors."""

    def __init__(self, port=7, backlog=4096):
        import selectors
        import threading
        self.errors = []
        self.conns = 0
        self.closed = 0
        self.bytes = 0
        self.sel = selectors.DefaultSelector()
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind((HOST_ADDR, port))
        self.sock.listen(backlog)
        self.sock.setblocking(False)
        self.sel.register(self.sock, selectors.EVENT_READ, None)
        self.stop_flag = False
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _close(self, c):
        self.sel.unregister(c)
        c.close()
        self.closed += 1

    def _run(self):
        import selectors
        while not self.stop_flag:
            for key, _ in self.sel.select(0.2):
                if key.data is None:
                    while True:
                        try:
                            c, _ = self.sock.accept()
                        except BlockingIOError:
                            break
                        c.setblocking(False)
                        self.conns += 1
                        self.sel.register(c, selectors.EVENT_READ, b"")
                    continue
                c = key.fileobj
                try:
                    data = c.recv(65536)
                except BlockingIOError:
                    continue
                except OSError as e:
                    self.errors.append(e)
                    self._close(c)
                    continue
                if not data:
                    self._close(c)
                    continue
                try:
                    sent = c.send(data)  # 64-byte echoes: the send buffer has room
                except OSError as e:
                    self.errors.append(e)
                    self._close(c)
                    continue
                if sent != len(data):
                    self.errors.append(OSError(f"short send {sent} of {len(data)}"))
                self.bytes += sent

    def close(self):
        self.stop_flag = True
        self.thread.join(2)
        for key in list(self.sel.get_map().values()):
            key.fileobj.close()
        self.sel.close()


# ---- an app whose stderr goes to a file (statistics on SIGUSR1) ------------

STATS_HEADER = "State "


class LoggedApp(App):
    """Like App (whose wait_line it uses), but stderr goes to a file (out_path(name + '.stderr')), so a
    long run or a big SIGUSR1 listing never blocks on a full pipe, and the
    statistics of a running app can be read (stats())."""

    def __init__(self, path, args, name):
        self.name = os.path.basename(path)
        self.args = [path] + offload_args(path) + list(args)
        self.err_path = out_path(name + ".stderr")
        self.err_file = open(self.err_path, "w+")
        self.proc = subprocess.Popen(self.args, stdout=subprocess.PIPE,
                                     stderr=self.err_file, text=True)
        self.stdout_lines = []
        self.rc = None

    @property
    def stderr(self):
        with open(self.err_path) as f:
            return f.read()

    def stats(self, timeout=5.0, quiet=0.3):
        """SIGUSR1; returns (counters dict, [listing rows as field lists]) of
        the report it printed: waits for the listing's header, then for
        stderr to stay quiet for `quiet` seconds."""
        start = os.path.getsize(self.err_path)
        self.proc.send_signal(signal.SIGUSR1)
        deadline = time.monotonic() + timeout
        size, since = start, time.monotonic()
        while time.monotonic() < deadline:
            time.sleep(0.02)
            now = os.path.getsize(self.err_path)
            if now != size:
                size, since = now, time.monotonic()
                continue
            if size > start and time.monotonic() - since >= quiet:
                with open(self.err_path) as f:
                    f.seek(start)
                    text = f.read()
                if STATS_HEADER in text:
                    return parse_stats(text)
        raise AssertionError(f"{self.name}: no statistics within {timeout}s after SIGUSR1")

    def wait(self, timeout=30.0):
        try:
            out, _ = self.proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.stop()
            raise AssertionError(f"{self.name} did not exit within {timeout}s; "
                                 f"stderr: {self.stderr.strip()[-2000:]}")
        self.stdout_lines += out.splitlines()
        self.rc = self.proc.returncode
        self.err_file.close()
        return self.rc

    def stop(self, timeout=10.0):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            out, _ = self.proc.communicate(timeout=timeout)
            self.stdout_lines += out.splitlines()
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.communicate()
        self.rc = self.proc.returncode
        self.err_file.close()
        return self.rc


def parse_stats(text):
    """The apps' statistics report (docs/contract.md §8): `Name value` lines, then the
    ss-like listing after its header. Returns (counters, rows), a row being
    the listing line split on blanks. Lines of other kinds are skipped."""
    counters, rows, listing = {}, [], False
    for line in text.splitlines():
        if line.startswith(STATS_HEADER) and "Local Address" in line:
            listing = True
            continue
        parts = line.split()
        if listing:
            if len(parts) >= 5 and parts[0].isupper():
                rows.append(parts)
            continue
        if len(parts) == 2 and parts[1].isdigit():
            counters[parts[0]] = int(parts[1])
    return counters, rows


def last_stats(text):
    """The last report in text (e.g. the one -v prints at exit)."""
    i = text.rfind("\n" + STATS_HEADER)
    j = text.rfind("\nTcpActiveOpens ", 0, i if i >= 0 else len(text))
    return parse_stats(text[j + 1:] if j >= 0 else text)


def last_sockstat(text):
    """The gauges of the last report, from its /proc/net/sockstat-like line
    `TCP: tw N tw_bytes B` (current values, not counters): {"tw": N, ...}."""
    lines = [l for l in text.splitlines() if l.startswith("TCP: ")]
    if not lines:
        return {}
    parts = lines[-1].split()[1:]
    return {k: int(v) for k, v in zip(parts[0::2], parts[1::2])}


def linux_nstat(*names):
    """The namespace's own kernel counters (absolute, history untouched)."""
    r = subprocess.run(["nstat", "-asz"] + list(names), capture_output=True, text=True,
                       check=True)
    vals = {}
    for line in r.stdout.splitlines():
        parts = line.split()
        if len(parts) >= 2 and parts[1].isdigit():
            vals[parts[0]] = int(parts[1])
    return vals


def app_args(name, msl):
    return ["--msl", msl, "--pcap", out_path(name + ".pcap"),
            "--trace", out_path(name + ".jsonl"), "--seed", "7"]
