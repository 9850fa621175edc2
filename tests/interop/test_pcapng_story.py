#!/usr/bin/env python3
"""Interop: a pcapng capture that tells its own story (docs/contract.md §5.1).

echo-server closes first with --msl 100ms and loses its final ACK once
(--fault drop:out:ack:state=TIME_WAIT:nth=1); the Linux peer, in LAST_ACK,
retransmits its FIN. tshark must list, in time order, the comments on the
packets that caused each state change (the SYN, the handshake's ACK, our
FIN, the final ACK that enters TIME_WAIT), the fault on that same ACK, and
TIME_WAIT's expiry on a record of its own; every packet's direction flag
must match its addresses, and no frame may be malformed or carry an expert
error. The trace's `ts` and the records' times must join exactly.

Whether Linux's retransmitted FIN finds TIME_WAIT (RTO 200 ms against
2*MSL = 200 ms) is a race: either the stack ACKs it again and restarts
2*MSL, or the entry is gone and a RST answers it; both are checked.
"""
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ttinterop as ti  # noqa: E402

FIELDS = ["frame.number", "frame.time_epoch", "frame.interface_id",
          "frame.packet_flags_direction", "ip.src", "tcp.flags", "frame.comment"]


def start_server(name, path, *extra):
    args = ["--msl", "100ms", "--pcap", path, "--trace", ti.out_path(name + ".jsonl"),
            "--seed", "7"] + list(extra)
    app = ti.App(ti.SERVER, args, "echo-server")
    app.wait_line("listening on")
    return app


def tshark(path, *args):
    r = subprocess.run(["tshark", "-n", "-r", path] + list(args), capture_output=True,
                       text=True, timeout=60)
    assert r.returncode == 0, f"tshark {' '.join(args)}: {r.stderr}"
    return r.stdout


def frames(path, *filt):
    """Every frame (or those of a display filter) as a dict of FIELDS; comments a list."""
    args = ["-T", "fields", "-E", "separator=\t", "-E", "aggregator=|", "-E", "occurrence=a"]
    for f in FIELDS:
        args += ["-e", f]
    out = []
    for line in tshark(path, *(args + list(filt))).splitlines():
        v = dict(zip(FIELDS, line.split("\t")))
        v["comments"] = [c for c in v.get("frame.comment", "").split("|") if c]
        v["t"] = float(v["frame.time_epoch"])
        out.append(v)
    return out


def check_clean(path):
    """No malformed frame, no bad checksum, no expert error (Wireshark opens it clean)."""
    expert = tshark(path, "-q", "-z", "expert")
    assert "Errors (" not in expert, f"expert errors:\n{expert}"
    bad = tshark(path, "-o", "ip.check_checksum:TRUE", "-o", "tcp.check_checksum:TRUE",
                 "-Y", "_ws.malformed || _ws.expert.severity == error || "
                 "ip.checksum.status == 0 || tcp.checksum.status == 0")
    assert not bad.strip(), f"tshark flags frames:\n{bad}"
    tshark(path, "-V")  # the full dissection runs through


def find(frames_, text, after=-1):
    for i, f in enumerate(frames_):
        if i > after and any(text in c for c in f["comments"]):
            return i
    raise AssertionError(f"no comment with '{text}' after #{after}: "
                         f"{[(f['frame.number'], f['comments']) for f in frames_]}")


