#!/usr/bin/env python3
"""Interop under valgrind: the apps against Linux, clean under memcheck.

Each app runs under `valgrind --tool=memcheck --leak-check=full
--track-fds=yes --error-exitcode=99` inside the test's own network
namespace, against Linux peers, through every close path, then exits (on
SIGTERM, or by itself): it must exit with its own status (0, or 1 where a
failure is the point), memcheck must report no error (no invalid read or
write, no use of uninitialised memory, no bad free), every heap block must
be freed ("in use at exit: 0 bytes in 0 blocks") and no file descriptor of
its own may be left open.

Runs: echo-server with loss, duplication and delay faults, against Linux
clients closing first, half-closing, aborting (SO_LINGER 0) after the echo
and in the middle of a transfer, a 1 MiB transfer, a refused port, a ping,
a burst of spoofed SYNs (half-open queue full, then a connection by SYN
cookie) and a connection still open at SIGTERM; echo-server closing first
(TIME_WAIT entries alive at SIGTERM, data after close); echo-server
--linger0; echo-server --linger 1 whose FIN is never acknowledged (the
linger timeout); echo-client closing first with --wait-timewait under
faults, --linger0, --close-wait, and refused connections (exit 1).

Valgrind cannot run a binary built with AddressSanitizer: the test takes the
apps from TT_VALGRIND_BUILD_DIR (a build without -DTT_SANITIZE=ON, e.g.
`cmake -B build-vg -DTT_TESTS=OFF && cmake --build build-vg`), else from
TT_BUILD_DIR when that build is not sanitized; otherwise it skips (exit
77), saying so.
"""
import os
import re
import shutil
import socket
import struct
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ttinterop as ti  # noqa: E402

VG_BUILD = os.environ.get("TT_VALGRIND_BUILD_DIR") or ti.BUILD
VG_SERVER = os.path.join(VG_BUILD, "apps", "echo-server")
VG_CLIENT = os.path.join(VG_BUILD, "apps", "echo-client")
VG_ERROR_EXIT = 99


def sanitized(path):
    with open(path, "rb") as f:
        blob = f.read()
    return b"__asan_init" in blob or b"__ubsan_handle_" in blob


def preflight():
    if shutil.which("valgrind") is None:
        ti._cannot("valgrind is not installed (Debian package valgrind)")
    for path in (VG_SERVER, VG_CLIENT):
        if not os.access(path, os.X_OK):
            print(f"FAIL: {path} is not built (TT_VALGRIND_BUILD_DIR={VG_BUILD})")
            sys.exit(1)
        if sanitized(path):
            if os.environ.get("TT_VALGRIND_BUILD_DIR"):
                print(f"FAIL: {path} (TT_VALGRIND_BUILD_DIR) is built with sanitizers; "
                      f"valgrind needs a build without -DTT_SANITIZE=ON")
                sys.exit(1)
            print(f"SKIP: {path} is built with sanitizers, which valgrind cannot run; set "
                  f"TT_VALGRIND_BUILD_DIR to a build without -DTT_SANITIZE=ON "
                  f"(cmake -B build-vg -DTT_TESTS=OFF && cmake --build build-vg)")
            sys.exit(ti.SKIP)


def vg_args(name):
    return ["valgrind", "--tool=memcheck", "--leak-check=full", "--show-leak-kinds=all",
            "--errors-for-leak-kinds=definite,indirect,possible", "--track-fds=yes",
            f"--error-exitcode={VG_ERROR_EXIT}", f"--log-file={ti.out_path(name + '.vg.log')}"]


def check_valgrind(name, rc, want_rc=0):
    """The app's own exit status, and a clean memcheck report."""
    with open(ti.out_path(name + ".vg.log")) as f:
        log = f.read()
    body = "\n".join(line.split("== ", 1)[1] if "== " in line else line
                     for line in log.splitlines())
    assert rc == want_rc, f"{name}: exit {rc} (want {want_rc}); valgrind:\n{body[-3000:]}"
    assert re.search(r"ERROR SUMMARY: 0 errors from 0 contexts", body), \
        f"{name}: memcheck errors:\n{body[-4000:]}"
    assert "in use at exit: 0 bytes in 0 blocks" in body and \
        "All heap blocks were freed -- no leaks are possible" in body, \
        f"{name}: heap at exit:\n{body[-4000:]}"
    # --track-fds: every descriptor still open at exit came from the parent.
    fds = re.findall(r"Open (?:file descriptor|AF_\w+ socket) (\d+):[^\n]*\n\s*([^\n]*)", body)
    own = [(fd, what) for fd, what in fds if "inherited from parent" not in what]
    assert not own, f"{name}: descriptors left open: {own}\n{body[-3000:]}"


