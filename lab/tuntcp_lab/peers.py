"""Linux peers: kernel sockets in the experiment's namespace, on 10.7.0.1.

Listener runs a handler per accepted connection, each in a thread; the
helpers read what the Linux socket itself reports (SO_ERROR, its TCP state
from TCP_INFO) and what `ss` lists.
"""
import errno
import os
import re
import socket
import struct
import subprocess
import threading
import time

from .netns import HOST_ADDR, STACK_ADDR

# tcp_states.h: the first byte of struct tcp_info.
TCP_STATES = {1: "ESTABLISHED", 2: "SYN_SENT", 3: "SYN_RECV", 4: "FIN_WAIT1",
              5: "FIN_WAIT2", 6: "TIME_WAIT", 7: "CLOSE", 8: "CLOSE_WAIT",
              9: "LAST_ACK", 10: "LISTEN", 11: "CLOSING"}


class Listener:
    """Accepts on HOST_ADDR:port; handler(sock, peer_addr) runs in a thread per
    connection and the socket is closed after it unless the handler keeps it
    (returns True). errors collects what handlers raised."""

    def __init__(self, handler, port=7, backlog=128):
        self.handler = handler
        self.errors = []
        self.accepted = []
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind((HOST_ADDR, port))
        self.sock.listen(backlog)
        self.sock.settimeout(0.1)
        self._stop = False
        self._threads = []
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _serve(self, c, addr):
        keep = False
        try:
            keep = self.handler(c, addr)
        except OSError as e:
            self.errors.append(e)
        finally:
            if not keep:
                c.close()

    def _run(self):
        while not self._stop:
            try:
                c, addr = self.sock.accept()
            except socket.timeout:
                continue
            except OSError:
                break
            self.accepted.append(addr)
            t = threading.Thread(target=self._serve, args=(c, addr), daemon=True)
            self._threads.append(t)
            t.start()

    def close(self):
        self._stop = True
        self._thread.join(2)
        self.sock.close()
        for t in self._threads:
            t.join(2)


def echo_handler(close_after=None, delay=0.0, timeout=10.0):
    """Echoes until the client's EOF (Linux closes second), or until
    close_after bytes were echoed (Linux closes first). delay: seconds to wait
    before the first echo."""
    def handle(c, addr):
        c.settimeout(timeout)
        done = 0
        while close_after is None or done < close_after:
            data = c.recv(65536)
            if not data:
                break
            if done == 0 and delay:
                time.sleep(delay)
            c.sendall(data)
            done += len(data)
    handle.__doc__ = ("echo until the client's EOF" if close_after is None
                      else f"echo, close after {close_after} bytes") + \
        (f", first echo after {delay:g} s" if delay else "")
    return handle


def connect(port=7, addr=STACK_ADDR, timeout=5.0, bind_port=None):
    """A Linux client socket connected to the stack."""
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    if bind_port is not None:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind((HOST_ADDR, bind_port))
    s.settimeout(timeout)
    s.connect((addr, port))
    return s


def so_error(sock):
    """(errno number, its name) pending on the socket; (0, "0") for none."""
    e = sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
    return e, (errno.errorcode.get(e, str(e)) if e else "0")


def tcp_state(sock):
    """The Linux socket's TCP state, by name (TCP_INFO)."""
    info = sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, 8)
    return TCP_STATES.get(info[0], str(info[0]))


def set_linger(sock, on, seconds):
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", on, seconds))


def errname(exc):
    """ECONNRESET for a ConnectionResetError, and so on."""
    return errno.errorcode.get(getattr(exc, "errno", None) or 0, type(exc).__name__)


_TIMER = re.compile(r"timer:\((\w+),(?:(\d+)min)?(?:([\d.]+)(ms|sec|s))?")


def ss(state, ctx=None):
    """Linux's sockets in the given state (`ss -tanoH state STATE`): dicts with
    local, peer and timer (name, seconds left) when ss shows one."""
    cmd = ["ss", "-tanoH", "state", state]
    if ctx is not None:
        ctx.record(" ".join(cmd), quiet=True)
    r = subprocess.run(cmd, capture_output=True, text=True, check=True)
    rows = []
    for line in r.stdout.splitlines():
        parts = line.split()
        addrs = [p for p in parts if re.match(r"^[\d.]+:\d+$", p)]
        if len(addrs) < 2:
            continue
        row = {"local": addrs[0], "peer": addrs[1], "timer": None, "left_s": None,
               "line": line.strip()}
        m = _TIMER.search(line)
        if m:
            mins = int(m.group(2) or 0)
            val = float(m.group(3) or 0)
            unit = m.group(4)
            row["timer"] = m.group(1)
            row["left_s"] = mins * 60 + (val / 1000 if unit == "ms" else val)
        rows.append(row)
    return rows


def proc_tcp_timers():
    """Linux's TCP sockets with their pending timer from /proc/net/tcp, finer
    than ss's whole seconds: dicts with local, peer ("IP:PORT"), state (the
    hex st field, "06" = TIME_WAIT) and left_s (tm->when in clock ticks)."""
    hz = os.sysconf("SC_CLK_TCK")
    rows = []
    with open("/proc/net/tcp") as f:
        next(f)
        for line in f:
            parts = line.split()
            tr, when = parts[5].split(":")
            rows.append({"local": _hexaddr(parts[1]), "peer": _hexaddr(parts[2]),
                         "state": parts[3], "timer": int(tr, 16),
                         "left_s": int(when, 16) / hz, "line": line.strip()})
    return rows


def _hexaddr(text):
    ip, port = text.split(":")
    return f"{socket.inet_ntoa(struct.pack('<I', int(ip, 16)))}:{int(port, 16)}"


def read_to_eof(sock):
    """Reads until the peer's FIN; returns the bytes."""
    got = b""
    while True:
        chunk = sock.recv(65536)
        if not chunk:
            return got
        got += chunk


def wait_state(sock, states, timeout):
    """Polls the socket's TCP state until it is one of states; returns the
    last state seen."""
    deadline = time.monotonic() + timeout
    st = tcp_state(sock)
    while st not in states and time.monotonic() < deadline:
        time.sleep(0.01)
        st = tcp_state(sock)
    return st