def test_the_capture_tells_the_close_and_the_lost_final_ack():
    name = "pcapng_story"
    path = ti.out_path(name + ".pcapng")
    srv = start_server(name, path, "--close-after", "100",
                       "--fault", "drop:out:ack:state=TIME_WAIT:nth=1")
    try:
        got, err, local = ti.linux_echo(b"q" * 100, close_first=False)
        assert err is None and got == b"q" * 100, f"echo: {len(got)} bytes, {err}"
        time.sleep(1.0)  # 2*MSL, Linux's FIN retransmitted after its 200 ms RTO, the answer
    finally:
        assert srv.stop() == 0, f"echo-server exit {srv.rc}: {srv.stderr}"
    with open(path, "rb") as f:
        assert f.read(4) == b"\x0a\x0d\x0d\x0a", "not a pcapng section header"
    check_clean(path)
    allf = frames(path)
    times = [f["t"] for f in allf]
    assert times == sorted(times), f"records out of time order: {times}"
    for f in allf:  # direction: inbound = from the kernel side, outbound = from the stack
        if f["frame.interface_id"] == "0":
            want = "0x00000001" if f["ip.src"] == ti.HOST_ADDR else "0x00000002"
            assert f["frame.packet_flags_direction"] == want, f
        else:
            assert f["frame.interface_id"] == "1" and not f["ip.src"], f
    told = frames(path, "-Y", "frame.comment")
    assert told, "tshark -Y frame.comment lists nothing"
    # ttinterop's own reader agrees with tshark, record for record
    recs = ti.read_pcapng(path)
    assert [r["comments"] for r in recs] == [f["comments"] for f in allf], "comments differ"
    assert [r["flags"] & 3 for r in recs] == [int(f["frame.packet_flags_direction"] or "0", 16)
                                              for f in allf], "directions differ"
    assert len(ti.read_pcap(path)[1]) == len([f for f in allf if f["frame.interface_id"] == "0"])
    syn = find(told, "LISTEN -> SYN_RECEIVED: SYN received")
    est = find(told, "SYN_RECEIVED -> ESTABLISHED", syn)
    fin = find(told, "ESTABLISHED -> FIN_WAIT_1: close: FIN sent", est)
    tw = find(told, "-> TIME_WAIT: peer's FIN received, final ACK sent; 2*MSL ends at +0.200 s",
              fin)
    gone = find(told, "TIME_WAIT -> CLOSED: 2*MSL ran out (timewait_expired)", tw)
    assert told[syn]["frame.packet_flags_direction"] == "0x00000001", told[syn]
    assert told[fin]["frame.packet_flags_direction"] == "0x00000002", told[fin]
    assert int(told[fin]["tcp.flags"], 16) & 0x01, f"FIN_WAIT_1 not on our FIN: {told[fin]}"
    ack = told[tw]
    assert ack["frame.packet_flags_direction"] == "0x00000002", ack
    assert int(ack["tcp.flags"], 16) == 0x10, f"TIME_WAIT not on a pure ACK: {ack}"
    assert "dropped by --fault[0] (drop:out:ack:state=TIME_WAIT:nth=1)" in ack["comments"], ack
    expiry = told[gone]
    assert expiry["frame.interface_id"] == "1", expiry
    assert expiry["comments"][0].startswith("10.7.0.2:7>" + local + " "), expiry
    # The trace and the capture stamp the same instants (docs/contract.md §4.1 `ts`).
    trace = [e for e in ti.read_trace(name) if e.get("ev") == "state"]
    tr_syn = [e for e in trace if e["to"] == "SYN_RECEIVED"][0]
    tr_end = [e for e in trace if e["from"] == "TIME_WAIT"][-1]
    assert round(tr_syn["ts"], 6) == round(told[syn]["t"], 6), (tr_syn, told[syn])
    assert round(tr_end["ts"], 6) == round(expiry["t"], 6), (tr_end, expiry)
    restarted = [f for f in told if any("2*MSL restarted" in c for c in f["comments"])]
    if restarted:  # the FIN came back within TIME_WAIT: ACKed again, expiry 200 ms later
        lasted = round(expiry["t"] - restarted[0]["t"], 6)
        assert 0.2 <= lasted < 0.2 + ti.TIMER_SLACK, f"restarted TIME_WAIT lasted {lasted}"
    else:  # the entry was gone: the FIN met a RST
        tr_tw = [e for e in trace if e["to"] == "TIME_WAIT"][0]
        lasted = round(expiry["t"] - tr_tw["ts"], 6)
        assert 0.2 <= lasted < 0.2 + ti.TIMER_SLACK, f"TIME_WAIT lasted {lasted}"
        rst = [f for f in allf if f["t"] > expiry["t"] and f["tcp.flags"]
               and int(f["tcp.flags"], 16) & 0x04]
        assert rst, "the retransmitted FIN after TIME_WAIT met no RST"


