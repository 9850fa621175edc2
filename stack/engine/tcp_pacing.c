/*
 * Pacing as Linux does it (since 4.20) when the device's qdisc is fq: the
 * earliest departure time model. Each data packet (a GSO packet of new
 * data, or a retransmitted segment) leaves no earlier than the
 * connection's departure time, Linux's tcp_wstamp_ns, which every packet
 * sent moves on by its length at the pacing rate (tcp_update_skb_after_send()).
 * The rate is tt_cc_pacing_rate() (Linux tcp_update_pacing_rate(): cwnd /
 * SRTT times tcp_pacing_ss_ratio in slow start, tcp_pacing_ca_ratio after).
 *
 * Linux hands the packet to fq at once with its departure time as the
 * timestamp, and fq holds it until then; the engine, which builds packets
 * as it sends them, holds the data in its send queue instead and arms the
 * pacing timer for the departure time (Linux's internal pacing,
 * tcp_pacing_check() and its hrtimer), which runs the output again. The
 * wire sees the same times.
 *
 * Which connections pace: those made while tcp_pacing is 1 (--tcp-pacing;
 * Linux's sk_pacing_status, set the first time fq sees the socket). Pure
 * ACKs and control segments are never held. The clock is the engine's
 * microseconds; the departure time keeps nanoseconds as Linux's does, so
 * that the per-packet steps do not round.
 */
#include "engine.h"

#define NSEC_PER_SEC 1000000000ull
#define NSEC_PER_USEC 1000ull
/* Linux tcp_update_skb_after_send(): the first ten data segments are not
 * paced, as fq never paced them; the initial window goes out at once. */
#define PACING_FREE_SEGS 10u

/*
 * Linux tcp_pacing_check() (internal pacing) and fq's hold on a packet
 * whose timestamp is ahead: while the departure time is in the future,
 * nothing of the data goes; the pacing timer, armed once for that time,
 * runs the output again (Linux tcp_pace_kick()).
 */
bool tt_pacing_wait(struct tt_conn *c)
{
    uint64_t now_ns = c->eng->now * NSEC_PER_USEC;
    if (c->wstamp_ns <= now_ns)
        return false;
    if (!tt_timer_armed(&c->pacing_timer)) {
        uint64_t at = (c->wstamp_ns + NSEC_PER_USEC - 1) / NSEC_PER_USEC;
        tt_timer_arm(c->eng->wheel, &c->pacing_timer, at);
    }
    return true;
}

/*
 * Linux __tcp_transmit_skb() and tcp_update_skb_after_send(): the packet
 * leaves at the departure time or now, whichever is later; the next one
 * len / rate after it. A flow that was idle (the departure time behind
 * now) gets part of the lost time back as credit, at most half of the
 * packet's time, to make up for late timers. The departure time is kept
 * across idle periods.
 */
void tt_pacing_advance(struct tt_conn *c, uint32_t len, uint32_t segs)
{
    uint64_t now_ns = c->eng->now * NSEC_PER_USEC;
    uint64_t prior = c->wstamp_ns;
    if (c->wstamp_ns < now_ns)
        c->wstamp_ns = now_ns;
    c->data_segs_out += segs;
    uint64_t rate = tt_cc_pacing_rate(c);
    if (rate == 0 || c->data_segs_out < PACING_FREE_SEGS)
        return;
    uint64_t len_ns = (uint64_t)len * NSEC_PER_SEC / rate;
    uint64_t credit = c->wstamp_ns - prior;
    len_ns -= len_ns / 2 < credit ? len_ns / 2 : credit;
    c->wstamp_ns += len_ns;
}
