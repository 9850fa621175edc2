"""A retransmitted FIN restarts 2*MSL (docs/lab/fin-restarts-timewait.md).

echo-client closes first against a Linux echo server; its final ACK is lost
once (--fault drop:out:ack:state=TIME_WAIT:nth=1). Linux, in LAST_ACK, times
out and sends its FIN again; tuntcp, in TIME_WAIT, ACKs it and restarts the
2*MSL timer (RFC 9293 3.10.7.4, docs/contract.md §2.2). TIME_WAIT then
lasts 2*MSL from the second ACK: longer than 2*MSL in all.
"""
from .. import plot
from ..capture import timewait_spans
from ..peers import echo_handler
from ._common import late_ok, ms

NAME = "fin-restarts-timewait"
CLAIM = "a retransmitted FIN in TIME_WAIT restarts 2*MSL: TIME_WAIT lasts 2*MSL from the second ACK"
EXPECTED = "confirmed"
ORDER = 40
TIME_LIMIT = {"quick": 30, "full": 30}

SLACK = 0.05


def run(ctx):
    msl = "500ms" if ctx.quick else "1s"
    tw = 2 * ms(msl)
    tag = "lost-ack"
    ctx.listen(echo_handler())
    app = ctx.client(tag, "--wait-timewait", "--fault", "drop:out:ack:state=TIME_WAIT:nth=1",
                     msl=msl, timeout=30)
    if app.rc != 0:
        raise RuntimeError(f"echo-client exit {app.rc}: {app.stderr.strip()}")
    spans = timewait_spans(ctx.trace(tag))
    if len(spans) != 1 or spans[0]["end"] is None:
        raise RuntimeError(f"want one TIME_WAIT in the trace, got {spans}")
    sp = spans[0]
    restarts = sp["restarts"]
    total = sp["end"] - sp["start"]
    since = sp["end"] - restarts[-1] if restarts else None
    segs = ctx.segments(tag)
    fins = [s for s in segs if not s.out and s.has("F")]
    acks = [s for s in segs if s.out and s.only("A") and s.len == 0 and fins
            and s.ack == fins[0].seq + 1]
    ctx.number("msl", ms(msl), "s")
    ctx.number("restarts", len(restarts), "restarts")
    ctx.number("fin_retransmitted_after", round(restarts[0] - sp["start"], 4) if restarts
               else None, "s")
    ctx.number("timewait_total", round(total, 4), "s")
    ctx.number("timewait_from_second_ack", round(since, 4) if since else None, "s")
    holds = (len(restarts) == 1 and len(fins) == 2 and late_ok(since, tw, SLACK)
             and total > tw + (restarts[0] - sp["start"]) - 0.001
             and sp["why"] == "timewait_expired")
    frames = ", ".join(str(f.frame) for f in fins)
    ack_frames = ", ".join(str(a.frame) for a in acks)
    ctx.look(f"{ctx.capture_name(tag)}: Linux's FIN at frames {frames} (the same sequence "
             f"number: a retransmission); tuntcp's ACK of it at frame(s) {ack_frames}: the "
             "first final ACK was dropped by the fault (a classic .pcap does not hold it; a "
             ".pcapng capture records it, commented as dropped), so "
             "only the ACK of the retransmitted FIN is there.")
    ctx.look(f"{tag}.jsonl: FIN_WAIT_1 -> TIME_WAIT at t={sp['start']:.6f}; "
             f"timewait_restart at t={restarts[0]:.6f} (its 'expires' is the new end); "
             f"TIME_WAIT -> CLOSED (timewait_expired) at t={sp['end']:.6f}: {since:.3f} s "
             f"after the restart, {total:.3f} s in all (2*MSL = {tw:g} s)."
             if restarts else f"{tag}.jsonl: no timewait_restart (unexpected).")

    ctx.look(f"In Wireshark: open {ctx.capture_name(tag)}, filter `tcp.flags.fin==1`: "
             "Linux's second FIN is marked as a retransmission; Statistics > Flow Graph "
             "shows the ACK that follows it.")

    def draw(fig, ax):
        t0 = sp["start"]
        ax.barh(1, tw, left=0, color="lightgrey", label="2*MSL from the first final ACK")
        ax.barh(0, sp["end"] - t0, left=0, color="tab:orange", label="TIME_WAIT measured")
        for r in restarts:
            ax.axvline(r - t0, color="tab:red", ls="--",
                       label="Linux's FIN again: ACK, 2*MSL restarts")
        ax.set_yticks([0, 1])
        ax.set_yticklabels(["measured", "without the restart"])
        ax.set_xlabel("seconds since TIME_WAIT began")
        ax.set_title(f"TIME_WAIT with the final ACK lost once (--msl {msl})")
        ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.28), fontsize=8, ncol=2)
    plot.figure(ctx, "fin-restarts-timewait.png", draw, size=(6.4, 3.6))
    return ctx.verdict(
        holds, f"FIN again {restarts[0] - sp['start']:.3f} s into TIME_WAIT; TIME_WAIT "
        f"lasted {since:.3f} s from the second ACK, {total:.3f} s in all, at --msl {msl} "
        f"(2*MSL = {tw:g} s)" if restarts else "no restart seen")
