#!/usr/bin/env python3
"""Interop: a soak under injected loss and reordering, inside the test's own
network namespace.

For TT_SOAK_SECONDS (default 45 s in CI; the README's long run is
TT_SOAK_SECONDS=600), three tuntcp processes run under load at once, each
with `--fault` loss (1% of packets each way) and reordering (3% of data
segments held back 25 ms, so later ones overtake them), with --seed:

- echo-server on tt0 (10.7.0.2), the long-lived one: Linux clients hammer it
  with short connections (4 threads: connect, 1-4000 random bytes, echo,
  close) and bulk transfers (2 threads: 2 MiB each, sent and read back at
  once), every echo compared by SHA-256;
- echo-client on tt1 (10.7.1.2) churning short connections (3000 bytes,
  8 at a time) against a Linux echo server on 10.7.1.1:7;
- echo-client on tt2 (10.7.2.2) making bulk transfers (500 kB, 2 at a time)
  against a Linux echo server on 10.7.2.1:7.

echo-client verifies every byte it gets back against its pattern. An
echo-client run has a count, not a duration: a first short run measures the
rate, and each next one is sized for half of the time left, so the longest
process carries half of the soak.

Checked:
- every echo verified: echo-client exit 0 with "N connections, N verified,
  0 failed"; every Linux client's SHA-256 matches; no Linux-side error;
- memory flat: each process's VmRSS, sampled every second, stays within
  RSS_GROWTH_MAX_KB of its warm-up peak (warm-up: the first third of its
  run), and the median of the last third is at most RSS_TREND_MAX_KB (or
  three standard errors, where the samples swing more) above the median of
  the middle third, unless it comes back down to the middle third's peak
  (echo-client: its longest run);
- no connection left behind: once the load stops, echo-server's SIGUSR1
  listing holds no ESTABLISHED, CLOSE_WAIT or SYN_RECEIVED row, and within
  20 s none at all (the closing ones drained); each echo-client (with
  --wait-timewait) exits with an empty listing; Linux holds no established
  connection to any of them;
- the faults acted (TtFaultDropped, TtFaultDelayed > 0), the stacks
  retransmitted and reassembled (TcpRetransSegs, TcpExtTCPOFOQueue > 0), and
  nothing reset a connection (TcpEstabResets 0).
Printed: connections and bytes per process, and the peak VmRSS of each.
"""
import hashlib
import os
import random
import socket
import statistics
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ttinterop as ti  # noqa: E402

SOAK = float(os.environ.get("TT_SOAK_SECONDS", "45"))
SEED = int(os.environ.get("TT_SOAK_SEED", "7"))
MSL = "200ms"
FAULTS = ["--fault", "drop:in:any:p=0.01", "--fault", "delay=25ms:in:data:p=0.03",
          "--fault", "drop:out:any:p=0.01", "--fault", "delay=25ms:out:data:p=0.03"]
# Extra flags for every tuntcp app of the soak, to compare a knob under the
# same load (e.g. TT_SOAK_FLAGS="--tcp-early-retrans 0").
FAULTS += os.environ.get("TT_SOAK_FLAGS", "").split()
RSS_GROWTH_MAX_KB = 2048
RSS_TREND_MAX_KB = 512
CHURN_BYTES, CHURN_CONC = 3000, 8
BULK_BYTES, BULK_CONC = 500000, 2
LINUX_CHURN_THREADS, LINUX_BULK_THREADS = 4, 2
LINUX_BULK_BYTES = 2 * 1024 * 1024


# ---- RSS ----------------------------------------------------------------------------

