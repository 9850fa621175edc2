#!/usr/bin/env python3
"""Interop: echo-client never hangs (docs/contract.md §3.4, §7).

--timeout fails a connection whose echo makes no progress, --connect-timeout
one that is not established in time (each with ETIMEDOUT, one failure line,
exit 1). The Linux peers run in this process, in the
test's own network namespace; every wait is bounded.
"""
import os
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


if __name__ == "__main__":
    ti.enter_netns()
    ti.run_tests([
        test_timeout_against_a_server_that_does_not_echo,
        test_connect_timeout_when_syns_are_lost,
        test_timeouts_leave_a_working_echo_alone,
    ])
