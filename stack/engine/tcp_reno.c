/*
 * Reno congestion control (RFC 5681 3.1), in bytes, as Linux's tcp_cong.c
 * (tcp_slow_start(), tcp_cong_avoid_ai(), tcp_reno_ssthresh()). Slow start
 * and additive increase are also the building blocks of CUBIC
 * (tcp_cubic.c), which only changes how many bytes one SMSS of growth takes.
 */
#include "engine.h"

static uint32_t add_sat_u32(uint32_t a, uint32_t b)
{
    return a > UINT32_MAX - b ? UINT32_MAX : a + b;
}

/*
 * RFC 3465 byte counting as Linux's tcp_slow_start(): cwnd grows by all
 * that this ACK delivered (no L limit), up to ssthresh. Returns the rest,
 * which counts toward congestion avoidance.
 */
uint32_t tt_reno_slow_start(struct tt_conn *c, uint32_t delivered)
{
    uint64_t cwnd = (uint64_t)c->cwnd + delivered;
    if (cwnd > c->ssthresh)
        cwnd = c->ssthresh;
    delivered -= (uint32_t)(cwnd - c->cwnd);
    c->cwnd = (uint32_t)cwnd;
    return delivered;
}

/*
 * RFC 5681 3.1 (3) by bytes, as Linux's tcp_cong_avoid_ai(): one SMSS for
 * each w bytes delivered (w = cwnd for Reno: one SMSS per round trip).
 */
void tt_reno_cong_avoid_ai(struct tt_conn *c, uint32_t w, uint32_t delivered)
{
    if (w == 0)
        w = 1;
    if (c->cwnd_cnt >= w) {
        c->cwnd_cnt = 0;
        c->cwnd = add_sat_u32(c->cwnd, c->mss);
    }
    c->cwnd_cnt = add_sat_u32(c->cwnd_cnt, delivered);
    if (c->cwnd_cnt >= w) {
        uint32_t steps = c->cwnd_cnt / w;
        c->cwnd_cnt -= steps * w;
        c->cwnd = add_sat_u32(c->cwnd, steps * c->mss);
    }
}

/* RFC 5681 3.1: slow start below ssthresh, then congestion avoidance. */
void tt_reno_cong_avoid(struct tt_conn *c, uint32_t delivered)
{
    if (c->cwnd < c->ssthresh) {
        delivered = tt_reno_slow_start(c, delivered);
        if (delivered == 0)
            return;
    }
    tt_reno_cong_avoid_ai(c, c->cwnd, delivered);
}

/* RFC 5681 3.2 step 2 as Linux's tcp_reno_ssthresh(): half of cwnd, at
 * least two segments. */
uint32_t tt_reno_ssthresh(const struct tt_conn *c)
{
    uint32_t half = c->cwnd / 2;
    return half > 2u * c->mss ? half : 2u * c->mss;
}

/* RFC 5681 3.1 equation (4) on a timeout: half of the flight. */
uint32_t tt_reno_ssthresh_rto(const struct tt_conn *c)
{
    uint32_t half = (c->snd_nxt - c->snd_una) / 2;
    return half > 2u * c->mss ? half : 2u * c->mss;
}
