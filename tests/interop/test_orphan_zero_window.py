#!/usr/bin/env python3
"""Interop: a Linux client that never reads cannot pin an orphan for ever.

echo-server --close-after 100000 echoes into a Linux client whose receive
buffer is small and never read: the window closes, and the server closes
with most of the echo still queued, an orphan in FIN_WAIT_1 behind a zero
window (issue 11 item 1). As Linux does (tcp_probe_timer), the orphan probes
the window; while Linux answers every probe with a zero window it stays,
well past what tcp_orphan_retries unanswered probes would allow; once
Linux falls silent (a blackhole route for the stack's address in this
namespace drops its answers) the orphan gives up after exactly
tcp_orphan_retries more probes, at the next expiry: CLOSED why "timeout",
no RST (Linux tcp_write_err). --tcp-orphan-retries 2 keeps the run short
(about 25 s: probes at +0.2, 0.6, 1.4, 3, 6.2, 12.6 s, the end at +25.4 s).
With a peer that keeps answering, Linux and tuntcp drop the orphan only once
the probe interval has reached 120 s, at +324.6 s whatever
tcp_orphan_retries is below 11: too long for this suite; the scenario test
orphan_killed_even_when_peer_answers_every_probe_with_zero_window pins it.
"""
import os
import socket
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ttinterop as ti  # noqa: E402

ORPHAN_RETRIES = 2
ANSWERED_PHASE = 5.0  # seconds of answered probes after the close (at +0.2, +1.4, +3 s)
GONE_WITHIN = 60.0    # after Linux falls silent; the model says under 30 s


def wait_event(name, pred, timeout):
    """The first trace event for which pred holds, polling the trace file."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if os.path.exists(ti.out_path(name + ".jsonl")):
            for e in ti.read_trace(name):
                if pred(e):
                    return e
        time.sleep(0.05)
    raise AssertionError(f"no such trace event within {timeout}s: {ti.read_trace(name)}")


def is_probe(s, una):
    """Linux's zero-window probe as the stack sends it: <SEQ=SND.UNA-1>, no data."""
    return (s.src == ti.STACK_ADDR and s.has("A") and not s.has("F") and not s.has("R")
            and s.len == 0 and s.seq == (una - 1) % (1 << 32))


def test_orphan_behind_zero_window_freed_when_linux_falls_silent():
    name = "orphan_zero_window"
    srv = ti.start_server(name, "--close-after", "100000",
                          "--tcp-orphan-retries", str(ORPHAN_RETRIES))
    c = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    blackhole = False
    try:
        c.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        c.settimeout(10)
        c.connect((ti.STACK_ADDR, 7))
        local = "%s:%d" % c.getsockname()
        conn = f"{ti.STACK_ADDR}:7>{local}"
        c.sendall(b"z" * 100000)  # echoed back into a window that never opens again
        fw1 = wait_event(name, lambda e: e.get("conn") == conn and e.get("to") == "FIN_WAIT_1",
                         10)
        time.sleep(ANSWERED_PHASE)
        gone = [e for e in ti.read_trace(name)
                if e.get("conn") == conn and e.get("to") == "CLOSED"]
        assert not gone, f"orphan dropped while Linux answered its probes: {gone}"
        subprocess.run(["ip", "route", "add", "blackhole", ti.STACK_ADDR + "/32"], check=True)
        blackhole = True
        silent_at = time.monotonic()
        closed = wait_event(name, lambda e: e.get("conn") == conn and e.get("to") == "CLOSED",
                            GONE_WITHIN)
        took = time.monotonic() - silent_at
    finally:
        c.close()
        rc = srv.stop()
        if blackhole:
            subprocess.run(["ip", "route", "del", "blackhole", ti.STACK_ADDR + "/32"])
    assert rc == 0, f"echo-server exit {rc}: {srv.stderr}"
    assert closed["from"] == "FIN_WAIT_1" and closed["why"] == "timeout", closed
    assert took < GONE_WITHIN, took
    print(f"  orphan lived {float(closed['t']) - float(fw1['t']):.1f}s in FIN_WAIT_1, "
          f"{took:.1f}s after Linux fell silent")

    segs = [s for s in ti.tcp_segments(name)
            if local in (f"{s.dst}:{s.dport}", f"{s.src}:{s.sport}")]
    ours = [s for s in segs if s.src == ti.STACK_ADDR]
    theirs = [s for s in segs if s.src != ti.STACK_ADDR]
    assert not [s for s in ours if s.has("F") or s.has("R")], "a FIN or RST left the stack"
    una = max(s.ack for s in theirs if s.has("A"))  # what the stack had sent when it shut
    probes = [s for s in ours if is_probe(s, una)]
    zero_acks = [s for s in theirs if s.has("A") and s.len == 0 and s.ack == una
                 and s.wnd == 0]
    answered = [p for p in probes if any(0 <= a.ts - p.ts < 0.5 for a in zero_acks)]
    # Linux answers an out-of-window pure ACK at most every 500 ms
    # (tcp_invalid_ratelimit), so the second probe, 400 ms after the first,
    # goes unanswered: the count restarts at the next answer.
    assert len(answered) > ORPHAN_RETRIES, f"answered probes: {answered} of {probes}"
    # After Linux's last answer, exactly tcp_orphan_retries probes, then the end.
    trailing = [p for p in probes if p.ts > max(a.ts for a in answered)]
    assert len(trailing) == ORPHAN_RETRIES, f"probes after the last answer: {trailing}"
    ti.tshark_check(name)


if __name__ == "__main__":
    ti.enter_netns()
    ti.run_tests([test_orphan_behind_zero_window_freed_when_linux_falls_silent])
