#!/usr/bin/env python3
"""Interop: the control socket and tuntcp-ctl on a running echo-server
against the Linux kernel's TCP (docs/contract.md §10).

- the socket: mode 0600, named by -v, removed at exit;
- `tuntcp-ctl ss` agrees with the trace: the TIME_WAIT entries it lists are
  the 4-tuples the trace put in TIME_WAIT and did not close; -s counts them;
- `sysctl -w tuntcp.msl` while entries exist: the existing ones are
  re-timed (docs/contract.md §10.4) and expire at once when their new 2*MSL
  is past; an entry made after the change lives the new 2*MSL;
- `sysctl -w net.ipv4.tcp_rfc1337` while entries exist: a RST at RCV.NXT
  (sent from the kernel side through a raw socket) kills an entry under 0,
  and under 1 is ignored by an entry made before the change and one after;
- `sysctl -w net.ipv4.tcp_max_tw_buckets` below the live count: as Linux,
  the entries stay and the next active close skips TIME_WAIT (tw_overflow);
- `nstat` shows deltas: a second call right after the first shows no
  TcpPassiveOpens; -a shows the total;
- bad requests (too long, malformed JSON, unknown command, bad value) are
  refused with an error naming the field, and the stack goes on serving;
- a client that sends and never reads is dropped once CTL_OUT_MAX (32 MiB)
  of replies wait for it, and meanwhile the stack serves others and TCP;
- another user cannot connect: the socket's mode refuses `nobody`, and
  with the mode opened up SO_PEERCRED still does; after --user nobody the
  socket is nobody's, and nobody (and root) may use it;
- listeners are listed (ss -l), as ss shows them;
- `pcap start/stop`, `trace start/stop` on a stack started without them
  capture and trace exactly the connection made in between; `fault add`
  drops the next SYN (Linux retransmits it), `fault del` removes it;
- `qdisc refuse` makes the device drop every packet the stack sends: a
  client's handshake waits for a resend until `qdisc accept`.
"""
import json
import os
import pwd
import socket
import stat
import struct
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ttinterop as ti  # noqa: E402

CTL = os.path.join(ti.BUILD, "apps", "tuntcp-ctl")


def sock_path(name):
    return ti.out_path(name + ".ctl")


def start(name, *extra, msl="30s"):
    path = sock_path(name)
    app = ti.start_server(name, "--ctl", path, "-v", "--close-after", "5", *extra, msl=msl)
    return app, path


def ctl(path, *args, check=True, user=None):
    cmd = [CTL, "--ctl", path] + list(args)
    if user is not None:
        pw = pwd.getpwnam(user)
        cmd = ["setpriv", "--reuid", str(pw.pw_uid), "--regid", str(pw.pw_gid),
               "--clear-groups"] + cmd
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=10)
    if check and r.returncode != 0:
        raise AssertionError(f"tuntcp-ctl {' '.join(args)}: rc {r.returncode}: {r.stderr}")
    return r


def ctl_json(path, *args):
    return json.loads(ctl(path, "--json", *args).stdout)


def server_closes(n):
    """n Linux clients; the stack closes first (--close-after 5): n TIME_WAIT entries here."""
    locals_ = []
    for _ in range(n):
        got, err, local = ti.linux_echo(b"hello", close_first=False)
        assert got == b"hello" and err is None, (got, err)
        locals_.append(local)
    return locals_


def wait_counter(path, name, value, timeout=3.0):
    """Polls nstat -a until counter name reaches value; returns every counter."""
    deadline = time.monotonic() + timeout
    while True:
        c = ctl_json(path, "nstat", "-a", "-n")["kernel"]
        if c.get(name, 0) >= value or time.monotonic() > deadline:
            return c
        time.sleep(0.02)


