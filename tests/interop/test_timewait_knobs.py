#!/usr/bin/env python3
"""Interop: every TIME_WAIT knob of docs/contract.md §2.2, §3.2 against the Linux kernel's TCP.

Each test checks three witnesses: what Linux sees (its sockets, `ss`, its
own `nstat` counters, which start at zero in the test's private network
namespace), what the wire shows (the pcap, by our parser and by tshark) and
what the stack says (the trace's `why`, the statistics printed on SIGUSR1 or
at exit with -v).

- port exhaustion: 20 ports, 25 connections, 30 s TIME_WAIT: 5 x EADDRNOTAVAIL;
- --tcp-tw-reuse 1: the same 25 succeed once the oldest entry is > 1 s old
  (the Linux server paces the client), never sooner, never without timestamps;
- RST in TIME_WAIT, made by Linux itself: our final ACK is duplicated
  (--fault dup), the first one closes Linux's LAST_ACK socket, so the second
  meets no socket and Linux answers it with a RST whose sequence number is
  exactly the entry's RCV.NXT: --tcp-rfc1337 0 kills the entry, 1 keeps it;
- SYN in TIME_WAIT: a Linux client reconnects from the same port; a new
  incarnation (by timestamp and sequence, or by sequence alone when Linux
  sends no timestamps) whose ISN is beyond the old one (Linux's rule);
- --tcp-max-tw-buckets 2: 5 active closes, 2 entries, 3 overflows; with the
  final ACKs lost, Linux's retransmitted FINs get an ACK from the 2 entries
  and a RST for the 3 skipped ones (why TIME_WAIT exists);
- --tcp-fin-timeout 1s: an orphan in FIN_WAIT_2 is dropped silently;
- SIGUSR1: counters and the ss-like listing with TIME_WAIT's time left.
"""
import os
import re
import socket
import struct
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ttinterop as ti  # noqa: E402

SERVER_PORT = 7
LONG_MSL = "30s"  # the default: TIME_WAIT = 60 s, far longer than any test here
RANGE = "40000-40019"
RANGE_PORTS = set(range(40000, 40020))
EADDRNOTAVAIL_LINE = re.compile(
    r"^echo-client: connection (\d+): connect: Cannot assign requested address$")
# The counters docs/contract.md §8 names; each must be in every report.
SPEC_COUNTERS = ["TcpActiveOpens", "TcpPassiveOpens", "TcpAttemptFails", "TcpEstabResets",
                 "TcpInSegs", "TcpOutSegs", "TcpRetransSegs", "TcpInErrs", "TcpOutRsts",
                 "TcpExtTW", "TcpExtTWKilled", "TcpExtTWRecycled",
                 "TcpExtTCPTimeWaitOverflow", "TcpExtTCPChallengeACK"]
SEQ_MOD = 1 << 32


def seq_gt(a, b):
    return 0 < (a - b) % SEQ_MOD < (1 << 31)


# ---- helpers -----------------------------------------------------------------

def segments_with_ts(name):
    """[(Tcp, TSval or None)] for every TCP segment of the capture."""
    _, pkts = ti.read_pcap(ti.out_path(name + ".pcap"))
    out = []
    for ts, p in pkts:
        if len(p) < 40 or p[9] != 6:
            continue
        seg = ti.Tcp(ts, p)
        ihl = (p[0] & 0x0F) * 4
        doff = (p[ihl + 12] >> 4) * 4
        opts, tsval, i = p[ihl + 20:ihl + doff], None, 0
        while i < len(opts):
            kind = opts[i]
            if kind == 0:
                break
            if kind == 1:
                i += 1
                continue
            if i + 1 >= len(opts) or opts[i + 1] < 2:
                break
            if kind == 8 and opts[i + 1] == 10:
                tsval = struct.unpack("!I", opts[i + 2:i + 6])[0]
            i += opts[i + 1]
        out.append((seg, tsval))
    return out


def tuple_segs(segs, linux_port):
    """Segments of the 4-tuple 10.7.0.2:7 <-> 10.7.0.1:linux_port."""
    return [s for s in segs
            if (s.src == ti.HOST_ADDR and s.sport == linux_port and s.dport == SERVER_PORT)
            or (s.src == ti.STACK_ADDR and s.dport == linux_port and s.sport == SERVER_PORT)]


def conn_id(local_port, remote_port):
    """The trace's conn for the stack's side (docs/contract.md §4)."""
    return f"{ti.STACK_ADDR}:{local_port}>{ti.HOST_ADDR}:{remote_port}"


def start_server(name, *extra, msl=LONG_MSL):
    srv = ti.LoggedApp(ti.SERVER, ti.app_args(name, msl) + ["-v"] + list(extra), name)
    srv.wait_line("listening on")
    return srv


