/*
 * Local congestion: the device below refuses the datagrams we send (in
 * Linux, a full or zero-length qdisc: tcp_transmit_skb() returns
 * NET_XMIT_DROP). The engine then knows the segment did not leave, as
 * Linux's callers do, and does not pretend it did (docs/contract.md §2.6
 * item 14):
 *
 * - new data is not marked sent (tcp_write_xmit() stops at the first
 *   refused skb); with nothing in flight the probe timer runs
 *   (tcp_check_probe_timer());
 * - a refused retransmission is not counted (tcp_retransmit_skb() counts
 *   retrans_out and total_retrans only on success);
 * - the probe timer, finding the device still refusing, tries again every
 *   TCP_RESOURCE_PROBE_INTERVAL without backoff, counting probes_out,
 *   within TCP_USER_TIMEOUT (tcp_send_probe0(),
 *   tcp_clamp_probe0_to_user_timeout()); an RTO whose retransmission is
 *   refused retries after the same interval, RTO not doubled
 *   (tcp_retransmit_timer()); a refused keep-alive probe is not counted
 *   and is tried again after the same interval (tcp_keepalive_timer()).
 *
 * This file holds the switch and the interval; tcp_output.c asks
 * tt_localcong_refuses() before each data segment, tcp_timer.c and
 * tcp_keepalive.c ask it for the intervals; services.c (which calls
 * nothing above it) reads the switch itself before queueing any datagram.
 */
#include "engine.h"

void tt_engine_set_local_congestion(tt_engine_t *eng, bool on)
{
    eng->local_cong = on;
}

bool tt_engine_local_congestion(const tt_engine_t *eng)
{
    return eng->local_cong;
}

bool tt_localcong_refuses(const tt_engine_t *eng)
{
    return eng->local_cong;
}

#define TT_TIMEOUT_MIN (2 * MS) /* Linux TCP_TIMEOUT_MIN: 2 jiffies at HZ=1000 */

/*
 * Linux tcp_send_probe0() after a local failure: the next probe in
 * TCP_RESOURCE_PROBE_INTERVAL, not backed off, but never past the user
 * timeout counted from the first probe (tcp_clamp_probe0_to_user_timeout(),
 * at least TCP_TIMEOUT_MIN), so that the connection ends when it says.
 */
uint64_t tt_localcong_probe_interval(const struct tt_conn *c)
{
    uint64_t t = TT_RESOURCE_PROBE_INTERVAL;
    if (!c->user_timeout || c->probes_out == 0)
        return t;
    uint64_t elapsed = c->eng->now - c->probes_stamp;
    uint64_t left = elapsed < c->user_timeout ? c->user_timeout - elapsed : 0;
    if (left < TT_TIMEOUT_MIN)
        left = TT_TIMEOUT_MIN;
    return left < t ? left : t;
}