def wait_tw(path, n, timeout=3.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        rows = ctl_json(path, "ss", "state", "time-wait")["conns"]
        if len(rows) == n:
            return rows
        time.sleep(0.02)
    raise AssertionError(f"expected {n} TIME_WAIT entries, ss says {rows}")


def test_socket_mode_and_removal():
    app, path = start("ctl_socket")
    try:
        st = os.lstat(path)
        assert stat.S_ISSOCK(st.st_mode) and stat.S_IMODE(st.st_mode) == 0o600, oct(st.st_mode)
        v = ctl_json(path, "version")
        assert v["v"] == 1 and v["ok"] is True and v["ifname"] == "tt0", v
    finally:
        app.stop()
    assert f"control socket {path}" in app.stderr, app.stderr
    assert not os.path.exists(path), "the socket outlived the stack"


def test_ss_agrees_with_trace():
    app, path = start("ctl_ss")
    try:
        peers = server_closes(3)
        rows = wait_tw(path, 3)
        summary = ctl_json(path, "ss", "-s")
        text = ctl(path, "ss", "-tano", "state", "time-wait").stdout
        one = ctl_json(path, "ss", "-a", "dport", "=", peers[1].split(":")[1])["conns"]
    finally:
        app.stop()
    events = ti.read_trace("ctl_ss")
    in_tw = set()
    for e in events:  # the trace's 4-tuples in TIME_WAIT at the time of the listing
        if e.get("ev") == "state" and e.get("to") == "TIME_WAIT":
            in_tw.add(e["conn"])
        elif e.get("ev") == "state" and e.get("from") == "TIME_WAIT":
            in_tw.discard(e["conn"])
    ss_conns = {"%s>%s" % (r["local"], r["peer"]) for r in rows}
    assert ss_conns == in_tw, (ss_conns, in_tw)
    assert {r["peer"] for r in rows} == set(peers), (rows, peers)
    assert summary["timewait"]["entries"] == 3 and summary["states"]["TIME_WAIT"] == 3, summary
    assert summary["timewait"]["bytes"] > 0, summary
    lines = [l for l in text.splitlines() if l.startswith("TIME-WAIT")]
    assert len(lines) == 3 and all("timer:(timewait," in l and l.endswith("s,0)") for l in lines), text
    assert len(one) == 1 and one[0]["peer"] == peers[1], one


def _deadlines(path):
    """{peer: absolute deadline} of the TIME_WAIT entries, in the stack's clock (µs), and now."""
    r = ctl_json(path, "ss", "state", "time-wait")
    return {c["peer"]: r["now_us"] + c["expires_us"] for c in r["conns"]}, r["now_us"]


def test_msl_change_retimes_entries():
    app, path = start("ctl_msl", msl="30s")
    try:
        server_closes(2)
        wait_tw(path, 2)
        before, _ = _deadlines(path)
        out = ctl(path, "sysctl", "-w", "tuntcp.msl=2s").stdout
        assert out == "tuntcp.msl = 2s\n", out
        after, now = _deadlines(path)
        # each deadline moved from start + 60 s to start + 4 s, to the microsecond; an entry
        # already past its new deadline is gone at once
        for peer, old in before.items():
            start_us = old - 60_000_000
            if peer in after:
                assert after[peer] == start_us + 4_000_000, (peer, old, after[peer])
            else:
                assert now >= start_us + 4_000_000, (peer, now, start_us)
        wait_tw(path, 0, timeout=8.0)
        server_closes(1)
        rows = wait_tw(path, 1)
        left = rows[0]["expires_us"]
        assert 0 < left <= 4_000_000, rows  # the new 2*MSL (the old one was 60 s)
    finally:
        app.stop()
    events = ti.read_trace("ctl_msl")
    closed = [e for e in events if e.get("ev") == "state" and e.get("from") == "TIME_WAIT"]
    # the two entries made under 30 s ended at their re-timed deadline (never sooner than
    # 4 s after they began); the third was still there at exit
    assert len(closed) == 2 and all(e.get("why") == "timewait_expired" for e in closed), closed
    began = {e["conn"]: e["t"] for e in events
             if e.get("ev") == "state" and e.get("to") == "TIME_WAIT"}
    assert all(e["t"] - began[e["conn"]] >= 4.0 for e in closed), (began, closed)


def _raw_rst(src_port, seq):
    """A RST from the kernel side 10.7.0.1:src_port to 10.7.0.2:7, through a raw socket."""
    src, dst = socket.inet_aton(ti.HOST_ADDR), socket.inet_aton(ti.STACK_ADDR)
    hdr = struct.pack("!HHIIBBHHH", src_port, 7, seq, 0, 5 << 4, 0x04, 0, 0, 0)
    pseudo = src + dst + struct.pack("!BBH", 0, socket.IPPROTO_TCP, len(hdr))
    csum = ~ti._csum(pseudo + hdr) & 0xFFFF
    hdr = hdr[:16] + struct.pack("!H", csum) + hdr[18:]
    s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_TCP)
    s.bind((ti.HOST_ADDR, 0))
    s.sendto(hdr, (ti.STACK_ADDR, 0))
    s.close()


