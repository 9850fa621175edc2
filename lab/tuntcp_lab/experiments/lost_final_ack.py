"""A lost final ACK: with TIME_WAIT the peer's retransmitted FIN is ACKed;
without it, the FIN meets a RST and the peer's socket sees ECONNRESET
(docs/lab/lost-final-ack.md).

tuntcp's echo-server closes first (--close-after); the Linux client reads to
EOF, then shuts its side down (shutdown(SHUT_WR): its FIN, and the socket
stays open so that what Linux reports can be read: TCP state, SO_ERROR,
then recv() and send()). tuntcp's final ACK is lost once (--fault drop), so
Linux, in LAST_ACK, retransmits its FIN.
- with TIME_WAIT: tuntcp ACKs the FIN again; Linux closes cleanly.
- with --tcp-max-tw-buckets 0 (no TIME_WAIT, docs/contract.md §2.2): the
  4-tuple is no connection any more, the FIN is answered with a RST
  (RFC 9293 3.10.7.1), and Linux's socket reports ECONNRESET.
"""
import socket

from ..peers import connect, errname, read_to_eof, so_error, wait_state

NAME = "lost-final-ack"
CLAIM = ("if the final ACK is lost, the peer retransmits its FIN; without TIME_WAIT it "
         "meets a RST and the peer sees an error")
EXPECTED = "confirmed"
ORDER = 50
TIME_LIMIT = {"quick": 30, "full": 30}


def _try(fn):
    try:
        r = fn()
        return repr(r) if isinstance(r, bytes) else f"returned {r}"
    except OSError as e:
        return f"{errname(e)} ({e.strerror})"


def _scene(ctx, tag, flags):
    srv = ctx.server(tag, "--close-after", "64", *flags, msl="1s")
    s = connect(7)
    s.sendall(b"L" * 64)
    got = read_to_eof(s)
    s.shutdown(socket.SHUT_WR)  # Linux's FIN; the socket stays open
    state = wait_state(s, ("CLOSE",), 5.0)
    err, name = so_error(s)
    after_recv = _try(lambda: s.recv(10))
    after_send = _try(lambda: s.send(b"x"))
    s.close()
    srv.stop()
    segs = ctx.segments(tag)
    fins = [x for x in segs if not x.out and x.has("F")]
    answer = [x for x in segs if x.out and len(fins) == 2 and x.frame > fins[1].frame]
    return {"echo": got == b"L" * 64, "state": state, "so_error": err, "so_error_name": name,
            "recv": after_recv, "send": after_send, "fins": fins, "answer": answer,
            "why": [e.get("why") for e in ctx.trace(tag) if e.get("ev") == "state"
                    and e["to"] == "CLOSED"]}


def run(ctx):
    tw = _scene(ctx, "with-timewait", ["--fault", "drop:out:ack:state=TIME_WAIT:nth=1"])
    # Without TIME_WAIT the final ACK leaves in FIN_WAIT_1 or FIN_WAIT_2.
    no = _scene(ctx, "no-timewait", ["--tcp-max-tw-buckets", "0",
                                     "--fault", "drop:out:ack:state=FIN_WAIT_1:nth=1",
                                     "--fault", "drop:out:ack:state=FIN_WAIT_2:nth=1"])
    for key, sc in (("with_timewait", tw), ("no_timewait", no)):
        ctx.number(f"{key}_linux_fins", len(sc["fins"]), "FINs")
        ctx.number(f"{key}_answer", "RST" if sc["answer"] and sc["answer"][0].has("R")
                   else "ACK" if sc["answer"] else "none", "segment")
        ctx.number(f"{key}_linux_state", sc["state"], "TCP_INFO state")
        ctx.number(f"{key}_so_error", sc["so_error_name"], "errno")
        ctx.number(f"{key}_recv_after", sc["recv"], "result")
        ctx.number(f"{key}_send_after", sc["send"], "result")
    ok_tw = (tw["echo"] and len(tw["fins"]) == 2 and tw["answer"] and tw["answer"][0].only("A")
             and tw["state"] == "CLOSE" and tw["so_error"] == 0)
    ok_no = (no["echo"] and len(no["fins"]) == 2 and no["answer"] and no["answer"][0].has("R")
             and no["state"] == "CLOSE" and no["so_error_name"] == "ECONNRESET")
    for tag, sc in (("with-timewait", tw), ("no-timewait", no)):
        if len(sc["fins"]) == 2 and sc["answer"]:
            ctx.look(f"{ctx.capture_name(tag)}: Linux's FIN at frame {sc['fins'][0].frame}, "
                     f"again at frame {sc['fins'][1].frame} (our final ACK was dropped); "
                     f"tuntcp answers at frame {sc['answer'][0].frame}: {sc['answer'][0]}. "
                     f"Linux's socket then: {sc['state']}, SO_ERROR {sc['so_error_name']}, "
                     f"recv() {sc['recv']}, send() {sc['send']}. {tag}.jsonl: "
                     + (f"CLOSED why {', '.join(map(str, sc['why']))}." if sc["why"] else
                        "still in TIME_WAIT when echo-server was stopped; its "
                        "timewait_restart line is the ACK of the FIN again."))
    ctx.look(f"In Wireshark: open {ctx.capture_name('no-timewait')}, filter `tcp.flags.fin==1 || "
             "tcp.flags.reset==1`: Linux's FIN twice (the second marked as a "
             "retransmission), then tuntcp's RST.")
    return ctx.verdict(
        ok_tw and ok_no,
        f"with TIME_WAIT the FIN again is ACKed, Linux SO_ERROR {tw['so_error_name']}; with "
        f"--tcp-max-tw-buckets 0 it meets a RST and Linux's socket goes to {no['state']} with "
        f"SO_ERROR {no['so_error_name']} (then recv() {no['recv']}, send() {no['send']})")
