"""SO_LINGER {on, 0}: the close sends a RST, queued data is lost, nobody
holds TIME_WAIT, and the peer gets ECONNRESET whether or not it was blocked
in recv() (docs/lab/linger0.md).

tuntcp's echo-server closes each connection with --linger0 once it has
taken 100000 bytes to echo (--close-after), while most of the echo is still
queued: the Linux client's receive buffer is small (SO_RCVBUF 4096).
- blocked: a thread of the Linux client reads as data comes and sits in
  recv() when the RST arrives: the RST is held 300 ms on its way
  (--fault delay=300ms:out:rst, docs/contract.md §3.5), so the reader has
  drained what was sent before the close and waits in recv() for more;
- not reading: the client sends, then does not read for 0.5 s; the RST
  arrives meanwhile; its first recv() comes after it.
The articles say the peer learns of the reset only if it was blocked in
recv(); both clients get ECONNRESET.
"""
import socket
import threading
import time

from ..capture import states
from ..peers import errname

NAME = "linger0"
CLAIM = ("SO_LINGER {on,0} resets: RST, queued data lost, no TIME_WAIT; the peer sees "
         "\"connection reset\" only if it was blocked in recv()")
EXPECTED = "refuted"
ORDER = 60
TIME_LIMIT = {"quick": 30, "full": 30}

SIZE = 100000


def _client(blocked):
    """Returns (bytes received, error name, [(recv entered, returned)])."""
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    s.settimeout(5)
    s.connect(("10.7.0.2", 7))
    res = {"got": 0, "err": None, "calls": []}

    def reader():
        while True:
            t = time.time()
            try:
                chunk = s.recv(65536)
            except OSError as e:
                res["calls"].append((t, time.time()))
                res["err"] = errname(e)
                return
            res["calls"].append((t, time.time()))
            if not chunk:
                res["err"] = "EOF"
                return
            res["got"] += len(chunk)

    th = None
    if blocked:
        th = threading.Thread(target=reader, daemon=True)
        th.start()
    s.sendall(b"z" * SIZE)
    if blocked:
        th.join(5)
    else:
        time.sleep(0.5)  # not in recv() when the RST comes
        reader()
    s.close()
    return res


def _scene(ctx, tag, blocked):
    hold = ["--fault", "delay=300ms:out:rst"] if blocked else []
    srv = ctx.server(tag, "--linger0", "--close-after", SIZE, *hold, msl="1s")
    res = _client(blocked)
    linux_tw = [r for r in ctx.ss("time-wait")]
    srv.stop()
    segs = ctx.segments(tag)
    rst = [x for x in segs if x.out and x.has("R")]
    ev = ctx.trace(tag)
    res["rst"] = rst[0] if rst else None
    res["tuntcp_tw"] = any(e["to"] == "TIME_WAIT" for e in states(ev))
    res["why"] = [e.get("why") for e in ev if e.get("ev") == "rst_out"]
    res["linux_tw"] = bool(linux_tw)
    res["fin"] = any(x.out and x.has("F") for x in segs)
    last = res["calls"][-1] if res["calls"] else None
    # Blocked: the last recv() was entered well before the RST and returned
    # with it (the capture stamps a packet just after it is written to the
    # TUN device, so within a few ms either side); not reading: the first
    # recv() came well after the RST.
    if rst and last:
        res["in_recv_at_rst"] = last[0] < rst[0].ts - 0.1 and abs(last[1] - rst[0].ts) < 0.02
        res["first_recv_after_rst"] = res["calls"][0][0] > rst[0].ts + 0.1
        res["waited_in_recv"] = rst[0].ts - last[0]
    return res


def run(ctx):
    a = _scene(ctx, "blocked-in-recv", True)
    b = _scene(ctx, "not-reading", False)
    for key, r in (("blocked", a), ("not_reading", b)):
        ctx.number(f"{key}_received", r["got"], "bytes")
        ctx.number(f"{key}_sent", SIZE, "bytes")
        ctx.number(f"{key}_error", r["err"], "errno")
    resets = all(r["rst"] is not None and not r["fin"] and not r["tuntcp_tw"]
                 and not r["linux_tw"] and r["got"] < SIZE for r in (a, b))
    shown = a.get("in_recv_at_rst") and b.get("first_recv_after_rst")
    if not (resets and shown):
        raise RuntimeError(f"the scenes did not come out as designed: {a} {b}")
    for tag, r in (("blocked-in-recv", a), ("not-reading", b)):
        ctx.look(f"{ctx.capture_name(tag)}: the RST is frame {r['rst'].frame} "
                 f"({r['rst']}), no FIN anywhere; tuntcp had taken all {SIZE} bytes to "
                 f"echo, Linux received {r['got']} before the RST; its recv() then failed "
                 f"with {r['err']}"
                 + (f" (it had waited {r['waited_in_recv']:.3f} s in recv() for the RST)"
                    if tag == "blocked-in-recv" else " (its first recv() came 0.5 s after it)")
                 + f". {tag}.jsonl: rst_out why {', '.join(r['why'])}, "
                 "ESTABLISHED -> CLOSED, no TIME_WAIT; ss shows no TIME_WAIT on Linux.")
    ctx.look(f"In Wireshark: open {ctx.capture_name('not-reading')}, filter `tcp.flags.reset==1 || "
             "tcp.analysis.zero_window`: the receiver's zero window, then the RST; no "
             "packet has the FIN flag (`tcp.flags.fin==1` shows nothing).")
    # The claim's condition ("only if blocked") is refuted when the reader
    # that was not in recv() gets ECONNRESET too.
    holds = not (a["err"] == "ECONNRESET" and b["err"] == "ECONNRESET")
    return ctx.verdict(
        holds, f"RST, no FIN, no TIME_WAIT on either side; {a['got']} and {b['got']} of "
        f"{SIZE} bytes arrived (the rest was lost); blocked in recv(): {a['err']}; not in "
        f"recv() when the RST came (read 0.5 s later): {b['err']}")
