"""Short connections fill the ephemeral port range with TIME_WAIT
(docs/lab/port-exhaustion.md).

Run 1: echo-client with 5 ports (--ip-local-port-range 40000-40004) makes 8
short connections to a Linux echo server; it closes first each time, so
each port stays in TIME_WAIT for 2*MSL, and connections 6..8 find no port:
connect fails with EADDRNOTAVAIL ("Cannot assign requested address").
Run 2: the same range, paced (each echo delayed, --fault delay on our data)
just below the range's capacity, ports/(2*MSL): every connect succeeds, and
each port is taken again only after its TIME_WAIT expired: the address is
assignable again once 2*MSL has passed.
"""
import re

from .. import plot
from ..capture import states, timewait_spans
from ..peers import echo_handler
from ._common import ms

NAME = "port-exhaustion"
CLAIM = ("short connections fill the port range with TIME_WAIT: connect fails with "
         "EADDRNOTAVAIL until 2*MSL has passed")
EXPECTED = "confirmed"
ORDER = 20
TIME_LIMIT = {"quick": 40, "full": 60}

RANGE = "40000-40004"
PORTS = 5
FAIL = re.compile(r"connection (\d+): connect: Cannot assign requested address")


def _exhaust(ctx, msl, count):
    tag = "exhaust"
    app = ctx.client(tag, "--ip-local-port-range", RANGE, "--count", count, "-v", msl=msl)
    failed = sorted(int(m.group(1)) for m in FAIL.finditer(app.stderr))
    tw = re.findall(r"^TCP: tw (\d+)", app.stderr, re.M)
    tw = int(tw[-1]) if tw else None
    ctx.number("exhaust_connections", count, "connections")
    ctx.number("exhaust_eaddrnotavail", len(failed), "connections")
    ctx.number("exhaust_timewait_at_exit", tw, "entries")
    lines = [l for l in app.stderr.splitlines() if "Cannot assign" in l]
    ctx.look(f"{tag}.stderr: {len(failed)} lines like {lines[0]!r}; 'TCP: tw {tw}' at exit: "
             f"every port of {RANGE} in TIME_WAIT. {tag}.jsonl: {PORTS} connections go "
             f"FIN_WAIT_1 -> TIME_WAIT and nothing for the failed ones (no port, no "
             f"packet: {ctx.capture_name(tag)} holds {PORTS} connections only)."
             if lines else f"{tag}.stderr: no EADDRNOTAVAIL line (unexpected).")
    return app.rc, failed, tw


def _recover(ctx, msl, count, delay_ms):
    tag = "recover"
    app = ctx.client(tag, "--ip-local-port-range", RANGE, "--count", count,
                     "--fault", f"delay={delay_ms}ms:out:data", msl=msl, timeout=60)
    events = ctx.trace(tag)
    spans = timewait_spans(events)
    opens = [e for e in states(events) if e["from"] == "CLOSED" and e["to"] == "SYN_SENT"]
    # For each connect on a port used before (by an earlier connect): the
    # TIME_WAIT that port was in since, and whether it had expired.
    reuse, used = [], set()
    for o in opens:
        port = int(o["conn"].split(">")[0].split(":")[1])
        if port in used:
            before = [s for s in spans if int(s["conn"].split(">")[0].split(":")[1]) == port
                      and s["start"] <= o["t"]]
            last = before[-1] if before else None
            reuse.append({"port": port, "at": o["t"],
                          "tw_start": last["start"] if last else None,
                          "tw_end": last["end"] if last else None,
                          "age": o["t"] - last["start"] if last else 0.0,
                          "expired": last is not None and last["end"] is not None
                          and last["end"] <= o["t"] and last["why"] == "timewait_expired"})
        used.add(port)
    return app, spans, opens, reuse


def run(ctx):
    msl = "250ms" if ctx.quick else "1s"
    tw = 2 * ms(msl)
    ctx.listen(echo_handler())
    rc, failed, tw_gauge = _exhaust(ctx, msl, 8)
    exhausted = rc == 1 and failed == [6, 7, 8] and tw_gauge == PORTS
    # Paced at 2/3 of the capacity ports/(2*MSL): a connection every
    # 2*MSL/(2/3*ports) seconds (the delay holds each echo that long), so a
    # port's TIME_WAIT has ended well before the connect that needs it.
    delay_ms = int(round(tw / (2.0 / 3.0 * PORTS) * 1000))
    count = 3 * PORTS
    app, spans, opens, reuse = _recover(ctx, msl, count, delay_ms)
    verified = re.search(r"(\d+) verified", app.stderr)
    recovered = app.rc == 0 and len(opens) == count and len(reuse) >= count - PORTS \
        and all(r["expired"] and r["age"] >= tw for r in reuse)
    ctx.number("recover_reuses", [{k: (round(v, 4) if isinstance(v, float) else v)
                                   for k, v in r.items()} for r in reuse], "per connect")
    min_age = min((r["age"] for r in reuse), default=0.0)
    ctx.number("recover_connections", count, "connections")
    ctx.number("recover_rate", round(1000.0 / delay_ms, 2), "connections/s")
    ctx.number("capacity_ports_per_2msl", PORTS / tw, "connections/s")
    ctx.number("recover_reused_ports", len(reuse), "connects")
    ctx.number("recover_min_age_at_reuse", round(min_age, 4), "s")
    ctx.look(f"recover.jsonl: {count} connections at {1000.0 / delay_ms:.2f}/s "
             f"(capacity {PORTS / tw:g}/s = {PORTS} ports / 2*MSL), exit {app.rc}"
             f"{' (' + verified.group(0) + ')' if verified else ''}; each of the "
             f"{len(reuse)} connects on a port used before comes after that port's "
             f"TIME_WAIT -> CLOSED (timewait_expired), at least {min_age:.3f} s after "
             f"its TIME_WAIT began (2*MSL = {tw:g} s).")

    def draw(fig, ax):
        for s in spans:
            port = int(s["conn"].split(">")[0].split(":")[1])
            end = s["end"] if s["end"] is not None else s["start"] + tw
            ax.plot([s["start"], end], [port, port], color="tab:orange", lw=6,
                    solid_capstyle="butt")
        for o in opens:
            port = int(o["conn"].split(">")[0].split(":")[1])
            ax.plot([o["t"]], [port], "k|", ms=14)
        ax.set_yticks(range(40000, 40000 + PORTS))
        ax.set_yticklabels([str(p) for p in range(40000, 40000 + PORTS)])
        ax.set_xlabel("time (s)")
        ax.set_ylabel("local port")
        ax.set_title(f"recover: TIME_WAIT (orange) per port, connects (|); 2*MSL = {tw:g} s")
    plot.figure(ctx, "port-exhaustion.png", draw)
    ctx.look("port-exhaustion.png: each port's TIME_WAIT (bars) and the connects (ticks) "
             "of the paced run: a port is taken again only after its bar ends.")
    return ctx.verdict(
        exhausted and recovered,
        f"{PORTS} ports, 8 connects at once: {len(failed)} x EADDRNOTAVAIL "
        f"(connections {','.join(map(str, failed))}), tw {tw_gauge}; paced at "
        f"{1000.0 / delay_ms:.1f}/s (< {PORTS / tw:g}/s = ports/(2*MSL {tw:g} s)): "
        f"{count}/{count} connected, {len(reuse)} on ports freed by TIME_WAIT expiry, "
        f"each >= {min_age:.3f} s after its TIME_WAIT began")
