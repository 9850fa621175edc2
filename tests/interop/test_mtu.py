#!/usr/bin/env python3
"""Interop: --mtu 100 against the Linux kernel (issue 11, item 6).

The stack sets DF and never fragments, so no datagram it sends may be longer
than --mtu, which also becomes the TUN device's MTU (Linux's side). With the
default options (timestamps and SACK on) an MTU of 100 leaves 48 bytes of
data per segment. Checked on the wire (the pcap): every datagram of the
stack is at most 100 bytes and every data segment carries at least one
byte; the echo of a few thousand bytes is exact both ways.
"""
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ttinterop as ti  # noqa: E402

MTU = 100
BYTES = 6000


def _device_mtu():
    out = subprocess.run(["ip", "-o", "link", "show", "tt0"], capture_output=True, text=True,
                         check=True).stdout.split()
    return int(out[out.index("mtu") + 1])


def _check_wire(name):
    """Every datagram the stack wrote fits the MTU; data segments carry data."""
    _, pkts = ti.read_pcap(ti.out_path(name + ".pcap"))
    ours = [p for _, p in pkts if len(p) >= 20 and p[12:16] == bytes([10, 7, 0, 2])]
    assert ours, "the stack sent nothing"
    big = [len(p) for p in ours if len(p) > MTU]
    assert not big, f"{len(big)} of {len(ours)} datagrams over {MTU} bytes: {big[:5]}"
    segs = [s for s in ti.tcp_segments(name) if s.src == ti.STACK_ADDR]
    data = [s for s in segs if s.len > 0]
    assert sum(s.len for s in data) >= BYTES, f"{sum(s.len for s in data)} bytes of data sent"
    assert max(s.len for s in data) == MTU - 40 - 12, "segments not full-sized (timestamps on)"
    ti.tshark_check(name)


def test_server_mtu_100():
    """A Linux client through a 100-byte-MTU link to echo-server --mtu 100."""
    name = "mtu_server_100"
    srv = ti.start_server(name, "--mtu", str(MTU))
    try:
        assert _device_mtu() == MTU
        data = os.urandom(BYTES)
        got, err, _ = ti.linux_echo(data, timeout=20.0)
        assert err is None, f"Linux client error {err}"
        assert got == data, f"echo differs ({len(got)} of {len(data)} bytes)"
    finally:
        assert srv.stop() == 0, f"echo-server exit {srv.rc}: {srv.stderr}"
    _check_wire(name)


def test_client_mtu_100():
    """echo-client --mtu 100 against a Linux echo server."""
    name = "mtu_client_100"
    srv = ti.LinuxEchoServer()
    try:
        cli = ti.run_client(name, "--mtu", str(MTU), "--connect", f"{ti.HOST_ADDR}:7",
                            "--bytes", str(BYTES))
        assert cli.rc == 0, f"echo-client exit {cli.rc}: {cli.stderr}"
    finally:
        srv.close()
    assert not srv.errors, srv.errors
    _check_wire(name)


if __name__ == "__main__":
    ti.enter_netns()
    ti.run_tests([test_server_mtu_100, test_client_mtu_100])
