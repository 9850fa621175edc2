#!/usr/bin/env python3
"""Interop: echo-client as a load generator (docs/contract.md §3.4).

--rate opens connections on a schedule and a failed attempt keeps its
slot: with 20 ports and 2*MSL = 200 ms the verified rate settles near
ports/(2*MSL) = 100/s whatever rate is asked for, the rest fail with
EADDRNOTAVAIL spread over the whole run, and --json says so. Without
--rate, running out of ports makes the client wait for one rather than
fail the rest of --count at once. --hold keeps verified connections open.
A Linux echo server in the test's own network namespace; every run is
bounded in count and time. The bounds are generous (a shared machine).
"""
import json
import os
import signal
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ttinterop as ti  # noqa: E402

PORTS = "40000-40019"  # 20 ports


def _json_client(name, *extra, timeout=30.0, msl="100ms"):
    path = ti.out_path(name + ".json")
    if os.path.exists(path):
        os.remove(path)
    t0 = time.monotonic()
    cli = ti.run_client(name, "--connect", f"{ti.HOST_ADDR}:7", "--json", path, *extra,
                        msl=msl, timeout=timeout)
    took = time.monotonic() - t0
    with open(path) as f:
        summary = json.load(f)
    return cli, summary, took


def test_rate_is_capped_by_ports_over_2msl():
    """--rate 300 for 2 s with 20 ports and MSL 100 ms: 600 attempts, about
    100 verified per second, the others EADDRNOTAVAIL from early in the run
    to its end (a failure never makes the rest burn at once)."""
    srv = ti.LinuxFastEchoServer()
    try:
        cli, s, took = _json_client("client_rate", "--ip-local-port-range", PORTS, "--rate",
                                    "300", "--duration", "2s")
    finally:
        srv.close()
    assert cli.rc == 1, f"exit {cli.rc} (EADDRNOTAVAIL failures expected): {cli.stderr[-500:]}"
    assert s["exit_status"] == 1
    assert 599 <= s["attempts"] <= 601, s["attempts"]
    assert s["attempts"] == s["verified"] + s["failed"], s
    assert set(s["failures"]) == {"EADDRNOTAVAIL"}, s["failures"]
    fail = s["failures"]["EADDRNOTAVAIL"]
    assert fail["count"] == s["failed"]
    # The first failure comes once the 20 ports are taken (20 attempts at 300/s: ~67 ms),
    # the last near the end of the 2 s: spread over the run, not burnt in microseconds.
    assert 0.03 <= fail["first_s"] <= 0.5, fail
    assert 1.6 <= fail["last_s"] <= 2.2, fail
    rate = s["verified_per_s"]
    assert 60 <= rate <= 130, f"verified {rate}/s, expected near 20/(2*100ms) = 100/s"
    assert abs(s["open_s"] - 2.0) < 0.01, s["open_s"]
    assert 280 <= s["attempts_per_s"] <= 310, s["attempts_per_s"]
    assert 10 <= s["timewait_peak"]["entries"] <= 20, s["timewait_peak"]
    assert s["timewait_peak"]["bytes"] > 0
    lat = s["connect_latency_ms"]
    assert lat["count"] == s["established"] and lat["p50"] <= lat["p90"] <= lat["p99"] <= lat["max"]
    # The timeline covers the run, second by second, and adds up.
    tl = s["timeline"]
    assert 2 <= len(tl) <= 4, tl
    assert sum(x["attempts"] for x in tl) == s["attempts"]
    assert sum(x["verified"] for x in tl) == s["verified"]
    assert sum(x["failed"] for x in tl) == s["failed"]
    assert tl[0]["attempts"] >= 280 and tl[1]["attempts"] >= 280, tl
    assert took < 8, f"the run took {took:.1f} s"
    print(f"     --rate 300 for 2 s, 20 ports, 2*MSL 200 ms: {s['verified']} verified "
          f"({rate:.1f}/s), {s['failed']} EADDRNOTAVAIL, TIME_WAIT peak "
          f"{s['timewait_peak']['entries']}, connect p50 {lat['p50']} ms")