def stop_server(srv):
    rc = srv.stop()
    assert rc == 0, f"echo-server exit {rc}: {srv.stderr[-2000:]}"


def run_client(name, *extra, msl=LONG_MSL, timeout=60.0):
    cli = ti.App(ti.CLIENT, ti.app_args(name, msl) + ["-v"] + list(extra), "echo-client")
    cli.wait(timeout)
    return cli


def linux_client(data, bind_port=None, keep_open=False, timeout=5.0):
    """A Linux client to the stack's echo server, which closes first
    (--close-after): sends data, reads the echo and the server's EOF, then
    closes (Linux is the passive closer) unless keep_open (the caller then
    owns the socket). Returns (socket or None, local port, echoed bytes)."""
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.settimeout(timeout)
    if bind_port is not None:
        s.bind((ti.HOST_ADDR, bind_port))
    s.connect((ti.STACK_ADDR, SERVER_PORT))
    port = s.getsockname()[1]
    s.sendall(data)
    got = b""
    while True:
        chunk = s.recv(65536)
        if not chunk:
            break
        got += chunk
    if keep_open:
        return s, port, got
    s.close()
    return None, port, got


def events_of(events, conn):
    return [e for e in events if e.get("conn") == conn]


def closes(events, why):
    return [e for e in events if e.get("ev") == "state" and e["to"] == "CLOSED"
            and e.get("why") == why]


def entered(events, state):
    return [e for e in events if e.get("ev") == "state" and e["to"] == state]


def span(events, conn, state):
    """Seconds conn spent in state (the first visit), from the trace."""
    evs = events_of(events, conn)
    t0 = next(e["t"] for e in evs if e.get("ev") == "state" and e["to"] == state)
    t1 = next(e["t"] for e in evs if e.get("ev") == "state" and e["from"] == state
              and e["t"] >= t0)
    return round(t1 - t0, 6)  # the trace has microseconds; no float residue


def timer_left(row):
    """Seconds left in an ss-like row's timer:(NAME,12.345s) column."""
    m = re.match(r"timer:\((\w+),(\d+\.\d+)s\)$", row[-1])
    assert m, f"no timer column in {row}"
    return m.group(1), float(m.group(2))


def failure_lines(stderr):
    return [l for l in stderr.splitlines() if re.match(r"^echo-client: connection \d+: ", l)]


def linux_holds_time_wait():
    """Linux's TIME_WAIT sockets towards the stack."""
    return [r for r in ti.ss_states("time-wait") if r[1].startswith(ti.STACK_ADDR + ":")]


# ---- --ip-local-port-range and --tcp-tw-reuse ----------------------------------

def test_port_exhaustion_eaddrnotavail():
    """20 ports, 25 connections, TIME_WAIT 60 s: the first 20 use the whole
    range and hold it; the last 5 fail with EADDRNOTAVAIL at once. At
    --rate an attempt without a port fails in its slot (docs/contract.md
    §3.4); without --rate the 22nd would wait for a port (60 s)."""
    name = "knobs_port_exhaustion"
    linux0 = ti.linux_nstat("TcpPassiveOpens")
    srv = ti.LinuxEchoServer()
    try:
        cli = run_client(name, "--ip-local-port-range", RANGE, "--count", "25", "--rate",
                         "1000")
    finally:
        srv.close()
    assert cli.rc == 1, f"exit {cli.rc}: {cli.stderr}"
    fails = failure_lines(cli.stderr)
    assert [EADDRNOTAVAIL_LINE.match(l) is not None for l in fails] == [True] * 5, \
        f"failure lines: {fails}"
    assert [int(EADDRNOTAVAIL_LINE.match(l).group(1)) for l in fails] == [21, 22, 23, 24, 25]
    assert "echo-client: 25 connections, 20 verified, 5 failed" in cli.stderr, cli.stderr
    counters, rows = ti.last_stats(cli.stderr)
    assert counters["TcpActiveOpens"] == 20, counters
    assert counters["TcpExtTWRecycled"] == 0, counters
    tw_rows = [r for r in rows if r[0] == "TIME_WAIT"]
    assert len(tw_rows) == 20, f"listing at exit: {rows}"
    # The gauge (issue 12 item 7): 20 entries, in a table of 1024 4-byte
    # buckets, one slab chunk of 4096 56-byte entries and a 16-slot index.
    assert ti.last_sockstat(cli.stderr) == {"tw": 20, "tw_bytes": 4096 + 4096 * 56 + 16 * 8}, \
        cli.stderr
    # What Linux saw: exactly 20 connections, every one echoed, no TIME_WAIT
    # on its side (it closed second).
    assert srv.conns == 20 and not srv.errors, (srv.conns, srv.errors)
    assert ti.linux_nstat("TcpPassiveOpens")["TcpPassiveOpens"] - \
        linux0.get("TcpPassiveOpens", 0) == 20
    assert not linux_holds_time_wait(), ti.ss_states("time-wait")
    # The wire: 20 SYNs, one per port, the whole range.
    syns = [s for s in ti.tcp_segments(name) if s.src == ti.STACK_ADDR and s.has("S")]
    assert sorted(s.sport for s in syns) == sorted(RANGE_PORTS), syns
    events = ti.read_trace(name)
    assert len(entered(events, "TIME_WAIT")) == 20
    assert not [e for e in events if e.get("ev") == "state" and e["from"] == "TIME_WAIT"]
    ti.tshark_check(name)