def test_copies_and_delays_are_told_where_they_happen():
    """A dup's original and copy are both present and commented; a delayed packet at its release."""
    name = "pcapng_faults"
    path = ti.out_path(name + ".pcapng")
    # Rule 3 fires on the ACK that the FIN's copy calls for (sent in LAST_ACK: the ACK of
    # the original FIN rode on our FIN, Linux tcp_fin()): the copy's note must still name
    # rule [0].
    srv = start_server(name, path, "--fault", "dup:in:fin", "--fault", "delay=50ms:out:data",
                       "--fault", "dup:out:ack:state=LAST_ACK")
    try:
        got, err, _ = ti.linux_echo(b"d" * 20)
        assert err is None and got == b"d" * 20, f"echo: {got}, {err}"
        time.sleep(0.3)
    finally:
        assert srv.stop() == 0, f"echo-server exit {srv.rc}: {srv.stderr}"
    check_clean(path)
    told = frames(path, "-Y", "frame.comment")
    orig = find(told, "duplicated (the copy follows) by --fault[0] (dup:in:fin)")
    copy = find(told, "copy made by --fault[0] (dup:in:fin)", orig)
    assert told[copy]["t"] >= told[orig]["t"], (told[orig], told[copy])
    for i in (orig, copy):
        assert told[i]["frame.packet_flags_direction"] == "0x00000001", told[i]
        assert int(told[i]["tcp.flags"], 16) & 0x01, told[i]
    out_orig = find(told, "duplicated (the copy follows) by --fault[2]")
    out_copy = find(told, "copy made by --fault[2] (dup:out:ack:state=LAST_ACK)", out_orig)
    for i in (out_orig, out_copy):
        assert told[i]["frame.packet_flags_direction"] == "0x00000002", told[i]
        assert int(told[i]["tcp.flags"], 16) == 0x10, told[i]
    late = told[find(told, "released after 50 ms by --fault[1] (delay=50ms:out:data)")]
    assert late["frame.packet_flags_direction"] == "0x00000002", late
    allf = frames(path)
    times = [f["t"] for f in allf]
    assert times == sorted(times), f"records out of time order: {times}"
    first_in_data = [f for f in allf if f["ip.src"] == ti.HOST_ADDR
                     and int(f["tcp.flags"], 16) & 0x08]
    assert round(late["t"] - first_in_data[0]["t"], 6) >= 0.05, (late, first_in_data[0])


def test_pcapng_by_flag_and_classic_by_default():
    """--pcapng writes pcapng whatever the name; a name not ending in .pcapng stays classic."""
    for name, extra, magic in (("pcapng_flag", ["--pcapng"], b"\x0a\x0d\x0d\x0a"),
                               ("pcapng_classic", [], None)):
        path = ti.out_path(name + ".cap")
        srv = start_server(name, path, *extra)
        try:
            got, err, _ = ti.linux_echo(b"x" * 10)
            assert err is None and got == b"x" * 10, f"echo: {got}, {err}"
            time.sleep(0.1)
        finally:
            assert srv.stop() == 0, f"echo-server exit {srv.rc}: {srv.stderr}"
        with open(path, "rb") as f:
            head = f.read(4)
        if magic is None:
            assert head in (b"\xd4\xc3\xb2\xa1", b"\xa1\xb2\xc3\xd4"), f"{name}: {head}"
            linktype, pkts = ti.read_pcap(path)
            assert linktype == 101 and len(pkts) >= 8, (linktype, len(pkts))
        else:
            assert head == magic, f"{name}: {head}"
            check_clean(path)
            assert frames(path, "-Y", "frame.comment"), "no comment in the --pcapng capture"


if __name__ == "__main__":
    ti.enter_netns()
    ti.run_tests([test_the_capture_tells_the_close_and_the_lost_final_ack,
                  test_copies_and_delays_are_told_where_they_happen,
                  test_pcapng_by_flag_and_classic_by_default])