def test_rate_without_port_pressure_verifies_all():
    """--rate 100 --count 50 (plenty of ports): all 50 verified, exit 0,
    paced over about half a second rather than opened at once."""
    srv = ti.LinuxFastEchoServer()
    try:
        cli, s, took = _json_client("client_rate_ok", "--rate", "100", "--count", "50")
    finally:
        srv.close()
    assert cli.rc == 0, f"exit {cli.rc}: {cli.stderr[-500:]}"
    assert s["attempts"] == s["verified"] == 50 and s["failed"] == 0, s
    assert s["failures"] == {}
    assert abs(s["open_s"] - 0.5) < 0.01, s["open_s"]
    assert s["duration_s"] >= 0.49, s["duration_s"]  # attempt 50 starts at 0.49 s
    assert s["rate"] == 100


def test_rate_with_full_concurrency_fails_ebusy():
    """--rate 200 --concurrency 2 --hold 100ms: each connection stays open
    100 ms after its echo, so most slots of the schedule find both
    connections open and fail with EBUSY; the schedule keeps its pace."""
    srv = ti.LinuxFastEchoServer()
    try:
        cli, s, _ = _json_client("client_rate_busy", "--rate", "200", "--count", "100",
                                 "--concurrency", "2", "--hold", "100ms")
    finally:
        srv.close()
    assert cli.rc == 1
    assert s["attempts"] == 100, s
    assert set(s["failures"]) == {"EBUSY"}, s["failures"]
    # Two connections each ~100 ms over 0.5 s: about 10 verified; never more than 2 per 100 ms.
    assert 4 <= s["verified"] <= 14, s
    assert s["verified"] + s["failed"] == 100
    assert "Device or resource busy" in cli.stderr


def test_without_rate_a_full_port_range_waits():
    """No --rate, --count 40 over 20 ports, --connect-timeout 2s: attempt 21
    finds no free port and waits for a TIME_WAIT entry to expire (200 ms)
    instead of failing; every echo is verified, exit 0."""
    srv = ti.LinuxFastEchoServer()
    try:
        cli, s, took = _json_client("client_port_wait", "--ip-local-port-range", PORTS,
                                    "--count", "40", "--connect-timeout", "2s")
    finally:
        srv.close()
    assert cli.rc == 0, f"exit {cli.rc}: {cli.stderr[-500:]}"
    assert s["verified"] == 40 and s["failed"] == 0, s
    assert s["duration_s"] >= 0.2, f"40 connections on 20 ports in {s['duration_s']} s"


def test_without_rate_or_timeout_one_attempt_fails_then_the_rest_wait():
    """No --rate, no --connect-timeout: the first attempt without a free
    port fails with EADDRNOTAVAIL, the ones after it wait for ports: 39 of
    40 verified (the old behaviour failed all 20 remaining at once)."""
    srv = ti.LinuxFastEchoServer()
    try:
        cli, s, took = _json_client("client_port_starved", "--ip-local-port-range", PORTS,
                                    "--count", "40")
    finally:
        srv.close()
    assert cli.rc == 1
    assert s["attempts"] == 40 and s["verified"] == 39, s
    assert s["failures"]["EADDRNOTAVAIL"]["count"] == 1, s["failures"]
    assert cli.stderr.count("Cannot assign requested address") == 1, cli.stderr


