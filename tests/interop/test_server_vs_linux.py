#!/usr/bin/env python3
"""Interop: a Linux client against tuntcp's echo-server (docs/contract.md §2, §3).

Each test checks what Linux sees (socket errors, `ss`), what the wire shows
(the pcap, read by our own parser and by tshark) and what the stack says (the
trace). All inside a private network namespace.
"""
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ttinterop as ti  # noqa: E402

MSL = 0.5  # seconds; TIME_WAIT = 1 s


def _durations(events, conn_state):
    """Seconds spent in conn_state per connection, from the trace."""
    start, spans = {}, []
    for e in events:
        if e.get("ev") != "state":
            continue
        if e["to"] == conn_state:
            start[e["conn"]] = e["t"]
        elif e["from"] == conn_state and e["conn"] in start:
            spans.append(e["t"] - start.pop(e["conn"]))
    return spans


def test_echo_and_passive_close():
    """Linux closes first: the stack goes CLOSE_WAIT -> LAST_ACK -> CLOSED,
    Linux holds TIME_WAIT."""
    name = "server_passive_close"
    srv = ti.start_server(name, "--msl", "500ms")
    try:
        data = os.urandom(3000)
        got, err, local = ti.linux_echo(data)
        assert err is None, f"Linux client error {err}"
        assert got == data, f"echo differs ({len(got)} of {len(data)} bytes)"
        time.sleep(0.3)
        tw = [r for r in ti.ss_states("time-wait") if r[0] == local]
        assert tw, "Linux holds no TIME_WAIT towards 10.7.0.2:7"
    finally:
        assert srv.stop() == 0, f"echo-server exit {srv.rc}: {srv.stderr}"
    changes = ti.state_changes(ti.read_trace(name))
    for step in [("ESTABLISHED", "CLOSE_WAIT", None), ("CLOSE_WAIT", "LAST_ACK", None),
                 ("LAST_ACK", "CLOSED", "last_ack")]:
        assert step in changes, f"trace lacks {step}: {changes}"
    assert not any(c[1] == "TIME_WAIT" for c in changes), "the passive closer held TIME_WAIT"
    segs = ti.tcp_segments(name)
    fins = [s for s in segs if s.has("F")]
    assert len(fins) == 2 and fins[0].src == ti.HOST_ADDR, f"FIN order: {fins}"
    ti.tshark_check(name)


def test_active_close_holds_time_wait_2msl():
    """--close-after: the stack closes first and holds TIME_WAIT for exactly
    2*MSL (to the trace's microsecond, within the timer lateness allowed by
    docs/contract.md §2.6 item 10); Linux holds none. The trace's ts joins
    the capture."""
    name = "server_active_close"
    srv = ti.start_server(name, "--msl", "500ms", "--close-after", "1000")
    try:
        got, err, local = ti.linux_echo(b"a" * 1000, close_first=False)
        assert err is None and got == b"a" * 1000, f"echo: {len(got)} bytes, {err}"
        time.sleep(0.2)
        tw = [r for r in ti.ss_states("time-wait") if r[0] == local]
        assert not tw, f"Linux holds TIME_WAIT: {tw}"
        time.sleep(2 * MSL + 0.3)
    finally:
        assert srv.stop() == 0, f"echo-server exit {srv.rc}: {srv.stderr}"
    events = ti.read_trace(name)
    changes = ti.state_changes(events)
    # FIN_WAIT_2 is skipped when Linux's ACK of our FIN rides on its own FIN.
    via_fw2 = [("FIN_WAIT_1", "FIN_WAIT_2", None), ("FIN_WAIT_2", "TIME_WAIT", None)]
    direct = [("FIN_WAIT_1", "TIME_WAIT", None)]
    path = via_fw2 if via_fw2[0] in changes else direct
    for step in [("ESTABLISHED", "FIN_WAIT_1", None)] + path + [
            ("TIME_WAIT", "CLOSED", "timewait_expired")]:
        assert step in changes, f"trace lacks {step}: {changes}"
    spans = _durations(events, "TIME_WAIT")
    assert len(spans) == 1, f"TIME_WAIT spans {spans}"
    span = round(spans[0], 6)  # the trace has microseconds; no float noise
    assert 2 * MSL <= span < 2 * MSL + ti.TIMER_SLACK, f"TIME_WAIT lasted {span:.6f} s"
    _check_trace_joins_pcap(events, ti.tcp_segments(name))
    ti.tshark_check(name)


