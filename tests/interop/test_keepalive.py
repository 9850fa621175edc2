#!/usr/bin/env python3
"""Interop: keep-alive against Linux (docs/contract.md §2.6 item 11).

- tuntcp probes an idle connection (--keepalive, 1 s idle, 1 s interval)
  and Linux answers every probe: the connection outlives its probes.
- With Linux's answers lost (a --fault rule drops the peer's pure ACKs),
  tuntcp resets after --tcp-keepalive-probes probes and reports ETIMEDOUT;
  Linux's socket sees the RST.
- Linux's own keep-alive probes (SO_KEEPALIVE, TCP_KEEPIDLE 1 s) are
  answered by tuntcp, so Linux keeps the connection.
"""
import os
import socket
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ttinterop as ti  # noqa: E402

ti.enter_netns()

KA = ["--keepalive", "--tcp-keepalive-time", "1s", "--tcp-keepalive-intvl", "1s",
      "--tcp-keepalive-probes", "2"]


def probes_and_answers(name):
    segs = ti.tcp_segments(name)
    ours = [s for s in segs if s.src == ti.STACK_ADDR]
    # A probe: no data, no flags but ACK, one below what Linux acknowledged last.
    last_ack = {}
    probes = []
    for s in segs:
        if s.src == ti.HOST_ADDR and s.has("A"):
            last_ack[s.dport] = s.ack
        elif s in ours and s.len == 0 and s.flags == 0x10 and \
                s.seq == (last_ack.get(s.sport, -2) - 1) % 2**32:
            probes.append(s)
    return segs, probes


def test_probes_answered_keep_the_connection():
    name = "keepalive_answered"
    srv = ti.LinuxEchoServer()
    try:
        cli = ti.run_client(name, *KA, "--hold", "3500ms", "-v", timeout=20)
    finally:
        srv.close()
    assert cli.rc == 0, f"echo-client exit {cli.rc}: {cli.stderr}"
    segs, probes = probes_and_answers(name)
    assert len(probes) >= 2, f"probes: {probes}"
    gaps = [b.ts - a.ts for a, b in zip(probes, probes[1:])]
    assert all(0.99 <= g < 1.0 + 2 * ti.TIMER_SLACK + 0.01 for g in gaps), gaps
    for p in probes:  # each answered by Linux with an ACK of everything
        answer = [s for s in segs if s.src == ti.HOST_ADDR and s.ts >= p.ts and s.ack == p.seq + 1]
        assert answer, f"no answer to {p}"
    counters, _ = ti.last_stats(cli.stderr)
    assert counters["TcpExtTCPKeepAlive"] == len(probes), (counters, probes)
    print(f"  {len(probes)} probes, {gaps} s apart, each answered")


def test_unanswered_probes_reset_the_connection():
    name = "keepalive_unanswered"
    srv = ti.LinuxEchoServer(conn_timeout=30)
    try:
        cli = ti.run_client(name, *KA, "--hold", "10s", "--fault", "drop:in:ack:state=ESTABLISHED",
                            "-v", timeout=30)
        time.sleep(0.2)
    finally:
        srv.close()
    assert cli.rc == 1, f"echo-client exit {cli.rc}: {cli.stderr}"
    assert "Connection timed out" in cli.stderr, cli.stderr
    events = ti.read_trace(name)
    rst = [e for e in events if e.get("ev") == "rst_out"]
    closed = [e for e in events if e.get("ev") == "state" and e["to"] == "CLOSED"]
    assert [e["why"] for e in rst] == ["keepalive"], events
    assert closed and closed[-1]["why"] == "timeout", events
    segs, probes = probes_and_answers(name)
    assert len(probes) == 2, probes
    resets = [s for s in segs if s.src == ti.STACK_ADDR and s.has("R")]
    assert len(resets) == 1 and 0.99 <= resets[0].ts - probes[-1].ts < 1.1, (probes, resets)
    assert any(isinstance(e, ConnectionResetError) for e in srv.errors), srv.errors
    counters, _ = ti.last_stats(cli.stderr)
    assert counters["TcpExtTCPAbortOnTimeout"] == 1, counters


def test_linux_probes_are_answered():
    name = "keepalive_linux_probes"
    srv = ti.start_server(name)
    try:
        s = socket.create_connection((ti.STACK_ADDR, 7), timeout=5)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPIDLE, 1)
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPINTVL, 1)
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPCNT, 2)
        s.sendall(b"k" * 16)
        assert s.recv(16) == b"k" * 16
        time.sleep(4.5)  # four of Linux's probes' worth of idle time
        s.sendall(b"still here")
        assert s.recv(64) == b"still here", "the connection died"
        s.close()
    finally:
        assert srv.stop() == 0, f"echo-server exit {srv.rc}: {srv.stderr}"
    segs = ti.tcp_segments(name)
    linux_probes = [x for x in segs if x.src == ti.HOST_ADDR and x.len == 0 and x.flags == 0x10
                    and any(y.src == ti.STACK_ADDR and y.ack == (x.seq + 1) % 2**32
                            for y in segs)]
    assert len(linux_probes) >= 3, segs


ti.run_tests([test_probes_answered_keep_the_connection,
              test_unanswered_probes_reset_the_connection, test_linux_probes_are_answered])
