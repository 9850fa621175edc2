#!/usr/bin/env python3
"""Interop: tuntcp reopens a 4-tuple that Linux still holds in TIME_WAIT,
and every new incarnation is opened by its first SYN (docs/contract.md §2.4
items 8 and 9).

The Linux server echoes 4000 bytes and closes first, so Linux keeps the
4-tuple in TIME_WAIT (60 s). tuntcp's client, with one ephemeral port,
connects again at once. Linux takes a SYN in TIME_WAIT only when its
sequence number is beyond the old connection's or its TSval is newer
(RFC 6191, tcp_timewait_state_process); otherwise it answers with an ACK,
the client resets and waits a second for its SYN retransmission. With
ISNs on Linux's 64 ns clock and a timestamp clock shared by every stack on
the host, each SYN is newer: Linux answers each with a SYN-ACK.
"""
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ttinterop as ti  # noqa: E402

ti.enter_netns()

PORT = "40000"
PORT2 = "40001"  # a 4-tuple of its own: the first test left 40000 in TIME_WAIT
ROUNDS = 10


def check_each_syn_opened(name, expect_syns):
    """Linux's answer to each of our SYNs is the next segment it sends: it
    must be a SYN-ACK of that SYN, not an ACK of the old connection."""
    segs = ti.tcp_segments(name)
    syns = [s for s in segs if s.src == ti.STACK_ADDR and s.has("S")]
    for i, s in enumerate(segs):
        if s.src == ti.STACK_ADDR and s.has("S"):
            answer = next((r for r in segs[i + 1:] if r.src == ti.HOST_ADDR), None)
            assert answer is not None and answer.has("SA") and answer.ack == s.seq + 1, \
                f"Linux answered {s} with {answer}"
    resets = [s for s in segs if s.src == ti.STACK_ADDR and s.has("R")]
    assert len(syns) == expect_syns, f"{len(syns)} SYNs, want {expect_syns} (one per connection)"
    assert not resets, f"tuntcp sent RSTs: {resets[:3]}"
    return syns


def test_ten_reconnections_in_one_stack():
    """Without timestamps only the ISN can tell the incarnations apart. The
    server takes 2 ms before it echoes, so each SYN follows the previous
    one by 2 ms or more: 31,250 ticks of a 64 ns clock, beyond the 4002
    sequence numbers the connection used (a 4 us clock gives 500)."""
    name = "reconnect_tw_one_stack"
    srv = ti.LinuxEchoServer(close_after=4000, delay=0.002)
    try:
        t0 = time.monotonic()
        cl = ti.run_client(name, "--count", str(ROUNDS), "--bytes", "4000", "--close-wait",
                           "--tcp-timestamps", "0",
                           "--ip-local-port-range", f"{PORT}-{PORT}", timeout=20)
        took = time.monotonic() - t0
        assert cl.rc == 0, f"echo-client exit {cl.rc}: {cl.stderr.strip()}"
        syns = check_each_syn_opened(name, ROUNDS)
        assert {s.sport for s in syns} == {int(PORT)}
        tw = [r for r in ti.ss_states("time-wait") if r[0].endswith(":7")]
        assert len(tw) == 1, f"Linux TIME_WAIT rows {tw}, want the one 4-tuple"
        # Each new ISN lies beyond the previous connection's 4000 bytes and FIN.
        for a, b in zip(syns, syns[1:]):
            assert (b.seq - (a.seq + 4002)) % 2**32 < 2**31, f"ISN {b.seq} not beyond {a.seq}+4002"
        print(f"  {ROUNDS} connections on one 4-tuple in {took:.2f} s, each by its first SYN")
    finally:
        srv.close()


def test_ten_reconnections_from_separate_stacks():
    """Ten echo-client processes, no --seed: each reads the boot's ISN key,
    so their ISNs and TSvals continue one sequence, as one Linux host's
    (with a key per process, half the SYNs would look old to Linux)."""
    srv = ti.LinuxEchoServer(close_after=4000)
    try:
        keys = set()
        for i in range(ROUNDS):
            name = f"reconnect_tw_stack{i}"
            args = ["--msl", "500ms", "--pcap", ti.out_path(name + ".pcap"), "-v",
                    "--count", "1", "--bytes", "4000", "--close-wait",
                    "--ip-local-port-range", f"{PORT2}-{PORT2}"]
            cl = ti.App(ti.CLIENT, args, "echo-client")
            assert cl.wait(10) == 0, f"run {i}: exit {cl.rc}: {cl.stderr.strip()}"
            check_each_syn_opened(name, 1)
            keys |= {line.split("ISN key ")[-1] for line in cl.stderr.splitlines()
                     if "ISN key " in line}
        assert len(keys) == 1 and "from the seed" not in keys, f"ISN keys used: {keys}"
        print(f"  {ROUNDS} processes, boot key {keys.pop()}: each opened by its first SYN")
    finally:
        srv.close()


ti.run_tests([test_ten_reconnections_in_one_stack, test_ten_reconnections_from_separate_stacks])
