"""Short connections fill the ephemeral port range with TIME_WAIT
(docs/lab/port-exhaustion.md).

One paced echo-client run against a Linux echo server: 5 ports
(--ip-local-port-range 40000-40004), --rate 20 (an attempt every 50 ms, far
above the range's capacity ports/(2*MSL)) for --duration, --json. echo-client
closes first each time, so each port stays in TIME_WAIT for 2*MSL: attempts
6, 7, 8, ... find no port and fail with EADDRNOTAVAIL ("Cannot assign
requested address") in their own slots (the paced failure policy), until
the first TIME_WAIT expires; then a connect succeeds again on the freed
port. The JSON summary gives the per-second timeline (attempts, verified,
failed, TIME_WAIT entries) and the failures by errno with their first and
last times; the trace gives each connect, each failure (connect_fail) and
each TIME_WAIT's end.
"""
import json
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
RATE = 20
FAIL = re.compile(r"connection (\d+): connect: Cannot assign requested address")


def _port(conn):
    return int(conn.split(">")[0].split(":")[1])


def _reuses(opens, spans):
    """For each connect on a port used before: the TIME_WAIT that port was in
    since, and whether it had expired by then."""
    reuse, used = [], set()
    for o in opens:
        port = _port(o["conn"])
        if port in used:
            before = [s for s in spans if _port(s["conn"]) == port and s["start"] <= o["t"]]
            last = before[-1] if before else None
            reuse.append({"port": port, "at": o["t"],
                          "tw_start": last["start"] if last else None,
                          "tw_end": last["end"] if last else None,
                          "age": o["t"] - last["start"] if last else 0.0,
                          "expired": last is not None and last["end"] is not None
                          and last["end"] <= o["t"] and last["why"] == "timewait_expired"})
        used.add(port)
    return reuse


def _occupied_at_failures(events):
    """Walks the trace in order: for each connect_fail, how many ports were
    taken then (a connection from SYN_SENT until CLOSED, TIME_WAIT included)."""
    taken, counts = set(), []
    for e in events:
        if e.get("ev") == "state" and e["to"] == "SYN_SENT":
            taken.add(e["conn"])
        elif e.get("ev") == "state" and e["to"] == "CLOSED":
            taken.discard(e["conn"])
        elif e.get("ev") == "connect_fail":
            counts.append(len({_port(c) for c in taken}))
    return counts


def _draw_timeline(timeline, capacity):
    def draw(fig, ax):
        t = [s["t"] for s in timeline]
        ver = [s["verified"] for s in timeline]
        fail = [s["failed"] for s in timeline]
        ax.bar(t, ver, width=0.8, color="tab:green", label="verified")
        ax.bar(t, fail, width=0.8, bottom=ver, color="tab:red",
               label="failed (EADDRNOTAVAIL)")
        ax.axhline(capacity, color="k", ls="--", lw=1,
                   label=f"capacity ports/(2*MSL) = {capacity:g}/s")
        ax.set_xlabel("second of the run")
        ax.set_ylabel("connections in that second")
        tw = ax.twinx()
        tw.plot(t, [s["tw"] for s in timeline], "o-", color="tab:orange",
                label="TIME_WAIT entries (end of second)")
        tw.set_ylim(0, PORTS + 1)
        tw.set_ylabel("TIME_WAIT entries")
        h1, l1 = ax.get_legend_handles_labels()
        h2, l2 = tw.get_legend_handles_labels()
        ax.legend(h1 + h2, l1 + l2, loc="upper right", fontsize=8)
        ax.set_ylim(0, RATE * 1.6)
        ax.set_title(f"{PORTS} ports, --rate {RATE}: exhaustion and recovery (--json timeline)")
    return draw


