#!/usr/bin/env python3
"""Interop: echo-client never hangs (docs/contract.md §3.4, §7).

--timeout fails a connection whose echo makes no progress, --connect-timeout
one that is not established in time (each with ETIMEDOUT, one failure line,
exit 1), and SIGINT or SIGTERM before every echo was verified exits 1 with a
line saying how many were. The Linux peers run in this process, in the
test's own network namespace; every wait is bounded.
"""
import os
import signal
import socket
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ttinterop as ti  # noqa: E402

# How long after its deadline a timed-out client may take to exit: the
# timer's slack, the RST, and the app's start and teardown on a busy machine.
EXIT_SLACK = 0.5


class SilentServer:
    """Listens on 10.7.0.1:7 and never accepts: the kernel completes the
    handshake and buffers what arrives, and nothing is ever echoed."""

    def __init__(self, port=7):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind((ti.HOST_ADDR, port))
        self.sock.listen(8)

    def accepted_error(self):
        """Accepts the queued connection and reads it: the errno it ends with, or None."""
        self.sock.settimeout(1.0)
        c, _ = self.sock.accept()
        c.settimeout(1.0)
        try:
            while c.recv(65536):
                pass
            return None
        except OSError as e:
            return e.errno
        finally:
            c.close()

    def close(self):
        self.sock.close()


def _timed_client(name, *extra, timeout=10.0):
    t0 = time.monotonic()
    cli = ti.run_client(name, "--connect", f"{ti.HOST_ADDR}:7", *extra, timeout=timeout)
    return cli, time.monotonic() - t0


def test_timeout_against_a_server_that_does_not_echo():
    """--timeout 500ms: the 64 bytes are sent, nothing comes back; 500 ms
    later the connection fails with ETIMEDOUT and is reset, exit 1."""
    srv = SilentServer()
    try:
        cli, took = _timed_client("client_timeout_silent", "--timeout", "500ms")
        err = srv.accepted_error()
    finally:
        srv.close()
    assert cli.rc == 1, f"exit {cli.rc}: {cli.stderr}"
    line = "echo-client: connection 1: timeout: Connection timed out"
    assert line in cli.stderr, cli.stderr
    assert "64 of 64 bytes sent, 0 echoed" in cli.stderr, cli.stderr
    assert 0.5 <= took <= 0.5 + EXIT_SLACK + 0.5, f"exited after {took:.3f} s"
    assert err == 104, f"Linux's socket was not reset (errno {err})"  # ECONNRESET
    print(f"     --timeout 500ms: exit 1 after {took:.3f} s")


def test_connect_timeout_when_syns_are_lost():
    """--connect-timeout 300ms with every SYN dropped: each connection fails
    after 300 ms (not after Linux's 127 s of SYN retries), exit 1."""
    cli, took = _timed_client("client_connect_timeout", "--connect-timeout", "300ms",
                              "--count", "2", "--fault", "drop:out:syn")
    assert cli.rc == 1, f"exit {cli.rc}: {cli.stderr}"
    for n in (1, 2):
        line = (f"echo-client: connection {n}: connect: Connection timed out "
                "(not established within 300 ms)")
        assert line in cli.stderr, cli.stderr
    assert 0.6 <= took <= 0.6 + EXIT_SLACK, f"exited after {took:.3f} s"
    print(f"     --connect-timeout 300ms, 2 connections: exit 1 after {took:.3f} s")


def test_timeouts_leave_a_working_echo_alone():
    """Both timeouts shorter than the whole run, never than a pause: 3 echoes
    of 200 kB each go through, exit 0."""
    srv = ti.LinuxEchoServer()
    try:
        cli, _ = _timed_client("client_timeout_ok", "--timeout", "300ms", "--connect-timeout",
                               "300ms", "--count", "3", "--bytes", "200000")
    finally:
        srv.close()
    assert cli.rc == 0, f"exit {cli.rc}: {cli.stderr}"
    assert cli.stderr == "", cli.stderr


def _signal_mid_run(name, signum, server):
    """Starts a client with no timeout, signals it once it is connected."""
    app = ti.App(ti.CLIENT, ti.app_args(name, "500ms") + [
        "--connect", f"{ti.HOST_ADDR}:7", "--count", "2"], "echo-client")
    deadline = time.monotonic() + 5
    while not any(r[0] == f"{ti.HOST_ADDR}:7" for r in ti.ss_states("established")):
        assert time.monotonic() < deadline, "echo-client never connected"
        time.sleep(0.02)
    t0 = time.monotonic()
    app.proc.send_signal(signum)
    app.wait(5)
    return app, time.monotonic() - t0


def test_sigint_before_every_echo_exits_1():
    """SIGINT while the first echo is awaited: exit 1, 0 of 2 verified."""
    srv = SilentServer()
    try:
        cli, took = _signal_mid_run("client_sigint", signal.SIGINT, srv)
    finally:
        srv.close()
    assert cli.rc == 1, f"exit {cli.rc}: {cli.stderr}"
    assert "echo-client: SIGINT before every echo was verified: 0 of 2 verified" in cli.stderr, \
        cli.stderr
    print(f"     SIGINT: exit 1 after {took:.3f} s")


def test_sigterm_before_every_echo_exits_1():
    """SIGTERM likewise."""
    srv = SilentServer()
    try:
        cli, _ = _signal_mid_run("client_sigterm", signal.SIGTERM, srv)
    finally:
        srv.close()
    assert cli.rc == 1, f"exit {cli.rc}: {cli.stderr}"
    assert "echo-client: SIGTERM before every echo was verified: 0 of 2 verified" in cli.stderr, \
        cli.stderr


def test_signal_after_every_echo_exits_0():
    """Every echo verified, then SIGTERM while --wait-timewait waits out a
    10 s TIME_WAIT: nothing was lost, exit 0 as before."""
    srv = ti.LinuxEchoServer()
    try:
        app = ti.App(ti.CLIENT, ti.app_args("client_sigterm_done", "5s") + [
            "--connect", f"{ti.HOST_ADDR}:7", "--wait-timewait"], "echo-client")
        deadline = time.monotonic() + 5
        while srv.conns < 1 or any(r[0] == f"{ti.HOST_ADDR}:7"
                                   for r in ti.ss_states("established")):
            assert time.monotonic() < deadline, "the echo never finished"
            time.sleep(0.02)
        time.sleep(0.1)
        app.proc.send_signal(signal.SIGTERM)
        app.wait(5)
    finally:
        srv.close()
    assert app.rc == 0, f"exit {app.rc}: {app.stderr}"
    assert app.stderr == "", app.stderr


if __name__ == "__main__":
    ti.enter_netns()
    ti.run_tests([
        test_timeout_against_a_server_that_does_not_echo,
        test_connect_timeout_when_syns_are_lost,
        test_timeouts_leave_a_working_echo_alone,
        test_sigint_before_every_echo_exits_1,
        test_sigterm_before_every_echo_exits_1,
        test_signal_after_every_echo_exits_0,
    ])
