#!/usr/bin/env python3
"""Interop: an old duplicate from a previous incarnation (issue 12 item 5).

TIME_WAIT's second purpose (RFC 9293 3.6.1, RFC 1337): a segment of an
old connection, delayed in the network, must not be taken for data of a
new connection on the same 4-tuple. Here the stack is the server and closes
first; a Linux client bound to a fixed source port reconnects at once, so
connection 2 has connection 1's 4-tuple. `--fault dup=1500ms:in:data:nth=1`
passes connection 1's data and releases its copy 1.5 s later, into whatever
then owns the 4-tuple (docs/contract.md §3.5 item 5).

- TIME_WAIT skipped (--tcp-max-tw-buckets 0), timestamps off: the copy
  lands in connection 2 and is rejected on its sequence number alone (Linux's
  ISNs grow with time, so it falls below RCV.NXT); the stack ACKs RCV.NXT.
- Timestamps on: PAWS rejects it first (TcpExtPAWSEstab).
- An old duplicate whose sequence number happens to fall in the window is
  accepted as data: an injected segment at connection 2's RCV.NXT
  (`--inject established+300ms:data:nth=2`) is echoed to the new client in
  place of its own bytes. (Linux's clock-driven ISNs keep a real copy out of
  the window this soon after; the injection stands for the unlucky case.)
- TIME_WAIT kept: the copy arrives while the 4-tuple is still in TIME_WAIT,
  which ACKs it; Linux, its side closed, answers that ACK with a RST. With
  --tcp-rfc1337 1 TIME_WAIT ignores the RST and lasts its 2*MSL; with 0
  (Linux's default) the RST ends it: RFC 1337's assassination, set off by
  an old duplicate.
"""
import os
import socket
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ttinterop as ti  # noqa: E402

HOLD = 1.5


def conn_name(sport):
    return f"{ti.STACK_ADDR}:7>{ti.HOST_ADDR}:{sport}"


def connect_when_free(s):
    """connect() to the stack; EADDRNOTAVAIL while Linux's previous incarnation
    waits in LAST_ACK for the stack's ACK, a few ms at most."""
    deadline = time.monotonic() + 2.0
    while True:
        try:
            s.connect((ti.STACK_ADDR, 7))
            return
        except OSError as e:
            if e.errno != 99 or time.monotonic() > deadline:
                raise
            time.sleep(0.01)


def linux_conn(sport, chunks, pause_until=None):
    """One connection from HOST_ADDR:sport (each test its own, so that none
    meets another's leftovers): sends chunks[0], waits until
    pause_until (monotonic) if given, sends the rest, reads to EOF.
    Returns (the bytes read, the error or None)."""
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.settimeout(5.0)
    got, err = b"", None
    try:
        s.bind((ti.HOST_ADDR, sport))
        connect_when_free(s)
        s.sendall(chunks[0])
        if pause_until is not None:
            time.sleep(max(0.0, pause_until - time.monotonic()))
        for c in chunks[1:]:
            s.sendall(c)
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            got += chunk
    except OSError as e:
        err = e
    finally:
        s.close()
    return got, err


def two_incarnations(name, sport, *flags):
    """Connection 1 sends close_after bytes and is closed by the stack; connection 2
    on the same 4-tuple sends 8 bytes, waits past the copy's release, sends 8
    more. The stack closes each after echoing 16 bytes. Returns (connection 2's
    echo, the server's stderr, the trace)."""
    srv = ti.start_server(name, "-v", "--msl", "1s", "--close-after", "16", *flags)
    try:
        t0 = time.monotonic()
        got1, err1 = linux_conn(sport, [b"1" * 16])
        assert err1 is None and got1 == b"1" * 16, f"connection 1: {got1!r} {err1}"
        # Linux's TSval ticks every millisecond: on a fast machine connection 2
        # could otherwise carry the very TSval of connection 1's data, and PAWS
        # (strictly older only, RFC 7323 5.3) would let the copy through.
        time.sleep(0.01)
        got2, err2 = linux_conn(sport, [b"second-1", b"second-2"], pause_until=t0 + HOLD + 0.5)
        assert err2 is None, f"connection 2: {err2}"
    finally:
        assert srv.stop() == 0, f"echo-server exit {srv.rc}: {srv.stderr}"
    return got2, srv.stderr, ti.read_trace(name)


