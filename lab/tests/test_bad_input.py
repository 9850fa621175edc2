"""tuntcp-lab refuses bad input with exit 2 and runs nothing
(docs/lab/README.md): an unknown experiment prints the list."""
import os
import shutil
import subprocess
import sys
import tempfile

LAB = sys.argv[1]


def run(*args):
    return subprocess.run([LAB] + list(args), capture_output=True, text=True, timeout=60)


def main():
    failures = []
    lst = run("list")
    if lst.returncode != 0 or "time-wait-length: " not in lst.stdout:
        failures.append(f"list: exit {lst.returncode}, stdout {lst.stdout!r}")
    with tempfile.TemporaryDirectory() as out:
        r = run("run", "no-such-experiment", "--out", out)
        if r.returncode != 2 or "unknown experiment: no-such-experiment" not in r.stderr \
                or "time-wait-length: " not in r.stderr:
            failures.append(f"unknown: exit {r.returncode}, stderr {r.stderr!r}")
        r = run("run", "time-wait-length", "--jobs", "0", "--out", out)
        if r.returncode != 2:
            failures.append(f"--jobs 0: exit {r.returncode}")
    # An ordinary user without access to /dev/net/tun (crw------- root):
    # refused with the reason, exit 2, nothing made.
    if os.geteuid() == 0 and shutil.which("setpriv"):
        with tempfile.TemporaryDirectory() as tmp:
            os.chmod(tmp, 0o777)
            out = os.path.join(tmp, "out")
            r = subprocess.run(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
                                LAB, "run", "linger0", "--out", out],
                               capture_output=True, text=True, timeout=60)
            mode = os.stat("/dev/net/tun").st_mode & 0o777
            if mode & 0o006 == 0:
                if r.returncode != 2 or "/dev/net/tun" not in r.stderr or os.path.exists(out):
                    failures.append(f"as nobody: exit {r.returncode}, stderr {r.stderr!r}")
            elif r.returncode == 2 and "namespace" not in r.stderr:
                failures.append(f"as nobody: exit 2 without a reason: {r.stderr!r}")
    for args in (["frobnicate"], ["run"], []):
        r = run(*args)
        if r.returncode != 2:
            failures.append(f"{args}: exit {r.returncode}")
    for f in failures:
        print("FAIL", f)
    print("ok" if not failures else f"{len(failures)} failed")
    sys.exit(1 if failures else 0)


main()