def _rst_all(path):
    for r in ctl_json(path, "ss", "state", "time-wait")["conns"]:
        _raw_rst(int(r["peer"].split(":")[1]), r["rcv_nxt"])


def test_rfc1337_change_applies_to_existing_entries():
    app, path = start("ctl_rfc1337")
    try:
        server_closes(1)
        wait_tw(path, 1)
        _rst_all(path)  # tcp_rfc1337 0 (Linux's default): the RST kills the entry
        wait_tw(path, 0)
        server_closes(1)  # made before the change
        wait_tw(path, 1)
        assert ctl(path, "sysctl", "-w", "net.ipv4.tcp_rfc1337=1").stdout == \
            "net.ipv4.tcp_rfc1337 = 1\n"
        server_closes(1)  # made after it
        wait_tw(path, 2)
        segs = ctl_json(path, "nstat", "-a", "-n")["kernel"]["TcpInSegs"]
        _rst_all(path)
        nstat = wait_counter(path, "TcpInSegs", segs + 2)  # both RSTs arrived...
        assert nstat["TcpInSegs"] == segs + 2, (segs, nstat)
        rows = wait_tw(path, 2)  # ...and both entries ignored theirs
    finally:
        app.stop()
    assert len(rows) == 2
    assert nstat.get("TcpExtTWKilled", 0) == 1, nstat
    whys = [e.get("why") for e in ti.read_trace("ctl_rfc1337")
            if e.get("ev") == "state" and e.get("from") == "TIME_WAIT"]
    assert whys.count("timewait_rst") == 1, whys


def test_lowered_max_tw_buckets_keeps_entries_skips_new():
    app, path = start("ctl_buckets")
    try:
        server_closes(2)
        wait_tw(path, 2)
        ctl(path, "sysctl", "-w", "net.ipv4.tcp_max_tw_buckets=1")
        wait_tw(path, 2)  # as Linux: the entries that exist stay
        server_closes(1)  # the next active close skips TIME_WAIT
        nstat = wait_counter(path, "TcpExtTCPTimeWaitOverflow", 1)
        rows = wait_tw(path, 2)
    finally:
        app.stop()
    assert len(rows) == 2
    assert nstat.get("TcpExtTCPTimeWaitOverflow") == 1 and nstat.get("TcpExtTW") == 2, nstat
    whys = [e.get("why") for e in ti.read_trace("ctl_buckets")
            if e.get("ev") == "state" and e.get("to") == "CLOSED"]
    assert whys == ["tw_overflow"], whys


def test_nstat_deltas():
    app, path = start("ctl_nstat")
    try:
        server_closes(2)
        first = ctl_json(path, "nstat")["kernel"]
        second = ctl_json(path, "nstat")["kernel"]
        absolute = ctl_json(path, "nstat", "-a")["kernel"]
        text = ctl(path, "nstat", "-a", "-n").stdout
    finally:
        app.stop()
    assert first.get("TcpPassiveOpens") == 2, first
    assert "TcpPassiveOpens" not in second, second
    assert absolute.get("TcpPassiveOpens") == 2, absolute
    assert text.startswith("#kernel\n") and "\nTcpPassiveOpens " in text, text


