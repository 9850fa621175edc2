#!/usr/bin/env python3
"""Interop: segmentation offload on the TUN device (issue 15, item 1).

With --offload on (IFF_VNET_HDR, TUN_F_CSUM | TUN_F_TSO4) the kernel hands
the stack TCP super-segments of up to 64 KB and takes them from it; the
engine, the capture and --fault still work in wire units
(docs/contract.md §3.8). Checked, on a 512 KiB echo from a Linux client:
  - on the Linux side of the device (an AF_PACKET socket on tt0: the tap
    tcpdump and tshark read), datagrams longer than the MTU pass both ways:
    the kernel's super-segments to the stack, and the stack's coalesced
    ones arriving at the kernel;
  - the stack's own capture holds only wire segments (none over the MTU,
    every checksum valid for tshark), and its counters saw super-segments
    both ways (TtTunInSuper, TtTunOutSuper);
  - without a capture, the super-segments the engine takes whole still
    count one TcpInSegs per wire segment Linux sent;
  - a --fault rule matches one wire segment of what leaves as a
    super-segment: the trace shows it at most an MSS long, the segment is
    missing from the capture's first pass and Linux gets it again by
    retransmission; the echo is exact.
With --offload off the same echo shows no datagram over the MTU on the
Linux side and no super-segment in the counters.
"""
import os
import socket
import struct
import sys
import threading

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ttinterop as ti  # noqa: E402

MTU = 1500
BYTES = 512 * 1024
ETH_P_ALL = 0x0003
PACKET_OUTGOING = 4


class LinuxTap:
    """Lengths of the IPv4 datagrams crossing tt0 as the kernel sees them:
    (from_stack, length), from an AF_PACKET socket (no segmentation on the way)."""

    def __init__(self, ifname="tt0"):
        self.sock = socket.socket(socket.AF_PACKET, socket.SOCK_DGRAM, socket.htons(ETH_P_ALL))
        self.sock.bind((ifname, 0))
        self.sock.settimeout(0.2)
        self.seen = []
        self.stop = False
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        while not self.stop:
            try:
                data, addr = self.sock.recvfrom(1 << 17, socket.MSG_TRUNC)
            except socket.timeout:
                continue
            if len(data) >= 20 and data[0] >> 4 == 4:
                total = struct.unpack("!H", data[2:4])[0]
                self.seen.append((addr[2] != PACKET_OUTGOING, total))

    def close(self):
        self.stop = True
        self.thread.join(2)
        self.sock.close()


def _echo_with_tap(name, *extra):
    srv = ti.start_server(name, "-v", *extra)
    tap = LinuxTap()
    try:
        data = os.urandom(BYTES)
        got, err, _ = ti.linux_echo(data, timeout=20.0)
        assert err is None, f"Linux client error {err}"
        assert got == data, f"echo differs ({len(got)} of {len(data)} bytes)"
    finally:
        tap.close()
        assert srv.stop() == 0, f"echo-server exit {srv.rc}: {srv.stderr}"
    counters, _ = ti.last_stats(srv.stderr)
    return srv, tap.seen, counters


def _stack_capture_is_wire(name):
    _, pkts = ti.read_pcap(ti.out_path(name + ".pcap"))
    big = [len(p) for _, p in pkts if len(p) > MTU]
    assert not big, f"{len(big)} datagrams over the MTU in the stack's capture: {big[:5]}"
    ti.tshark_check(name)


def test_super_segments_both_ways():
    name = "offload_on"
    srv, seen, counters = _echo_with_tap(name, "--offload", "on")
    assert "offloads on" in srv.stderr, srv.stderr[-2000:]
    to_stack = [n for from_stack, n in seen if not from_stack and n > MTU]
    from_stack = [n for from_stack, n in seen if from_stack and n > MTU]
    assert to_stack, f"no super-segment from the kernel on tt0: {sorted(seen)[-5:]}"
    assert from_stack, f"no coalesced segment from the stack on tt0: {sorted(seen)[-5:]}"
    assert counters.get("TtTunInSuper", 0) > 0, counters
    assert counters.get("TtTunOutSuper", 0) > 0, counters
    _stack_capture_is_wire(name)


def test_offload_off_is_wire_units_everywhere():
    name = "offload_off"
    srv, seen, counters = _echo_with_tap(name, "--offload", "off")
    assert "offloads off (--offload off)" in srv.stderr, srv.stderr[-2000:]
    big = [n for _, n in seen if n > MTU]
    assert not big, f"datagrams over the MTU on tt0 without offloads: {big[:5]}"
    assert counters.get("TtTunInSuper") == 0 and counters.get("TtTunOutSuper") == 0, counters
    _stack_capture_is_wire(name)


def test_fault_matches_a_wire_segment():
    name = "offload_fault"
    srv, seen, counters = _echo_with_tap(name, "--offload", "on",
                                         "--fault", "drop:out:data:nth=20")
    assert counters.get("TtFaultDropped") == 1, counters
    assert counters.get("TtTunOutSuper", 0) > 0, counters
    drops = [e for e in ti.read_trace(name) if e.get("ev") == "fault"]
    assert len(drops) == 1 and drops[0]["action"] == "drop", drops
    seq, size = drops[0]["seq"], drops[0]["len"]
    assert 0 < size <= MTU - 52, f"the rule matched {size} bytes, not a wire segment"
    data = [s for s in ti.tcp_segments(name) if s.src == ti.STACK_ADDR and s.len > 0]
    again = [s for s in data if s.seq == seq]
    assert len(again) == 1 and again[0].len == size, f"seq {seq} in the capture: {again}"
    # Its run went on without it: later data reached the device before the retransmission.
    assert any((s.seq - seq) % 2**32 < 2**31 and s.seq != seq and s.ts < again[0].ts
               for s in data), "the dropped segment was not retransmitted after its run"
    assert counters.get("TcpRetransSegs", 0) >= 1, counters
    assert any(n > MTU for from_stack, n in seen if from_stack), "nothing was coalesced"


def test_whole_super_segments_count_wire_segments():
    """No capture, no rule: the engine takes the kernel's super-segments
    whole (tt_engine_input_super(), contract §3.8 item 1). The echo is
    intact, and TcpInSegs still counts wire segments: every one Linux's TCP
    sent us (its TcpOutSegs in this namespace), not one per super-segment."""
    before = ti.linux_nstat("TcpOutSegs").get("TcpOutSegs", 0)
    srv = ti.App(ti.SERVER, ["--msl", "500ms", "--seed", "7", "-v", "--offload", "on"],
                 "echo-server")
    srv.wait_line("listening on")
    try:
        data = os.urandom(4 * BYTES)
        got, err, _ = ti.linux_echo(data, timeout=20.0)
        assert err is None, f"Linux client error {err}"
        assert got == data, f"echo differs ({len(got)} of {len(data)} bytes)"
    finally:
        assert srv.stop() == 0, f"echo-server exit {srv.rc}: {srv.stderr}"
    sent = ti.linux_nstat("TcpOutSegs").get("TcpOutSegs", 0) - before
    counters, _ = ti.last_stats(srv.stderr)
    assert counters.get("TtTunInSuper", 0) > 0, counters
    assert sent >= len(data) // (MTU - 40), f"Linux sent {sent} segments"
    assert counters.get("TcpInSegs") == sent, (counters.get("TcpInSegs"), sent)


if __name__ == "__main__":
    ti.enter_netns()
    ti.run_tests([test_super_segments_both_ways, test_offload_off_is_wire_units_everywhere,
                  test_fault_matches_a_wire_segment,
                  test_whole_super_segments_count_wire_segments])
