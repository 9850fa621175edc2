"""A server's TIME_WAIT does not stop a client reconnecting on the same
4-tuple: a new SYN is accepted in TIME_WAIT (docs/lab/syn-in-timewait.md).

1. tuntcp server, Linux client: echo-server --close-after 16 --msl 5s closes
   first and holds TIME_WAIT (10 s); a Linux client bound to a fixed port
   reconnects at once: the stack takes the SYN (RFC 9293 3.10.7.4 with RFC
   6191: its sequence number or timestamp is newer), TIME_WAIT -> CLOSED
   why timewait_syn, and the second connection is served.
2. Linux server, tuntcp client: a Linux server closes first and holds
   TIME_WAIT (60 s); echo-client with one port (--ip-local-port-range
   40200-40200) --count 2 --close-wait reconnects on the same 4-tuple at
   once: Linux answers the second SYN with a SYN-ACK (tuntcp's ISNs follow
   a 64 ns clock, as Linux's, so the new ISN is above the old connection's
   sequence space; its timestamps grow too).
"""
import socket
import time

from ..capture import states
from ..peers import echo_handler

NAME = "syn-in-timewait"
CLAIM = ("a server's TIME_WAIT blocks a client from reconnecting on the same "
         "4-tuple until 2*MSL has passed")
EXPECTED = "refuted"
ORDER = 130
TIME_LIMIT = {"quick": 30, "full": 30}

SPORT = 40100
CPORT = 40200


def _linux_client_once():
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.settimeout(5)
    s.bind(("10.7.0.1", SPORT))
    # EADDRNOTAVAIL while Linux's previous incarnation waits in LAST_ACK for
    # the stack's ACK, a few ms at most.
    deadline = time.monotonic() + 2
    while True:
        try:
            s.connect(("10.7.0.2", 7))
            break
        except OSError as e:
            if e.errno != 99 or time.monotonic() > deadline:
                raise
            time.sleep(0.005)
    s.sendall(b"s" * 16)
    got = b""
    while True:
        chunk = s.recv(64)
        if not chunk:
            break
        got += chunk
    s.close()
    return got


def _tuntcp_server(ctx):
    tag = "tuntcp-server-timewait"
    srv = ctx.server(tag, "--close-after", 16, msl="5s")
    ctx.record(f"[Linux client] bound to 10.7.0.1:{SPORT}: connect, send 16 bytes, read to "
               "EOF, close; again at once")
    t0 = time.monotonic()
    got = [_linux_client_once(), _linux_client_once()]
    took = time.monotonic() - t0
    srv.stop()
    conn = f"10.7.0.2:7>10.7.0.1:{SPORT}"
    ev = [e for e in states(ctx.trace(tag)) if e["conn"] == conn]
    tw_in = [e["t"] for e in ev if e["to"] == "TIME_WAIT"]
    syn_kill = [e["t"] for e in ev if e["from"] == "TIME_WAIT" and e.get("why") == "timewait_syn"]
    opens = [e["t"] for e in ev if e["from"] == "LISTEN"]
    return {"echoed": [len(g) for g in got], "took": took, "tw": tw_in, "syn": syn_kill,
            "opens": opens,
            "gap": round(opens[1] - tw_in[0], 4) if len(opens) == 2 and tw_in else None}


def _tuntcp_client(ctx):
    ctx.listen(echo_handler(close_after=64))
    tag = "linux-server-timewait"
    app = ctx.client(tag, "--ip-local-port-range", f"{CPORT}-{CPORT}", "--count", 2,
                     "--close-wait", msl="1s")
    segs = ctx.segments(tag)
    syns = [s for s in segs if s.out and s.only("S")]
    replies = []
    for syn in syns:
        nxt = [s for s in segs if not s.out and s.frame > syn.frame]
        replies.append("SYN-ACK" if nxt and nxt[0].has("SA") else
                       (repr(nxt[0]) if nxt else "none"))
    gap = syns[1].ts - syns[0].ts if len(syns) == 2 else None
    return {"rc": app.rc, "syns": [(s.frame, s.sport) for s in syns], "replies": replies,
            "gap": gap, "isns": [s.seq for s in syns]}


def run(ctx):
    a = _tuntcp_server(ctx)
    b = _tuntcp_client(ctx)
    ctx.number("tuntcp_server_echoed", a["echoed"], "bytes per connection")
    ctx.number("tuntcp_server_second_connection_after_timewait_began", a["gap"], "s")
    ctx.number("tuntcp_server_timewait_syn", len(a["syn"]), "entries ended by a SYN")
    ctx.number("linux_server_syn_replies", b["replies"], "first reply to each SYN")
    ctx.number("linux_server_reconnect_gap", round(b["gap"], 4) if b["gap"] else None, "s")
    # Well inside 2*MSL (10 s) and Linux's 60 s, however busy the machine.
    ok_a = a["echoed"] == [16, 16] and len(a["syn"]) == 1 and a["gap"] is not None \
        and a["gap"] < 5.0
    ok_b = b["rc"] == 0 and [p for _, p in b["syns"]] == [CPORT, CPORT] \
        and b["replies"] == ["SYN-ACK", "SYN-ACK"] and b["gap"] is not None and b["gap"] < 30.0
    ctx.look(f"tuntcp-server-timewait.jsonl: 10.7.0.2:7>10.7.0.1:{SPORT} enters TIME_WAIT "
             "(2*MSL = 10 s), then TIME_WAIT -> CLOSED why timewait_syn and LISTEN -> "
             f"SYN_RECEIVED again {a['gap']} s after TIME_WAIT began: the Linux client's "
             "second connection, same 4-tuple, served at once.")
    ctx.look(f"{ctx.capture_name('linux-server-timewait')}: our SYNs (frames {[f for f, _ in b['syns']]}), "
             f"both from port {CPORT}, {b['gap']:.3f} s apart; Linux, in TIME_WAIT after "
             f"the first connection, answers each with {b['replies']} (not an ACK: the new "
             f"ISN {b['isns'][-1]} lies above the old connection's).")
    blocked = not (ok_a and ok_b)
    if blocked and (a["echoed"] == [16, 16] or b["rc"] == 0):
        raise RuntimeError(f"unexpected run: tuntcp server {a}, tuntcp client {b}")
    return ctx.verdict(
        blocked, f"tuntcp server in TIME_WAIT (2*MSL 10 s) took the Linux client's SYN "
        f"{a['gap']} s in (timewait_syn); Linux server in TIME_WAIT (60 s) answered "
        f"tuntcp's SYN on the same 4-tuple with {b['replies'][-1]} "
        f"{b['gap']:.3f} s after the first")