def _raw_request(path, data):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(5)
    s.connect(path)
    s.sendall(data)
    buf = b""
    want = data.count(b"\n")
    while buf.count(b"\n") < want:
        chunk = s.recv(65536)
        if not chunk:
            break
        buf += chunk
    s.close()
    return [json.loads(l) for l in buf.splitlines()]


def test_bad_requests_change_nothing():
    app, path = start("ctl_bad")
    try:
        replies = _raw_request(path, b"x" * 5000 + b"\n" + b"{\"cmd\":\n" + b"{\"cmd\":\"reboot\"}\n" +
                               b"{\"cmd\":\"ss\",\"colour\":true}\n" + b"{\"cmd\":\"version\"}\n")
        r = ctl(path, "sysctl", "-w", "tuntcp.msl=5s", "-w", "net.ipv4.tcp_fin_timeout=0",
                check=False)
        after = ctl(path, "sysctl", "tuntcp.msl", "net.ipv4.tcp_fin_timeout").stdout
        usage = ctl(path, "ss", "-x", check=False)
    finally:
        app.stop()
    errors = [x.get("error", "") for x in replies]
    assert "request too large" in errors[0], errors
    assert "malformed request" in errors[1], errors
    assert "unknown command 'reboot'" in errors[2], errors
    assert "unknown field 'colour'" in errors[3], errors
    assert replies[4]["ok"] is True, replies
    assert r.returncode == 1 and "net.ipv4.tcp_fin_timeout: invalid value '0'" in r.stderr, r.stderr
    assert after == "tuntcp.msl = 30s\nnet.ipv4.tcp_fin_timeout = 60s\n", after
    assert usage.returncode == 2, usage


def test_slow_client_is_dropped():
    app, path = start("ctl_slow")
    slow = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        slow.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        slow.connect(path)
        slow.settimeout(10)
        req = b'{"cmd":"nstat","absolute":true,"zeros":true,"noupdate":true,"format":"text"}\n'
        # each reply is about 3 KiB: 16000 of them are far above 32 MiB
        sent = 0
        t0 = time.monotonic()
        while sent < 16000 and time.monotonic() - t0 < 20:
            try:
                slow.sendall(req * 100)
            except (BrokenPipeError, ConnectionResetError):
                break  # dropped already
            sent += 100
            if sent % 2000 == 0:  # the stack keeps serving others, and TCP
                assert ctl_json(path, "version")["ok"] is True, sent
        got_after = time.monotonic()
        got, err, _ = ti.linux_echo(b"hello", close_first=False)
        assert got == b"hello" and err is None, (got, err)
        assert time.monotonic() - got_after < 2, time.monotonic() - got_after
        # the slow client, read at last, sees its buffered replies and then the end
        total = 0
        while True:
            try:
                chunk = slow.recv(1 << 20)
            except ConnectionResetError:
                break
            if not chunk:
                break
            total += len(chunk)
        print(f"  slow client: {sent} requests sent, {total} bytes of replies read")
        assert total < 40 << 20, total
        assert total < sent * 3000, (total, sent)
    finally:
        slow.close()
        app.stop()


def test_listeners_listed():
    app, path = start("ctl_listen", "--port", "7", "--port", "8")
    try:
        text = ctl(path, "ss", "-tln").stdout.splitlines()
        rows = ctl_json(path, "ss", "-a")["conns"]
    finally:
        app.stop()
    assert text[0].startswith("State") and len(text) == 3, text
    assert all(l.split()[0] == "LISTEN" and l.split()[4] == "0.0.0.0:*" for l in text[1:]), text
    assert sorted(r["local"] for r in rows if r["state"] == "LISTEN") == ["10.7.0.2:7", "10.7.0.2:8"]


