#!/usr/bin/env python3
"""Interop: crafted segments (--inject, docs/contract.md §3.7) and the trace
events of what has no connection (§4.2: rst_noconn, connect_fail).

- RFC 1337's TIME_WAIT assassination on demand: a RST at the entry's
  RCV.NXT 200 ms after it began (`--inject time_wait+200ms:rst`) ends it with
  --tcp-rfc1337 0 and is ignored with 1; one a byte off (seq=rcv+1) gets a
  challenge ACK (docs/contract.md §2.2 item 8), which Linux's closed side
  answers with the exact RST that ends TIME_WAIT.
- A spec with nothing to inject into is skipped, counted and traced.
- A Linux SYN to a port nobody listens on is refused: `rst_noconn`.
- echo-client's connects that fail leave `connect_fail` lines: ECONNREFUSED
  from the handshake, EADDRNOTAVAIL from tt_connect() when the one port of
  --ip-local-port-range is taken.
"""
import os
import socket
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ttinterop as ti  # noqa: E402


def server_closes_first(name, *flags, wait=1.5):
    """echo-server (--msl 500ms: TIME_WAIT 1 s) closes a Linux client's
    connection after 16 bytes, then idles `wait` seconds. Returns the trace and
    the server's stderr (-v statistics)."""
    srv = ti.start_server(name, "-v", "--close-after", "16", *flags)
    try:
        got, err, local = ti.linux_echo(b"q" * 16, close_first=False)
        assert err is None and got == b"q" * 16, f"echo: {got!r} {err}"
        time.sleep(wait)
    finally:
        assert srv.stop() == 0, f"echo-server exit {srv.rc}: {srv.stderr}"
    return ti.read_trace(name), srv.stderr, local


def tw_events(events):
    start = [e for e in events if e.get("ev") == "state" and e["to"] == "TIME_WAIT"]
    end = [e for e in events if e.get("ev") == "state" and e["from"] == "TIME_WAIT"]
    inj = [e for e in events if e.get("ev") == "fault" and e.get("action") == "inject"]
    assert len(start) == 1 and len(end) == 1 and len(inj) == 1, (start, end, inj)
    return start[0], end[0], inj[0]


def test_rst_at_rcv_nxt_assassinates_time_wait():
    events, err, _ = server_closes_first("inject_rfc1337_0", "--inject", "time_wait+200ms:rst",
                                         "--tcp-rfc1337", "0")
    start, end, inj = tw_events(events)
    assert inj["conn"] == start["conn"] and inj["flags"] == "R" and inj["rule"] == 0, inj
    assert 0.2 <= round(inj["t"] - start["t"], 6) < 0.2 + ti.TIMER_SLACK, (start, inj)
    assert end["why"] == "timewait_rst" and end["t"] == inj["t"], (end, inj)
    counters, _ = ti.last_stats(err)
    assert counters.get("TcpExtTWKilled") == 1 and counters.get("TtInjected") == 1, counters
    # The RST is in the capture, inbound, with TIME_WAIT's RCV.NXT.
    segs = ti.tcp_segments("inject_rfc1337_0")
    rsts = [s for s in segs if s.has("R")]
    fins = [s for s in segs if s.src == ti.HOST_ADDR and s.has("F")]
    assert len(rsts) == 1 and rsts[0].src == ti.HOST_ADDR and len(fins) == 1, (rsts, fins)
    assert rsts[0].seq == (fins[0].seq + 1) % 2**32 == inj["seq"], (rsts, fins, inj)
    ti.tshark_check("inject_rfc1337_0")


def test_rfc1337_ignores_the_rst():
    events, err, _ = server_closes_first("inject_rfc1337_1", "--inject", "time_wait+200ms:rst",
                                         "--tcp-rfc1337", "1")
    start, end, inj = tw_events(events)
    assert end["why"] == "timewait_expired", end
    assert 1.0 <= round(end["t"] - start["t"], 6) < 1.0 + ti.TIMER_SLACK, (start, end)
    assert not [e for e in events if e.get("ev") == "rst_in"], events
    counters, _ = ti.last_stats(err)
    assert counters.get("TcpExtTWKilled") == 0 and counters.get("TtInjected") == 1, counters


def test_rst_off_by_one_draws_a_challenge_ack():
    """A RST a byte past RCV.NXT is in the window but not exact: TIME_WAIT
    answers with a challenge ACK (RFC 5961 3.2). Linux, its side of the
    4-tuple closed, answers that ACK with a RST at exactly RCV.NXT, which with
    --tcp-rfc1337 0 ends TIME_WAIT: the challenge only moves the kill to the
    peer's own RST."""
    name = "inject_rst_off_by_one"
    events, err, _ = server_closes_first(name, "--inject", "time_wait+200ms:rst:seq=rcv+1")
    start, end, inj = tw_events(events)
    segs = ti.tcp_segments(name)
    rsts = [s for s in segs if s.has("R")]
    assert len(rsts) == 2 and rsts[0].seq == inj["seq"], (rsts, inj)
    challenge = [s for s in segs if s.src == ti.STACK_ADDR and rsts[0].ts <= s.ts <= rsts[1].ts
                 and s.len == 0 and s.has("A") and not s.has("F")]
    assert len(challenge) == 1 and challenge[0].ack == (inj["seq"] - 1) % 2**32, challenge
    assert rsts[1].src == ti.HOST_ADDR and rsts[1].seq == challenge[0].ack, (rsts, challenge)
    assert end["why"] == "timewait_rst" and end["t"] > inj["t"], (end, inj)
    counters, _ = ti.last_stats(err)
    assert counters.get("TcpExtTWKilled") == 1, counters