def test_tw_reuse_once_oldest_entry_is_older_than_1s():
    """--tcp-tw-reuse 1 (timestamps on): the Linux server delays each echo by
    80 ms, so the 21st connect comes > 1.6 s after the first entry began, and
    takes the 4-tuple of an entry more than 1 s old (Linux's
    tcp_twsk_unique). The pace comes from the server, so that the connect
    finds a reusable entry at once (an attempt that found none would wait
    and try again, docs/contract.md §3.4)."""
    name = "knobs_tw_reuse"
    srv = ti.LinuxEchoServer(delay=0.08)
    try:
        cli = run_client(name, "--ip-local-port-range", RANGE, "--count", "25",
                         "--tcp-tw-reuse", "1")
    finally:
        srv.close()
    assert cli.rc == 0, f"exit {cli.rc}: {cli.stderr}"
    assert not failure_lines(cli.stderr), cli.stderr
    assert "echo-client: 25 connections, 25 verified, 0 failed" in cli.stderr, cli.stderr
    counters, _ = ti.last_stats(cli.stderr)
    # At least the 5 connections past the range's 20 reuse an entry; the
    # port search may meet a reusable entry before a free port now and then
    # (as in Linux), so there can be more: the counter and the trace agree.
    assert counters["TcpExtTWRecycled"] >= 5, counters
    assert counters["TcpActiveOpens"] == 25, counters
    assert srv.conns == 25 and not srv.errors, (srv.conns, srv.errors)

    events = ti.read_trace(name)
    reused = closes(events, "timewait_reused")
    assert len(reused) == counters["TcpExtTWRecycled"], (reused, counters)
    segs = segments_with_ts(name)
    nth_reuse = {}
    for r in reused:
        evs = events_of(events, r["conn"])
        began = [e["t"] for e in evs if e.get("ev") == "state" and e["to"] == "TIME_WAIT"
                 and e["t"] <= r["t"]]
        assert began, f"{r['conn']} was never in TIME_WAIT: {evs}"
        age = round(r["t"] - began[-1], 6)
        assert age > 1.0, f"{r['conn']} reused at {age:.3f} s of TIME_WAIT"
        # The new incarnation: SYN_SENT -> ... -> TIME_WAIT again.
        after = [(e["from"], e["to"]) for e in evs if e.get("ev") == "state" and e["t"] >= r["t"]]
        assert ("CLOSED", "SYN_SENT") in after and ("SYN_SENT", "ESTABLISHED") in after, after
        # The wire: the new SYN's ISN lies beyond the old incarnation (old
        # SND.NXT + 65535 + 2, Linux's rule), its TSval beyond the old one,
        # and Linux accepted it (SYN-ACK, no RST).
        port = int(r["conn"].split(">")[0].split(":")[1])
        mine = [(s, tsv) for s, tsv in segs
                if (s.src == ti.STACK_ADDR and s.sport == port)
                or (s.src == ti.HOST_ADDR and s.dport == port)]
        # The j-th reuse of a port is its (j+1)-th SYN; the old incarnation's
        # FIN is the last one before it.
        j = nth_reuse[port] = nth_reuse.get(port, 0) + 1
        syns = [(s, tsv) for s, tsv in mine if s.src == ti.STACK_ADDR and s.has("S")]
        assert len(syns) > j, f"SYNs from port {port}: {syns}"
        new_syn, new_tsv = syns[j]
        old_fin = [s for s, _ in mine if s.src == ti.STACK_ADDR and s.has("F")
                   and s.ts < new_syn.ts]
        assert old_fin, f"no FIN before the reuse of port {port}"
        assert new_syn.seq == (old_fin[-1].seq + 1 + 65535 + 2) % SEQ_MOD, \
            (old_fin[-1], new_syn)
        assert syns[j - 1][1] is not None and new_tsv is not None, "no timestamps on the SYNs"
        assert seq_gt(new_tsv, syns[j - 1][1]), (syns[j - 1][1], new_tsv)
        synacks = [s for s, _ in mine if s.src == ti.HOST_ADDR and s.has("SA")
                   and s.ts > new_syn.ts]
        assert synacks and synacks[0].ack == (new_syn.seq + 1) % SEQ_MOD, synacks
        assert not [s for s, _ in mine if s.has("R")], "RST on a reused 4-tuple"
    ti.tshark_check(name)


