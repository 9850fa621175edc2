"""An old duplicate from a previous incarnation of a 4-tuple: what TIME_WAIT
is for (docs/lab/old-duplicate.md).

tuntcp's echo-server closes first (--close-after 16, --msl 1s); a Linux
client bound to a fixed port reconnects at once, so connection 2 has
connection 1's 4-tuple. `--fault dup=1500ms:in:data:nth=1` passes
connection 1's data and releases a copy of it 1.5 s later, into whatever
then owns the 4-tuple. Connection 2 sends 8 bytes, waits past the release,
sends 8 more. Four runs, each from its own client port:

- TIME_WAIT skipped (--tcp-max-tw-buckets 0), timestamps off: the copy
  lands in connection 2 and is rejected by its sequence number (below
  RCV.NXT); the stack ACKs RCV.NXT; connection 2's echo is intact.
- TIME_WAIT skipped, timestamps on: PAWS rejects the copy first
  (TcpExtPAWSEstab 1).
- TIME_WAIT skipped, an old duplicate whose sequence number happens to fall
  in the window (injected at connection 2's RCV.NXT: --inject
  established+300ms:data:nth=2:len=8): accepted as data, echoed in place of
  the client's own bytes.
- TIME_WAIT kept (--tcp-rfc1337 1, timestamps off, the copy after 500 ms):
  the copy reaches the TIME_WAIT entry, which ACKs it; Linux answers that
  ACK with a RST, which TIME_WAIT ignores; the copy reaches no connection.
"""
import socket
import time

from ..capture import states
from ._common import counters

NAME = "old-duplicate"
CLAIM = ("without TIME_WAIT an old duplicate from a previous incarnation can be taken "
         "as data of a new one; TIME_WAIT (and PAWS, and sequence numbers) keep it out")
EXPECTED = "confirmed"
ORDER = 160
TIME_LIMIT = {"quick": 40, "full": 40}

HOLD = 1.5


def _connect_when_free(s):
    deadline = time.monotonic() + 2.0
    while True:
        try:
            s.connect(("10.7.0.2", 7))
            return
        except OSError as e:  # EADDRNOTAVAIL while Linux's LAST_ACK lasts (ms)
            if e.errno != 99 or time.monotonic() > deadline:
                raise
            time.sleep(0.01)


def _linux_conn(sport, chunks, pause_until=None):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.settimeout(5.0)
    got = b""
    try:
        s.bind(("10.7.0.1", sport))
        _connect_when_free(s)
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
    finally:
        s.close()
    return got


def _incarnations(ctx, tag, sport, flags, second=True):
    srv = ctx.server(tag, "-v", "--close-after", 16, *flags, msl="1s")
    ctx.record(f"[Linux client] bound to 10.7.0.1:{sport}: 16 bytes, read to EOF, close"
               + ("; again at once: 8 bytes, pause past the release, 8 bytes" if second
                  else "; then wait 2.5 s"))
    t0 = time.monotonic()
    got1 = _linux_conn(sport, [b"1" * 16])
    got2 = None
    if second:
        got2 = _linux_conn(sport, [b"second-1", b"second-2"], pause_until=t0 + HOLD + 0.5)
    else:
        time.sleep(2.5)
    srv.stop()
    ev = ctx.trace(tag)
    conn = f"10.7.0.2:7>10.7.0.1:{sport}"
    starts = [e["t"] for e in states(ev) if e["conn"] == conn and e["from"] == "LISTEN"]
    rel = [e for e in ev if e.get("ev") == "fault" and e.get("action") in ("release", "inject")]
    stats, _ = counters(srv.stderr)
    closes = [e.get("why") for e in states(ev) if e["conn"] == conn and e["to"] == "CLOSED"]
    return {"got1": got1, "got2": got2, "starts": starts, "closes": closes,
            "release": rel[0] if rel else None, "stats": stats,
            "into_second": bool(rel and len(starts) == 2 and starts[1] < rel[0]["t"])}


