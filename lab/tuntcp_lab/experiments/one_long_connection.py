"""One long connection instead of N short ones leaves one TIME_WAIT entry
instead of N (docs/lab/one-long-connection.md).

Two echo-client runs against a Linux echo server carry the same bytes:
N = 20 short connections of 1000 bytes each (--count 20 --bytes 1000), and
one connection of 20000 bytes (--count 1 --bytes 20000). echo-client closes
first both times; the --json summary's timewait_peak and the trace's
TIME_WAIT entries count what each run leaves behind.
"""
import json

from ..capture import timewait_spans
from ..peers import echo_handler

NAME = "one-long-connection"
CLAIM = ("one long connection instead of N short ones leaves one TIME_WAIT entry "
         "instead of N")
EXPECTED = "confirmed"
ORDER = 150
TIME_LIMIT = {"quick": 30, "full": 30}

N = 20
SIZE = 1000


def _run(ctx, tag, count, size):
    jpath = ctx.path(tag + ".json")
    app = ctx.client(tag, "--count", count, "--bytes", size, "--json", jpath,
                     "--wait-timewait", msl="500ms")
    with open(jpath) as f:
        s = json.load(f)
    spans = timewait_spans(ctx.trace(tag))
    return {"rc": app.rc, "verified": s["verified"], "bytes": s["verified"] * size,
            "tw_peak": s["timewait_peak"]["entries"], "tw_entries": len(spans),
            "expired": sum(1 for x in spans if x["why"] == "timewait_expired")}


def run(ctx):
    ctx.listen(echo_handler())
    short = _run(ctx, "short", N, SIZE)
    long_ = _run(ctx, "long", 1, N * SIZE)
    for key, r in (("short", short), ("long", long_)):
        ctx.number(f"{key}_bytes_echoed", r["bytes"], "bytes")
        ctx.number(f"{key}_timewait_entries", r["tw_entries"], "entries")
        ctx.number(f"{key}_timewait_peak", r["tw_peak"], "entries (--json)")
    holds = (short["rc"] == 0 and long_["rc"] == 0 and short["bytes"] == long_["bytes"]
             and short["tw_entries"] == N and short["expired"] == N
             and long_["tw_entries"] == 1 and long_["tw_peak"] == 1
             and short["tw_peak"] > 1)
    ctx.look(f"short.json / long.json: the same {N * SIZE} bytes echoed; timewait_peak "
             f"{short['tw_peak']} vs {long_['tw_peak']}. short.jsonl has {short['tw_entries']}"
             f" FIN_WAIT_1 -> TIME_WAIT lines (one per connection), long.jsonl "
             f"{long_['tw_entries']}." + (f" The short run's peak is below {N} only because "
                                        "its first entries expired (2*MSL = 1 s) while "
                                        "later connections were still being made."
                                        if short["tw_peak"] < N else ""))
    return ctx.verdict(
        holds, f"{N * SIZE} bytes: {N} connections of {SIZE} left {short['tw_entries']} "
        f"TIME_WAIT entries (peak {short['tw_peak']} at once), one connection left "
        f"{long_['tw_entries']}")