class VgServer(ti.LoggedApp):
    def __init__(self, name, *extra):
        args = ["--msl", "500ms", "--pcap", ti.out_path(name + ".pcap"), "--trace",
                ti.out_path(name + ".jsonl"), "--seed", "5", "-v"] + list(extra)
        super().__init__(vg_args(name)[0], vg_args(name)[1:] + [VG_SERVER] + args, name)
        self.name = "echo-server (valgrind)"
        self.wait_line("listening on", timeout=30)


def run_client(name, *extra, timeout=60):
    args = ["--pcap", ti.out_path(name + ".pcap"), "--trace", ti.out_path(name + ".jsonl"),
            "-v"] + list(extra)
    cli = ti.LoggedApp(vg_args(name)[0], vg_args(name)[1:] + [VG_CLIENT] + args, name)
    cli.name = "echo-client (valgrind)"
    rc = cli.wait(timeout)
    return cli, rc


# ---- Linux clients ---------------------------------------------------------------------

def connect(timeout=10.0):
    return socket.create_connection((ti.STACK_ADDR, 7), timeout=timeout)


def echo_bulk(s, data):
    """Sends data while reading the echo back; returns the echo."""
    got = []

    def reader():
        n = 0
        while n < len(data):
            chunk = s.recv(65536)
            if not chunk:
                break
            got.append(chunk)
            n += len(chunk)
    th = threading.Thread(target=reader)
    th.start()
    s.sendall(data)
    th.join(30)
    return b"".join(got)


def linux_close_first(n):
    s = connect()
    data = os.urandom(n)
    assert echo_bulk(s, data) == data
    s.close()


def linux_half_close(n):
    s = connect()
    data = os.urandom(n)
    s.sendall(data)
    s.shutdown(socket.SHUT_WR)
    got = b""
    while True:
        chunk = s.recv(65536)
        if not chunk:
            break
        got += chunk
    s.close()
    assert got == data, f"half-close echo {len(got)} of {n}"


def linux_abort_after_echo():
    s = connect()
    assert echo_bulk(s, b"x" * 1000) == b"x" * 1000
    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    s.close()


def linux_abort_mid_transfer():
    s = connect()
    s.sendall(os.urandom(200000))
    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    s.close()


def linux_refused():
    try:
        socket.create_connection((ti.STACK_ADDR, 9), timeout=5).close()
    except ConnectionRefusedError:
        return
    raise AssertionError("port 9 accepted a connection")


# ---- echo-server ------------------------------------------------------------------------

def test_server_every_path_under_valgrind():
    name = "vg_server"
    srv = VgServer(name, "--fault", "dup:in:fin", "--fault", "delay=30ms:out:data:p=0.2",
                   "--fault", "drop:in:data:p=0.03")
    left_open = None
    try:
        linux_close_first(10000)
        linux_half_close(100000)
        linux_close_first(1 << 20)
        linux_abort_after_echo()
        linux_abort_mid_transfer()
        linux_refused()
        ping = subprocess.run(["ping", "-c", "1", "-W", "5", ti.STACK_ADDR],
                              capture_output=True, text=True)
        assert ping.returncode == 0, ping.stdout + ping.stderr
        # Spoofed SYNs fill the half-open queue; the next connection comes by cookie.
        import test_flood
        with open(os.devnull, "w") as null:
            saved, sys.stdout = sys.stdout, null
            try:
                test_flood.flood(2000, 0.4, 3)
            finally:
                sys.stdout = saved
        time.sleep(0.5)
        linux_close_first(5000)
        left_open = connect()
        assert echo_bulk(left_open, b"y" * 3000) == b"y" * 3000
        time.sleep(1.0)
        counters, rows = srv.stats(timeout=15)
    finally:
        rc = srv.stop(timeout=60)
        if left_open is not None:
            left_open.close()
    check_valgrind(name, rc)
    assert counters["TcpExtSyncookiesRecv"] == 2, counters  # the two after the burst
    assert counters["IcmpOutEchoReps"] == 1 and counters["TcpEstabResets"] == 2, counters
    states = [r[0] for r in rows]
    assert states.count("ESTABLISHED") == 1 and states.count("SYN_RECEIVED") == 128, states
    final, _ = ti.last_stats(srv.stderr)
    assert final["TcpPassiveOpens"] == 7, final


