#!/usr/bin/env python3
"""Interop: the apps without root, inside the test's own network namespace.

1. Unprivileged on a persistent TUN device made by root for that user: root
   runs `ip tuntap add dev ttu0 mode tun user nobody`, puts 10.7.0.1/24 on
   it and brings it up; echo-server and then echo-client run as nobody with
   --no-config and serve Linux peers. As nobody, the apps cannot configure
   the device (without --no-config: SIOCSIFMTU, EPERM), nor attach a device
   made for someone else, nor create one (TUNSETIFF, EPERM): each a
   one-line error naming the step, exit 1. The device and its addresses
   outlive the apps, untouched.
2. --user NAME: started as root, the apps set up the TUN device and open
   their files (pcap, trace) as root, then become NAME: /proc/PID/status
   shows every uid and gid (real, effective, saved, filesystem) as nobody's,
   nobody's groups only, and no capability left; they still serve, the
   capture and the trace are complete, and they exit 0 on SIGTERM. A user
   that does not exist is refused before anything is set up: exit 2 and no
   device made.

Needs real root (to make the device for another user and to switch users):
under `unshare -rn` only root is mapped, so without root the test skips
(fails under CI=true). /dev/net/tun must be usable by the user; where it is
root-only (mode 0600), the test bind-mounts a 0666 node of the same device
over it, in a private mount namespace of its own.
"""
import ctypes
import json
import os
import pwd
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ttinterop as ti  # noqa: E402

USER = "nobody"
PW = pwd.getpwnam(USER)
UID, GID = PW.pw_uid, PW.pw_gid
TUN_U = "ttu0"
CLONE_NEWNS = 0x00020000


# ---- helpers ---------------------------------------------------------------------------

def run(*cmd):
    return subprocess.run(list(cmd), capture_output=True, text=True, check=True).stdout


def proc_status(pid):
    """{'Uid': [4 ids], 'Gid': [...], 'Groups': [...], 'CapEff': hex, ...}"""
    out = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            key, _, val = line.partition(":")
            if key in ("Uid", "Gid", "Groups"):
                out[key] = [int(x) for x in val.split()]
            elif key in ("CapEff", "CapPrm", "CapBnd", "CapAmb", "CapInh"):
                out[key] = val.strip()
    return out


def check_dropped(pid, what):
    st = proc_status(pid)
    assert st["Uid"] == [UID] * 4, f"{what}: Uid {st['Uid']}"
    assert st["Gid"] == [GID] * 4, f"{what}: Gid {st['Gid']}"
    groups = sorted(os.getgrouplist(USER, GID))
    assert sorted(st["Groups"]) == groups, f"{what}: Groups {st['Groups']}, want {groups}"
    for cap in ("CapEff", "CapPrm", "CapAmb"):
        assert int(st[cap], 16) == 0, f"{what}: {cap} {st[cap]}"
    return st


def as_user():
    return {"user": UID, "group": GID, "extra_groups": os.getgrouplist(USER, GID)}


class UserApp(ti.App):
    """ti.App run as USER."""

    def __init__(self, path, args, name):
        self.name = name
        self.args = [path] + list(args)
        self.proc = subprocess.Popen(self.args, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                     text=True, **as_user())
        self.stdout_lines, self.stderr, self.rc = [], "", None


def user_dir():
    d = tempfile.mkdtemp(prefix="tt-priv-", dir=ti.OUT_DIR)
    os.chown(d, UID, GID)
    return d


def link_exists(name):
    return subprocess.run(["ip", "link", "show", name], capture_output=True).returncode == 0


def addrs_of(name):
    info = json.loads(run("ip", "-j", "addr", "show", name))[0]
    return info["mtu"], sorted(f"{a['local']}/{a['prefixlen']}" for a in info["addr_info"]
                               if a["family"] == "inet")


def private_tun_node():
    """Makes /dev/net/tun usable by USER in this process's own mount
    namespace, when it is not already (never touching the real node)."""
    st = os.stat("/dev/net/tun")
    if st.st_mode & 0o006 == 0o006:
        return
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.unshare(CLONE_NEWNS) != 0:
        ti._cannot(f"unshare(CLONE_NEWNS): {os.strerror(ctypes.get_errno())}")
    run("mount", "--make-rprivate", "/")
    d = tempfile.mkdtemp(prefix="tt-devtun-")
    run("mount", "-t", "tmpfs", "-o", "mode=755", "tt-devtun", d)
    node = os.path.join(d, "tun")
    os.mknod(node, 0o666 | 0o020000, st.st_rdev)
    os.chmod(node, 0o666)
    run("mount", "--bind", node, "/dev/net/tun")


