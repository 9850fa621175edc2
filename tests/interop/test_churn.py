#!/usr/bin/env python3
"""Interop: connection churn against a Linux echo server (issue 4).

echo-client makes TT_CHURN_COUNT short connections (default 5000 for CI;
e.g. TT_CHURN_COUNT=20000 for the long run), 64 at a time, 64 bytes each,
against an epoll echo server on the kernel side, with a 200 ms MSL so that
TIME_WAIT entries come and go by the thousand. The run is bounded (120 s).

Checked: exit 0 and every echo verified (the client's word); Linux accepted
and echoed every connection, overflowed no queue, sent no RST and holds no
TIME_WAIT (its word, nstat and ss); the wire has one SYN per connection and
not one RST (the capture); every TIME_WAIT entry lived at least 2*MSL and
expired (the trace, --wait-timewait). Printed: connections per second, the
peak number of TIME_WAIT entries (exact from the trace; sampled with SIGUSR1
while running) and the client's CPU time.
"""
import os
import resource
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ttinterop as ti  # noqa: E402

COUNT = int(os.environ.get("TT_CHURN_COUNT", "5000"))
CONCURRENCY = 64
BYTES = 64
MSL = 0.2
TIMEOUT = 120.0
SAMPLE_EVERY = 0.25


def _sample_while_running(cli, srv, deadline):
    """SIGUSR1 every SAMPLE_EVERY s: the TIME_WAIT rows of each listing.
    Stops well before the client's last connections (a signal after the
    app freed its handlers would kill it), and at the deadline."""
    samples = []
    margin = 1024  # connections still to go: tens of ms even at full speed
    next_at = 0.0  # the first sample as soon as connections run: a fast run is short
    while cli.proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.01)
        if srv.conns == 0 or srv.closed >= COUNT - margin or cli.proc.poll() is not None:
            continue
        if time.monotonic() < next_at:
            continue
        _, rows = cli.stats(quiet=0.05)
        samples.append(sum(1 for r in rows if r[0] == "TIME_WAIT"))
        next_at = time.monotonic() + SAMPLE_EVERY
    return samples


def _trace_figures(events):
    """(first SYN_SENT t, last TIME_WAIT entry t, peak TIME_WAIT, TIME_WAIT spans,
    counts of SYN_SENT, TIME_WAIT entries and expiries)."""
    cur = peak = 0
    began, spans = {}, []
    first = last = None
    opens = tw_in = expired = 0
    for e in events:
        if e.get("ev") != "state":
            continue
        if e["to"] == "SYN_SENT":
            opens += 1
            first = e["t"] if first is None else first
        if e["to"] == "TIME_WAIT":
            tw_in += 1
            cur += 1
            peak = max(peak, cur)
            began[e["conn"]] = e["t"]
            last = e["t"]
        elif e["from"] == "TIME_WAIT":
            cur -= 1
            expired += e.get("why") == "timewait_expired"
            # the trace has microseconds: round off the float residue
            spans.append(round(e["t"] - began.pop(e["conn"]), 6))
    return first, last, peak, spans, opens, tw_in, expired


