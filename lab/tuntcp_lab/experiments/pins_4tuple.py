"""TIME_WAIT pins the 4-tuple, not the local port (docs/lab/pins-4tuple.md).

tuntcp: echo-client with one port (--ip-local-port-range 40000-40000) and
two destinations (--connect 10.7.0.1:7 --connect 10.7.0.1:8, used in turn),
--count 3 --rate 10, --msl 1s: connection 1 (to :7) leaves 40000 in
TIME_WAIT; connection 2 (to :8) gets the same port 40000 all the same; only
connection 3, to :7 again, the 4-tuple in TIME_WAIT, fails with
EADDRNOTAVAIL. Linux, the same in its own namespace: ip_local_port_range
40000 40000, a Linux client closes first against tuntcp's echo-server on
ports 7 and 8 (so Linux holds TIME_WAIT, 60 s): the connect to :8 gets port
40000, the second connect to :7 fails with EADDRNOTAVAIL.
"""
import errno
import socket
import time

from ..capture import states
from ..peers import echo_handler, errname
from ._common import peer_port, port_of

NAME = "pins-4tuple"
CLAIM = "a connection in TIME_WAIT blocks its local port for every destination"
EXPECTED = "refuted"
ORDER = 140
TIME_LIMIT = {"quick": 30, "full": 30}

PORT = 40000


def _tuntcp(ctx):
    ctx.listen(echo_handler(), port=7)
    ctx.listen(echo_handler(), port=8)
    tag = "tuntcp-one-port"
    app = ctx.client(tag, "--ip-local-port-range", f"{PORT}-{PORT}", "--connect",
                     "10.7.0.1:7", "--connect", "10.7.0.1:8", "--count", 3, "--rate", 10,
                     "-v", msl="1s")
    ev = ctx.trace(tag)
    opens = [(port_of(e["conn"]), peer_port(e["conn"])) for e in states(ev)
             if e["to"] == "SYN_SENT"]
    tws = [(port_of(e["conn"]), peer_port(e["conn"])) for e in states(ev)
           if e["to"] == "TIME_WAIT"]
    fails = [e for e in ev if e.get("ev") == "connect_fail"]
    lines = [l for l in app.stderr.splitlines() if "connection 3:" in l]
    return {"opens": opens, "tws": tws, "fail": [f["err"] + " to " + f["conn"].split(">")[1]
                                                 for f in fails],
            "line": lines[0] if lines else None, "rc": app.rc}


def _linux_connect(dport):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.settimeout(5)
    try:
        s.connect(("10.7.0.2", dport))
    except OSError as e:
        s.close()
        return None, errname(e)
    return s, None


def _wait_timewait(ctx, dport, timeout=2.0):
    """Until Linux's closed socket to dport is in TIME_WAIT (after tuntcp's FIN)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if any(r["peer"] == f"10.7.0.2:{dport}" for r in ctx.ss("time-wait")):
            return
        time.sleep(0.01)


def _linux(ctx):
    ctx.sysctl("net.ipv4.ip_local_port_range", f"{PORT} {PORT}")
    tag = "linux-one-port"
    srv = ctx.server(tag, "--port", 7, "--port", 8, msl="1s")
    ctx.record("[Linux client] connect to 10.7.0.2:7, echo, close first (TIME_WAIT); "
               "connect to 10.7.0.2:8; connect to 10.7.0.2:7 again")
    got = []
    for dport in (7, 8, 7):
        s, err = _linux_connect(dport)
        if s is None:
            got.append({"to": dport, "port": None, "err": err})
            continue
        port = s.getsockname()[1]
        s.sendall(b"x" * 16)
        s.recv(64)
        s.close()  # Linux closes first: its side holds TIME_WAIT
        got.append({"to": dport, "port": port, "err": None})
        _wait_timewait(ctx, dport)
    tw = [r for r in ctx.ss("time-wait") if r["local"] == f"10.7.0.1:{PORT}"]
    srv.stop()
    return got, tw


def run(ctx):
    t = _tuntcp(ctx)
    lx, lx_tw = _linux(ctx)
    ctx.number("tuntcp_connects", [f"{a}->{b}" for a, b in t["opens"]], "local->remote port")
    ctx.number("tuntcp_timewait", [f"{a}->{b}" for a, b in t["tws"]], "local->remote port")
    ctx.number("tuntcp_failures", t["fail"], "errno to destination")
    ctx.number("linux_connects", lx, "per connect")
    ctx.number("linux_timewait", [r["line"] for r in lx_tw], "ss lines")
    tuntcp_ok = (t["opens"] == [(PORT, 7), (PORT, 8)] and t["tws"] == [(PORT, 7), (PORT, 8)]
                 and t["fail"] == ["EADDRNOTAVAIL to 10.7.0.1:7"])
    eaddr = errno.errorcode[errno.EADDRNOTAVAIL]
    linux_ok = ([(r["to"], r["port"], r["err"]) for r in lx]
                == [(7, PORT, None), (8, PORT, None), (7, None, eaddr)] and len(lx_tw) == 2)
    ctx.look(f"tuntcp-one-port.jsonl: 10.7.0.2:{PORT} goes to TIME_WAIT with 10.7.0.1:7, "
             f"then opens to 10.7.0.1:8 while that TIME_WAIT lasts; "
             f"tuntcp-one-port.stderr: {t['line']!r} (the third connection, to :7 again: "
             "the 4-tuple in TIME_WAIT; a `connect_fail` line in the trace, no packet).")
    ctx.look(f"Linux ({ctx.capture_name('linux-one-port')}, Linux is the client, "
             f"ip_local_port_range {PORT} {PORT}): " + "; ".join(
                 f"connect to :{r['to']}: " + (f"port {r['port']}" if r["port"] else r["err"])
                 for r in lx) + "; ss state time-wait: "
             + " | ".join(r["line"] for r in lx_tw))
    # The claim holds if the TIME_WAIT with :7 kept the port from :8 too.
    blocked = (PORT, 8) not in t["opens"] or lx[1]["port"] != PORT
    if not blocked and not (tuntcp_ok and linux_ok):
        raise RuntimeError(f"unexpected run: tuntcp {t}, Linux {lx}")
    return ctx.verdict(
        blocked,
        f"one port {PORT}: tuntcp connected to :7 and, while that was in TIME_WAIT, to :8 "
        f"from the same port; only :7 again failed ({', '.join(t['fail']) or 'no failure'})"
        f"; Linux the same: " + ", ".join(
            f":{r['to']} " + (str(r["port"]) if r["port"] else r["err"]) for r in lx))