def test_pcap_trace_fault_on_a_running_stack():
    path = sock_path("ctl_files")
    app = ti.App(ti.SERVER, ["--msl", "30s", "--close-after", "5", "--ctl", path, "--seed", "7"],
                 "echo-server")
    app.wait_line("listening on")
    pcap, trace = ti.out_path("ctl_files.pcap"), ti.out_path("ctl_files.jsonl")
    for f in (pcap, trace):
        if os.path.exists(f):
            os.unlink(f)
    try:
        server_closes(1)  # before: in neither file
        assert ctl(path, "pcap", "status").stdout == "stopped\n"
        assert ctl(path, "pcap", "start", pcap).stdout == f"started {pcap}\n"
        again = ctl(path, "pcap", "start", pcap + "2", check=False)
        assert again.returncode == 1 and "a capture is running" in again.stderr, again.stderr
        ctl(path, "trace", "start", trace)
        inside = server_closes(1)[0]
        wait_counter(path, "TcpExtTW", 2)
        ctl(path, "pcap", "stop")
        ctl(path, "trace", "stop")
        server_closes(1)  # after: in neither
        assert ctl(path, "fault", "list").stdout == "no rules\n"
        assert ctl(path, "fault", "add", "drop:in:syn:nth=1").stdout == \
            "rule 0: drop:in:syn:nth=1\n"
        assert ctl(path, "fault", "list").stdout == "0 drop:in:syn:nth=1\n"
        t0 = time.monotonic()
        server_closes(1)  # its first SYN is dropped: Linux resends it after 1 s
        assert time.monotonic() - t0 >= 0.9
        dropped = ctl_json(path, "nstat", "-a")["kernel"].get("TtFaultDropped")
        assert ctl(path, "fault", "del", "0").stdout == "deleted rule 0\n"
        gone = ctl(path, "fault", "del", "0", check=False)
        rules = ctl_json(path, "fault", "list")["rules"]
    finally:
        app.stop()
    assert dropped == 1, dropped
    assert gone.returncode == 1 and "no rule 0" in gone.stderr, gone.stderr
    assert rules == []
    port = int(inside.split(":")[1])
    segs = ti.tcp_segments("ctl_files")
    assert segs and {s.sport for s in segs if s.src == ti.HOST_ADDR} == {port}, segs
    assert any(s.has("S") for s in segs) and any(s.has("F") for s in segs), segs
    events = ti.read_trace("ctl_files")
    assert events[0]["ev"] == "start", events[:1]
    conns = {e["conn"] for e in events if "conn" in e}
    assert conns == {f"10.7.0.2:7>{inside}"}, conns


def test_qdisc_refuse_then_accept():
    """`qdisc refuse` (docs/contract.md §10.5 item 4, §2.6 item 14): the
    stack's SYN-ACK is refused by the device, so the Linux client's connect
    waits for a resend (its SYN at 1 s, or our SYN-ACK's timer) after
    `qdisc accept` at 0.3 s; the echo then completes."""
    path = sock_path("ctl_qdisc")
    app = ti.App(ti.SERVER, ["--msl", "30s", "--close-after", "5", "--ctl", path], "echo-server")
    app.wait_line("listening on")
    try:
        assert ctl(path, "qdisc", "status").stdout.startswith("accept:")
        assert ctl(path, "qdisc", "refuse").stdout.startswith("refuse:")
        assert ctl_json(path, "qdisc", "status")["refusing"] is True
        timer = threading.Timer(0.3, lambda: ctl(path, "qdisc", "accept"))
        timer.start()
        t0 = time.monotonic()
        server_closes(1)
        elapsed = time.monotonic() - t0
        timer.join()
        refusing = ctl_json(path, "qdisc", "status")["refusing"]
        bad = ctl(path, "qdisc", "drop", check=False)
    finally:
        app.stop()
    assert elapsed >= 0.9, elapsed
    assert refusing is False
    assert bad.returncode == 2 and "qdisc: expected" in bad.stderr, bad.stderr


