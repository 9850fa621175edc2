#!/usr/bin/env python3
"""Interop: several endpoints on one stack (docs/contract.md §2.7 item 2, §3.3, §3.4).

TIME_WAIT pins the 4-tuple, not the local port: an echo-client with a
single ephemeral port connects to 10.7.0.1:7, closes first (TIME_WAIT of
2 s on 10.7.0.2:40000>10.7.0.1:7), then to 10.7.0.1:8 from the same port
while that entry is still there, and both succeed; a second connection to
:7 on that port finds it taken. echo-server listens on two ports at once,
and --hold keeps the Linux client in FIN_WAIT_2. Every peer is a Linux
socket in the test's own network namespace; every wait is bounded.
"""
import json
import os
import socket
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ttinterop as ti  # noqa: E402

ONE_PORT = "40000-40000"


def _client(name, *extra, timeout=20.0):
    path = ti.out_path(name + ".json")
    cli = ti.run_client(name, "--ip-local-port-range", ONE_PORT, "--json", path, *extra,
                        msl="1s", timeout=timeout)
    with open(path) as f:
        return cli, json.load(f)


def test_one_port_towards_two_servers():
    """--connect :7 --connect :8 --count 2 from one port: the second SYN
    leaves from port 40000 while 40000>:7 is in TIME_WAIT; both verified.
    --rate 10 starts the second 100 ms after the first: without it, it could
    start as soon as the first handle is closed, in FIN_WAIT_1 or 2."""
    s7, s8 = ti.LinuxEchoServer(port=7), ti.LinuxEchoServer(port=8)
    try:
        cli, s = _client("endpoints_one_port", "--connect", f"{ti.HOST_ADDR}:7", "--connect",
                         f"{ti.HOST_ADDR}:8", "--count", "2", "--rate", "10")
    finally:
        s7.close()
        s8.close()
    assert cli.rc == 0, f"exit {cli.rc}: {cli.stderr}"
    assert s["verified"] == 2 and s["failed"] == 0, s
    syns = [x for x in ti.tcp_segments("endpoints_one_port")
            if x.has("S") and not x.has("A")]
    assert [(x.sport, x.dport) for x in syns] == [(40000, 7), (40000, 8)], syns
    # The first 4-tuple entered TIME_WAIT before the second SYN and had not left it.
    first = f"{ti.STACK_ADDR}:40000>{ti.HOST_ADDR}:7"
    second = f"{ti.STACK_ADDR}:40000>{ti.HOST_ADDR}:8"
    ev = [e for e in ti.read_trace("endpoints_one_port") if e.get("ev") == "state"]
    tw_at = next(e["t"] for e in ev if e["conn"] == first and e["to"] == "TIME_WAIT")
    syn_at = next(e["t"] for e in ev if e["conn"] == second and e["to"] == "SYN_SENT")
    assert tw_at < syn_at, (tw_at, syn_at)
    assert not any(e["conn"] == first and e["from"] == "TIME_WAIT" for e in ev), ev
    assert s["timewait_peak"]["entries"] >= 1, s
    print(f"     port 40000: >:7 in TIME_WAIT since {tw_at:.6f} s, >:8 SYN_SENT at "
          f"{syn_at:.6f} s")


def test_the_same_4tuple_stays_pinned():
    """The control: --count 2 to :7 alone from one port. The second attempt
    waits for the TIME_WAIT entry, and --connect-timeout 300ms (< 2*MSL)
    fails it with EADDRNOTAVAIL."""
    s7 = ti.LinuxEchoServer(port=7)
    try:
        cli, s = _client("endpoints_pinned", "--connect", f"{ti.HOST_ADDR}:7", "--count", "2",
                         "--connect-timeout", "300ms")
    finally:
        s7.close()
    assert cli.rc == 1, f"exit {cli.rc}: {cli.stderr}"
    assert s["verified"] == 1 and list(s["failures"]) == ["EADDRNOTAVAIL"], s
    assert ("connection 2: connect: Cannot assign requested address (no port free within "
            "300 ms)") in cli.stderr, cli.stderr


def test_server_listens_on_two_ports():
    """echo-server --port 7 --port 8: two listening lines; Linux clients are
    echoed on both."""
    srv = ti.start_server("endpoints_server", "--port", "7", "--port", "8")
    try:
        # Both lines are flushed together once every port listens: the second
        # is already written (probably already in the reader's buffer).
        second = srv.proc.stdout.readline().rstrip("\n")
        for port in (7, 8):
            got, err, _ = ti.linux_echo(b"port %d" % port, port=port)
            assert err is None and got == b"port %d" % port, (port, got, err)
    finally:
        srv.stop()
    assert srv.stdout_lines[0] == f"listening on {ti.STACK_ADDR}:7", srv.stdout_lines
    assert second == f"listening on {ti.STACK_ADDR}:8", second


def test_server_hold_keeps_the_peer_in_fin_wait_2():
    """echo-server --hold 500ms: the Linux client shuts down first and sits
    in FIN_WAIT_2 until the server's FIN comes, 500 ms later."""
    srv = ti.start_server("endpoints_hold", "--hold", "500ms")
    try:
        c = socket.create_connection((ti.STACK_ADDR, 7), timeout=5)
        c.sendall(b"hello")
        assert c.recv(100) == b"hello"
        c.shutdown(socket.SHUT_WR)
        t0 = time.monotonic()
        time.sleep(0.2)
        fw2 = ti.ss_states("fin-wait-2")
        assert c.recv(100) == b""  # the server's FIN
        held = time.monotonic() - t0
        c.close()
    finally:
        srv.stop()
    assert any(r[1] == f"{ti.STACK_ADDR}:7" for r in fw2), fw2
    assert 0.5 - ti.TIMER_SLACK <= held <= 0.5 + 0.5, f"FIN after {held:.3f} s"


if __name__ == "__main__":
    ti.enter_netns()
    ti.run_tests([
        test_one_port_towards_two_servers,
        test_the_same_4tuple_stays_pinned,
        test_server_listens_on_two_ports,
        test_server_hold_keeps_the_peer_in_fin_wait_2,
    ])
