#!/usr/bin/env python3
"""Interop: several TUN queues (--queues 2, IFF_MULTI_QUEUE; docs/contract.md §3.10).

The echo-server with two queues against many short Linux connections and a
few bulk ones: every byte echoed, the counters summed over the queues agree
with the capture and with Linux, both queues worked, and the one capture
holds every connection whole. The echo-client with two queues against a
Linux echo server: every echo verified, each queue made its share from its
own slice of the port range. Each test prints how many packets arrived on a
queue whose engine did not know their connection (TtQueueHandedOver), the
figure docs/architecture.md §7 explains. All inside a private network namespace.
"""
import json
import os
import socket
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ttinterop as ti  # noqa: E402

SHORT = 400        # short connections, 64 bytes each
SHORT_THREADS = 4  # Linux clients opening them at once
BULK = 3           # bulk connections, at once
BULK_BYTES = 2 << 20


def _short(results, n):
    for _ in range(n):
        data = os.urandom(64)
        got, err, local = ti.linux_echo(data)
        results.append((got == data and err is None, local))


def _bulk(results):
    data = os.urandom(BULK_BYTES)
    s = socket.create_connection((ti.STACK_ADDR, 7), timeout=10)
    local = "%s:%d" % s.getsockname()
    got = bytearray()
    writer = threading.Thread(target=s.sendall, args=(data,))
    writer.start()
    while len(got) < len(data):
        chunk = s.recv(1 << 16)
        if not chunk:
            break
        got += chunk
    writer.join()
    s.close()
    results.append((bytes(got) == data, local))


def _queue_lines(text):
    """The report's `# queue I: Name value ...` lines: {I: {name: value}}."""
    out = {}
    for line in text.splitlines():
        if line.startswith("# queue "):
            head, rest = line[len("# queue "):].split(":", 1)
            parts = rest.split()
            out[int(head)] = {k: int(v) for k, v in zip(parts[0::2], parts[1::2])}
    return out


def _ordering(segs):
    """How many records are stamped earlier than the one before, and by how much at most."""
    back = [a.ts - b.ts for a, b in zip(segs, segs[1:]) if b.ts < a.ts]
    return len(back), max(back, default=0.0)


