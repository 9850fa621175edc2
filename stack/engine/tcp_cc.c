/*
 * The congestion-control module of a connection (docs/contract.md §2.5), as
 * Linux's tcp_congestion_ops: tcp_ack.c says when an ACK may open cwnd,
 * tcp_recovery.c when a loss is found, tcp_timer.c when the RTO expires; the
 * module (tcp_reno.c, tcp_cubic.c) says by how much; tcp_output.c tells it
 * when sending resumes after the flight drained. What the rest of the
 * engine does around it is common to both: PRR during recovery, cwnd =
 * ssthresh when it ends, one segment after an RTO.
 *
 * The module is chosen when the TCB is made, from tcp_congestion_control,
 * as Linux takes net.ipv4.tcp_congestion_control at socket creation.
 */
#include "engine.h"

void tt_cc_init(struct tt_conn *c)
{
    c->cc = (uint8_t)c->eng->cfg.tcp_congestion_control;
    if (c->cc == TT_CC_CUBIC)
        tt_cubic_init(c);
}

void tt_cc_cong_avoid(struct tt_conn *c, uint32_t delivered)
{
    if (c->cc == TT_CC_CUBIC)
        tt_cubic_cong_avoid(c, delivered);
    else
        tt_reno_cong_avoid(c, delivered);
}

void tt_cc_pkts_acked(struct tt_conn *c, int64_t rtt_us)
{
    if (c->cc == TT_CC_CUBIC)
        tt_cubic_pkts_acked(c, rtt_us);
}

uint32_t tt_cc_ssthresh(struct tt_conn *c)
{
    return c->cc == TT_CC_CUBIC ? tt_cubic_ssthresh(c) : tt_reno_ssthresh(c);
}

void tt_cc_tx_start(struct tt_conn *c)
{
    if (c->cc == TT_CC_CUBIC)
        tt_cubic_tx_start(c);
}

static uint32_t min_u32(uint32_t a, uint32_t b)
{
    return a < b ? a : b;
}

static uint32_t max_u32(uint32_t a, uint32_t b)
{
    return a > b ? a : b;
}

/*
 * RFC 5681 4.1 as Linux does it (tcp_slow_start_after_idle_check(),
 * tcp_cwnd_restart()), when the application queues data with nothing in
 * flight: after more than an RTO without sending, cwnd is halved once per
 * RTO of the idle time, but never below the initial window (nor raised to
 * it), and ssthresh keeps three quarters of the old cwnd outside recovery
 * (tcp_current_ssthresh()), so slow start climbs back quickly.
 * net.ipv4.tcp_slow_start_after_idle, on by default as in Linux.
 */
void tt_cc_restart_after_idle(struct tt_conn *c)
{
    if (!c->eng->cfg.tcp_slow_start_after_idle || c->snd_una != c->snd_nxt || c->lsndtime == 0)
        return;
    uint64_t idle = c->eng->now - c->lsndtime;
    if (idle <= c->rto)
        return;
    if (!c->in_fast_recovery && !c->in_loss)
        c->ssthresh = max_u32(c->ssthresh, c->cwnd / 2 + c->cwnd / 4);
    uint32_t restart = min_u32(TT_INIT_CWND * c->mss, c->cwnd);
    uint32_t cwnd = c->cwnd;
    for (idle -= c->rto; idle > 0 && cwnd > restart; idle = idle > c->rto ? idle - c->rto : 0)
        cwnd /= 2;
    c->cwnd = max_u32(cwnd, restart);
}

uint32_t tt_cc_ssthresh_rto(struct tt_conn *c)
{
    return c->cc == TT_CC_CUBIC ? tt_cubic_ssthresh_rto(c) : tt_reno_ssthresh_rto(c);
}

/*
 * Linux's pacing rate, bytes per second (tcp_update_pacing_rate()): 200 %
 * of cwnd / SRTT while cwnd is below half of ssthresh (tcp_pacing_ss_ratio),
 * 120 % after (tcp_pacing_ca_ratio), from the larger of cwnd and the
 * segments out. Without an SRTT, unbounded in effect. tcp_pacing.c paces
 * by it when the connection paces (--tcp-pacing); HyStart (tcp_cubic.c)
 * and the size of GSO packets (tcp_output.c) are computed from it either
 * way, as in Linux.
 */
uint64_t tt_cc_pacing_rate(const struct tt_conn *c)
{
    uint32_t mss = c->mss ? c->mss : 1;
    uint32_t cwnd = c->cwnd / mss;
    uint32_t out = (c->snd_nxt - c->snd_una + mss - 1) / mss;
    const tt_config_t *cfg = &c->eng->cfg;
    uint64_t ratio =
        (uint64_t)(c->cwnd < c->ssthresh / 2 ? cfg->tcp_pacing_ss_ratio : cfg->tcp_pacing_ca_ratio);
    uint64_t rate = (uint64_t)mss * (SEC / 100 * 8) * ratio * (cwnd > out ? cwnd : out);
    if (c->srtt)
        rate /= 8 * c->srtt; /* Linux's srtt_us is 8 x SRTT */
    return rate;
}