def run(ctx):
    msl = "500ms" if ctx.quick else "1s"
    tw = 2 * ms(msl)
    duration = 3 * tw  # three TIME_WAIT periods: fill, free, fill again
    ctx.listen(echo_handler())
    tag = "exhaust"
    app = ctx.client(tag, "--ip-local-port-range", RANGE, "--rate", RATE, "--duration",
                     f"{int(duration * 1000)}ms", "--json", ctx.path("exhaust.json"),
                     msl=msl, timeout=30)
    with open(ctx.path("exhaust.json")) as f:
        summary = json.load(f)
    failed = sorted(int(m.group(1)) for m in FAIL.finditer(app.stderr))
    events = ctx.trace(tag)
    spans = timewait_spans(events)
    opens = [e for e in states(events) if e["from"] == "CLOSED" and e["to"] == "SYN_SENT"]
    fails = [e for e in events if e.get("ev") == "connect_fail"]
    reuse = _reuses(opens, spans)
    first_fail = fails[0]["t"] if fails else None
    # Recovery: a connect after the first failure, on a port whose TIME_WAIT
    # had ended (timewait_expired) 2*MSL after it began.
    recovered = [r for r in reuse if first_fail is not None and r["at"] > first_fail]
    eaddr = summary["failures"].get("EADDRNOTAVAIL", {})
    others = {k: v for k, v in summary["failures"].items() if k != "EADDRNOTAVAIL"}
    timeline = summary["timeline"]
    # Exhaustion: the first PORTS connections get a port, and every failure
    # is EADDRNOTAVAIL at a moment when all PORTS ports were taken (on a busy
    # machine a stalled loop may shift which connection fails first, never this).
    occupied = _occupied_at_failures(events)
    exhausted = (bool(failed) and failed[0] > PORTS and eaddr.get("count", 0) == len(failed)
                 and len(fails) == len(failed)
                 and all(e.get("err") == "EADDRNOTAVAIL" for e in fails)
                 and all(n == PORTS for n in occupied)
                 and max(s["tw"] for s in timeline) == PORTS)
    ok_recovery = (len(recovered) >= PORTS and all(r["expired"] and r["age"] >= tw
                                                   for r in reuse)
                   and summary["verified"] == summary["established"] == len(opens)
                   and summary["verified"] + eaddr.get("count", 0) == summary["attempts"]
                   and not others)
    min_age = min((r["age"] for r in reuse), default=0.0)
    first_back = recovered[0]["at"] if recovered else None
    ctx.number("rate", RATE, "attempts/s")
    ctx.number("ports", PORTS, "ports")
    ctx.number("two_msl", tw, "s")
    ctx.number("attempts", summary["attempts"], "connections")
    ctx.number("verified", summary["verified"], "connections")
    ctx.number("eaddrnotavail", eaddr.get("count", 0), "connections")
    ctx.number("eaddrnotavail_first_s", eaddr.get("first_s"), "s")
    ctx.number("eaddrnotavail_last_s", eaddr.get("last_s"), "s")
    ctx.number("first_failed_connections", failed[:3], "connection numbers")
    ctx.number("ports_taken_at_each_failure", sorted(set(occupied)), "ports")
    ctx.number("first_connect_after_recovery_s",
               round(first_back, 4) if first_back is not None else None, "s")
    ctx.number("verified_per_s", summary.get("verified_per_s"), "connections/s")
    ctx.number("capacity_ports_per_2msl", PORTS / tw, "connections/s")
    ctx.number("min_age_at_reuse", round(min_age, 4), "s")
    ctx.number("timeline", timeline, "per second")
    ctx.number("reuses", [{k: (round(v, 4) if isinstance(v, float) else v)
                           for k, v in r.items()} for r in reuse], "per connect")
    lines = [l for l in app.stderr.splitlines() if "Cannot assign" in l]
    ctx.look(f"{tag}.stderr: {len(lines)} lines like {lines[0]!r} (connections "
             f"{', '.join(map(str, failed[:3]))}, ...): each failed attempt keeps its "
             f"slot of the --rate {RATE} schedule." if lines else
             f"{tag}.stderr: no EADDRNOTAVAIL line (unexpected).")
    ctx.look(f"exhaust.json: attempts {summary['attempts']}, verified "
             f"{summary['verified']}, failures {json.dumps(summary['failures'])}; "
             f"timeline (per second: attempts/verified/failed/tw): "
             + "; ".join(f"{s['t']}: {s['attempts']}/{s['verified']}/{s['failed']}/{s['tw']}"
                         for s in timeline) + ".")
    ctx.look(f"{tag}.jsonl: the first `connect_fail` (EADDRNOTAVAIL, local port 0, no "
             f"packet) at t={first_fail}; at every one of the {len(fails)} failures all "
             f"{PORTS} ports were taken (connections from SYN_SENT to CLOSED); each of the "
             f"{len(reuse)} connects on a port used before comes after that port's TIME_WAIT -> CLOSED "
             f"(timewait_expired), at least {min_age:.3f} s after its TIME_WAIT began "
             f"(2*MSL = {tw:g} s). {ctx.capture_name(tag)} holds only the "
             f"{len(opens)} connections that got a port.")
    plot.figure(ctx, "port-exhaustion.png", _draw_timeline(timeline, PORTS / tw))
    ctx.look("port-exhaustion.png: the --json timeline: per second, verified (green) and "
             "failed (red) attempts, and the TIME_WAIT entries (orange): the range fills in "
             "the first 0.25 s and stays full until 2*MSL; then each TIME_WAIT's end lets "
             "one more connect through: verified connections average ports/(2*MSL).")
    return ctx.verdict(
        exhausted and ok_recovery,
        f"{PORTS} ports, --rate {RATE} for {duration:g} s, 2*MSL {tw:g} s: connections "
        f"{','.join(map(str, failed[:3]))},... EADDRNOTAVAIL ({eaddr.get('count', 0)} of "
        f"{summary['attempts']}, {eaddr.get('first_s', 0):.3f}-{eaddr.get('last_s', 0):.3f} s)"
        f", tw {max(s['tw'] for s in timeline)}; {summary['verified']} verified, the first "
        f"after the exhaustion at {first_back if first_back is None else round(first_back, 3)}"
        f" s, every reused port >= {min_age:.3f} s after its TIME_WAIT began")