def test_port_wait_finds_a_reusable_entry():
    """--tcp-tw-reuse 1, TIME_WAIT of 60 s, 25 connections over 20 ports, no
    --rate: attempt 21 waits (no count falls: the entries only grow old) and
    tries again every 50 ms until an entry is over 1 s old and reusable;
    every echo is verified, exit 0."""
    srv = ti.LinuxFastEchoServer()
    try:
        cli, s, took = _json_client("client_port_wait_reuse", "--ip-local-port-range", PORTS,
                                    "--count", "25", "--tcp-tw-reuse", "1",
                                    "--connect-timeout", "5s", msl="30s")
    finally:
        srv.close()
    assert cli.rc == 0, f"exit {cli.rc}: {cli.stderr[-500:]}"
    assert s["verified"] == 25, s
    assert 1.0 <= s["duration_s"] <= 1.0 + 0.5, s["duration_s"]
    assert s["timewait_peak"]["entries"] == 20, s


def test_duration_without_rate():
    """--duration 500ms --concurrency 4 without --rate: connections are made
    back to back for 0.5 s, then the client finishes those open and exits 0."""
    srv = ti.LinuxFastEchoServer()
    try:
        cli, s, took = _json_client("client_duration", "--duration", "500ms", "--concurrency",
                                    "4")
    finally:
        srv.close()
    assert cli.rc == 0, f"exit {cli.rc}: {cli.stderr[-500:]}"
    assert s["attempts"] >= 20 and s["verified"] == s["attempts"], s
    assert s["rate"] is None
    assert 0.5 <= s["duration_s"] <= 0.5 + 0.5, s["duration_s"]
    assert abs(s["open_s"] - 0.5) < 0.001, s["open_s"]
    assert took < 5


def test_sigint_mid_duration_still_writes_the_summary():
    """SIGINT during --rate 50 --duration 10s: exit 1 with the line saying how
    many were verified, and --json - still prints the summary (exit_status 1)."""
    srv = ti.LinuxFastEchoServer()
    try:
        app = ti.App(ti.CLIENT, ti.app_args("client_rate_sigint", "100ms") + [
            "--connect", f"{ti.HOST_ADDR}:7", "--rate", "50", "--duration", "10s", "--json",
            "-"], "echo-client")
        time.sleep(0.5)
        app.proc.send_signal(signal.SIGINT)
        app.wait(5)
    finally:
        srv.close()
    assert app.rc == 1, f"exit {app.rc}: {app.stderr}"
    assert "echo-client: SIGINT before --duration ended: " in app.stderr, app.stderr
    s = json.loads(app.stdout_lines[-1])
    assert s["exit_status"] == 1 and 10 <= s["attempts"] <= 40, s
    assert s["open_s"] < 2, s


def test_hold_keeps_each_connection_open():
    """--hold 300ms --count 2 --concurrency 2: both echoes are verified at
    once, and the client's FINs leave 300 ms later."""
    srv = ti.LinuxFastEchoServer()
    try:
        cli, s, took = _json_client("client_hold", "--count", "2", "--concurrency", "2",
                                    "--hold", "300ms")
    finally:
        srv.close()
    assert cli.rc == 0, f"exit {cli.rc}: {cli.stderr}"
    segs = ti.tcp_segments("client_hold")
    syns = [x for x in segs if x.has("S") and not x.has("A")]
    fins = [x for x in segs if x.has("F") and x.src == ti.STACK_ADDR]
    assert len(syns) == 2 and len(fins) == 2, segs
    held = min(f.ts for f in fins) - max(x.ts for x in syns)
    assert 0.3 <= held <= 0.3 + 0.5, f"FIN {held:.3f} s after the SYN, --hold 300ms"


if __name__ == "__main__":
    ti.enter_netns()
    ti.run_tests([
        test_rate_is_capped_by_ports_over_2msl,
        test_rate_without_port_pressure_verifies_all,
        test_rate_with_full_concurrency_fails_ebusy,
        test_without_rate_a_full_port_range_waits,
        test_without_rate_or_timeout_one_attempt_fails_then_the_rest_wait,
        test_port_wait_finds_a_reusable_entry,
        test_duration_without_rate,
        test_sigint_mid_duration_still_writes_the_summary,
        test_hold_keeps_each_connection_open,
    ])