def run(ctx):
    skip = ["--tcp-max-tw-buckets", 0]
    dup = ["--fault", f"dup={int(HOLD * 1000)}ms:in:data:nth=1"]
    seq = _incarnations(ctx, "seq", 40123, skip + ["--tcp-timestamps", 0] + dup)
    paws = _incarnations(ctx, "paws", 40124, skip + dup)
    acc = _incarnations(ctx, "accepted", 40125, skip + ["--tcp-timestamps", 0, "--inject",
                                                         "established+300ms:data:nth=2:len=8"])
    tw = _incarnations(ctx, "time-wait-kept", 40126, ["--tcp-timestamps", 0, "--tcp-rfc1337", 1,
                                                      "--fault", "dup=500ms:in:data:nth=1"],
                       second=False)
    echo2 = b"second-1second-2"
    seq_ok = (seq["got2"] == echo2 and seq["into_second"]
              and seq["stats"].get("TcpExtPAWSEstab") == 0 and seq["closes"][:1] == ["tw_overflow"])
    paws_ok = (paws["got2"] == echo2 and paws["into_second"]
               and paws["stats"].get("TcpExtPAWSEstab") == 1)
    # The 8 injected bytes take the place of the client's own: of its second
    # chunk, or of its first when a starved client sent that after the injection.
    acc_ok = acc["got2"] in (b"second-1" + b"x" * 8, b"x" * 8 + b"second-2") \
        and acc["into_second"]
    tw_segs = ctx.segments("time-wait-kept")
    linux_rst = [s for s in tw_segs if not s.out and s.has("R")]
    tw_ok = (tw["release"] is not None and tw["closes"] == ["timewait_expired"]
             and len(tw["starts"]) == 1 and bool(linux_rst))
    for name, r in (("seq", seq), ("paws", paws), ("accepted", acc), ("time_wait_kept", tw)):
        ctx.number(name, {"second_echo": r["got2"].decode() if r["got2"] else None,
                          "landed_in_second": r["into_second"], "closes": r["closes"],
                          "PAWSEstab": r["stats"].get("TcpExtPAWSEstab")}, "run")
    ctx.look("seq.jsonl: the `fault` dup line (connection 1's data), both incarnations "
             "(LISTEN -> SYN_RECEIVED twice, connection 1 CLOSED why tw_overflow), then the "
             f"`release` {HOLD} s later, inside connection 2; {ctx.capture_name('seq')}: the "
             "copy (its seq "
             "below connection 2's ISN) answered with an ACK of RCV.NXT; connection 2 "
             f"echoed {seq['got2']!r}.")
    ctx.look(f"paws.stderr: TcpExtPAWSEstab {paws['stats'].get('TcpExtPAWSEstab')}: the copy's "
             f"old timestamp rejected it; echo {paws['got2']!r}.")
    ctx.look(f"accepted.jsonl: the `inject` line, 8 bytes at connection 2's RCV.NXT: the "
             f"client read back {acc['got2']!r}: the old bytes took the place of its own.")
    ctx.look(f"{ctx.capture_name('time-wait-kept')}: the copy reaches the TIME_WAIT entry (ACKed), Linux's "
             f"RST (frame {linux_rst[0].frame if linux_rst else None}) is ignored "
             "(--tcp-rfc1337 1); TIME_WAIT ends timewait_expired.")
    return ctx.verdict(
        seq_ok and paws_ok and acc_ok and tw_ok,
        f"TIME_WAIT skipped: the copy landed in the new incarnation: rejected by sequence "
        f"(echo {seq['got2']!r}), by PAWS (TcpExtPAWSEstab "
        f"{paws['stats'].get('TcpExtPAWSEstab')}); in the window, accepted (echo "
        f"{acc['got2']!r}); TIME_WAIT kept: the copy hit TIME_WAIT "
        f"({', '.join(c for c in tw['closes'] if c)})")