def preflight():
    if os.geteuid() != 0 or os.environ.get("TT_PRIV_ROOT") != "1":
        ti._cannot("needs real root: the test makes a TUN device for another user and switches "
                   "users (under `unshare -rn` only root is mapped)")
    for path in (ti.SERVER, ti.CLIENT):
        r = subprocess.run([path, "--version"], capture_output=True, text=True, **as_user())
        if r.returncode != 0:
            ti._cannot(f"{path} cannot run as {USER}: {r.stderr.strip()} "
                       f"(is the build directory readable by {USER}?)")


# ---- 1. unprivileged on a persistent device made for the user ---------------------------

def make_user_tun():
    run("ip", "tuntap", "add", "dev", TUN_U, "mode", "tun", "user", USER)
    run("ip", "addr", "add", f"{ti.HOST_ADDR}/24", "dev", TUN_U)
    run("ip", "link", "set", TUN_U, "up")


def remove_user_tun():
    """ttu0 holds 10.7.0.1/24: gone before an app configures tt0 with it."""
    if link_exists(TUN_U):
        run("ip", "tuntap", "del", "dev", TUN_U, "mode", "tun")


def test_unprivileged_server_on_persistent_tun():
    """echo-server as nobody, --no-config on ttu0: serves two Linux clients;
    its pcap and trace (in a directory of nobody's) hold them."""
    make_user_tun()
    d = user_dir()
    before = addrs_of(TUN_U)
    srv = UserApp(ti.SERVER, ["--tun", TUN_U, "--no-config", "--msl", "500ms", "-v",
                              "--pcap", os.path.join(d, "s.pcap"),
                              "--trace", os.path.join(d, "s.jsonl")], "echo-server")
    try:
        srv.wait_line("listening on")
        st = check_dropped(srv.proc.pid, "echo-server as nobody")
        for n in (1000, 100000):
            data = os.urandom(n)
            got, err, _ = ti.linux_echo(data)
            assert err is None and got == data, (err, len(got))
        time.sleep(0.2)
    finally:
        rc = srv.stop()
    assert rc == 0, f"echo-server exit {rc}: {srv.stderr}"
    assert "interface ttu0" in srv.stderr, srv.stderr[:500]
    counters, _ = ti.last_stats(srv.stderr)
    assert counters["TcpPassiveOpens"] == 2 and counters["TcpEstabResets"] == 0, counters
    events = [json.loads(l) for l in open(os.path.join(d, "s.jsonl")) if l.strip()]
    closed = [e for e in events if e.get("ev") == "state" and e["to"] == "CLOSED"]
    assert [e.get("why") for e in closed] == ["last_ack", "last_ack"], closed
    assert os.stat(os.path.join(d, "s.pcap")).st_uid == UID
    _, pkts = ti.read_pcap(os.path.join(d, "s.pcap"))
    assert len(pkts) == counters["TtPcapRecords"] and pkts, (len(pkts), counters)
    # The device and its addresses outlive the app, untouched.
    assert link_exists(TUN_U) and addrs_of(TUN_U) == before, (before, addrs_of(TUN_U))
    assert st["Uid"] == [UID] * 4
    shutil.rmtree(d)


def test_unprivileged_client_on_persistent_tun():
    """echo-client as nobody, --no-config on ttu0, against a Linux echo server."""
    if not link_exists(TUN_U):
        make_user_tun()
    lsrv = ti.LinuxEchoServer(delay=0.5)
    try:
        cli = UserApp(ti.CLIENT, ["--tun", TUN_U, "--no-config", "--msl", "200ms", "--count",
                                  "3", "--concurrency", "3", "--bytes", "20000",
                                  "--wait-timewait", "-v"], "echo-client")
        time.sleep(0.3)
        check_dropped(cli.proc.pid, "echo-client as nobody")
        rc = cli.wait(30)
    finally:
        lsrv.close()
    assert rc == 0, f"echo-client exit {rc}: {cli.stderr}"
    assert "echo-client: 3 connections, 3 verified, 0 failed" in cli.stderr, cli.stderr
    assert lsrv.conns == 3 and not lsrv.errors, (lsrv.conns, lsrv.errors)


def test_unprivileged_refusals():
    """As nobody: configuring the device (no --no-config), attaching a
    device made for root (`user root`), or creating one: exit 1, one line
    naming the step."""
    if not link_exists(TUN_U):
        make_user_tun()
    # root's: a persistent device without an owner would be anyone's
    run("ip", "tuntap", "add", "dev", "ttr0", "mode", "tun", "user", "root")
    cases = [
        (["--tun", TUN_U], f"echo-server: TUN {TUN_U}: SIOCSIFMTU: Operation not permitted"),
        (["--tun", "ttr0", "--no-config"],
         "echo-server: TUN ttr0: TUNSETIFF: Operation not permitted "
         "(needs CAP_NET_ADMIN: root, or inside `unshare -rn`)"),
        (["--tun", "ttn0", "--no-config"],
         "echo-server: TUN ttn0: TUNSETIFF: Operation not permitted "
         "(needs CAP_NET_ADMIN: root, or inside `unshare -rn`)"),
    ]
    try:
        for args, want in cases:
            app = UserApp(ti.SERVER, args, "echo-server")
            rc = app.wait(10)
            assert rc == 1 and app.stderr.strip() == want, (args, rc, app.stderr)
            assert not app.stdout_lines, app.stdout_lines
        assert not link_exists("ttn0"), "nobody created a device"
        assert addrs_of(TUN_U) == (1500, [f"{ti.HOST_ADDR}/24"]), addrs_of(TUN_U)
    finally:
        run("ip", "tuntap", "del", "dev", "ttr0", "mode", "tun")
        remove_user_tun()