def fault_lines(events, action):
    return [e for e in events if e.get("ev") == "fault" and e.get("action") == action]


def incarnations(events, conn):
    """The `t` of each LISTEN -> SYN_RECEIVED on conn: one per incarnation."""
    return [e["t"] for e in events if e.get("ev") == "state" and e.get("conn") == conn
            and e["from"] == "LISTEN"]


def check_release_in_second(events, sport):
    conn = conn_name(sport)
    dup, rel = fault_lines(events, "dup"), fault_lines(events, "release")
    assert len(dup) == 1 and dup[0]["conn"] == conn and dup[0]["copy_after"] == HOLD, dup
    assert len(rel) == 1 and rel[0]["conn"] == conn and rel[0]["copy"] is True, rel
    assert rel[0]["seq"] == dup[0]["seq"] and rel[0]["len"] == dup[0]["len"] > 0, (dup, rel)
    assert HOLD <= rel[0]["held"] < HOLD + ti.TIMER_SLACK + 0.01, rel  # never early
    starts = incarnations(events, conn)
    assert len(starts) == 2 and starts[1] < rel[0]["t"], \
        f"the copy must land in connection 2: incarnations at {starts}, release {rel[0]}"
    return rel[0]


def test_old_duplicate_rejected_by_sequence():
    name = "old_dup_seq"
    got, err, events = two_incarnations(name, 40123, "--tcp-max-tw-buckets", "0",
                                        "--tcp-timestamps", "0",
                                        "--fault", f"dup={HOLD * 1000:.0f}ms:in:data:nth=1")
    assert got == b"second-1second-2", f"connection 2 echoed {got!r}"
    rel = check_release_in_second(events, 40123)
    closes = [e for e in events if e.get("ev") == "state" and e["to"] == "CLOSED"]
    assert [e["why"] for e in closes] == ["tw_overflow", "tw_overflow"], closes
    # Not acceptable: the stack answers with an ACK of connection 2's RCV.NXT.
    segs = ti.tcp_segments(name)
    syns = [s for s in segs if s.src == ti.HOST_ADDR and s.has("S")]
    assert len(syns) == 2, syns
    rcv_nxt2 = (syns[1].seq + 1 + len(b"second-1")) % 2**32
    assert not (0 <= (rel["seq"] - syns[1].seq) % 2**32 < 2**31), \
        f"the old copy's seq {rel['seq']} should lie below connection 2's ISN {syns[1].seq}"
    acks = [s for s in segs if s.src == ti.STACK_ADDR and s.ack == rcv_nxt2 and s.len == 0
            and s.has("A") and not s.has("F")]
    assert acks, f"no ACK of RCV.NXT {rcv_nxt2} in connection 2"
    counters, _ = ti.last_stats(err)
    assert counters.get("TtFaultReleased") == 1, counters
    assert counters.get("TcpExtPAWSEstab") == 0, counters


def test_old_duplicate_rejected_by_paws():
    name = "old_dup_paws"
    got, err, events = two_incarnations(name, 40124, "--tcp-max-tw-buckets", "0",
                                        "--fault", f"dup={HOLD * 1000:.0f}ms:in:data:nth=1")
    assert got == b"second-1second-2", f"connection 2 echoed {got!r}"
    check_release_in_second(events, 40124)
    counters, _ = ti.last_stats(err)
    assert counters.get("TcpExtPAWSEstab") == 1, counters


def test_in_window_old_duplicate_is_accepted():
    """Eight bytes at connection 2's RCV.NXT, as an old duplicate whose number
    fell in the window would be: the stack takes them as the client's, echoes
    them, and discards the client's real next eight bytes as a duplicate. The
    connection is desynchronized (the stack acknowledges what Linux never sent,
    so Linux drops the echo until its own SND.NXT catches up) and the stream
    corrupted: Linux reads the injected bytes where its own should be."""
    name = "old_dup_accepted"
    got, err, events = two_incarnations(name, 40125, "--tcp-max-tw-buckets", "0",
                                        "--tcp-timestamps", "0",
                                        "--inject", "established+300ms:data:nth=2:len=8")
    assert got == b"second-1" + b"x" * 8, f"connection 2 echoed {got!r}"
    inj = fault_lines(events, "inject")
    assert len(inj) == 1 and inj[0]["conn"] == conn_name(40125) and inj[0]["len"] == 8, inj
    starts = incarnations(events, conn_name(40125))
    assert len(starts) == 2 and starts[1] < inj[0]["t"], (starts, inj)
    counters, _ = ti.last_stats(err)
    assert counters.get("TtInjected") == 1, counters


