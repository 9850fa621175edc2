#!/usr/bin/env python3
"""Interop: bulk echo under loss, duplication and reordering (issue 5).

Linux pushes TT_BULK_MIB MiB (default 20) each way through tuntcp's
echo-server, over TT_BULK_CONNS connections at once (default 2), while the
stack's fault injection, seeded (TT_BULK_SEED, default 7: the same draws
for the same sequence of packets, which timing still varies), loses 1% of
the packets in each direction, duplicates 1% of those coming in, and holds
2% of its outgoing data segments back by 3 ms, so that they arrive after
later ones (reordering):

  --fault drop:in:any:p=0.01 --fault drop:out:any:p=0.01
  --fault dup:in:any:p=0.01  --fault delay=3ms:out:data:p=0.02

Each connection sends a pseudo-random stream and reads the echo in another
thread; the SHA-256 of what came back must equal the SHA-256 of what was
sent, and the byte counts too. Also checked: every kind of fault fired
(TtFaultDropped, TtFaultDuplicated, TtFaultDelayed), both sides
retransmitted (the stack's TcpRetransSegs, Linux's nstat), no connection
was reset (both sides' TcpEstabResets, the trace: each closed by LAST_ACK),
and echo-server released every connection (--max-conns) and exited 0.
TT_BULK_CC (cubic or reno; default: the stack's, cubic) sets the stack's
--tcp-congestion-control, to compare the two. Bounded by TT_BULK_TIMEOUT seconds (default 120; a run takes about 5 s in
Release, 7 s with the sanitizers). A bigger run: TT_BULK_MIB=200
TT_BULK_TIMEOUT=600 (about 70 s).
"""
import hashlib
import os
import random
import socket
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ttinterop as ti  # noqa: E402

MIB = int(os.environ.get("TT_BULK_MIB", "20"))
CONNS = int(os.environ.get("TT_BULK_CONNS", "2"))
SEED = int(os.environ.get("TT_BULK_SEED", "7"))
TIMEOUT = float(os.environ.get("TT_BULK_TIMEOUT", "120"))
CC = os.environ.get("TT_BULK_CC", "")
CHUNK = 64 * 1024
FAULTS = ["drop:in:any:p=0.01", "drop:out:any:p=0.01", "dup:in:any:p=0.01",
          "delay=3ms:out:data:p=0.02"]


class Transfer:
    """One connection: a sender thread and a receiver thread, each hashing."""

    def __init__(self, idx, nbytes, deadline):
        self.idx, self.nbytes, self.deadline = idx, nbytes, deadline
        self.sent_hash = hashlib.sha256()
        self.recv_hash = hashlib.sha256()
        self.sent = self.received = 0
        self.errors = []
        self.sock = socket.create_connection((ti.STACK_ADDR, 7), timeout=30)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
        self.threads = [threading.Thread(target=self._send, daemon=True),
                        threading.Thread(target=self._recv, daemon=True)]

    def _send(self):
        rng = random.Random(SEED * 1000 + self.idx)
        try:
            while self.sent < self.nbytes and time.monotonic() < self.deadline:
                chunk = rng.randbytes(min(CHUNK, self.nbytes - self.sent))
                self.sent_hash.update(chunk)
                self.sock.sendall(chunk)
                self.sent += len(chunk)
            self.sock.shutdown(socket.SHUT_WR)  # then echo-server closes at its EOF
        except OSError as e:
            self.errors.append(f"send after {self.sent} bytes: {e}")

    def _recv(self):
        try:
            while time.monotonic() < self.deadline:
                data = self.sock.recv(1 << 20)
                if not data:
                    return
                self.recv_hash.update(data)
                self.received += len(data)
            self.errors.append(f"deadline: {self.received} of {self.nbytes} bytes back")
        except OSError as e:
            self.errors.append(f"recv after {self.received} bytes: {e}")

    def start(self):
        for t in self.threads:
            t.start()

    def join(self):
        for t in self.threads:
            t.join(max(0.1, self.deadline - time.monotonic()))
        alive = any(t.is_alive() for t in self.threads)
        self.sock.close()
        return not alive


