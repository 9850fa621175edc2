"""Launching tuntcp's apps (echo-server, echo-client) for an experiment.

The apps are found next to the tuntcp-lab launcher (build/apps/ in a build
tree, bin/ once installed) unless TT_LAB_APPS names their folder. Each run
gets a tag; its capture, trace, stdout and stderr are the files TAG.pcapng,
TAG.jsonl, TAG.stdout and TAG.stderr in the experiment's folder. Output goes
to files, not pipes, so a chatty app never blocks.
"""
import os
import shlex
import signal
import subprocess
import time

# The capture format, by extension (docs/contract.md §5): ".pcap" is the
# classic format; ".pcapng" the annotated one (direction flags, and comments
# that tell each experiment's story in Wireshark, §5.1). The one switch.
CAPTURE_EXT = ".pcapng"


def apps_dir():
    return os.environ.get("TT_LAB_APPS") or os.path.dirname(os.path.abspath(__file__))


def app_path(name):
    return os.path.join(apps_dir(), name)


def missing_apps():
    return [p for p in (app_path("echo-server"), app_path("echo-client"))
            if not os.access(p, os.X_OK)]


class App:
    """One running echo-server or echo-client."""

    def __init__(self, ctx, prog, tag, args):
        self.ctx = ctx
        self.tag = tag
        self.argv = [app_path(prog)] + [str(a) for a in args]
        self.out_path = ctx.path(tag + ".stdout")
        self.err_path = ctx.path(tag + ".stderr")
        self.rc = None
        self.t0 = time.monotonic()
        self._cmd = ctx.record(" ".join(shlex.quote(a) for a in [prog] + self.argv[1:]))
        with open(self.out_path, "w") as out, open(self.err_path, "w") as err:
            self.proc = subprocess.Popen(self.argv, stdout=out, stderr=err,
                                         stdin=subprocess.DEVNULL)
        ctx.own(self)

    @property
    def stdout(self):
        with open(self.out_path) as f:
            return f.read()

    @property
    def stderr(self):
        with open(self.err_path) as f:
            return f.read()

    def wait_line(self, text, timeout=10.0):
        """Waits until stdout holds a line containing text."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if text in self.stdout:
                return
            if self.proc.poll() is not None:
                break
            time.sleep(0.01)
        self.stop()
        raise RuntimeError(f"{self.tag}: no '{text}' within {timeout} s; "
                           f"stderr: {self.stderr.strip()[-500:]}")

    def wait(self, timeout=30.0):
        """Waits for the exit; returns the exit status."""
        try:
            self.rc = self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.stop()
            raise RuntimeError(f"{self.tag} did not exit within {timeout} s")
        self._done()
        return self.rc

    def signal(self, signum):
        if self.proc.poll() is None:
            self.proc.send_signal(signum)

    def stop(self, timeout=10.0):
        """SIGTERM (the apps flush capture and trace), SIGKILL as a last resort."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.rc = self.proc.returncode
        self._done()
        return self.rc

    def _done(self):
        if self._cmd.get("duration_s") is None:
            self._cmd["duration_s"] = round(time.monotonic() - self.t0, 3)
            self._cmd["exit"] = self.rc


def common_args(ctx, tag, msl, seed):
    return ["--msl", msl, "--pcap", ctx.path(tag + CAPTURE_EXT),
            "--trace", ctx.path(tag + ".jsonl"), "--seed", seed]


def server(ctx, tag, *args, msl="1s", seed=7, ready_timeout=10.0):
    """echo-server on 10.7.0.2 (port 7 unless --port), started and listening."""
    app = App(ctx, "echo-server", tag, common_args(ctx, tag, msl, seed) + list(args))
    app.wait_line("listening on", ready_timeout)
    return app


def client(ctx, tag, *args, msl="1s", seed=7, wait=True, timeout=30.0):
    """echo-client (to 10.7.0.1:7 unless --connect); with wait, run to its exit."""
    app = App(ctx, "echo-client", tag, common_args(ctx, tag, msl, seed) + list(args))
    if wait:
        app.wait(timeout)
    return app