def _check_trace_joins_pcap(events, segs):
    """Issue 12 item 6: the trace starts with its start time, and each
    event's ts is the pcap time of the packet behind it: our FIN leaves in
    the same engine call as ESTABLISHED -> FIN_WAIT_1 (within 1 ms on an
    idle machine, TT_TIMER_SLACK_MS on a busy one; the pcap reads the clock
    again to stamp it), and Linux's FIN is recorded
    with the very read time that the change to TIME_WAIT carries."""
    start = events[0]
    assert start["ev"] == "start" and start["t"] == 0, f"first line: {start}"
    for e in events:
        assert abs(e["ts"] - e["t"] - start["ts"]) < 2e-6, f"ts and t disagree: {e}"
    (fw1,) = [e for e in events if e.get("ev") == "state" and e["to"] == "FIN_WAIT_1"]
    (tw,) = [e for e in events if e.get("ev") == "state" and e["to"] == "TIME_WAIT"]
    ours = [s for s in segs if s.has("F") and s.src == ti.STACK_ADDR]
    theirs = [s for s in segs if s.has("F") and s.src == ti.HOST_ADDR]
    assert len(ours) == 1 and len(theirs) == 1, f"FINs: {segs}"
    # The pcap stamps a packet when it is written, after the engine call:
    # on a busy machine the process may be descheduled in between.
    assert 0 <= ours[0].ts - fw1["ts"] < max(0.001, ti.TIMER_SLACK), \
        f"FIN at {ours[0].ts:.6f}, trace {fw1}"
    assert abs(theirs[0].ts - tw["ts"]) < 2e-6, f"FIN at {theirs[0].ts:.6f}, trace {tw}"


def test_linger0_resets_linux_client():
    """--linger0: the stack resets instead of closing: the Linux client reads
    ECONNRESET, no FIN from the stack, TIME_WAIT nowhere."""
    name = "server_linger0"
    srv = ti.start_server(name, "--close-after", "500", "--linger0")
    try:
        got, err, local = ti.linux_echo(b"z" * 500, close_first=False)
        assert isinstance(err, ConnectionResetError), f"Linux client saw {err!r}"
        time.sleep(0.2)
        tw = [r for r in ti.ss_states("time-wait") if r[0] == local]
        assert not tw, f"Linux holds TIME_WAIT: {tw}"
    finally:
        assert srv.stop() == 0, f"echo-server exit {srv.rc}: {srv.stderr}"
    events = ti.read_trace(name)
    assert any(e.get("ev") == "rst_out" and e.get("why") == "linger0" for e in events)
    changes = ti.state_changes(events)
    assert not any(c[1] == "TIME_WAIT" for c in changes), changes
    segs = ti.tcp_segments(name)
    assert not [s for s in segs if s.src == ti.STACK_ADDR and s.has("F")], "stack sent a FIN"
    # The abort is RST|ACK; a Linux segment still in flight after it meets a
    # bare RST (RFC 9293 3.10.7.1), as it would from Linux.
    rsts = [s for s in segs if s.src == ti.STACK_ADDR and s.has("R")]
    assert rsts and rsts[0].has("A"), f"RSTs from the stack: {rsts}"
    assert all(not r.has("A") for r in rsts[1:]), f"RSTs from the stack: {rsts}"
    ti.tshark_check(name)


def test_ping_answered():
    name = "server_ping"
    srv = ti.start_server(name)
    try:
        r = subprocess.run(["ping", "-c", "2", "-i", "0.2", "-W", "2", ti.STACK_ADDR],
                           capture_output=True, text=True, timeout=10)
        assert r.returncode == 0, f"ping failed: {r.stdout} {r.stderr}"
    finally:
        assert srv.stop() == 0
    frames = ti.tshark_check(name)
    assert sum("Echo (ping) reply" in f for f in frames) >= 2, frames


if __name__ == "__main__":
    ti.enter_netns()
    ti.run_tests([test_echo_and_passive_close, test_active_close_holds_time_wait_2msl,
                  test_linger0_resets_linux_client, test_ping_answered])
