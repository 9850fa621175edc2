"""tuntcp-lab's command line: list, run NAME... | run all.

Each experiment runs as a child process in a network namespace of its own
(netns.py); up to --jobs of them at once. Each prints one verdict line; exit
0 when every verdict is the expected one, 1 otherwise, 2 for bad input.
"""
import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import time

from . import apps, context, experiments, netns, plot

USAGE_EXIT = 2


def _parser():
    p = argparse.ArgumentParser(
        prog="tuntcp-lab",
        description="TIME_WAIT experiments: tuntcp against the Linux kernel, each in a "
                    "network namespace of its own, with a verdict per claim.")
    sub = p.add_subparsers(dest="cmd", metavar="COMMAND")
    sub.add_parser("list", help="the experiments and their claims")
    r = sub.add_parser("run", help="run experiments: NAME... or all")
    r.add_argument("names", nargs="+", metavar="NAME")
    r.add_argument("--out", default="lab-out", metavar="DIR",
                   help="results go to DIR/NAME/ (default ./lab-out)")
    r.add_argument("--quick", action="store_true",
                   help="shorter runs; Linux's 60 s TIME_WAIT read from its timer, not waited")
    r.add_argument("--jobs", type=int, default=3, metavar="N",
                   help="experiments run at once, each in its own namespace (default 3)")
    return p


def _list(out):
    for m in experiments.load_all():
        print(f"{m.NAME}: {m.CLAIM} (expected: {m.EXPECTED})", file=out)


def _child_env():
    env = dict(os.environ)
    pkg_parent = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    env["PYTHONPATH"] = pkg_parent + (os.pathsep + env["PYTHONPATH"]
                                      if env.get("PYTHONPATH") else "")
    env["TT_LAB_APPS"] = apps.apps_dir()
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    return env


class _Job:
    def __init__(self, exp, out_root, quick):
        self.exp = exp
        self.dir = os.path.join(out_root, exp.NAME)
        shutil.rmtree(self.dir, ignore_errors=True)
        os.makedirs(self.dir)
        self.limit = exp.TIME_LIMIT["quick" if quick else "full"]
        argv = netns.unshare_cmd() + [sys.executable, "-m", "tuntcp_lab.inside",
                                      exp.NAME, self.dir] + (["--quick"] if quick else [])
        self.log = open(os.path.join(self.dir, "log.txt"), "w")
        self.t0 = time.monotonic()
        # A session of its own: on timeout the whole group (apps included) goes.
        self.proc = subprocess.Popen(argv, stdout=self.log, stderr=subprocess.STDOUT,
                                     env=_child_env(), start_new_session=True)
        self.timed_out = False

    def poll(self):
        if self.proc.poll() is not None:
            return True
        if time.monotonic() - self.t0 > self.limit:
            self.timed_out = True
            self.kill()
            return True
        return False

    def kill(self):
        if self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self.proc.wait()

    def result(self):
        self.log.close()
        path = os.path.join(self.dir, "verdict.json")
        if self.timed_out or not os.path.exists(path):
            why = (f"over its time limit of {self.limit} s" if self.timed_out
                   else f"no verdict.json (exit {self.proc.returncode}; see log.txt)")
            data = {"name": self.exp.NAME, "claim": self.exp.CLAIM, "verdict": "error",
                    "expected": self.exp.EXPECTED, "as_expected": False, "error": why,
                    "line": context.verdict_line(self.exp.NAME, self.exp.CLAIM, "error", why)}
            with open(path, "w") as f:
                json.dump(data, f, indent=2)
            return data
        with open(path) as f:
            return json.load(f)


def _run(args):
    known = experiments.by_name()
    names = list(known) if args.names == ["all"] else args.names
    unknown = [n for n in names if n not in known]
    if unknown:
        print(f"tuntcp-lab: unknown experiment: {', '.join(unknown)}; the experiments are:",
              file=sys.stderr)
        _list(sys.stderr)
        return USAGE_EXIT
    if args.jobs < 1:
        print("tuntcp-lab: --jobs: must be at least 1", file=sys.stderr)
        return USAGE_EXIT
    missing = apps.missing_apps()
    if missing:
        print(f"tuntcp-lab: not built or not executable: {', '.join(missing)} "
              "(or set TT_LAB_APPS to their folder)", file=sys.stderr)
        return USAGE_EXIT
    why = netns.check()
    if why:
        print(f"tuntcp-lab: cannot run experiments: {why}", file=sys.stderr)
        return USAGE_EXIT
    out_root = os.path.abspath(args.out)
    os.makedirs(out_root, exist_ok=True)
    if not plot.available():
        print("tuntcp-lab: matplotlib is missing (apt-get install python3-matplotlib): "
              "no plots, the verdicts stand", file=sys.stderr)
    t0 = time.monotonic()
    # Longest first, so the 60 s Linux wait overlaps the rest.
    todo = sorted((known[n] for n in dict.fromkeys(names)),
                  key=lambda m: -m.TIME_LIMIT["quick" if args.quick else "full"])
    running, results = [], {}
    try:
        while todo or running:
            while todo and len(running) < args.jobs:
                running.append(_Job(todo.pop(0), out_root, args.quick))
            time.sleep(0.05)
            for job in [j for j in running if j.poll()]:
                running.remove(job)
                data = job.result()
                results[job.exp.NAME] = data
                mark = "" if data["as_expected"] else f"  [expected {data['expected']}]"
                print(data["line"] + mark, flush=True)
    except KeyboardInterrupt:
        print("tuntcp-lab: interrupted; the running experiments were stopped", file=sys.stderr)
        return 1
    finally:
        for job in running:
            job.kill()
    bad = [n for n, d in results.items() if not d["as_expected"]]
    print(f"tuntcp-lab: {len(results)} experiments, {len(results) - len(bad)} as expected"
          + (f", not as expected: {', '.join(bad)}" if bad else "")
          + f" ({time.monotonic() - t0:.1f} s; results in {out_root})", flush=True)
    return 1 if bad else 0


def main(argv=None):
    try:
        return _main(argv)
    except BrokenPipeError:  # e.g. | head: the rest of the output has no reader
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1


def _main(argv):
    args = _parser().parse_args(argv)
    if args.cmd == "list":
        _list(sys.stdout)
        return 0
    if args.cmd == "run":
        return _run(args)
    _parser().print_help(sys.stderr)
    return USAGE_EXIT
