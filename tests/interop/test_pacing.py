#!/usr/bin/env python3
"""Interop: tuntcp's echo-server with --tcp-pacing 1 against a Linux client
(docs/contract.md §2.5 item 14).

The real driver runs the pacing timer: a paced bulk echo completes, intact,
and the stack's data segments are all there in the capture. (At this
namespace's microsecond RTT the pacing rate is far above what the path
carries, so the timing is not checked here; tests/scenarios/test_pacing.c
checks the gaps.) All inside a private network namespace.
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ttinterop as ti  # noqa: E402


def test_paced_bulk_echo():
    """200 KB through the echo-server with pacing on: every byte comes back."""
    name = "pacing_bulk_echo"
    srv = ti.start_server(name, "--tcp-pacing", "1")
    try:
        data = os.urandom(200 * 1000)
        got, err, _ = ti.linux_echo(data, timeout=20.0)
        assert err is None, f"Linux client error {err}"
        assert got == data, f"echo differs ({len(got)} of {len(data)} bytes)"
    finally:
        assert srv.stop() == 0, f"echo-server exit {srv.rc}: {srv.stderr}"
    segs = ti.tcp_segments(name)
    sent = sum(s.len for s in segs if s.src == ti.STACK_ADDR)
    assert sent >= len(data), f"the capture shows {sent} bytes from the stack"


if __name__ == "__main__":
    ti.enter_netns()
    ti.run_tests([test_paced_bulk_echo])