def test_tw_reuse_not_before_1s_nor_without_timestamps():
    """--tcp-tw-reuse 1 takes nothing younger than 1 s (--rate 1000: the 5
    extra connects come within 25 ms and fail), and nothing at all without
    timestamps (--rate 10: the entries are > 1 s old, still EADDRNOTAVAIL).
    At --rate an attempt without a port fails in its slot (§3.4)."""
    for label, delay, extra in (("young", 0.0, ["--rate", "1000"]),
                                ("nots", 0.08, ["--tcp-timestamps", "0", "--rate", "10"])):
        name = "knobs_tw_reuse_" + label
        srv = ti.LinuxEchoServer(delay=delay)
        try:
            cli = run_client(name, "--ip-local-port-range", RANGE, "--count", "25",
                             "--tcp-tw-reuse", "1", *extra)
        finally:
            srv.close()
        assert cli.rc == 1, f"{label}: exit {cli.rc}: {cli.stderr}"
        fails = failure_lines(cli.stderr)
        assert len(fails) == 5 and all(EADDRNOTAVAIL_LINE.match(l) for l in fails), \
            f"{label}: {fails}"
        counters, _ = ti.last_stats(cli.stderr)
        assert counters["TcpExtTWRecycled"] == 0 and counters["TcpActiveOpens"] == 20, \
            (label, counters)
        events = ti.read_trace(name)
        tw = entered(events, "TIME_WAIT")
        assert len(tw) == 20 and not closes(events, "timewait_reused"), label
        if label == "young":
            assert tw[-1]["t"] - tw[0]["t"] < 1.0, \
                f"young: 20 connections took {tw[-1]['t'] - tw[0]['t']:.3f} s"
        else:
            assert tw[-1]["t"] - tw[0]["t"] > 1.0, "nots: the oldest entry was not > 1 s old"
            assert all(tsv is None for _, tsv in segments_with_ts(name)), \
                "nots: a timestamp option on the wire"


# ---- RST in TIME_WAIT (made by Linux) ----------------------------------------

def _rst_in_time_wait(name, rfc1337, msl):
    """Our final ACK goes out twice: Linux's LAST_ACK socket takes the first
    and is gone, the second meets no socket and Linux answers with a RST,
    seq = that ACK's ack = our RCV.NXT. Returns (server, Linux port,
    Linux's RST count, stats 0.3 s after)."""
    srv = start_server(name, "--close-after", "100", "--tcp-rfc1337", str(rfc1337),
                       "--fault", "dup:out:ack:state=TIME_WAIT:nth=1", msl=msl)
    try:
        rsts0 = ti.linux_nstat("TcpOutRsts").get("TcpOutRsts", 0)
        _, port, got = linux_client(b"r" * 100)
        assert got == b"r" * 100, f"echo: {len(got)} bytes"
        time.sleep(0.3)
        rsts = ti.linux_nstat("TcpOutRsts").get("TcpOutRsts", 0) - rsts0
        stats = srv.stats()
    except BaseException:
        srv.stop()
        raise
    return srv, port, rsts, stats


def _check_linux_rst(name, port):
    """The wire: the duplicated final ACK, then Linux's RST with
    seq == our RCV.NXT (Linux's FIN + 1); returns (segments, the RST)."""
    segs = tuple_segs(ti.tcp_segments(name), port)
    lfin = [s for s in segs if s.src == ti.HOST_ADDR and s.has("F")]
    assert len(lfin) == 1, f"Linux FINs: {lfin}"
    rcv_nxt = (lfin[0].seq + 1) % SEQ_MOD
    final_acks = [s for s in segs if s.src == ti.STACK_ADDR and s.ts > lfin[0].ts
                  and s.flags == 0x10 and s.ack == rcv_nxt]
    assert len(final_acks) == 2, f"final ACKs: {final_acks}"
    rsts = [s for s in segs if s.has("R")]
    assert len(rsts) == 1 and rsts[0].src == ti.HOST_ADDR, f"RSTs: {rsts}"
    assert rsts[0].seq == rcv_nxt and not rsts[0].has("A"), rsts[0]
    # after the duplicate in the capture's order (their times may share a
    # microsecond: the RST answers at once)
    where = {id(x): i for i, x in enumerate(segs)}
    assert where[id(rsts[0])] > where[id(final_acks[1])], (rsts[0], final_acks[1])
    return segs, rsts[0]


