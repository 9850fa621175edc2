"""The sustainable connection rate is ports/(2*MSL) (docs/lab/msl-sweep.md).

For each MSL, echo-client with 20 ports (--ip-local-port-range
40000-40019) offers twice the rate the range can carry, ports/(2*MSL), for
a whole number of TIME_WAIT periods (--rate, --duration), against a Linux
echo server; it closes first, so each connection holds its port 2*MSL. The
verified rate (verified / the opening period, from --json) is the rate the
port range sustains; every other attempt fails with EADDRNOTAVAIL in its
slot. Full run: MSL 100 ms, 500 ms, 1 s, 5 s; --quick: 100 ms and 500 ms.
"""
import json

from .. import plot
from ._common import ms

NAME = "msl-sweep"
CLAIM = "the sustainable connection rate of a port range is ports/(2*MSL)"
EXPECTED = "confirmed"
ORDER = 200
TIME_LIMIT = {"quick": 60, "full": 150}

PORTS = 20
RANGE = "40000-40019"
OFFER = 2.0  # offered rate / capacity
LOW = 0.9    # slots lost to the loop's own latency; never above the capacity
TRIES = 3    # a run whose schedule fell behind (a starved machine) is run again


def _periods(two_msl):
    """Whole TIME_WAIT periods to run: at least 2 and about 2 s or more."""
    return max(2, int(round(2.0 / two_msl)))


def _lateness(events, rate):
    """How far the --rate schedule fell behind: attempt k (its SYN_SENT or its
    connect_fail, in order) against k/rate after the first attempt. A machine
    that starves the process (another program hogging the CPUs) shows here."""
    times = [e["t"] for e in events if (e.get("ev") == "state" and e["to"] == "SYN_SENT")
             or e.get("ev") == "connect_fail"]
    if not times:
        return None
    return max(t - times[0] - k / rate for k, t in enumerate(times))


def _one(ctx, msl, attempt):
    two_msl = 2 * ms(msl)
    capacity = PORTS / two_msl
    rate = int(round(OFFER * capacity))
    duration = _periods(two_msl) * two_msl
    tag = f"sweep-msl-{msl}" + (f"-try{attempt + 1}" if attempt else "")
    jpath = ctx.path(tag + ".json")
    app = ctx.client(tag, "--ip-local-port-range", RANGE, "--rate", rate, "--duration",
                     f"{int(round(duration * 1000))}ms", "--json", jpath, msl=msl,
                     timeout=duration + 2 * two_msl + 20)
    with open(jpath) as f:
        s = json.load(f)
    other = {k: v["count"] for k, v in s["failures"].items() if k != "EADDRNOTAVAIL"}
    return {"msl": msl, "msl_s": ms(msl), "capacity": capacity, "offered": rate,
            "duration": duration, "attempts": s["attempts"], "verified": s["verified"],
            "measured": s["verified_per_s"], "eaddrnotavail":
            s["failures"].get("EADDRNOTAVAIL", {}).get("count", 0), "other": other,
            "tw_peak": s["timewait_peak"]["entries"], "rc": app.rc, "tag": tag,
            "late": _lateness(ctx.trace(tag), rate)}


def _measure(ctx, msl):
    """Runs until the schedule kept its pace (late by at most a tenth of 2*MSL,
    which could cost the rate no more than that), at most TRIES times;
    returns the best run and the number of tries."""
    bound = 0.1 * 2 * ms(msl)
    tries = []
    for attempt in range(TRIES):
        r = _one(ctx, msl, attempt)
        tries.append(r)
        if r["late"] is not None and r["late"] <= bound:
            break
    best = min(tries, key=lambda r: r["late"] if r["late"] is not None else 1e9)
    best["tries"] = len(tries)
    best["late_bound"] = bound
    best["stalled"] = best["late"] is None or best["late"] > bound
    return best


def _draw(rows):
    def draw(fig, ax):
        x = [r["msl_s"] for r in rows]
        lo, hi = min(x) / 1.5, max(x) * 1.5
        grid = [lo * (hi / lo) ** (i / 50.0) for i in range(51)]
        ax.plot(grid, [PORTS / (2 * g) for g in grid], "k--", lw=1,
                label=f"ports/(2*MSL), {PORTS} ports")
        ax.plot(x, [r["offered"] for r in rows], "v", color="tab:gray",
                label="offered (--rate)")
        ax.plot(x, [r["measured"] for r in rows], "o", color="tab:blue", ms=8,
                label="measured: verified per second")
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("MSL (s); TIME_WAIT = 2*MSL")
        ax.set_ylabel("connections per second")
        ax.set_title("Sustainable connection rate vs MSL")
        ax.legend(fontsize=8)
        ax.grid(True, which="both", alpha=0.3)
    return draw


def run(ctx):
    from ..peers import echo_handler
    ctx.listen(echo_handler())
    msls = ["100ms", "500ms"] if ctx.quick else ["100ms", "500ms", "1s", "5s"]
    rows = [_measure(ctx, m) for m in msls]
    ok = True
    for r in rows:
        r["ratio"] = r["measured"] / r["capacity"] if r["measured"] else 0.0
        r["holds"] = (not r["stalled"] and r["rc"] == 1 and not r["other"] and r["tw_peak"] == PORTS
                      and LOW <= r["ratio"] <= 1.0 + 1e-6
                      and r["verified"] + r["eaddrnotavail"] == r["attempts"])
        ok = ok and r["holds"]
        ctx.number(f"msl_{r['msl']}", {k: (round(v, 3) if isinstance(v, float) else v)
                                       for k, v in r.items()}, "run")
    ctx.look("sweep-msl-*.json: per MSL, the offered rate (rate), the verified rate "
             "(verified_per_s), the EADDRNOTAVAIL failures and timewait_peak (the 20 ports):\n"
             + "\n".join(f"  MSL {r['msl']}: offered {r['offered']}/s for {r['duration']:g} s,"
                         f" verified {r['verified']} = {r['measured']:.2f}/s, capacity "
                         f"{r['capacity']:g}/s (ratio {r['ratio']:.3f}); "
                         f"{r['eaddrnotavail']} x EADDRNOTAVAIL; schedule at most "
                         f"{r['late'] * 1000:.1f} ms late ({r['tag']}, try {r['tries']})"
                         for r in rows))
    stalled = [r["msl"] for r in rows if r["stalled"]]
    if stalled:
        ctx.look(f"MSL {', '.join(stalled)}: the --rate schedule fell behind by more than "
                 "its bound in every try: the machine starved the process (another "
                 "program hogging the CPUs?), so the rate could not be measured.")
    plot.figure(ctx, "msl-sweep.png", _draw(rows))
    ctx.look("msl-sweep.png: the measured rate (blue) on the ports/(2*MSL) line (dashed), "
             "the offered rate (grey) twice above it; log-log.")
    return ctx.verdict(ok, f"{PORTS} ports, offered 2x: " + ", ".join(
        f"MSL {r['msl']}: {r['measured']:.2f}/s of {r['capacity']:g}/s"
        + (" (stalled)" if r["stalled"] else "") for r in rows))
