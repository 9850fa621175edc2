#!/usr/bin/env python3
"""Interop: the classic case TIME_WAIT exists for (RFC 9293 3.6).

The stack closes first (--close-after) and its final ACK is lost once
(--fault drop:out:ack:state=TIME_WAIT:nth=1). Linux, in LAST_ACK, times out
and retransmits its FIN; the stack, still in TIME_WAIT, ACKs it again and
restarts 2*MSL (RFC 9293 3.10.7.4 eighth step). Without TIME_WAIT that FIN
would have met a RST.
"""
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ttinterop as ti  # noqa: E402

MSL = 1.0


def test_lost_final_ack_restarts_2msl():
    name = "lost_final_ack"
    srv = ti.start_server(name, "--msl", "1s", "--close-after", "100",
                          "--fault", "drop:out:ack:state=TIME_WAIT:nth=1")
    try:
        got, err, _ = ti.linux_echo(b"q" * 100, close_first=False)
        assert err is None and got == b"q" * 100, f"echo: {len(got)} bytes, {err}"
        time.sleep(2 * MSL + 1.5)
        last_ack = [r for r in ti.ss_states("last-ack")]
        assert not last_ack, f"Linux still in LAST_ACK: {last_ack}"
    finally:
        assert srv.stop() == 0, f"echo-server exit {srv.rc}: {srv.stderr}"
    events = ti.read_trace(name)
    restarts = [e for e in events if e.get("ev") == "timewait_restart"]
    assert len(restarts) == 1, f"timewait_restart events: {restarts}"
    closed = [e for e in events if e.get("ev") == "state" and e["from"] == "TIME_WAIT"]
    assert len(closed) == 1 and closed[0]["why"] == "timewait_expired", closed
    # 2*MSL counts from the ACK of the retransmitted FIN, not from the first.
    lasted = round(closed[0]["t"] - restarts[0]["t"], 6)  # microseconds, no float noise
    assert 2 * MSL <= lasted < 2 * MSL + ti.TIMER_SLACK, f"restarted TIME_WAIT lasted {lasted:.6f}"
    assert abs(restarts[0]["expires"] - closed[0]["t"]) < ti.TIMER_SLACK, (restarts, closed)
    segs = ti.tcp_segments(name)
    linux_fins = [s for s in segs if s.src == ti.HOST_ADDR and s.has("F")]
    assert len(linux_fins) == 2 and linux_fins[0].seq == linux_fins[1].seq, \
        f"Linux FINs: {linux_fins}"
    acks_after = [s for s in segs if s.src == ti.STACK_ADDR and s.ts > linux_fins[1].ts
                  and s.has("A") and not s.has("F") and s.ack == linux_fins[1].seq + 1]
    assert acks_after, "no ACK of the retransmitted FIN in the capture"
    no_rst = [s for s in segs if s.has("R")]
    assert not no_rst, f"RSTs: {no_rst}"
    ti.tshark_check(name)


if __name__ == "__main__":
    ti.enter_netns()
    ti.run_tests([test_lost_final_ack_restarts_2msl])
