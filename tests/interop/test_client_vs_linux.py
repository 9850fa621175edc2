#!/usr/bin/env python3
"""Interop: tuntcp's echo-client against a Linux echo server (docs/contract.md §2, §3).

The Linux server runs in this process, in the test's own network namespace,
bound to 10.7.0.1:7 (the kernel side of the TUN device the client creates).
"""
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ttinterop as ti  # noqa: E402


LinuxEchoServer = ti.LinuxEchoServer  # shared with the other interop tests


def _client_tw(name):
    changes = ti.state_changes(ti.read_trace(name))
    return [c for c in changes if c[1] == "TIME_WAIT"], changes


def test_active_close_holds_time_wait_on_stack():
    """The client closes first: TIME_WAIT is the stack's (and ends with
    timewait_expired before --wait-timewait lets it exit); Linux holds none."""
    name = "client_active_close"
    srv = LinuxEchoServer()
    try:
        cli = ti.run_client(name, "--connect", f"{ti.HOST_ADDR}:7", "--bytes", "2000",
                            "--count", "3", "--wait-timewait")
        assert cli.rc == 0, f"echo-client exit {cli.rc}: {cli.stderr}"
        tw = [r for r in ti.ss_states("time-wait") if r[0] == f"{ti.HOST_ADDR}:7"]
        assert not tw, f"Linux holds TIME_WAIT: {tw}"
    finally:
        srv.close()
    tws, changes = _client_tw(name)
    assert len(tws) == 3, f"TIME_WAIT entries: {changes}"
    expired = [c for c in changes if c == ("TIME_WAIT", "CLOSED", "timewait_expired")]
    assert len(expired) == 3, f"not all expired before exit: {changes}"
    assert not srv.errors, srv.errors
    ti.tshark_check(name)


def test_close_wait_makes_linux_hold_time_wait():
    """--close-wait: the client waits for the server's FIN, so Linux is the
    active closer and holds TIME_WAIT; the stack goes through LAST_ACK."""
    name = "client_close_wait"
    srv = LinuxEchoServer(close_after=500)
    try:
        cli = ti.run_client(name, "--connect", f"{ti.HOST_ADDR}:7", "--bytes", "500",
                            "--close-wait")
        assert cli.rc == 0, f"echo-client exit {cli.rc}: {cli.stderr}"
        time.sleep(0.2)
        tw = [r for r in ti.ss_states("time-wait") if r[0] == f"{ti.HOST_ADDR}:7"]
        assert tw, "Linux holds no TIME_WAIT"
    finally:
        srv.close()
    tws, changes = _client_tw(name)
    assert not tws, f"the stack held TIME_WAIT: {changes}"
    assert ("LAST_ACK", "CLOSED", "last_ack") in changes, changes
    ti.tshark_check(name)


def test_linger0_resets_linux_server():
    """--linger0: RST instead of FIN; the Linux server's read fails with
    ECONNRESET; no TIME_WAIT on either side."""
    name = "client_linger0"
    srv = LinuxEchoServer()
    try:
        cli = ti.run_client(name, "--connect", f"{ti.HOST_ADDR}:7", "--bytes", "300",
                            "--linger0")
        assert cli.rc == 0, f"echo-client exit {cli.rc}: {cli.stderr}"
        time.sleep(0.3)
        tw = ti.ss_states("time-wait")
        assert not tw, f"Linux holds TIME_WAIT: {tw}"
    finally:
        srv.close()
    assert any(isinstance(e, ConnectionResetError) for e in srv.errors), srv.errors
    tws, changes = _client_tw(name)
    assert not tws, changes
    segs = ti.tcp_segments(name)
    assert not [s for s in segs if s.src == ti.STACK_ADDR and s.has("F")], "client sent FIN"
    ti.tshark_check(name)


def test_connect_refused_reports_errno_text():
    """No Linux listener: the kernel answers RST; the client exits 1 with a
    line naming the errno text."""
    name = "client_refused"
    cli = ti.run_client(name, "--connect", f"{ti.HOST_ADDR}:9", "--count", "2")
    assert cli.rc == 1, f"exit {cli.rc}"
    lines = [l for l in cli.stderr.splitlines() if "Connection refused" in l]
    assert len(lines) == 2, f"stderr: {cli.stderr}"


if __name__ == "__main__":
    ti.enter_netns()
    ti.run_tests([test_active_close_holds_time_wait_on_stack,
                  test_close_wait_makes_linux_hold_time_wait,
                  test_linger0_resets_linux_server,
                  test_connect_refused_reports_errno_text])