def test_rst_in_time_wait_kills_entry_rfc1337_0():
    """--tcp-rfc1337 0 (Linux's default): Linux's RST ends TIME_WAIT at once
    (why timewait_rst, TcpExtTWKilled 1), long before 2*MSL."""
    name = "knobs_rst_rfc1337_0"
    srv, port, linux_rsts, (counters, rows) = _rst_in_time_wait(name, 0, LONG_MSL)
    stop_server(srv)
    assert linux_rsts == 1, f"Linux sent {linux_rsts} RSTs"
    # TcpExtTW counts the entry when it begins (as Linux 6.x), so 1 here too.
    assert counters["TcpExtTWKilled"] == 1 and counters["TcpExtTW"] == 1, counters
    assert not rows, f"listing after the RST: {rows}"
    events = ti.read_trace(name)
    conn = conn_id(SERVER_PORT, port)
    assert len(entered(events_of(events, conn), "TIME_WAIT")) == 1, events
    killed = closes(events, "timewait_rst")
    assert [e["conn"] for e in killed] == [conn], events
    assert not closes(events, "timewait_expired"), events
    # The RST that ends TIME_WAIT is an acceptable one: rst_in, state
    # TIME_WAIT, on the entry's 4-tuple, just before its CLOSED line.
    evs = events_of(events, conn)
    rst_in = [i for i, e in enumerate(evs) if e.get("ev") == "rst_in"]
    assert len(rst_in) == 1 and evs[rst_in[0]]["state"] == "TIME_WAIT", evs
    assert evs[rst_in[0] + 1] == killed[0], evs
    segs, rst = _check_linux_rst(name, port)
    after = [s for s in segs if s.ts > rst.ts]
    assert not after, f"segments after the RST: {after}"
    ti.tshark_check(name)


def test_rst_in_time_wait_ignored_rfc1337_1():
    """--tcp-rfc1337 1 (RFC 1337): the same RST is ignored, without an ACK
    or a restart; the entry lives its full 2*MSL (timewait_expired)."""
    name = "knobs_rst_rfc1337_1"
    msl = 1.0
    srv, port, linux_rsts, (counters, rows) = _rst_in_time_wait(name, 1, "1s")
    try:
        assert linux_rsts == 1, f"Linux sent {linux_rsts} RSTs"
        assert counters["TcpExtTWKilled"] == 0, counters
        assert len(rows) == 1 and rows[0][0] == "TIME_WAIT", rows
        assert rows[0][4] == f"{ti.HOST_ADDR}:{port}", rows
        kind, left = timer_left(rows[0])
        assert kind == "timewait" and 1.0 < left <= 1.75, rows[0]
        time.sleep(left + 0.3)
        counters, rows = srv.stats()
        assert counters["TcpExtTW"] == 1 and counters["TcpExtTWKilled"] == 0, counters
        assert not rows, rows
    finally:
        stop_server(srv)
    events = ti.read_trace(name)
    conn = conn_id(SERVER_PORT, port)
    assert not closes(events, "timewait_rst")
    assert not [e for e in events if e.get("ev") in ("timewait_restart", "rst_in")]
    assert [e["conn"] for e in closes(events, "timewait_expired")] == [conn]
    lasted = span(events, conn, "TIME_WAIT")
    assert 2 * msl <= lasted < 2 * msl + ti.TIMER_SLACK, f"TIME_WAIT lasted {lasted:.6f} s"
    segs, rst = _check_linux_rst(name, port)
    after = [s for s in segs if s.ts > rst.ts]
    assert not after, f"the stack answered the RST: {after}"
    ti.tshark_check(name)


# ---- SYN in TIME_WAIT (a Linux client reconnecting from the same port) ----------