def time_wait_meets_the_copy(name, sport, rfc1337):
    """The stack in TIME_WAIT (--msl 1s) when connection 1's copy comes back
    after 500 ms. Returns (the trace, the copy's release line, the capture)."""
    srv = ti.start_server(name, "-v", "--msl", "1s", "--close-after", "16",
                          "--tcp-timestamps", "0", "--tcp-rfc1337", str(rfc1337),
                          "--fault", "dup=500ms:in:data:nth=1")
    try:
        got, err = linux_conn(sport, [b"1" * 16])
        assert err is None and got == b"1" * 16, f"connection 1: {got!r} {err}"
        time.sleep(2.5)
    finally:
        assert srv.stop() == 0, f"echo-server exit {srv.rc}: {srv.stderr}"
    events = ti.read_trace(name)
    rel = fault_lines(events, "release")
    assert len(rel) == 1 and rel[0]["conn"] == conn_name(sport), rel
    counters, _ = ti.last_stats(srv.stderr)
    assert counters.get("TtFaultReleased") == 1, counters
    segs = ti.tcp_segments(name)
    # TIME_WAIT answers the old segment with an ACK of its RCV.NXT; Linux, whose
    # side of the 4-tuple is closed, answers that ACK with a RST.
    acks = [s for s in segs if s.src == ti.STACK_ADDR and s.ts >= rel[0]["ts"] - 0.001
            and s.has("A") and not s.has("F") and s.len == 0]
    rsts = [s for s in segs if s.src == ti.HOST_ADDR and s.has("R")]
    assert len(acks) == 1 and len(rsts) == 1 and rsts[0].ts >= acks[0].ts, (acks, rsts)
    return events, rel[0]


def test_time_wait_absorbs_the_old_duplicate():
    """--tcp-rfc1337 1: TIME_WAIT ignores the RST the copy provoked and lasts 2*MSL."""
    events, rel = time_wait_meets_the_copy("old_dup_time_wait", 40126, 1)
    tw = [e for e in events if e.get("ev") == "state" and e["to"] == "TIME_WAIT"]
    end = [e for e in events if e.get("ev") == "state" and e["from"] == "TIME_WAIT"]
    assert len(tw) == 1 and len(end) == 1, (tw, end)
    assert tw[0]["t"] < rel["t"] < end[0]["t"], (tw, rel, end)
    assert end[0]["why"] == "timewait_expired", end
    lasted = round(end[0]["t"] - tw[0]["t"], 6)
    assert 2.0 <= lasted < 2.0 + ti.TIMER_SLACK, f"TIME_WAIT lasted {lasted}"


def test_old_duplicate_assassinates_time_wait():
    """--tcp-rfc1337 0 (Linux's default): the RST the copy provoked ends
    TIME_WAIT early, RFC 1337's hazard H1 set off by an old duplicate."""
    events, rel = time_wait_meets_the_copy("old_dup_assassination", 40127, 0)
    end = [e for e in events if e.get("ev") == "state" and e["from"] == "TIME_WAIT"]
    rst_in = [e for e in events if e.get("ev") == "rst_in"]
    assert len(end) == 1 and end[0]["why"] == "timewait_rst", end
    assert len(rst_in) == 1 and rst_in[0]["state"] == "TIME_WAIT", rst_in
    assert rel["t"] <= end[0]["t"] < rel["t"] + 0.1, (rel, end)


if __name__ == "__main__":
    ti.enter_netns()
    ti.run_tests([test_old_duplicate_rejected_by_sequence, test_old_duplicate_rejected_by_paws,
                  test_in_window_old_duplicate_is_accepted,
                  test_time_wait_absorbs_the_old_duplicate,
                  test_old_duplicate_assassinates_time_wait])
