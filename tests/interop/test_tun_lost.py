#!/usr/bin/env python3
"""Interop: the TUN device disappears under a running app (issue 11, item 11).

`ip link del tt0` while echo-server serves a Linux client, or while
echo-client is in the middle of a long transfer. On Linux the app's TUN file
descriptor then reports POLLERR, and read() and write() fail with EBADFD
("File descriptor in bad state"). The app must not go on running deaf and
silent: it prints one line naming the device and the error, flushes its
capture and trace, and exits with status 1, within a bounded time.

Checked: the exit status and how soon it came, the stderr line, the pcap
(read by tshark: every frame whole, checksums right, the traffic before the
loss present) and the trace (every line a complete JSON object). And the
other side: a link set down and up again (write() fails with EIO meanwhile)
loses datagrams but does not end the run.
"""
import errno
import json
import os
import socket
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ttinterop as ti  # noqa: E402

EXIT_WITHIN = 3.0  # seconds from the deletion to the exit; it should be at once
# EBADFD ("File descriptor in bad state") from the read that follows POLLERR;
# while the kernel is still unregistering the device that read may find
# nothing yet, and the line names the poll's own error, EBADF ("Bad file
# descriptor"): a race of the kernel's, seen once in fifteen runs. Either
# is the device lost.
ERRNO_TEXTS = (os.strerror(errno.EBADFD), os.strerror(errno.EBADF))


def _delete_device():
    subprocess.run(["ip", "link", "del", "tt0"], check=True)
    return time.monotonic()


def _check_exit(app, deleted, prog):
    """Exit status 1 soon after the deletion, and the one line that says why."""
    rc = app.wait(EXIT_WITHIN + 5.0)
    took = time.monotonic() - deleted
    stderr = app.stderr
    assert rc == 1, f"{prog} exit {rc} (want 1); stderr: {stderr.strip()}"
    assert took < EXIT_WITHIN, f"{prog} took {took:.2f} s to exit"
    lines = [l for l in stderr.splitlines() if "tt0" in l]
    assert len(lines) == 1, f"want one line about tt0: {stderr.strip()}"
    line = lines[0]
    assert line.startswith(f"{prog}: TUN tt0: ") and any(t in line for t in ERRNO_TEXTS), line
    print(f"  {prog}: exit {rc} {took * 1000:.1f} ms after the deletion: {line}", flush=True)


def _check_files(name):
    """The capture is whole (tshark) and holds the traffic; every trace line is
    complete JSON."""
    ti.tshark_check(name)
    segs = ti.tcp_segments(name)
    assert any(s.len > 0 and s.src == ti.STACK_ADDR for s in segs), "no data of ours captured"
    path = ti.out_path(name + ".jsonl")
    with open(path) as f:
        text = f.read()
    assert text.endswith("\n"), f"the trace ends mid-line: {text[-200:]!r}"
    events = [json.loads(line) for line in text.splitlines()]
    assert any(e.get("ev") == "state" and e.get("to") == "ESTABLISHED" for e in events), events


def test_server_exits_when_device_deleted():
    """echo-server with a connection open: the device goes, the server ends."""
    name = "tun_lost_server"
    srv = ti.start_server(name)
    s = None
    try:
        s = socket.create_connection((ti.STACK_ADDR, 7), timeout=5)
        s.sendall(b"hello")
        assert s.recv(100) == b"hello"
        deleted = _delete_device()
        _check_exit(srv, deleted, "echo-server")
    finally:
        if s is not None:
            s.close()
        if srv.proc.poll() is None:
            srv.stop()
    _check_files(name)


def _wait_established(name, timeout=10.0):
    deadline = time.monotonic() + timeout
    path = ti.out_path(name + ".jsonl")
    while time.monotonic() < deadline:
        if os.path.exists(path):
            with open(path) as f:
                if '"to":"ESTABLISHED"' in f.read():
                    return
        time.sleep(0.01)
    raise AssertionError("echo-client never reached ESTABLISHED")


def test_client_exits_when_device_deleted():
    """echo-client in the middle of a long transfer: the device goes, the client ends."""
    name = "tun_lost_client"
    srv = ti.LinuxEchoServer()
    cli = ti.App(ti.CLIENT, ti.app_args(name, "500ms") + [
        "--connect", f"{ti.HOST_ADDR}:7", "--bytes", str(1 << 40)], "echo-client")
    try:
        _wait_established(name)
        time.sleep(0.05)  # some data on the wire
        deleted = _delete_device()
        _check_exit(cli, deleted, "echo-client")
    finally:
        if cli.proc.poll() is None:
            cli.stop()
        srv.close()
    _check_files(name)


def test_server_survives_link_down():
    """A link set down is not a lost device: write() fails with EIO while it
    is down, the datagram is lost as on a wire, and once the link is up
    again the retransmission gets through; the server runs on and exits 0
    on SIGTERM. (Its echo is held 500 ms by a fault so that it meets the
    link down.)"""
    name = "tun_link_down"
    srv = ti.start_server(name, "-v", "--fault", "delay=500ms:out:data:nth=1")
    s = None
    try:
        s = socket.create_connection((ti.STACK_ADDR, 7), timeout=5)
        s.sendall(b"hello")
        time.sleep(0.1)
        subprocess.run(["ip", "link", "set", "tt0", "down"], check=True)
        time.sleep(0.8)  # the held echo is written while the link is down
        subprocess.run(["ip", "link", "set", "tt0", "up"], check=True)
        assert s.recv(100) == b"hello", "no echo after the link came back"
        assert srv.proc.poll() is None, f"echo-server ended: {srv.proc.poll()}"
    finally:
        if s is not None:
            s.close()
        rc = srv.stop()
    assert rc == 0, f"echo-server exit {rc}: {srv.stderr.strip()}"
    assert "TUN tt0" not in srv.stderr, srv.stderr
    counters, _ = ti.last_stats(srv.stderr)
    assert counters["TtTunWriteErrors"] >= 1, counters
    print(f"  TtTunWriteErrors {counters['TtTunWriteErrors']}, "
          f"TcpRetransSegs {counters['TcpRetransSegs']}", flush=True)


if __name__ == "__main__":
    ti.enter_netns()
    ti.run_tests([test_server_exits_when_device_deleted, test_client_exits_when_device_deleted,
                  test_server_survives_link_down])