def _syn_in_time_wait(name, port, linux_ts):
    path = "/proc/sys/net/ipv4/tcp_timestamps"  # this namespace's own sysctl
    with open(path) as f:
        saved = f.read().strip()
    with open(path, "w") as f:
        f.write("1" if linux_ts else "0")
    srv = start_server(name, "--close-after", "100")
    try:
        _, p1, got1 = linux_client(b"1" * 100, bind_port=port)
        assert p1 == port and got1 == b"1" * 100, (p1, len(got1))
        time.sleep(0.2)
        _, rows = srv.stats()
        assert [r[0] for r in rows] == ["TIME_WAIT"] and rows[0][4] == f"{ti.HOST_ADDR}:{port}", \
            rows
        _, p2, got2 = linux_client(b"2" * 100, bind_port=port)
        assert p2 == port and got2 == b"2" * 100, (p2, len(got2))
        time.sleep(0.2)
        counters, rows = srv.stats()
    finally:
        stop_server(srv)
        with open(path, "w") as f:
            f.write(saved)
    assert counters["TcpPassiveOpens"] == 2 and counters["TcpExtTWKilled"] == 0, counters
    # The second incarnation is in TIME_WAIT now, the first is gone.
    assert [r[0] for r in rows] == ["TIME_WAIT"] and rows[0][4] == f"{ti.HOST_ADDR}:{port}", rows
    events = ti.read_trace(name)
    conn = conn_id(SERVER_PORT, port)
    seq = [(e["from"], e["to"], e.get("why")) for e in events_of(events, conn)
           if e.get("ev") == "state"]
    i = seq.index(("TIME_WAIT", "CLOSED", "timewait_syn"))
    assert ("FIN_WAIT_1", "TIME_WAIT", None) in seq[:i] or \
        ("FIN_WAIT_2", "TIME_WAIT", None) in seq[:i], seq
    assert seq[i + 1] == ("LISTEN", "SYN_RECEIVED", None), seq
    assert seq[-1][1] == "TIME_WAIT", seq
    # The wire: Linux's second SYN is beyond the old sequence space; our
    # answer is a SYN-ACK (not an ACK) whose ISN is beyond everything the old
    # incarnation sent (old SND.NXT + 65535 + 2).
    segs = segments_with_ts(name)
    mine = [(s, t) for s, t in segs
            if (s.src == ti.HOST_ADDR and s.sport == port)
            or (s.src == ti.STACK_ADDR and s.dport == port)]
    syns = [(s, t) for s, t in mine if s.src == ti.HOST_ADDR and s.has("S")]
    assert len(syns) == 2, syns
    old_linux_fin = [s for s, _ in mine if s.src == ti.HOST_ADDR and s.has("F")
                     and s.ts < syns[1][0].ts]
    old_our_fin = [s for s, _ in mine if s.src == ti.STACK_ADDR and s.has("F")
                   and s.ts < syns[1][0].ts]
    assert len(old_linux_fin) == 1 and len(old_our_fin) == 1, mine
    assert seq_gt(syns[1][0].seq, old_linux_fin[0].seq + 1), (old_linux_fin, syns[1])
    answer = [s for s, _ in mine if s.src == ti.STACK_ADDR and s.ts > syns[1][0].ts][0]
    assert answer.has("SA"), f"the SYN got {answer}"
    assert answer.seq == (old_our_fin[0].seq + 1 + 65535 + 2) % SEQ_MOD, (old_our_fin, answer)
    assert answer.ack == (syns[1][0].seq + 1) % SEQ_MOD, answer
    assert not [s for s, _ in mine if s.has("R")], "a RST on the 4-tuple"
    if linux_ts:
        assert syns[0][1] is not None and seq_gt(syns[1][1], syns[0][1]), syns
    else:
        assert all(t is None for _, t in mine), "a timestamp option with Linux's off"
    ti.tshark_check(name)


def test_syn_in_time_wait_new_incarnation():
    """Timestamps on both sides (Linux default): newer by TSval and by seq."""
    _syn_in_time_wait("knobs_syn_tw", 45000, linux_ts=True)


def test_syn_in_time_wait_by_sequence_alone():
    """Linux's net.ipv4.tcp_timestamps=0 in the namespace: no timestamps, so
    only RFC 1122 4.2.2.13 (the SYN's seq beyond the old RCV.NXT) decides."""
    _syn_in_time_wait("knobs_syn_tw_nots", 45001, linux_ts=False)


# ---- --tcp-max-tw-buckets ------------------------------------------------------