def test_server_two_queues():
    """echo-server --queues 2: short and bulk Linux connections, all echoed;
    the sums and the capture agree."""
    name = "queues_server"
    srv = ti.start_server(name, "--queues", "2", "-v")
    short, bulk = [], []
    try:
        threads = [threading.Thread(target=_short, args=(short, SHORT // SHORT_THREADS))
                   for _ in range(SHORT_THREADS)]
        threads += [threading.Thread(target=_bulk, args=(bulk,)) for _ in range(BULK)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
    finally:
        assert srv.stop() == 0, f"echo-server exit {srv.rc}: {srv.stderr}"
    assert len(short) == SHORT and all(ok for ok, _ in short), \
        f"short: {sum(ok for ok, _ in short)} of {SHORT} echoed"
    assert len(bulk) == BULK and all(ok for ok, _ in bulk), f"bulk: {bulk}"
    counters, _ = ti.last_stats(srv.stderr)
    queues = _queue_lines(srv.stderr)
    conns = SHORT + BULK
    assert counters["TcpPassiveOpens"] == conns, counters
    assert sorted(queues) == [0, 1], f"per-queue lines: {queues}"
    assert sum(q["TcpPassiveOpens"] for q in queues.values()) == conns, queues
    assert all(q["TcpPassiveOpens"] > 0 for q in queues.values()), \
        f"the kernel gave one queue nothing: {queues}"
    for key in ("TtTunInPackets", "TtTunOutPackets", "TtQueueHandedOver"):
        assert sum(q[key] for q in queues.values()) == counters[key], (key, queues, counters)
    segs = ti.tcp_segments(name)
    assert counters["TtPcapRecords"] == len(segs), (counters["TtPcapRecords"], len(segs))
    inbound = [s for s in segs if s.dst == ti.STACK_ADDR]
    assert counters["TcpInSegs"] == len(inbound), (counters["TcpInSegs"], len(inbound))
    assert all(s.ip_ok and s.tcp_ok for s in segs), "a record with a bad checksum (torn?)"
    syns = {f"{s.src}:{s.sport}" for s in inbound if s.has("S") and not s.has("A")}
    locals_ = {local for _, local in short + bulk}
    assert syns == locals_, f"capture lacks {len(locals_ - syns)} connections"
    synacks = {f"{s.dst}:{s.dport}" for s in segs if s.src == ti.STACK_ADDR and s.has("SA")}
    assert synacks == locals_, f"{len(locals_ - synacks)} connections without our SYN-ACK"
    # One trace for both queues: every connection's life, whole lines.
    closed = {e["conn"] for e in ti.read_trace(name)
              if e.get("ev") == "state" and e["to"] == "CLOSED"}
    assert len(closed) == conns, f"the trace ends {len(closed)} of {conns} connections"
    late, worst = _ordering(segs)
    print(f"  server: {conns} connections over queues "
          f"{[queues[i]['TcpPassiveOpens'] for i in (0, 1)]}; "
          f"packets handed to the other queue: {counters['TtQueueHandedOver']} of "
          f"{counters['TcpInSegs']} received; unowned {counters['TtQueueUnowned']}; "
          f"capture: {len(segs)} records, {late} stamped before the previous one "
          f"(at most {worst * 1e6:.0f} us)", flush=True)
    assert counters["TtQueueHandDrops"] == 0, counters
    # A server connection lives on the queue the kernel's hash gives its SYN,
    # and our replies keep its flow there: the only segments handed over are
    # those no queue knows (e.g. Linux's answer to a late retransmission of
    # our FIN, after the connection ended), answered as one engine would.
    assert counters["TtQueueHandedOver"] == counters["TtQueueUnowned"], counters
    ti.tshark_check(name)


def test_client_two_queues():
    """echo-client --queues 2 against Linux: every echo verified, each queue
    made half of the connections from its own half of the port range."""
    name = "queues_client"
    count = 300
    linux = ti.LinuxEchoServer(port=7001)
    try:
        cl = ti.run_client(name, "--queues", "2", "-v", "--connect", f"{ti.HOST_ADDR}:7001",
                           "--count", str(count), "--concurrency", "8", "--bytes", "2000",
                           "--wait-timewait")
    finally:
        linux.close()
    assert cl.rc == 0, f"echo-client exit {cl.rc}: {cl.stderr}"
    assert f"{count} connections, {count} verified, 0 failed" in cl.stderr, cl.stderr
    counters, _ = ti.last_stats(cl.stderr)
    queues = _queue_lines(cl.stderr)
    assert counters["TcpActiveOpens"] == count, counters
    assert [queues[i]["TcpActiveOpens"] for i in (0, 1)] == [count // 2, count // 2], queues
    # TIME_WAIT across the queues: every connection entered it on its own
    # queue's engine, and --wait-timewait waited for the last of both.
    assert counters["TcpExtTW"] + counters["TcpExtTCPTimeWaitOverflow"] == count, counters
    assert ti.last_sockstat(cl.stderr)["tw"] == 0, ti.last_sockstat(cl.stderr)
    assert not linux.errors, linux.errors
    segs = ti.tcp_segments(name)
    ports = {s.sport for s in segs if s.src == ti.STACK_ADDR and s.has("S")}
    assert len(ports) == count, f"{len(ports)} distinct local ports for {count} connections"
    mid = 32768 + (60999 - 32768 + 1) // 2  # the default range, halved
    assert len([p for p in ports if p < mid]) == count // 2, "a queue strayed out of its slice"
    assert counters["TtPcapRecords"] == len(segs)
    assert counters["TtQueueHandDrops"] == 0, counters
    # A segment no queue knows is one a single engine would not know either:
    # a RST for a connection already gone (dropped), or one answered by a RST.
    rsts_in = len([s for s in segs if s.dst == ti.STACK_ADDR and s.has("R")])
    assert counters["TtQueueUnowned"] <= rsts_in + counters["TcpOutRsts"], \
        (counters["TtQueueUnowned"], rsts_in, counters["TcpOutRsts"])
    # Linux answers our SYN inside our write(), before the kernel notes
    # the queue we wrote on (tun_get_user: tun_flow_update after the
    # packet went up): the SYN-ACK takes the hash's queue, the other one
    # for about half of the connections; every later packet follows the flow.
    synacks = len([s for s in segs if s.dst == ti.STACK_ADDR and s.has("SA")])
    assert counters["TtQueueHandedOver"] <= synacks, (counters, synacks)
    print(f"  client: {count} connections, packets handed to the other queue: "
          f"{counters['TtQueueHandedOver']} (SYN-ACKs: {synacks}), of "
          f"{counters['TcpInSegs']} received", flush=True)
    ti.tshark_check(name)


CTL = os.path.join(ti.BUILD, "apps", "tuntcp-ctl")


def _ctl(path, *args):
    r = subprocess.run([CTL, "--ctl", path, "--json"] + list(args), capture_output=True,
                       text=True, timeout=10)
    return json.loads(r.stdout) if r.stdout.strip() else {"ok": False, "error": r.stderr}


def _sysctl(path, *names):
    r = _ctl(path, "sysctl", *names)
    assert r["ok"], r
    return {e["name"]: e["value"] for e in r["sysctl"]}


def _check_sysctl_whole_stack(path):
    """sysctl over two queues: the port range read is the whole stack's (queue
    0's first port to queue 1's last), the TIME_WAIT bound the sum of the
    queues' shares; a write gives each queue its slice and reads back whole;
    a write with a bad value changes nothing."""
    ports, tw, fin = ("net.ipv4.ip_local_port_range", "net.ipv4.tcp_max_tw_buckets",
                      "net.ipv4.tcp_fin_timeout")
    before = _sysctl(path, ports, tw, fin)
    assert before[ports] == "32768-60999", before
    r = _ctl(path, "sysctl", "-w", f"{ports}=40000-40999", f"{tw}=5", f"{fin}=7s")
    assert r["ok"], r
    after = _sysctl(path, ports, tw, fin)
    assert after[ports] == "40000-40999", after
    assert after[tw] == "5", after
    assert after[fin] != before[fin], (before, after)
    r = _ctl(path, "sysctl", "-w", f"{fin}=9s", "net.ipv4.tcp_ecn=9")
    assert not r["ok"], r
    assert _sysctl(path, fin)[fin] == after[fin], "a refused write changed a knob"


def test_ctl_merges_queues():
    """The control socket of a two-queue stack shows the whole stack: ss lists
    the connections of both queues, nstat sums them, sysctl reads and
    writes the whole stack."""
    name = "queues_ctl"
    path = ti.out_path(name + ".ctl")
    n = 24
    srv = ti.start_server(name, "--queues", "2", "-v", "--ctl", path)
    socks = []
    try:
        for _ in range(n):
            s = socket.create_connection((ti.STACK_ADDR, 7), timeout=5)
            s.sendall(b"x")
            assert s.recv(10) == b"x"
            socks.append(s)
        ss = _ctl(path, "ss")
        assert ss["ok"], ss
        estab = [c for c in ss["conns"] if c["state"] == "ESTABLISHED"]
        assert len(estab) == n, f"ss lists {len(estab)} of {n} connections"
        lst = _ctl(path, "ss", "-l")
        assert len(lst["conns"]) == 2, f"listeners (one per queue): {lst}"
        summ = _ctl(path, "ss", "-s")
        assert summ["states"]["ESTABLISHED"] == n, summ
        nst = _ctl(path, "nstat", "-a")
        assert nst["kernel"]["TcpPassiveOpens"] == n, nst
        _check_sysctl_whole_stack(path)
    finally:
        for s in socks:
            s.close()
        assert srv.stop() == 0, f"echo-server exit {srv.rc}: {srv.stderr}"


def test_ctl_live_on_every_queue():
    """A capture, a trace and a fault rule started over the control socket of
    a two-queue stack act on both queues: the capture holds every
    connection's SYN and the trace every connection's life, whichever queue
    the kernel gave it; a rule delaying every packet we send delays both
    queues' packets. Stopped, they stop on both; the annotated pcapng stays
    one queue's."""
    name = "queues_live"
    path = ti.out_path(name + ".ctl")
    pcap, trace = ti.out_path(name + ".pcap"), ti.out_path(name + ".jsonl")
    for f in (pcap, trace):
        if os.path.exists(f):
            os.unlink(f)
    n = 24
    srv = ti.App(ti.SERVER, ["--msl", "500ms", "--seed", "7", "--queues", "2", "-v",
                             "--ctl", path], "echo-server")
    srv.wait_line("listening on")
    try:
        for args in (["pcap", "start", pcap], ["trace", "start", trace],
                     ["fault", "add", "delay=1ms:out:any:p=1"]):
            r = _ctl(path, *args)
            assert r["ok"], (args, r)
        r = _ctl(path, "fault", "list")
        assert r["ok"] and len(r["rules"]) == 1, r
        r = _ctl(path, "pcap", "start", ti.out_path(name + "2.pcapng"))
        assert not r["ok"], r
        locals_ = set()
        for _ in range(n):
            s = socket.create_connection((ti.STACK_ADDR, 7), timeout=5)
            s.sendall(b"x")
            assert s.recv(10) == b"x"
            locals_.add("%s:%d" % s.getsockname())
            s.close()
        time.sleep(0.3)  # the closes' last packets, delayed 1 ms
        nst = _ctl(path, "nstat", "-a")["kernel"]
        for args in (["pcap", "stop"], ["trace", "stop"], ["fault", "del", "0"]):
            r = _ctl(path, *args)
            assert r["ok"], (args, r)
        r = _ctl(path, "fault", "list")
        assert r["ok"] and not r.get("rules"), r
    finally:
        assert srv.stop() == 0, f"echo-server exit {srv.rc}: {srv.stderr}"
    queues = _queue_lines(srv.stderr)
    assert all(queues[i]["TcpPassiveOpens"] > 0 for i in (0, 1)), \
        f"the kernel gave one queue nothing, the test shows nothing: {queues}"
    assert nst["TtFaultDelayed"] == nst["TtTunOutPackets"] > 0, \
        f"delayed {nst['TtFaultDelayed']} of {nst['TtTunOutPackets']} packets sent"
    segs = [ti.Tcp(ts, p) for ts, p in ti.read_pcap(pcap)[1] if len(p) >= 20 and p[9] == 6]
    syns = {f"{s.src}:{s.sport}" for s in segs if s.has("S") and not s.has("A")}
    assert syns == locals_, f"the capture lacks {len(locals_ - syns)} of {n} connections"
    closed = {e["conn"] for e in ti.read_trace(name)
              if e.get("ev") == "state" and e["to"] == "CLOSED"}
    assert len(closed) == n, f"the trace ends {len(closed)} of {n} connections"


def test_refusals():
    """What one queue's engine cannot do alone is refused at the command line."""
    for extra in (["--max-conns", "3"], ["--pcap", ti.out_path("q.pcapng")]):
        app = ti.App(ti.SERVER, ["--queues", "2"] + extra, "echo-server")
        assert app.wait(10) == 2, f"{extra}: exit {app.rc}: {app.stderr}"
        assert "--queues 2: not with" in app.stderr, app.stderr
    app = ti.App(ti.SERVER, ["--queues", "17"], "echo-server")
    assert app.wait(10) == 2, f"exit {app.rc}: {app.stderr}"


if __name__ == "__main__":
    ti.enter_netns()
    ti.run_tests([test_server_two_queues, test_client_two_queues, test_ctl_merges_queues,
                  test_ctl_live_on_every_queue, test_refusals])