def test_bulk_echo_under_loss_dup_reorder():
    name = "bulk_lossy"
    per_conn = (MIB << 20) // CONNS
    linux0 = ti.linux_nstat("TcpRetransSegs", "TcpEstabResets")
    args = ["--seed", str(SEED), "--max-conns", str(CONNS), "-v", "-q",
            "--trace", ti.out_path(name + ".jsonl")]
    for f in FAULTS:
        args += ["--fault", f]
    if CC:
        args += ["--tcp-congestion-control", CC]
    srv = ti.LoggedApp(ti.SERVER, args, name)
    srv.wait_line("listening on")
    t0 = time.monotonic()
    deadline = t0 + TIMEOUT
    transfers = []
    try:
        transfers = [Transfer(i, per_conn, deadline) for i in range(CONNS)]
        for t in transfers:
            t.start()
        finished = [t.join() for t in transfers]
        elapsed = time.monotonic() - t0
        rc = srv.wait(max(5.0, deadline + 10 - time.monotonic()))
    finally:
        if srv.proc.poll() is None:
            srv.stop()
    stderr = srv.stderr
    for t, done in zip(transfers, finished):
        assert done, f"conn {t.idx}: not finished within {TIMEOUT:.0f} s: sent {t.sent}, " \
                     f"received {t.received} of {per_conn}"
        assert not t.errors, f"conn {t.idx}: {t.errors}"
        assert t.sent == per_conn, f"conn {t.idx}: sent {t.sent} of {per_conn}"
        assert t.received == per_conn, f"conn {t.idx}: {t.received} bytes back of {per_conn}"
        assert t.recv_hash.hexdigest() == t.sent_hash.hexdigest(), \
            f"conn {t.idx}: SHA-256 of the echo differs from what was sent"
    assert rc == 0, f"echo-server exit {rc}: {stderr[-3000:]}"
    counters, rows = ti.last_stats(stderr)
    assert counters.get("TtFaultDropped", 0) > 0, counters
    assert counters.get("TtFaultDuplicated", 0) > 0, counters
    assert counters.get("TtFaultDelayed", 0) > 0, counters
    assert counters.get("TcpRetransSegs", 0) > 0, counters
    # No connection was reset. (A RST to a duplicate of Linux's last ACK,
    # arriving after the connection closed, is right: TcpOutRsts may count it.)
    assert counters.get("TcpEstabResets", 0) == 0, counters
    resets = [e for e in ti.read_trace(name) if e.get("ev") in ("rst_in", "rst_out")]
    assert not resets, resets[:5]
    closes = [c for c in ti.state_changes(ti.read_trace(name)) if c[1] == "CLOSED"]
    assert closes == [("LAST_ACK", "CLOSED", "last_ack")] * CONNS, closes
    assert not rows, f"connections left at exit: {rows[:5]}"
    linux1 = ti.linux_nstat("TcpRetransSegs", "TcpEstabResets")

    def delta(k):
        return linux1.get(k, 0) - linux0.get(k, 0)
    assert delta("TcpRetransSegs") > 0, (linux0, linux1)
    assert delta("TcpEstabResets") == 0, (linux0, linux1)
    total = per_conn * CONNS
    print(f"bulk_lossy ({CC or 'default'}): {total / 2**20:.0f} MiB each way over {CONNS} connections in "
          f"{elapsed:.2f} s ({total / elapsed / 2**20:.1f} MiB/s each way), SHA-256 verified; "
          f"faults: dropped {counters.get('TtFaultDropped')}, duplicated "
          f"{counters.get('TtFaultDuplicated')}, delayed {counters.get('TtFaultDelayed')} "
          f"(delay-queue drops {counters.get('TtFaultDelayDrops', 0)}); retransmissions: "
          f"stack {counters.get('TcpRetransSegs')}, Linux {delta('TcpRetransSegs')}",
          flush=True)


if __name__ == "__main__":
    ti.enter_netns()
    ti.run_tests([test_bulk_echo_under_loss_dup_reorder])
