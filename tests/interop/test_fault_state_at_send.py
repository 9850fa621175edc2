#!/usr/bin/env python3
"""Interop: an out --fault rule's state= is the connection's state when the
stack sends the packet (the engine changes state first, then sends).

- The RST of an abort (--linger0) is sent in the state before the abort:
  `drop:out:rst:state=ESTABLISHED` loses it, and Linux, told nothing, only
  learns of the reset when it sends again and meets a bare RST (the 4-tuple
  is free: state CLOSED, which the rule does not match).
- A simultaneous close: tuntcp's FIN is held (delay=...:out:fin) while
  Linux's crosses it; tuntcp's ACK of Linux's FIN is sent in CLOSING, where
  `delay=...:out:ack:state=CLOSING` holds it. Both sides pass through
  CLOSING and both hold TIME_WAIT.
"""
import os
import socket
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ttinterop as ti  # noqa: E402


def test_abort_rst_is_judged_in_the_state_before_the_abort():
    name = "fault_rst_before_abort"
    srv = ti.start_server(name, "--close-after", "100", "--linger0", "-v",
                          "--fault", "drop:out:rst:state=ESTABLISHED")
    try:
        s = socket.create_connection((ti.STACK_ADDR, 7), timeout=5)
        s.sendall(b"r" * 100)
        got = b""
        while len(got) < 100:
            chunk = s.recv(65536)
            assert chunk, "EOF before the echo"
            got += chunk
        err = None
        try:
            # Told nothing, Linux still thinks it is ESTABLISHED; it learns of
            # the reset when a segment of its own (its ACK of the echo, if it
            # was still in flight, or this data) meets a bare RST.
            s.settimeout(0.5)
            try:
                extra = s.recv(65536)
                raise AssertionError(f"recv returned {extra!r}: not a reset")
            except socket.timeout:
                s.settimeout(5)
                s.sendall(b"after the abort")
                s.recv(65536)
        except ConnectionResetError as e:
            err = e
        s.close()
        assert isinstance(err, ConnectionResetError), f"Linux saw {err!r}"
    finally:
        assert srv.stop() == 0, f"echo-server exit {srv.rc}: {srv.stderr}"
    dropped = [l for l in srv.stderr.splitlines() if l.startswith("TtFaultDropped ")]
    assert dropped == ["TtFaultDropped 1"], f"the abort's RST was not dropped: {dropped}"
    events = ti.read_trace(name)
    assert any(e.get("ev") == "rst_out" and e.get("why") == "linger0" for e in events), events
    segs = ti.tcp_segments(name)
    rsts = [x for x in segs if x.src == ti.STACK_ADDR and x.has("R")]
    # The abort's RST|ACK (sent in ESTABLISHED) was dropped before the pcap;
    # what is left are bare RSTs to Linux's later segments (state CLOSED).
    assert rsts and all(not x.has("A") for x in rsts), f"RSTs from the stack: {rsts}"
    ti.tshark_check(name)


def test_simultaneous_close_ack_sent_in_closing():
    name = "fault_simultaneous_close"
    srv = ti.start_server(name, "--close-after", "100", "--max-conns", "1",
                          "--fault", "delay=100ms:out:fin",
                          "--fault", "delay=150ms:out:ack:state=CLOSING")
    try:
        got, err, local = ti.linux_echo(b"s" * 100, close_first=True)
        assert err is None and got == b"s" * 100, f"echo: {len(got)} bytes, {err}"
        time.sleep(0.4)
        tw = [r for r in ti.ss_states("time-wait") if r[0] == local]
        assert tw, "Linux holds no TIME_WAIT: the FINs did not cross"
        assert srv.wait(10) == 0, f"echo-server exit {srv.rc}: {srv.stderr}"
    finally:
        srv.stop()
    changes = ti.state_changes(ti.read_trace(name))
    for step in [("ESTABLISHED", "FIN_WAIT_1", None), ("FIN_WAIT_1", "CLOSING", None),
                 ("CLOSING", "TIME_WAIT", None), ("TIME_WAIT", "CLOSED", "timewait_expired")]:
        assert step in changes, f"trace lacks {step}: {changes}"
    segs = ti.tcp_segments(name)
    (ours,) = [x for x in segs if x.src == ti.STACK_ADDR and x.has("F")]
    (theirs,) = [x for x in segs if x.src == ti.HOST_ADDR and x.has("F")]
    assert ours.ack == theirs.seq and theirs.ack == ours.seq, f"FINs: {ours} {theirs}"
    (ack,) = [x for x in segs if x.src == ti.STACK_ADDR and not x.has("F")
              and x.ack == theirs.seq + 1]
    assert ack.ts > ours.ts, "the ACK sent in CLOSING was not held behind our FIN"
    ti.tshark_check(name)


if __name__ == "__main__":
    ti.enter_netns()
    ti.run_tests([test_abort_rst_is_judged_in_the_state_before_the_abort,
                  test_simultaneous_close_ack_sent_in_closing])