def test_max_tw_buckets_cap():
    """--tcp-max-tw-buckets 2, 5 active closes: 2 entries, 3 skip TIME_WAIT
    (why tw_overflow, TcpExtTCPTimeWaitOverflow 3): their trace goes
    straight from FIN_WAIT_1 or FIN_WAIT_2 to CLOSED, as Linux's socket goes
    straight to CLOSE, and their final ACK leaves in that state. Our 5 final
    ACKs are lost (--fault drop, 2 in TIME_WAIT and 3 in the states before
    it): Linux retransmits its 5 FINs; the 2 entries ACK theirs again
    (timewait_restart), the 3 skipped 4-tuples answer with a RST (RFC 9293
    3.10.7.1): what TIME_WAIT is for."""
    name = "knobs_max_tw_buckets"
    linux0 = ti.linux_nstat("TcpRetransSegs", "TcpOutRsts")
    srv = start_server(name, "--close-after", "64", "--tcp-max-tw-buckets", "2",
                       "--fault", "drop:out:ack:state=TIME_WAIT:count=2",
                       "--fault", "drop:out:ack:state=FIN_WAIT_1:count=3",
                       "--fault", "drop:out:ack:state=FIN_WAIT_2:count=3")
    ports = []
    try:
        for _ in range(5):
            _, port, got = linux_client(b"c" * 64)
            assert got == b"c" * 64, f"echo: {len(got)} bytes"
            ports.append(port)
        time.sleep(1.5)  # Linux's FIN retransmission (RTO >= 200 ms) and our answers
        counters, rows = srv.stats()
        last_ack = ti.ss_states("last-ack")
    finally:
        stop_server(srv)
    linux1 = ti.linux_nstat("TcpRetransSegs", "TcpOutRsts")
    assert counters["TcpExtTCPTimeWaitOverflow"] == 3, counters
    assert counters["TcpOutRsts"] == 3, counters
    assert sorted(r[4] for r in rows if r[0] == "TIME_WAIT") == \
        sorted(f"{ti.HOST_ADDR}:{p}" for p in ports[:2]), rows
    assert len(rows) == 2, rows
    assert not last_ack, f"Linux still in LAST_ACK: {last_ack}"
    assert linux1.get("TcpRetransSegs", 0) - linux0.get("TcpRetransSegs", 0) == 5
    assert linux1.get("TcpOutRsts", 0) - linux0.get("TcpOutRsts", 0) == 0
    events = ti.read_trace(name)
    assert sorted(e["conn"] for e in entered(events, "TIME_WAIT")) == \
        sorted(conn_id(SERVER_PORT, p) for p in ports[:2]), events
    overflows = closes(events, "tw_overflow")
    assert sorted(e["conn"] for e in overflows) == \
        sorted(conn_id(SERVER_PORT, p) for p in ports[2:])
    assert all(e["from"] in ("FIN_WAIT_1", "FIN_WAIT_2") for e in overflows), overflows
    restarts = [e for e in events if e.get("ev") == "timewait_restart"]
    assert sorted(e["conn"] for e in restarts) == sorted(conn_id(SERVER_PORT, p)
                                                         for p in ports[:2]), restarts
    segs = ti.tcp_segments(name)
    for i, port in enumerate(ports):
        ts = tuple_segs(segs, port)
        fins = [s for s in ts if s.src == ti.HOST_ADDR and s.has("F")]
        assert len(fins) == 2 and fins[0].seq == fins[1].seq, f"port {port}: {fins}"
        answer = [s for s in ts if s.src == ti.STACK_ADDR and s.ts > fins[1].ts]
        assert len(answer) == 1, f"port {port}: {answer}"
        if i < 2:  # TIME_WAIT: the ACK of the retransmitted FIN
            assert answer[0].flags == 0x10 and answer[0].ack == fins[1].seq + 1, answer
        else:  # no TIME_WAIT: a RST for a 4-tuple that is no connection
            assert answer[0].has("R") and not answer[0].has("A"), answer
            assert answer[0].seq == fins[1].ack, answer
    ti.tshark_check(name)


# ---- --tcp-fin-timeout -------------------------------------------------------------

def test_fin_timeout_drops_orphan_in_fin_wait_2():
    """The stack closes first (--close-after); the Linux client reads the
    EOF and keeps its socket open (CLOSE_WAIT). The orphan in FIN_WAIT_2 is
    dropped after --tcp-fin-timeout 1s, silently as Linux does; Linux's FIN,
    when it finally closes, meets a RST."""
    name = "knobs_fin_timeout"
    srv = start_server(name, "--close-after", "64", "--tcp-fin-timeout", "1s")
    sock = None
    try:
        sock, port, got = linux_client(b"f" * 64, keep_open=True)
        assert got == b"f" * 64, f"echo: {len(got)} bytes"
        mine = (f"{ti.HOST_ADDR}:{port}", f"{ti.STACK_ADDR}:{SERVER_PORT}")
        time.sleep(0.3)
        _, rows = srv.stats()
        assert len(rows) == 1 and rows[0][0] == "FIN_WAIT_2", rows
        kind, left = timer_left(rows[0])
        assert kind == "fin_wait_2" and 0.3 < left <= 0.95, rows[0]
        assert mine in ti.ss_states("close-wait"), ti.ss_states("close-wait")
        time.sleep(left + 0.3)
        counters, rows = srv.stats()
        assert not rows, f"after the timeout: {rows}"
        assert counters["TcpExtTCPFinWait2Timeout"] == 1 and counters["TcpOutRsts"] == 0, \
            counters
        assert mine in ti.ss_states("close-wait"), "Linux was told (it should not be)"
        sock.close()
        sock = None
        time.sleep(0.3)
        assert not [r for r in ti.ss_states("last-ack") if r == mine], "Linux in LAST_ACK"
        counters, _ = srv.stats()
        assert counters["TcpOutRsts"] == 1, counters
    finally:
        if sock is not None:
            sock.close()
        stop_server(srv)
    events = ti.read_trace(name)
    conn = conn_id(SERVER_PORT, port)
    assert [e["conn"] for e in closes(events, "fin_timeout")] == [conn]
    lasted = span(events, conn, "FIN_WAIT_2")
    assert 1.0 <= lasted < 1.010, f"FIN_WAIT_2 lasted {lasted:.6f} s"
    segs = tuple_segs(ti.tcp_segments(name), port)
    ours = [s for s in segs if s.src == ti.STACK_ADDR]
    our_fin = [s for s in ours if s.has("F")]
    lfin = [s for s in segs if s.src == ti.HOST_ADDR and s.has("F")]
    assert len(our_fin) == 1 and len(lfin) == 1, segs
    between = [s for s in ours if our_fin[0].ts < s.ts < lfin[0].ts]
    assert not between, f"the stack sent {between} while dropping the orphan"
    answer = [s for s in ours if s.ts > lfin[0].ts]
    assert len(answer) == 1 and answer[0].has("R") and not answer[0].has("A"), answer
    assert answer[0].seq == lfin[0].ack, answer
    ti.tshark_check(name)


