"""Who holds TIME_WAIT: the side that closes first, and in a simultaneous
close both sides (docs/lab/who-closes-first.md).

Four scenes, each read on both sides: tuntcp's trace (did the connection
enter TIME_WAIT?) and Linux's `ss -tan state time-wait` (does Linux hold
the 4-tuple?).
- tuntcp's echo-client closes first (Linux echo server closes second);
- tuntcp's echo-server closes first (--close-after; the Linux client reads
  to EOF, then closes);
- Linux's server closes first (echo-client --close-wait);
- simultaneous close: both close at once and the FINs cross (tuntcp's FIN and
  its ACK of Linux's FIN are held by delay faults, docs/contract.md §3.5), so
  both go FIN_WAIT_1 -> CLOSING -> TIME_WAIT (RFC 9293 3.6, figure 13).
"""
import time

from ..capture import states
from ..peers import connect, echo_handler, read_to_eof

NAME = "who-closes-first"
CLAIM = "only the active closer (the side that closes first) enters TIME_WAIT"
EXPECTED = "refuted"
ORDER = 30
TIME_LIMIT = {"quick": 40, "full": 40}


def _tuntcp_tw(ctx, tag):
    ch = states(ctx.trace(tag))
    return [e for e in ch if e["to"] == "TIME_WAIT"], [f"{e['from']}->{e['to']}" for e in ch]


def _linux_tw(ctx, port):
    """Does Linux hold TIME_WAIT for its side 10.7.0.1:port?"""
    return [r for r in ctx.ss("time-wait") if r["local"] == f"10.7.0.1:{port}"
            or r["peer"] == f"10.7.0.2:{port}"]


def _scene_client_first(ctx):
    lst = ctx.listen(echo_handler(), port=7)
    app = ctx.client("tuntcp-client-closes", msl="1s")
    lst.close()
    port = ctx.segments("tuntcp-client-closes")[0].sport
    tw, path = _tuntcp_tw(ctx, "tuntcp-client-closes")
    return "tuntcp client closes first", "tuntcp", app.rc == 0, bool(tw), \
        bool(_linux_tw(ctx, port)), path


def _scene_server_first(ctx):
    srv = ctx.server("tuntcp-server-closes", "--close-after", "64", msl="1s")
    s = connect(7)
    s.sendall(b"s" * 64)
    got = read_to_eof(s)
    s.close()  # Linux closes second
    time.sleep(0.2)
    port = ctx.segments_after_stop(srv, "tuntcp-server-closes")[0].sport
    tw, path = _tuntcp_tw(ctx, "tuntcp-server-closes")
    return "tuntcp server closes first", "tuntcp", got == b"s" * 64, bool(tw), \
        bool(_linux_tw(ctx, port)), path


def _scene_linux_first(ctx):
    lst = ctx.listen(echo_handler(close_after=64), port=8)
    app = ctx.client("linux-closes", "--connect", "10.7.0.1:8", "--close-wait", msl="1s")
    lst.close()
    port = ctx.segments("linux-closes")[0].sport
    tw, path = _tuntcp_tw(ctx, "linux-closes")
    return "Linux server closes first", "Linux", app.rc == 0, bool(tw), \
        bool(_linux_tw(ctx, port)), path


def _scene_simultaneous(ctx):
    tag = "simultaneous"
    srv = ctx.server(tag, "--close-after", "100", "--fault", "delay=100ms:out:fin",
                     "--fault", "delay=150ms:out:ack:state=CLOSING", msl="1s")
    s = connect(7)
    s.sendall(b"c" * 100)
    got = b""
    while len(got) < 100:
        chunk = s.recv(100 - len(got))
        if not chunk:
            break
        got += chunk
    s.close()  # at once, while tuntcp's FIN is still held back
    time.sleep(0.4)
    segs = ctx.segments_after_stop(srv, tag)
    port = segs[0].sport
    fins = [x for x in segs if x.has("F")]
    # Crossed: neither FIN acknowledges the other (RFC 9293 3.6, figure 13).
    crossed = len(fins) == 2 and fins[0].out != fins[1].out and \
        fins[0].ack != (fins[1].seq + fins[1].len + 1) % (1 << 32) and \
        fins[1].ack != (fins[0].seq + fins[0].len + 1) % (1 << 32)
    if crossed:
        ctx.look(f"{ctx.capture_name(tag)}: frame {fins[0].frame} is "
                 f"{'tuntcp' if fins[0].out else 'Linux'}'s FIN (ack={fins[0].ack}), frame "
                 f"{fins[1].frame} {'tuntcp' if fins[1].out else 'Linux'}'s (ack="
                 f"{fins[1].ack}): neither acknowledges the other's FIN; the ACKs of the "
                 "FINs follow.")
    tw, path = _tuntcp_tw(ctx, tag)
    return "simultaneous close", "both", got == b"c" * 100 and crossed, bool(tw), \
        bool(_linux_tw(ctx, port)), path


def run(ctx):
    scenes = [_scene_client_first(ctx), _scene_server_first(ctx), _scene_linux_first(ctx),
              _scene_simultaneous(ctx)]
    rows, rule_holds, parts = [], True, []
    for what, first, ok, tuntcp_tw, linux_tw, path in scenes:
        if not ok:
            raise RuntimeError(f"{what}: the scene failed (echo, or FINs that did not cross)")
        holders = [n for n, h in (("tuntcp", tuntcp_tw), ("Linux", linux_tw)) if h]
        only_first = holders == [first]
        rule_holds = rule_holds and only_first
        parts.append(f"{what}: {' and '.join(holders) or 'nobody'}")
        ctx.number(what.replace(" ", "_"), " and ".join(holders) or "nobody", "holds TIME_WAIT")
        rows.append(f"- {what}: tuntcp {' -> '.join(p.split('->')[1] for p in path)}; "
                    f"Linux {'holds' if linux_tw else 'does not hold'} TIME_WAIT "
                    "(ss -tan state time-wait)")
    ctx.look("The four scenes (tuntcp's states from each TAG.jsonl; Linux's from ss):\n"
             + "\n".join(rows))
    ctx.look(f"{ctx.capture_name('simultaneous')}: the two FINs cross: Linux's FIN arrives before "
             "tuntcp's FIN (held 100 ms by the delay fault) and neither acknowledges the "
             "other; in Wireshark, Statistics > Flow Graph shows the crossing. "
             "simultaneous.jsonl: FIN_WAIT_1 -> CLOSING -> TIME_WAIT.")
    return ctx.verdict(rule_holds, "; ".join(parts) + " hold TIME_WAIT")
