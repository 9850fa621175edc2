"""What an experiment's run(ctx) gets, and what it leaves behind.

Context gives the experiment its folder, starts the apps (ctx.server,
ctx.client) and Linux peers (ctx.listen) it owns, records every command with
its time, collects numbers (ctx.number) and notes for README.txt
(ctx.look), and ends in ctx.verdict(holds, summary), whose result
write_results() turns into verdict.json and README.txt. Everything started
through it is stopped by ctx.cleanup(), which the runner calls in a finally.
"""
import json
import os
import shlex
import subprocess
import time

from . import apps, capture, netns, peers

class Verdict:
    def __init__(self, holds, summary):
        self.verdict = "confirmed" if holds else "refuted"
        self.summary = summary


class Context:
    def __init__(self, experiment, out_dir, quick):
        self.exp = experiment
        self.name = experiment.NAME
        self.dir = out_dir
        self.quick = quick
        self.commands = []
        self.numbers = {}
        self.notes = []
        self._owned = []
        self.t0 = time.monotonic()

    # -- files and records ---------------------------------------------------
    def path(self, fname):
        return os.path.join(self.dir, fname)

    def record(self, cmd, quiet=False):
        """Notes a command run (a string as a user would type it)."""
        entry = {"cmd": cmd, "at_s": round(time.monotonic() - self.t0, 3),
                 "duration_s": None}
        if not quiet or not any(c["cmd"] == cmd for c in self.commands):
            self.commands.append(entry)
        return entry

    def run(self, argv, check=True, timeout=30):
        """Runs a command in the namespace, recorded; returns CompletedProcess."""
        entry = self.record(" ".join(shlex.quote(a) for a in argv))
        t = time.monotonic()
        r = subprocess.run(argv, capture_output=True, text=True, timeout=timeout)
        entry["duration_s"] = round(time.monotonic() - t, 3)
        entry["exit"] = r.returncode
        if check and r.returncode != 0:
            raise RuntimeError(f"{argv[0]} failed ({r.returncode}): {r.stderr.strip()}")
        return r

    def sysctl(self, name, value=None):
        """A sysctl of this namespace (written first when value is given)."""
        if value is not None:
            self.record(f"sysctl -w {name}={value}")
        return netns.sysctl(name, value)

    def number(self, key, value, unit):
        """A measured figure for verdict.json; returns value."""
        self.numbers[key] = {"value": value, "unit": unit}
        return value

    def look(self, text):
        """A paragraph of README.txt: what to look at, and where."""
        self.notes.append(text)

    # -- apps, peers and what they wrote -------------------------------------
    def own(self, thing):
        """Something to stop (stop() or close()) when the experiment ends."""
        self._owned.append(thing)
        return thing

    def server(self, tag, *args, **kw):
        """echo-server (apps.server): TAG.pcapng, TAG.jsonl, TAG.stdout/.stderr."""
        return apps.server(self, tag, *args, **kw)

    def client(self, tag, *args, **kw):
        """echo-client (apps.client); wait=False to leave it running."""
        return apps.client(self, tag, *args, **kw)

    def listen(self, handler, port=7, **kw):
        """A Linux listener on 10.7.0.1:port (peers.Listener)."""
        what = (handler.__doc__ or handler.__name__).strip().splitlines()[0]
        self.record(f"[Linux peer] listen on 10.7.0.1:{port}: {what}")
        return self.own(peers.Listener(handler, port=port, **kw))

    def trace(self, tag):
        return capture.read_trace(self.path(tag + ".jsonl"))

    def segments(self, tag):
        return capture.segments(self.path(tag + apps.CAPTURE_EXT))

    def segments_after_stop(self, app, tag):
        """Stops app (so its capture is flushed), then ctx.segments(tag)."""
        app.stop()
        return self.segments(tag)

    def capture_name(self, tag):
        return tag + apps.CAPTURE_EXT

    def ss(self, state):
        return peers.ss(state, self)

    def verdict(self, holds, summary):
        return Verdict(holds, summary)

    def cleanup(self):
        for thing in reversed(self._owned):
            try:
                if hasattr(thing, "stop"):
                    thing.stop()
                else:
                    thing.close()
            except Exception:  # the rest must still be stopped
                pass
        self._owned = []


def verdict_line(name, claim, verdict, summary):
    return f"{name}: {claim}: {verdict}: {summary}"


def write_results(ctx, result, error=None):
    """verdict.json and README.txt in the experiment's folder; returns the dict."""
    exp = ctx.exp
    verdict = result.verdict if result is not None else "error"
    summary = result.summary if result is not None else f"error: {error}"
    files = sorted(f for f in os.listdir(ctx.dir)
                   if f not in ("verdict.json", "README.txt"))
    data = {
        "name": exp.NAME,
        "claim": exp.CLAIM,
        "verdict": verdict,
        "expected": exp.EXPECTED,
        "as_expected": verdict == exp.EXPECTED,
        "summary": summary,
        "line": verdict_line(exp.NAME, exp.CLAIM, verdict, summary),
        "quick": ctx.quick,
        "numbers": ctx.numbers,
        "commands": ctx.commands,
        "duration_s": round(time.monotonic() - ctx.t0, 3),
        "files": files,
    }
    if error is not None:
        data["error"] = str(error)
    with open(ctx.path("verdict.json"), "w") as f:
        json.dump(data, f, indent=2)
        f.write("\n")
    with open(ctx.path("README.txt"), "w") as f:
        f.write(data["line"] + "\n\n")
        f.write(f"Expected verdict: {exp.EXPECTED}. "
                f"{'As expected.' if data['as_expected'] else 'NOT as expected.'}\n\n")
        for note in ctx.notes:
            f.write(note.strip() + "\n\n")
        f.write("Files: " + ", ".join(files) + "\n")
        f.write("Commands (as run, in order): see verdict.json \"commands\".\n")
    return data