# ---- statistics on SIGUSR1 --------------------------------------------------------

def test_sigusr1_statistics_show_time_wait():
    """SIGUSR1 to a running echo-server: `Name value` counters (every one
    docs/contract.md §3.2 names) and an ss-like row for the TIME_WAIT entry with its time
    left; the server keeps running. The counters agree with Linux's own and
    with the capture."""
    name = "knobs_sigusr1"
    msl = 1.0
    linux0 = ti.linux_nstat("TcpOutSegs", "TcpInSegs")
    srv = start_server(name, "--close-after", "64", msl="1s")
    try:
        _, port, got = linux_client(b"s" * 64)
        assert got == b"s" * 64
        time.sleep(0.2)
        counters, rows = srv.stats()
        linux1 = ti.linux_nstat("TcpOutSegs", "TcpInSegs")
        assert srv.proc.poll() is None, "SIGUSR1 stopped the server"
        for c in SPEC_COUNTERS:
            assert c in counters, f"counter {c} missing: {sorted(counters)}"
        assert counters["TcpPassiveOpens"] == 1 and counters["TcpExtTW"] == 1, counters
        assert len(rows) == 1, rows
        state, recvq, sendq, local, peer = rows[0][:5]
        assert (state, recvq, sendq, local, peer) == (
            "TIME_WAIT", "0", "0", f"{ti.STACK_ADDR}:{SERVER_PORT}", f"{ti.HOST_ADDR}:{port}"), \
            rows[0]
        kind, left = timer_left(rows[0])
        assert kind == "timewait" and 2 * msl - 0.6 < left <= 2 * msl - 0.15, rows[0]
        assert not linux_holds_time_wait(), "Linux holds TIME_WAIT too"
        # Linux's segment counters against the stack's.
        assert counters["TcpInSegs"] == linux1["TcpOutSegs"] - linux0.get("TcpOutSegs", 0), \
            (counters["TcpInSegs"], linux0, linux1)
        assert counters["TcpOutSegs"] == linux1["TcpInSegs"] - linux0.get("TcpInSegs", 0), \
            (counters["TcpOutSegs"], linux0, linux1)
        time.sleep(left + 0.3)
        counters2, rows2 = srv.stats()
        assert counters2["TcpExtTW"] == 1 and not rows2, (counters2, rows2)
        assert srv.proc.poll() is None, "SIGUSR1 stopped the server"
    finally:
        stop_server(srv)
    segs = ti.tcp_segments(name)
    assert counters["TcpInSegs"] == len([s for s in segs if s.src == ti.HOST_ADDR])
    assert counters["TcpOutSegs"] == len([s for s in segs if s.src == ti.STACK_ADDR])
    # The listing's time left agrees with the trace's TIME_WAIT start.
    events = ti.read_trace(name)
    assert [e["conn"] for e in closes(events, "timewait_expired")] == [conn_id(SERVER_PORT, port)]
    # -v at exit prints one more report.
    final, _ = ti.last_stats(srv.stderr)
    assert final["TcpExtTW"] == 1 and final["TcpPassiveOpens"] == 1, final


if __name__ == "__main__":
    ti.enter_netns()
    ti.run_tests([test_port_exhaustion_eaddrnotavail,
                  test_tw_reuse_once_oldest_entry_is_older_than_1s,
                  test_tw_reuse_not_before_1s_nor_without_timestamps,
                  test_rst_in_time_wait_kills_entry_rfc1337_0,
                  test_rst_in_time_wait_ignored_rfc1337_1,
                  test_syn_in_time_wait_new_incarnation,
                  test_syn_in_time_wait_by_sequence_alone,
                  test_max_tw_buckets_cap,
                  test_fin_timeout_drops_orphan_in_fin_wait_2,
                  test_sigusr1_statistics_show_time_wait])