def test_annotated_capture_started_live():
    """`pcap start F.pcapng` starts the annotated capture (docs/contract.md
    §5.1, §10.5): direction flags and comments from that moment on, the
    fault rules of that moment named in them."""
    path = sock_path("ctl_pcapng")
    app = ti.App(ti.SERVER, ["--msl", "30s", "--close-after", "5", "--ctl", path, "--seed", "7"],
                 "echo-server")
    app.wait_line("listening on")
    cap = ti.out_path("ctl_live.pcapng")
    if os.path.exists(cap):
        os.unlink(cap)
    try:
        server_closes(1)  # before: not in the file
        ctl(path, "fault", "add", "dup:in:fin")
        assert ctl(path, "pcap", "start", cap).stdout == f"started {cap}\n"
        inside = server_closes(1)[0]
        wait_counter(path, "TcpExtTW", 2)
        assert ctl(path, "pcap", "stop").stdout == "stopped\n"
    finally:
        app.stop()
    recs = ti.read_pcapng(cap)
    told = [c for r in recs for c in r["comments"]]
    assert any("FIN_WAIT_1 -> TIME_WAIT" in c for c in told), told
    assert any("by --fault[0] (dup:in:fin)" in c for c in told), told
    assert all(r["flags"] & 3 in (1, 2) for r in recs if r["iface"] == 0), recs[:3]
    port = int(inside.split(":")[1])
    _, pkts = ti.read_pcap(cap)  # only the connection made while it ran
    ports = {struct.unpack("!H", p[20:22])[0] for _, p in pkts if p[9] == 6 and p[12:16] ==
             socket.inet_aton(ti.HOST_ADDR)}
    assert ports == {port}, (ports, port)


def test_other_user_cannot_connect():
    try:
        pwd.getpwnam("nobody")
    except KeyError:
        print("  (no user nobody: skipped)")
        return
    d = tempfile.mkdtemp(prefix="ttctl-", dir="/tmp")
    os.chmod(d, 0o755)
    path = os.path.join(d, "s.ctl")
    app = ti.start_server("ctl_user", "--ctl", path, msl="30s")
    try:
        r = ctl(path, "version", check=False, user="nobody")
        assert r.returncode == 1 and "Permission denied" in r.stderr, (r.returncode, r.stderr)
        os.chmod(path, 0o666)  # the mode opened up: SO_PEERCRED still refuses
        r = ctl(path, "version", check=False, user="nobody")
        assert r.returncode == 1 and "permission denied: uid" in r.stderr, (r.returncode, r.stderr)
        assert ctl_json(path, "version")["ok"] is True  # root may
    finally:
        app.stop()
    # --user nobody: the socket is nobody's; nobody and root may use it
    app = ti.start_server("ctl_user2", "--ctl", path, "--user", "nobody", msl="30s")
    try:
        st = os.lstat(path)
        assert st.st_uid == pwd.getpwnam("nobody").pw_uid and stat.S_IMODE(st.st_mode) == 0o600
        assert json.loads(ctl(path, "--json", "version", user="nobody").stdout)["ok"] is True
        assert ctl_json(path, "version")["ok"] is True
    finally:
        app.stop()
        if os.path.exists(path):
            os.unlink(path)
        os.rmdir(d)


if __name__ == "__main__":
    ti.enter_netns()
    ti.run_tests([test_socket_mode_and_removal, test_ss_agrees_with_trace,
                  test_msl_change_retimes_entries, test_rfc1337_change_applies_to_existing_entries,
                  test_lowered_max_tw_buckets_keeps_entries_skips_new, test_nstat_deltas, test_bad_requests_change_nothing,
                  test_slow_client_is_dropped, test_listeners_listed,
                  test_pcap_trace_fault_on_a_running_stack, test_qdisc_refuse_then_accept,
                  test_annotated_capture_started_live,
                  test_other_user_cannot_connect])