# ---- 2. --user ---------------------------------------------------------------------------

def test_server_drops_to_user():
    """echo-server --user nobody, started as root: the device (tt0, made and
    configured by the app) and the files (in a root-only directory) are
    set up as root, then the process is nobody for good; it serves and
    exits 0 on SIGTERM with a complete capture and trace."""
    remove_user_tun()
    d = tempfile.mkdtemp(prefix="tt-rootonly-", dir=ti.OUT_DIR)
    os.chmod(d, 0o700)
    pcap, trace = os.path.join(d, "s.pcap"), os.path.join(d, "s.jsonl")
    srv = ti.App(ti.SERVER, ["--user", USER, "--msl", "500ms", "--close-after", "500", "-v",
                             "--pcap", pcap, "--trace", trace], "echo-server")
    try:
        srv.wait_line("listening on")
        check_dropped(srv.proc.pid, "echo-server --user nobody")
        data = os.urandom(500)
        got, err, _ = ti.linux_echo(data, close_first=False)
        assert err is None and got == data, (err, len(got))
        time.sleep(1.3)  # the server's TIME_WAIT (2 * 500 ms) runs out
        check_dropped(srv.proc.pid, "echo-server --user nobody, later")
    finally:
        rc = srv.stop()
    assert rc == 0, f"echo-server exit {rc}: {srv.stderr}"
    assert os.stat(pcap).st_uid == 0 and os.stat(trace).st_uid == 0
    events = [json.loads(l) for l in open(trace) if l.strip()]
    closed = [e.get("why") for e in events if e.get("ev") == "state" and e["to"] == "CLOSED"]
    assert closed == ["timewait_expired"], closed
    counters, rows = ti.last_stats(srv.stderr)
    _, pkts = ti.read_pcap(pcap)
    assert len(pkts) == counters["TtPcapRecords"] == counters["TcpInSegs"] + \
        counters["TcpOutSegs"], (len(pkts), counters)
    assert not rows, rows
    shutil.rmtree(d)


def test_client_drops_to_user():
    """echo-client --user nobody against a Linux echo server that answers
    after 0.5 s: nobody's ids while it runs, exit 0, every echo verified."""
    remove_user_tun()
    lsrv = ti.LinuxEchoServer(delay=0.5)
    try:
        cli = ti.App(ti.CLIENT, ["--user", USER, "--msl", "200ms", "--count", "2",
                                 "--concurrency", "2", "--bytes", "5000", "-v"], "echo-client")
        time.sleep(0.3)
        check_dropped(cli.proc.pid, "echo-client --user nobody")
        rc = cli.wait(30)
    finally:
        lsrv.close()
    assert rc == 0, f"echo-client exit {rc}: {cli.stderr}"
    assert "echo-client: 2 connections, 2 verified, 0 failed" in cli.stderr, cli.stderr


def test_unknown_user_refused_before_setup():
    """--user with no such user: exit 2, the reason, and no device made."""
    for path, prog in ((ti.SERVER, "echo-server"), (ti.CLIENT, "echo-client")):
        app = ti.App(path, ["--tun", "ttx0", "--user", "tt-no-such-user"], prog)
        rc = app.wait(10)
        assert rc == 2, (prog, rc, app.stderr)
        assert app.stderr.splitlines() == [
            f"{prog}: --user: no such user 'tt-no-such-user'",
            f"Try '{prog} --help' for more information."], app.stderr
        assert not link_exists("ttx0"), f"{prog} made a device"


if __name__ == "__main__":
    if os.environ.get("TT_IN_NETNS") != "1":
        os.environ["TT_PRIV_ROOT"] = "1" if os.geteuid() == 0 else "0"
    ti.enter_netns()
    preflight()
    private_tun_node()
    ti.run_tests([test_unprivileged_server_on_persistent_tun,
                  test_unprivileged_client_on_persistent_tun,
                  test_unprivileged_refusals,
                  test_server_drops_to_user,
                  test_client_drops_to_user,
                  test_unknown_user_refused_before_setup])
