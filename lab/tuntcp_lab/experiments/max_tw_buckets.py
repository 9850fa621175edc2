"""tcp_max_tw_buckets overflow: the entries already in TIME_WAIT stay; new
closes skip TIME_WAIT (docs/lab/max-tw-buckets.md).

tuntcp: echo-client --tcp-max-tw-buckets 3 --count 6 --rate 20 against a
Linux echo server, closing first: connections 1-3 enter TIME_WAIT and stay
their whole 2*MSL (timewait_expired); connections 4-6 find the table full
and go straight to CLOSED (why tw_overflow), counted in
TcpExtTCPTimeWaitOverflow. Linux, with its own sysctl in the namespace
(net.ipv4.tcp_max_tw_buckets = 3): a Linux client closes first six times
against tuntcp's echo-server; `ss state time-wait` lists the first three
4-tuples only, and /proc/net/netstat's TCPTimeWaitOverflow grows by 3.
"""
import socket
import time

from ..capture import states, timewait_spans
from ..peers import echo_handler
from ._common import counters, linux_netstat, ms

NAME = "max-tw-buckets"
CLAIM = ("past tcp_max_tw_buckets the TIME_WAIT sockets are reset and the table "
         "emptied")
EXPECTED = "refuted"
ORDER = 110
TIME_LIMIT = {"quick": 30, "full": 30}

BUCKETS = 3
COUNT = 6


def _tuntcp(ctx, msl):
    ctx.listen(echo_handler())
    tag = "tuntcp-buckets"
    app = ctx.client(tag, "--tcp-max-tw-buckets", BUCKETS, "--count", COUNT, "--rate", 20,
                     "--wait-timewait", "-v", msl=msl)
    ev = ctx.trace(tag)
    spans = timewait_spans(ev)
    over = [e for e in states(ev) if e.get("why") == "tw_overflow"]
    stats, _ = counters(app.stderr)
    rsts = [s for s in ctx.segments(tag) if s.has("R")]
    return {"rc": app.rc, "spans": spans, "overflow": len(over),
            "overflow_from": sorted({e["from"] for e in over}),
            "counter": stats.get("TcpExtTCPTimeWaitOverflow"), "rsts": len(rsts),
            "durations": [round(s["end"] - s["start"], 3) for s in spans if s["end"]],
            "why": [s["why"] for s in spans]}


def _linux(ctx):
    before = linux_netstat("TcpExtTCPTimeWaitOverflow") or 0
    ctx.sysctl("net.ipv4.tcp_max_tw_buckets", BUCKETS)
    tag = "linux-buckets"
    srv = ctx.server(tag, msl="1s")
    ctx.record(f"[Linux client] {COUNT} connections to 10.7.0.2:7, each echoes 16 bytes "
               "and closes first")
    ports = []
    for _ in range(COUNT):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.settimeout(5)
        s.connect(("10.7.0.2", 7))
        ports.append(s.getsockname()[1])
        s.sendall(b"x" * 16)
        s.recv(64)
        s.close()
        time.sleep(0.05)  # tuntcp's FIN comes back: Linux's socket leaves FIN_WAIT_2
    time.sleep(0.3)
    tw = [r for r in ctx.ss("time-wait") if r["peer"] == "10.7.0.2:7"]
    after = linux_netstat("TcpExtTCPTimeWaitOverflow") or 0
    srv.stop()
    kept = [int(r["local"].split(":")[1]) for r in tw]
    return {"ports": ports, "kept": sorted(kept), "overflow": after - before,
            "lines": [r["line"] for r in tw]}


def run(ctx):
    msl = "500ms" if ctx.quick else "1s"
    t = _tuntcp(ctx, msl)
    lx = _linux(ctx)
    ctx.number("buckets", BUCKETS, "entries")
    ctx.number("tuntcp_timewait_entries", len(t["spans"]), "entries")
    ctx.number("tuntcp_timewait_durations", t["durations"], "s")
    ctx.number("tuntcp_tw_overflow", t["overflow"], "closes")
    ctx.number("tuntcp_TcpExtTCPTimeWaitOverflow", t["counter"], "count")
    ctx.number("linux_ports", lx["ports"], "ports in order")
    ctx.number("linux_timewait_kept", lx["kept"], "ports")
    ctx.number("linux_TcpExtTCPTimeWaitOverflow", lx["overflow"], "count (delta)")
    two_msl = 2 * ms(msl)
    tuntcp_ok = (t["rc"] == 0 and len(t["spans"]) == BUCKETS and t["overflow"] == COUNT - BUCKETS
                 and t["counter"] == COUNT - BUCKETS and t["rsts"] == 0
                 and all(w == "timewait_expired" for w in t["why"])
                 and all(d >= two_msl for d in t["durations"]))
    linux_ok = lx["kept"] == sorted(lx["ports"][:BUCKETS]) and lx["overflow"] == COUNT - BUCKETS
    ctx.look(f"tuntcp-buckets.jsonl: {len(t['spans'])} FIN_WAIT_1 -> TIME_WAIT, each ending "
             f"timewait_expired after {t['durations']} s (2*MSL = {two_msl:g} s), and "
             f"{t['overflow']} closes straight to CLOSED why tw_overflow (from "
             f"{', '.join(t['overflow_from'])}); tuntcp-buckets.stderr: "
             f"TcpExtTCPTimeWaitOverflow {t['counter']}; no RST in "
             f"{ctx.capture_name('tuntcp-buckets')}.")
    ctx.look(f"Linux, net.ipv4.tcp_max_tw_buckets = {BUCKETS}: its client used ports "
             f"{lx['ports']}; ss state time-wait keeps {lx['kept']} (the first "
             f"{BUCKETS}); TcpExtTCPTimeWaitOverflow grew by {lx['overflow']}. "
             "ss lines: " + " | ".join(lx["lines"]))
    if not (tuntcp_ok and linux_ok):
        return ctx.verdict(True, f"not as described: tuntcp {t}, Linux {lx}")
    return ctx.verdict(
        False, f"tcp_max_tw_buckets {BUCKETS}, {COUNT} closes: tuntcp kept {len(t['spans'])} "
        f"entries their full 2*MSL ({min(t['durations']):.3f} s or more), {t['overflow']} "
        f"closes skipped TIME_WAIT (TcpExtTCPTimeWaitOverflow {t['counter']}), no RST; "
        f"Linux kept its first {len(lx['kept'])}, overflow {lx['overflow']}")