def test_churn_against_linux():
    name = "churn"
    linux0 = ti.linux_nstat("TcpPassiveOpens", "TcpOutRsts", "TcpExtListenOverflows",
                            "TcpExtListenDrops")
    cpu0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    srv = ti.LinuxFastEchoServer()
    t0 = time.monotonic()
    cli = ti.LoggedApp(ti.CLIENT, ti.app_args(name, f"{int(MSL * 1000)}ms") + [
        "-v", "--count", str(COUNT), "--concurrency", str(CONCURRENCY), "--bytes", str(BYTES),
        "--wait-timewait"], name)
    try:
        samples = _sample_while_running(cli, srv, t0 + TIMEOUT)
        rc = cli.wait(max(1.0, t0 + TIMEOUT - time.monotonic()))
    finally:
        if cli.proc.poll() is None:
            cli.stop()
        srv.close()
    wall = time.monotonic() - t0
    cpu1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (cpu1.ru_utime - cpu0.ru_utime) + (cpu1.ru_stime - cpu0.ru_stime)
    stderr = cli.stderr
    # The client's word.
    assert rc == 0, f"exit {rc}: {stderr[-3000:]}"
    assert f"echo-client: {COUNT} connections, {COUNT} verified, 0 failed" in stderr, \
        stderr[-3000:]
    counters, rows = ti.last_stats(stderr)
    assert counters["TcpActiveOpens"] == COUNT, counters
    assert counters["TcpExtTW"] == COUNT, counters  # --wait-timewait: all expired
    for c in ("TcpAttemptFails", "TcpEstabResets", "TcpOutRsts", "TcpExtTCPTimeWaitOverflow",
              "TcpExtTWKilled", "TcpExtTWRecycled", "TcpInErrs"):
        assert counters[c] == 0, f"{c} {counters[c]}"
    assert not rows, f"connections left at exit: {rows[:5]}"
    # Linux's word.
    linux1 = ti.linux_nstat("TcpPassiveOpens", "TcpOutRsts", "TcpExtListenOverflows",
                            "TcpExtListenDrops")

    def delta(k):
        return linux1.get(k, 0) - linux0.get(k, 0)
    assert srv.conns == COUNT and srv.closed == COUNT, (srv.conns, srv.closed)
    assert srv.bytes == COUNT * BYTES and not srv.errors, (srv.bytes, srv.errors[:5])
    assert delta("TcpPassiveOpens") == COUNT, (linux0, linux1)
    assert delta("TcpOutRsts") == 0 and delta("TcpExtListenOverflows") == 0 and \
        delta("TcpExtListenDrops") == 0, (linux0, linux1)
    assert not [r for r in ti.ss_states("time-wait") if r[1].startswith(ti.STACK_ADDR + ":")]
    # The trace.
    first, last, peak, spans, opens, tw_in, expired = _trace_figures(ti.read_trace(name))
    assert opens == COUNT and tw_in == COUNT and expired == COUNT, (opens, tw_in, expired)
    assert min(spans) >= 2 * MSL, f"a TIME_WAIT lasted {min(spans):.6f} s"
    # SIGUSR1 saw no more entries than ever existed (none sampled on a short run).
    assert all(n <= peak for n in samples), (samples, peak)
    assert samples or COUNT < 5000, "no SIGUSR1 sample of a long run"
    # The wire.
    segs = ti.tcp_segments(name)
    syns = {(s.sport, s.seq) for s in segs if s.src == ti.STACK_ADDR and s.has("S")}
    assert len(syns) == COUNT, f"{len(syns)} distinct SYNs"
    rsts = [s for s in segs if s.has("R")]
    assert not rsts, f"{len(rsts)} RSTs, e.g. {rsts[:3]}"
    bad = [s for s in segs if not (s.ip_ok and s.tcp_ok)]
    assert not bad, f"bad checksums: {bad[:3]}"
    spans.sort()
    print(f"churn: {COUNT} connections x {BYTES} B, concurrency {CONCURRENCY}, MSL "
          f"{int(MSL * 1000)} ms: {COUNT / (last - first):.0f} conn/s by the trace "
          f"({last - first:.2f} s first SYN to last TIME_WAIT), {wall:.2f} s wall "
          f"with the 2*MSL wait; echo-client CPU {cpu:.2f} s "
          f"({COUNT / cpu:.0f} conn per CPU-second); peak TIME_WAIT {peak} (trace), "
          f"{max(samples, default='-')} (max of {len(samples)} SIGUSR1 samples); TIME_WAIT lasted "
          f"{spans[0] * 1000:.1f}/{spans[len(spans) // 2] * 1000:.1f}/{spans[-1] * 1000:.1f} ms "
          f"min/median/max; stack retransmissions {counters['TcpRetransSegs']}", flush=True)


if __name__ == "__main__":
    ti.enter_netns()
    ti.run_tests([test_churn_against_linux])