def test_server_active_close_under_valgrind():
    """--close-after: TIME_WAIT entries still alive at SIGTERM; a client
    that sends more than the server echoes (data after close: RST)."""
    name = "vg_server_close_after"
    srv = VgServer(name, "--close-after", "1000", "--msl", "10s")
    try:
        for _ in range(3):
            s = connect()
            s.sendall(b"z" * 1000)
            got = b""
            while True:
                chunk = s.recv(65536)
                if not chunk:
                    break
                got += chunk
            s.close()
            assert got == b"z" * 1000
        s = connect()
        s.sendall(b"w" * 1000)
        time.sleep(0.3)
        try:
            s.sendall(b"w" * 5000)
        except OSError:
            pass
        s.close()
        time.sleep(1.0)
        counters, rows = srv.stats(timeout=15)
    finally:
        rc = srv.stop(timeout=60)
    check_valgrind(name, rc)
    assert [r[0] for r in rows].count("TIME_WAIT") >= 3, rows
    assert counters["TcpPassiveOpens"] == 4, counters


def test_server_linger0_under_valgrind():
    name = "vg_server_linger0"
    srv = VgServer(name, "--linger0", "--close-after", "500")
    try:
        for _ in range(2):
            s = connect()
            s.sendall(b"r" * 500)
            err = None
            try:
                while s.recv(65536):
                    pass
            except ConnectionResetError as e:
                err = e
            s.close()
            assert err is not None, "no RST from the server"
        time.sleep(0.5)
        counters, rows = srv.stats(timeout=15)
    finally:
        rc = srv.stop(timeout=60)
    check_valgrind(name, rc)
    assert counters["TcpExtTCPAbortOnLinger"] == 2 and not rows, (counters, rows)


def test_server_linger_timeout_under_valgrind():
    """--linger 1, the server's FIN never acknowledged: the close returns
    (reporting success, as Linux's close()) and the trace says the linger
    time ran out; the connection is still in FIN_WAIT_1 at SIGTERM."""
    name = "vg_server_linger1"
    srv = VgServer(name, "--linger", "1", "--close-after", "100",
                   "--fault", "drop:in:any:state=FIN_WAIT_1")
    try:
        s = connect()
        s.sendall(b"q" * 100)
        got = b""
        while len(got) < 100:
            got += s.recv(65536)
        time.sleep(2.0)
        counters, rows = srv.stats(timeout=15)
        s.close()
    finally:
        rc = srv.stop(timeout=60)
    check_valgrind(name, rc)
    expired = [e for e in ti.read_trace(name) if e.get("ev") == "linger_expired"]
    assert [e["state"] for e in expired] == ["FIN_WAIT_1"], expired
    assert "close:" not in srv.stderr, srv.stderr[-2000:]
    assert [r[0] for r in rows] == ["FIN_WAIT_1"], rows


# ---- echo-client ------------------------------------------------------------------------

def test_client_paths_under_valgrind():
    lsrv = ti.LinuxEchoServer()
    try:
        cli, rc = run_client("vg_client", "--count", "6", "--concurrency", "3", "--bytes",
                             "100000", "--msl", "300ms", "--wait-timewait", "--seed", "5",
                             "--fault", "drop:in:data:p=0.03", "--fault",
                             "delay=30ms:out:data:p=0.2")
        check_valgrind("vg_client", rc)
        assert "echo-client: 6 connections, 6 verified, 0 failed" in cli.stderr, cli.stderr
        cli, rc = run_client("vg_client_linger0", "--count", "3", "--linger0", "--bytes",
                             "5000")
        check_valgrind("vg_client_linger0", rc)
        counters, _ = ti.last_stats(cli.stderr)
        assert counters["TcpOutRsts"] == 3, counters
    finally:
        lsrv.close()
    closer = ti.LinuxEchoServer(close_after=2000, port=8)
    try:
        cli, rc = run_client("vg_client_close_wait", "--connect", f"{ti.HOST_ADDR}:8",
                             "--close-wait", "--count", "2", "--bytes", "2000")
        check_valgrind("vg_client_close_wait", rc)
    finally:
        closer.close()
    cli, rc = run_client("vg_client_refused", "--connect", f"{ti.HOST_ADDR}:9", "--count", "2")
    check_valgrind("vg_client_refused", rc, want_rc=1)
    assert "echo-client: connection 2: connect: Connection refused" in cli.stderr, cli.stderr


if __name__ == "__main__":
    preflight()
    ti.enter_netns()
    ti.run_tests([test_server_every_path_under_valgrind,
                  test_server_active_close_under_valgrind,
                  test_server_linger0_under_valgrind,
                  test_server_linger_timeout_under_valgrind,
                  test_client_paths_under_valgrind])