def vmrss_kb(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise OSError("no VmRSS")


class RssSampler:
    """VmRSS of pid every second, until it exits or stop()."""

    def __init__(self, pid, every=1.0):
        self.pid, self.every = pid, every
        self.samples = []
        self.stop_flag = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        while not self.stop_flag.is_set():
            try:
                self.samples.append((time.monotonic(), vmrss_kb(self.pid)))
            except OSError:
                return
            self.stop_flag.wait(self.every)

    def stop(self):
        self.stop_flag.set()
        self.thread.join(2)


def median_noise_kb(values):
    """Standard error of the median of values, from their spread: 1.4826 x
    the median absolute deviation estimates the spread robustly (a transfer's
    buffers come and go in steps), and the median of n samples varies by
    1.2533 x spread / sqrt(n)."""
    m = statistics.median(values)
    mad = statistics.median(abs(v - m) for v in values)
    return 1.2533 * 1.4826 * mad / len(values) ** 0.5


def check_flat(samples, what):
    """Memory flat: after warm-up (the first third of the run), VmRSS stays
    within RSS_GROWTH_MAX_KB of the warm-up's peak, and the median of the
    last third is within RSS_TREND_MAX_KB of the median of the middle third
    (medians: a transfer's buffers come and go, a leak only grows), or within
    three standard errors of that difference where the samples swing more
    than that (bulk transfers under loss move RSS by megabytes from one
    second to the next; two medians of 15 such samples differ by more than
    512 kB one run in twenty with no leak at all), or the last third comes
    back down to the middle third's peak (a leak never does).
    Returns (peak kB, growth kB, trend kB, least-squares slope kB/min)."""
    assert len(samples) >= 9, f"{what}: only {len(samples)} RSS samples"
    t0 = samples[0][0]
    span = samples[-1][0] - t0
    warm = [kb for t, kb in samples if t - t0 <= span / 3]
    middle = [kb for t, kb in samples if span / 3 < t - t0 <= 2 * span / 3]
    last = [kb for t, kb in samples if t - t0 > 2 * span / 3]
    after = [(t - t0, kb) for t, kb in samples if t - t0 > span / 3]
    growth = max(kb for _, kb in after) - max(warm)
    trend = statistics.median(last) - statistics.median(middle)
    noise = 3 * (median_noise_kb(middle) ** 2 + median_noise_kb(last) ** 2) ** 0.5
    n = len(after)
    mt = sum(t for t, _ in after) / n
    mk = sum(kb for _, kb in after) / n
    var = sum((t - mt) ** 2 for t, _ in after)
    slope = sum((t - mt) * (kb - mk) for t, kb in after) / var * 60 if var else 0.0
    assert growth <= RSS_GROWTH_MAX_KB, \
        f"{what}: VmRSS grew {growth} kB after warm-up (peak {max(warm)} kB): {samples}"
    # A leak only grows: its last third stays above everything the middle
    # third reached. The allocator's high-water mark steps up and comes back
    # down (a run of the Release build: 4.6 MB for two minutes, 5.5 MB, then
    # 4.7 MB again, with the heap in use flat).
    assert trend <= max(RSS_TREND_MAX_KB, noise) or min(last) <= max(middle), \
        f"{what}: VmRSS median rose {trend:.0f} kB from the middle to the last third " \
        f"(allowed {max(RSS_TREND_MAX_KB, noise):.0f} kB) and stayed above the middle " \
        f"third's peak: {samples}"
    return max(kb for _, kb in samples), growth, trend, slope


# ---- Linux side ---------------------------------------------------------------------

class LinuxLoad:
    """Linux clients against echo-server until stop: short connections and
    bulk transfers, every echo compared by SHA-256."""

    def __init__(self, deadline):
        self.deadline = deadline
        self.lock = threading.Lock()
        self.errors = []
        self.short = self.bulk = self.bytes = 0
        self.threads = [threading.Thread(target=self._churn, args=(i,), daemon=True)
                        for i in range(LINUX_CHURN_THREADS)]
        self.threads += [threading.Thread(target=self._bulk, args=(i,), daemon=True)
                         for i in range(LINUX_BULK_THREADS)]
        for t in self.threads:
            t.start()

    def _echo(self, data):
        s = socket.create_connection((ti.STACK_ADDR, 7), timeout=60)
        h, n, err = hashlib.sha256(), 0, []

        def reader():
            nonlocal n
            try:
                while n < len(data):
                    chunk = s.recv(65536)
                    if not chunk:
                        break
                    h.update(chunk)
                    n += len(chunk)
            except OSError as e:
                err.append(e)
        th = threading.Thread(target=reader)
        th.start()
        try:
            s.sendall(data)
            th.join(90)
        finally:
            s.close()
        same = h.digest() == hashlib.sha256(data).digest()
        if err or n != len(data) or not same:
            raise AssertionError(f"echo of {len(data)} bytes: got {n}, errors {err}, "
                                 f"hash {'ok' if same else 'differs'}")

    def _loop(self, size_of, kind, seed):
        rnd = random.Random(seed)
        while time.monotonic() < self.deadline:
            data = rnd.randbytes(size_of(rnd))
            try:
                self._echo(data)
            except (OSError, AssertionError) as e:
                with self.lock:
                    self.errors.append(f"{kind}: {e!r}")
                time.sleep(0.2)
                continue
            with self.lock:
                self.bytes += len(data)
                if kind == "short":
                    self.short += 1
                else:
                    self.bulk += 1

    def _churn(self, i):
        self._loop(lambda r: r.randint(1, 4000), "short", SEED * 100 + i)

    def _bulk(self, i):
        self._loop(lambda r: LINUX_BULK_BYTES, "bulk", SEED * 1000 + i)

    def join(self, timeout):
        end = time.monotonic() + timeout
        for t in self.threads:
            t.join(max(0.1, end - time.monotonic()))
        return not any(t.is_alive() for t in self.threads)


# ---- echo-client rounds ---------------------------------------------------------------

class ClientRounds:
    """echo-client runs on one TUN until the deadline: a short first run
    measures the rate, the next is sized to end with the soak."""

    def __init__(self, label, tun, net, nbytes, conc, first_count, deadline):
        self.label, self.tun, self.net = label, tun, net
        self.nbytes, self.conc, self.first = nbytes, conc, first_count
        self.deadline = deadline
        self.runs = []  # (count, seconds, stderr, samples)
        self.failures = []
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _one(self, count, k):
        name = f"soak_{self.label}_{k}"
        args = ["--tun", self.tun, "--addr", f"{self.net}.2", "--host", f"{self.net}.1/24",
                "--connect", f"{self.net}.1:7", "--msl", MSL, "--seed", str(SEED + k),
                "--count", str(count), "--concurrency", str(self.conc), "--bytes",
                str(self.nbytes), "--wait-timewait", "-v"] + FAULTS
        app = ti.LoggedApp(ti.CLIENT, args, name)
        sampler = RssSampler(app.proc.pid)
        t0 = time.monotonic()
        try:
            rc = app.wait(max(60.0, self.deadline - t0 + 60.0))
        finally:
            sampler.stop()
            if app.proc.poll() is None:
                app.stop()
        secs = time.monotonic() - t0
        err = app.stderr
        if rc != 0 or f"echo-client: {count} connections, {count} verified, 0 failed" not in err:
            self.failures.append(f"{name}: exit {rc}: {err[-1500:]}")
        self.runs.append((count, secs, err, sampler.samples))
        return secs

    def _run(self):
        k = 0
        count = self.first
        while True:
            secs = self._one(count, k)
            k += 1
            left = self.deadline - time.monotonic()
            if self.failures or left < 3.0:
                return
            # A run costs its start and its final 2*MSL wait besides the
            # connections: leave a second for them. Each run is sized for
            # half of what is left, so that a machine that slows down
            # (other jobs on a shared CI host) stretches the last run by
            # seconds, not past the deadline's grace.
            rate = count / max(secs - 0.6, 0.1)
            count = max(1, int(rate * (left - 1.0) * 0.5))

    def join(self, timeout):
        self.thread.join(timeout)
        return not self.thread.is_alive()


def set_sysctl(path, value):
    with open("/proc/sys/" + path, "w") as f:
        f.write(value)


def small_asan_quarantine():
    """ASan keeps freed memory in a quarantine of up to 256 MB before reuse:
    with the sanitized build every connection's freed buffers would read as
    RSS growth. 1 MB keeps use-after-free detection for recent frees and
    lets RSS show the stack's own memory."""
    opts = os.environ.get("ASAN_OPTIONS", "")
    if "quarantine_size_mb" not in opts:
        os.environ["ASAN_OPTIONS"] = (opts + ":" if opts else "") + "quarantine_size_mb=1"


# ---- the test -----------------------------------------------------------------------

def test_soak_loss_reordering_memory_flat():
    name = "soak_server"
    set_sysctl("net/ipv4/ip_local_port_range", "10000 65000")
    set_sysctl("net/ipv4/tcp_tw_reuse", "1")
    srv = ti.LoggedApp(ti.SERVER, ["--msl", MSL, "--seed", str(SEED), "-v", "-q"] + FAULTS,
                       name)
    srv.wait_line("listening on")
    srv_rss = RssSampler(srv.proc.pid)
    # Bulk-safe Linux echo servers (a thread per connection, sendall).
    echo1 = ti.LinuxEchoServer(addr="10.7.1.1", backlog=256, conn_timeout=60)
    echo2 = ti.LinuxEchoServer(addr="10.7.2.1", backlog=256, conn_timeout=60)
    t0 = time.monotonic()
    deadline = t0 + SOAK
    load = churn = bulk = None
    try:
        load = LinuxLoad(deadline)
        churn = ClientRounds("churn", "tt1", "10.7.1", CHURN_BYTES, CHURN_CONC, 200, deadline)
        bulk = ClientRounds("bulk", "tt2", "10.7.2", BULK_BYTES, BULK_CONC, 6, deadline)
        assert load.join(SOAK + 120), "Linux clients did not finish"
        assert churn.join(SOAK + 180) and bulk.join(SOAK + 180), "echo-client did not finish"
        t_load_end = time.monotonic()
        # The load has stopped: nothing open may remain on echo-server.
        counters, rows = srv.stats()
        open_rows = [r for r in rows if r[0] in ("ESTABLISHED", "CLOSE_WAIT", "SYN_RECEIVED")]
        drained = time.monotonic() + 20
        while rows and time.monotonic() < drained:
            time.sleep(0.5)
            counters, rows = srv.stats()
        srv_rss.stop()
        linux_est = [r for r in ti.ss_states("established")
                     if r[1].split(":")[0] in (ti.STACK_ADDR, "10.7.1.2", "10.7.2.2")
                     or r[0].split(":")[0] in ("10.7.1.1", "10.7.2.1")]
    finally:
        if load is not None:
            load.deadline = 0
        rc = srv.stop()
        echo1.close()
        echo2.close()
    assert rc == 0, f"echo-server exit {rc}: {srv.stderr[-2000:]}"
    # Every byte echoed, verified.
    assert not load.errors, f"Linux clients: {load.errors[:5]}"
    assert not churn.failures and not bulk.failures, churn.failures + bulk.failures
    assert not echo1.errors and not echo2.errors, (echo1.errors[:3], echo2.errors[:3])
    assert load.short > 0 and load.bulk > 0, (load.short, load.bulk)
    # Nothing left behind.
    assert not open_rows, f"open on echo-server after the load: {open_rows[:5]}"
    assert not rows, f"echo-server still holds, 20 s after the load: {rows[:5]}"
    assert not linux_est, f"Linux still has established connections: {linux_est[:5]}"
    for label, rounds in (("churn", churn), ("bulk", bulk)):
        for count, secs, err, _ in rounds.runs:
            c, r = ti.last_stats(err)
            assert not r, f"{label}: echo-client left {r[:3]}"
            assert c["TcpActiveOpens"] == count and c["TcpEstabResets"] == 0, (label, c)
    # The faults acted; the stacks coped.
    assert counters["TtFaultDropped"] > 0 and counters["TtFaultDelayed"] > 0, counters
    assert counters["TcpRetransSegs"] > 0 and counters["TcpExtTCPOFOQueue"] > 0, counters
    assert counters["TcpEstabResets"] == 0, counters
    assert counters["TcpPassiveOpens"] == load.short + load.bulk, \
        (counters["TcpPassiveOpens"], load.short, load.bulk)
    # Memory flat.
    figures = []
    peak, growth, trend, slope = check_flat(srv_rss.samples, "echo-server")
    figures.append(f"echo-server {counters['TcpPassiveOpens']} connections "
                   f"({load.short} short, {load.bulk} x 2 MiB), {load.bytes / 1e6:.1f} MB echoed, "
                   f"retrans {counters['TcpRetransSegs']}, faults dropped/delayed "
                   f"{counters['TtFaultDropped']}/{counters['TtFaultDelayed']}; VmRSS peak "
                   f"{peak} kB, growth after warm-up {growth:+d} kB, median middle->last third "
                   f"{trend:+.0f} kB, slope {slope:+.0f} kB/min")
    for label, rounds in (("churn", churn), ("bulk", bulk)):
        longest = max(rounds.runs, key=lambda run: run[1])
        p, g, tr, s = check_flat(longest[3], f"echo-client {label}")
        total = sum(run[0] for run in rounds.runs)
        runs = ", ".join(f"{run[0]} in {run[1]:.1f} s" for run in rounds.runs)
        figures.append(f"echo-client {label}: {total} connections in {len(rounds.runs)} runs "
                       f"({runs}), "
                       f"{total * rounds.nbytes / 1e6:.1f} MB verified; VmRSS peak {p} kB "
                       f"(longest run), growth {g:+d} kB, median {tr:+.0f} kB, "
                       f"slope {s:+.0f} kB/min")
    print(f"soak {SOAK:.0f} s (load ended after {t_load_end - t0:.1f} s), seed {SEED}: "
          + "; ".join(figures), flush=True)


if __name__ == "__main__":
    ti.enter_netns()
    small_asan_quarantine()
    ti.run_tests([test_soak_loss_reordering_memory_flat])