def test_nothing_to_inject_into_is_skipped_and_traced():
    name = "inject_no_conn"
    srv = ti.start_server(name, "-v", "--inject", "200ms:rst", "--inject", "300ms:rstack:seq=1:ack=2")
    try:
        time.sleep(0.6)
    finally:
        assert srv.stop() == 0, f"echo-server exit {srv.rc}: {srv.stderr}"
    inj = [e for e in ti.read_trace(name) if e.get("ev") == "fault"]
    assert [(e["action"], e["rule"], e.get("note")) for e in inj] == \
        [("inject", 0, "no_connection"), ("inject", 1, "no_connection")], inj
    counters, _ = ti.last_stats(srv.stderr)
    assert counters.get("TtInjectNoConn") == 2 and counters.get("TtInjected") == 0, counters


def test_syn_to_a_closed_port_is_traced():
    name = "rst_noconn"
    srv = ti.start_server(name)
    try:
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.settimeout(5.0)
        try:
            s.connect((ti.STACK_ADDR, 9))
            raise AssertionError("connected to a port nobody listens on")
        except ConnectionRefusedError:
            pass
        local = "%s:%d" % s.getsockname()
        s.close()
    finally:
        assert srv.stop() == 0, f"echo-server exit {srv.rc}: {srv.stderr}"
    lines = [e for e in ti.read_trace(name) if e.get("ev") == "rst_noconn"]
    assert len(lines) == 1, lines
    assert lines[0]["conn"] == f"{ti.STACK_ADDR}:9>{local}", (lines, local)
    assert lines[0]["why"] == "no_connection" and lines[0]["flags"] == "S", lines


def test_annotated_capture_tells_the_injection():
    """docs/contract.md §5.1 items 5 and 7: in a pcapng the crafted RST is an
    inbound record `crafted by --inject[0] (SPEC)` that also tells the RST's
    effect, and a SYN to a closed port carries `RST sent: no connection ...`."""
    name = "inject_pcapng"
    srv = ti.start_server(name, "--pcapng", "--close-after", "16",
                          "--inject", "time_wait+200ms:rst")
    try:
        got, err, _ = ti.linux_echo(b"q" * 16, close_first=False)
        assert err is None and got == b"q" * 16, f"echo: {got!r} {err}"
        time.sleep(0.5)
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.settimeout(5.0)
        try:
            s.connect((ti.STACK_ADDR, 9))
            raise AssertionError("connected to a port nobody listens on")
        except ConnectionRefusedError:
            pass
        s.close()
    finally:
        assert srv.stop() == 0, f"echo-server exit {srv.rc}: {srv.stderr}"
    recs = ti.read_pcapng(ti.out_path(name + ".pcap"))
    told = [(r["flags"] & 3, c) for r in recs for c in r["comments"]]
    crafted = [c for d, c in told if "crafted by --inject[0] (time_wait+200ms:rst)" in c]
    assert len(crafted) == 1, told
    assert [c for d, c in told if "RST received in TIME_WAIT" in c], told
    noconn = [(d, c) for d, c in told if "RST sent: no connection owns this segment" in c]
    assert len(noconn) == 1 and noconn[0][0] == 1, told  # on the inbound SYN
    ti.tshark_check(name)


def test_failed_connects_are_traced():
    name = "connect_refused"
    cli = ti.run_client(name, "--connect", f"{ti.HOST_ADDR}:9", timeout=15)
    assert cli.rc == 1, f"echo-client exit {cli.rc}: {cli.stderr}"
    fails = [e for e in ti.read_trace(name) if e.get("ev") == "connect_fail"]
    assert len(fails) == 1 and fails[0]["err"] == "ECONNREFUSED", fails
    assert fails[0]["conn"].endswith(f">{ti.HOST_ADDR}:9"), fails
    name = "connect_no_port"
    linux = ti.LinuxEchoServer(delay=0.5)
    try:
        cli = ti.run_client(name, "--ip-local-port-range", "40000-40000", "--count", "2",
                            "--concurrency", "2", timeout=15)
    finally:
        linux.close()
    fails = [e for e in ti.read_trace(name) if e.get("ev") == "connect_fail"]
    assert fails and fails[0]["err"] == "EADDRNOTAVAIL", (cli.rc, cli.stderr, fails)
    assert fails[0]["conn"] == f"{ti.STACK_ADDR}:0>{ti.HOST_ADDR}:7", fails


if __name__ == "__main__":
    ti.enter_netns()
    ti.run_tests([test_annotated_capture_tells_the_injection,
                  test_rst_at_rcv_nxt_assassinates_time_wait, test_rfc1337_ignores_the_rst,
                  test_rst_off_by_one_draws_a_challenge_ack,
                  test_nothing_to_inject_into_is_skipped_and_traced,
                  test_syn_to_a_closed_port_is_traced, test_failed_connects_are_traced])
