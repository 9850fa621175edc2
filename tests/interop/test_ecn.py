#!/usr/bin/env python3
"""Interop: ECN (RFC 3168) between tuntcp and the Linux kernel's TCP
(docs/contract.md §2.5 item 13), inside a private network namespace whose
own net.ipv4.tcp_ecn the test sets.

- A Linux client with tcp_ecn=1 asks for ECN in its SYN (ECE|CWR, "SEW");
  echo-server, at the default --tcp-ecn 2, agrees in its SYN-ACK (ECE
  alone, "SE."), and both sides' new data then goes ECT(0) (RFC 3168
  6.1.1, 6.1.2), while SYNs, pure ACKs and retransmissions (6.1.5) stay
  Not-ECT.
- echo-client --tcp-ecn 1 asks a Linux server (tcp_ecn=2, Linux's
  default), which agrees.
- echo-server --tcp-ecn 0 refuses: no ECE in the SYN-ACK, no ECT anywhere.
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ttinterop as ti  # noqa: E402

NOT_ECT, ECT0 = 0, 2
SYN_ECN = 0x02 | 0x40 | 0x80  # SYN|ECE|CWR


def _set_linux_ecn(value):
    with open("/proc/sys/net/ipv4/tcp_ecn", "w") as f:
        f.write(str(value))


def _new_and_resent(data):
    """One side's data segments in capture order: those that bring bytes
    never sent before, and those that only send bytes again."""
    new, again, high = [], [], None
    for s in data:
        end = (s.seq + s.len) & 0xFFFFFFFF
        if high is None or (end - high) & 0xFFFFFFFF < 0x80000000 and end != high:
            new.append(s)
            high = end
        else:
            again.append(s)
    return new, again


def _check_agreed(segs, client, server):
    """The handshake agreed ECN; data ECT(0) both ways, control Not-ECT."""
    syn = [s for s in segs if s.src == client and s.has("S") and not s.has("A")]
    synack = [s for s in segs if s.src == server and s.has("SA")]
    assert syn and synack, f"no handshake in the capture: {segs[:4]}"
    assert syn[0].flags & 0xC3 == SYN_ECN, f"SYN not ECN-setup (SEW): {syn[0]}"
    assert synack[0].has("E") and not synack[0].has("W"), f"SYN-ACK not SE.: {synack[0]}"
    assert all(s.ecn == NOT_ECT for s in syn + synack), "a SYN or SYN-ACK is ECN-capable"
    for side in (ti.STACK_ADDR, ti.HOST_ADDR):
        data = [s for s in segs if s.src == side and s.len > 0]
        assert data, f"{side} sent no data"
        new, again = _new_and_resent(data)
        bad = [s for s in new if s.ecn != ECT0]
        assert not bad, f"{side}: new data not ECT(0): {bad[:3]}"
        # RFC 3168 6.1.5: a retransmission (a tail loss probe on a loaded
        # machine) goes Not-ECT.
        bad = [s for s in again if s.ecn != NOT_ECT]
        assert not bad, f"{side}: a retransmission is ECN-capable: {bad[:3]}"
    pure = [s for s in segs if s.src == ti.STACK_ADDR and s.len == 0]
    assert all(s.ecn == NOT_ECT for s in pure), "a pure ACK of the stack is ECN-capable"


def test_linux_client_asks_echo_server_agrees():
    """tcp_ecn=1 on Linux: SEW, SE., ECT(0) data both ways, the echo works."""
    name = "ecn_linux_client"
    _set_linux_ecn(1)
    srv = ti.start_server(name)
    try:
        data = os.urandom(30000)
        got, err, _ = ti.linux_echo(data)
        assert err is None, f"Linux client error {err}"
        assert got == data, f"echo differs ({len(got)} of {len(data)} bytes)"
    finally:
        assert srv.stop() == 0, f"echo-server exit {srv.rc}: {srv.stderr}"
        _set_linux_ecn(2)
    _check_agreed(ti.tcp_segments(name), ti.HOST_ADDR, ti.STACK_ADDR)
    ti.tshark_check(name)


def test_echo_client_asks_linux_server_agrees():
    """echo-client --tcp-ecn 1 against Linux at its default tcp_ecn=2."""
    name = "ecn_echo_client"
    _set_linux_ecn(2)
    srv = ti.LinuxEchoServer()
    try:
        cli = ti.run_client(name, "--connect", f"{ti.HOST_ADDR}:7", "--bytes", "30000",
                            "--tcp-ecn", "1")
        assert cli.rc == 0, f"echo-client exit {cli.rc}: {cli.stderr}"
    finally:
        srv.close()
    assert not srv.errors, srv.errors
    _check_agreed(ti.tcp_segments(name), ti.STACK_ADDR, ti.HOST_ADDR)
    ti.tshark_check(name)


def test_echo_server_tcp_ecn_0_refuses():
    """--tcp-ecn 0: Linux asks, the SYN-ACK has no ECE, nothing is ECT."""
    name = "ecn_refused"
    _set_linux_ecn(1)
    srv = ti.start_server(name, "--tcp-ecn", "0")
    try:
        data = os.urandom(5000)
        got, err, _ = ti.linux_echo(data)
        assert err is None and got == data, f"echo: {len(got)} bytes, {err}"
    finally:
        assert srv.stop() == 0, f"echo-server exit {srv.rc}: {srv.stderr}"
        _set_linux_ecn(2)
    segs = ti.tcp_segments(name)
    synack = [s for s in segs if s.src == ti.STACK_ADDR and s.has("SA")]
    assert synack and not synack[0].has("E"), f"SYN-ACK: {synack[:1]}"
    marked = [s for s in segs if s.ecn != NOT_ECT]
    assert not marked, f"ECN-capable segments without ECN agreed: {marked[:3]}"


if __name__ == "__main__":
    ti.enter_netns()
    ti.run_tests([test_linux_client_asks_echo_server_agrees,
                  test_echo_client_asks_linux_server_agrees,
                  test_echo_server_tcp_ecn_0_refuses])
