/*
 * CUBIC congestion control (RFC 9438) as Linux's tcp_cubic.c does it, in
 * integers: windows in segments, time in 2^-10 s for the cubic function.
 *
 * - Decrease (4.6): ssthresh = 0.7 x cwnd (Linux beta 717/1024), whole
 *   segments, at least two.
 * - W_max and fast convergence (4.7): W_max is cwnd at the loss, or
 *   (1 + beta) / 2 of it when the loss came below the previous W_max.
 * - Growth (4.2): from the first ACK of congestion avoidance (t = 0) the
 *   target is W_cubic(t + RTT) = C (t + RTT - K)^3 + W_max with C = 0.4 and
 *   K = cbrt(W_max (1 - beta) / C): concave up to W_max, convex above it.
 *   cwnd grows by one segment for every cwnd / (target - cwnd) segments
 *   acked (Linux's cnt), at most one per two (1.5 x per RTT). RTT is the
 *   least RTT seen (Linux's delay_min).
 * - Reno-friendly region (4.3): W_est grows as Reno with alpha_cubic =
 *   3 (1 - beta) / (1 + beta) segments per RTT; while it is above cwnd,
 *   cwnd grows at least as fast as it.
 * - Timeout (4.8): ssthresh as in 4.6 (not again for a timeout of the same
 *   loss, Linux tcp_enter_loss()), and the state forgets W_max (Linux
 *   bictcp_reset on TCP_CA_Loss): growth after slow start is then convex
 *   from where it stands, at least 5 % per RTT (Linux's cnt <= 20).
 * - Idle (Linux CA_EVENT_TX_START): when sending resumes with nothing in
 *   flight, the epoch moves forward by the time since data last went out,
 *   so that cwnd goes on along the curve rather than jumping to where
 *   the idle time would have taken it.
 * - Slow start (4.10) is tcp_reno.c's, ended early by HyStart as Linux
 *   does it (hystart_update(), hystart_detect 3, both methods; not RFC
 *   9406's HyStart++): from a cwnd of 16 segments on, slow start ends
 *   (ssthresh = cwnd) when, in one round (until SND.UNA passes the SND.NXT
 *   of the round's start), the ACKs come as a train, each within 2 ms of
 *   the one before, for longer than half of delay_min (plus a GSO cushion
 *   from the pacing rate), or when the least of the round's first eight
 *   RTT samples exceeds delay_min by clamp(delay_min / 8, 4 ms, 16 ms).
 * - RTT (Linux cubictcp_acked()): one sample per ACK (tcp_txstamp.c);
 *   delay_min is the least of them, not taken in the first second of an
 *   epoch (just after a reduction), forgotten at a timeout.
 */
#include "engine.h"
#include "seq.h"

#define CUBIC_BETA 717             /* beta_cubic x 1024 (RFC 9438 4.6: 0.7) */
#define CUBIC_BETA_SCALE 1024u     /* Linux BICTCP_BETA_SCALE */
#define CUBIC_C 410u               /* C x 1024 (RFC 9438 5: 0.4) */
#define CUBIC_HZ_SHIFT 10          /* time unit of t and K: 2^-10 s (Linux BICTCP_HZ) */
#define CUBIC_OFFS_MAX (1u << 17)  /* |t - K| cap, 128 s: C offs^3 fits in 64 bits */
#define CUBIC_DIFF_MAX (1u << 30)  /* W_max - cwnd cap for K: the product fits */
#define CUBIC_FIRST_CNT_MAX 20u    /* no W_max known: at least 5 % per RTT */
#define CUBIC_RECALC_US (SEC / 32) /* cnt kept this long while cwnd is unchanged */
#define HYSTART_LOW_WINDOW 16u     /* Linux hystart_low_window: segments */
#define HYSTART_ACK_DELTA_US 2000u /* Linux hystart_ack_delta_us: ACKs of a train */
#define HYSTART_MIN_SAMPLES 8u     /* RTT samples before the delay test */
#define HYSTART_DELAY_MIN (4 * MS)
#define HYSTART_DELAY_MAX (16 * MS)
/* K^3 = (W_max - cwnd) / C s^3, in (2^-10 s)^3: times 2^30 x 1024 / 410. */
#define CUBIC_CUBE_FACTOR ((1ull << (10 + 3 * CUBIC_HZ_SHIFT)) / CUBIC_C)
/* RFC 9438 4.3: one segment of W_est per cwnd / alpha_cubic acked, 1/alpha =
 * (1 + beta) / (3 (1 - beta)), in eighths (15: Linux's beta_scale). */
#define CUBIC_EST_EIGHTHS                                                                          \
    (8u * (CUBIC_BETA_SCALE + CUBIC_BETA) / 3u / (CUBIC_BETA_SCALE - CUBIC_BETA))

static uint32_t segs(const struct tt_conn *c)
{
    return c->mss ? c->cwnd / c->mss : c->cwnd;
}

static uint32_t sat_u32(uint64_t v)
{
    return v > UINT32_MAX ? UINT32_MAX : (uint32_t)v;
}

/* floor(cbrt(a)), one bit of the root per step (digit-by-digit method). */
uint32_t tt_cubic_root(uint64_t a)
{
    uint64_t y = 0;
    for (int s = 63; s >= 0; s -= 3) {
        y <<= 1;
        uint64_t b = 3 * y * (y + 1) + 1; /* (y + 1)^3 - y^3 */
        if ((a >> s) >= b) {
            a -= b << s;
            y++;
        }
    }
    return (uint32_t)y;
}

/* Linux bictcp_hystart_reset(): a new round of slow start begins. */
static void hystart_reset(struct tt_conn *c)
{
    struct tt_cubic *cb = &c->cubic;
    cb->round_start = cb->last_ack = c->eng->now;
    cb->end_seq = c->snd_nxt;
    cb->curr_rtt = UINT64_MAX;
    cb->sample_cnt = 0;
}

/* Linux cubictcp_init(), and bictcp_reset() with a new round on a timeout
 * (cubictcp_state(TCP_CA_Loss)). */
void tt_cubic_init(struct tt_conn *c)
{
    c->cubic = (struct tt_cubic){0};
    hystart_reset(c);
}

/* RFC 9438 4.2: t = 0 at the first ACK of avoidance; K from W_max. */
static void start_epoch(struct tt_conn *c, uint32_t cwnd, uint32_t delivered)
{
    struct tt_cubic *cb = &c->cubic;
    cb->in_epoch = true;
    cb->epoch_start = c->eng->now;
    cb->ack_bytes = delivered;
    cb->w_est = cwnd;
    if (cb->w_max <= cwnd) {
        cb->k = 0;
        cb->origin = cwnd;
        return;
    }
    uint32_t diff = cb->w_max - cwnd;
    if (diff > CUBIC_DIFF_MAX)
        diff = CUBIC_DIFF_MAX;
    cb->k = tt_cubic_root(CUBIC_CUBE_FACTOR * diff);
    cb->origin = cb->w_max;
}

/* RFC 9438 eq. 1 at t + RTT (4.2's target), in segments. */
static uint32_t cubic_target(const struct tt_conn *c)
{
    const struct tt_cubic *cb = &c->cubic;
    uint64_t us = c->eng->now - cb->epoch_start + cb->delay_min;
    uint64_t t = (us << CUBIC_HZ_SHIFT) / SEC;
    uint64_t offs = t < cb->k ? cb->k - t : t - cb->k;
    if (offs > CUBIC_OFFS_MAX)
        offs = CUBIC_OFFS_MAX;
    uint64_t delta = (CUBIC_C * offs * offs * offs) >> (10 + 3 * CUBIC_HZ_SHIFT);
    if (t >= cb->k)
        return sat_u32(cb->origin + delta);
    return delta < cb->origin ? cb->origin - (uint32_t)delta : 0;
}

/* RFC 9438 4.3: W_est grows as Reno would; cwnd keeps up with it. */
static void reno_friendly(struct tt_conn *c, uint32_t cwnd)
{
    struct tt_cubic *cb = &c->cubic;
    uint64_t per = (uint64_t)((cwnd * (uint64_t)CUBIC_EST_EIGHTHS) >> 3) * c->mss;
    if (per == 0)
        per = c->mss ? c->mss : 1;
    if (cb->ack_bytes > per) {
        uint64_t n = (cb->ack_bytes - 1) / per;
        cb->ack_bytes -= (uint32_t)(n * per);
        cb->w_est = sat_u32(cb->w_est + n);
    }
    if (cb->w_est > cwnd) {
        uint32_t max_cnt = cwnd / (cb->w_est - cwnd);
        if (cb->cnt > max_cnt)
            cb->cnt = max_cnt;
    }
}

/* Linux bictcp_update(): cnt, the segments acked per segment of growth. */
static void cubic_update(struct tt_conn *c, uint32_t delivered)
{
    struct tt_cubic *cb = &c->cubic;
    uint32_t cwnd = segs(c);
    uint64_t now = c->eng->now;
    cb->ack_bytes = sat_u32((uint64_t)cb->ack_bytes + delivered);
    if (cb->in_epoch && cb->last_cwnd == cwnd && now - cb->last_time <= CUBIC_RECALC_US)
        return;
    cb->last_cwnd = cwnd;
    cb->last_time = now;
    if (!cb->in_epoch)
        start_epoch(c, cwnd, delivered);
    uint32_t target = cubic_target(c);
    cb->cnt = target > cwnd ? cwnd / (target - cwnd) : sat_u32(100ull * cwnd);
    if (cb->w_max == 0 && cb->cnt > CUBIC_FIRST_CNT_MAX)
        cb->cnt = CUBIC_FIRST_CNT_MAX;
    reno_friendly(c, cwnd);
    if (cb->cnt < 2)
        cb->cnt = 2; /* at most 1.5 x per RTT */
}

void tt_cubic_cong_avoid(struct tt_conn *c, uint32_t delivered)
{
    if (c->cwnd < c->ssthresh) {
        delivered = tt_reno_slow_start(c, delivered);
        if (delivered == 0)
            return;
    }
    cubic_update(c, delivered);
    tt_reno_cong_avoid_ai(c, sat_u32((uint64_t)c->cubic.cnt * c->mss), delivered);
}

/* RFC 9438 4.6 and 4.7 (Linux cubictcp_recalc_ssthresh()). */
uint32_t tt_cubic_ssthresh(struct tt_conn *c)
{
    struct tt_cubic *cb = &c->cubic;
    uint32_t cwnd = segs(c);
    cb->in_epoch = false;
    if (cwnd < cb->w_max) /* fast convergence: leave room to newer flows */
        cb->w_max =
            (uint32_t)((uint64_t)cwnd * (CUBIC_BETA_SCALE + CUBIC_BETA) / (2 * CUBIC_BETA_SCALE));
    else
        cb->w_max = cwnd;
    uint32_t ssthresh = (uint32_t)((uint64_t)cwnd * CUBIC_BETA / CUBIC_BETA_SCALE);
    if (ssthresh < 2)
        ssthresh = 2;
    return sat_u32((uint64_t)ssthresh * c->mss);
}

/* RFC 9438 4.8; Linux tcp_enter_loss() keeps ssthresh for a timeout in
 * recovery, or again before an ACK moved SND.UNA, of the same loss; and in
 * the CWR state of an ECE (RFC 3168 6.1.2), whose reduction is the one. */
uint32_t tt_cubic_ssthresh_rto(struct tt_conn *c)
{
    bool same_loss =
        !seq_gt(c->snd_una, c->recover) && (c->in_fast_recovery || (c->in_loss && c->retries > 1));
    same_loss = same_loss || (c->in_cwr && seq_gt(c->cwr_high, c->snd_una));
    uint32_t ssthresh = same_loss ? c->ssthresh : tt_cubic_ssthresh(c);
    tt_cubic_init(c);
    return ssthresh;
}

/* Linux cubictcp_cwnd_event(CA_EVENT_TX_START): an idle (application
 * limited) period does not count as time on the cubic curve. */
void tt_cubic_tx_start(struct tt_conn *c)
{
    struct tt_cubic *cb = &c->cubic;
    uint64_t now = c->eng->now;
    if (!cb->in_epoch || c->lsndtime == 0 || now <= c->lsndtime)
        return;
    cb->epoch_start += now - c->lsndtime;
    if (cb->epoch_start > now)
        cb->epoch_start = now;
}

/* Linux hystart_ack_delay(): the time a GSO packet takes at a quarter of
 * the pacing rate, at most 1 ms, by which GSO and GRO may stretch an ACK
 * train. */
static uint64_t hystart_ack_delay(const struct tt_conn *c)
{
    uint64_t rate = tt_cc_pacing_rate(c);
    if (rate == 0)
        return 0;
    uint64_t d = (uint64_t)TT_GSO_MAX_SIZE * 4 * SEC / rate;
    return d < MS ? d : MS;
}

/* Linux hystart_update(), ACK train (HYSTART_ACK_TRAIN). Without pacing
 * (sk_pacing_status NONE) the train must last half of delay_min; a paced
 * connection (--tcp-pacing) all of it, since pacing may have spread the
 * round's packets over up to half an RTT. */
static bool hystart_ack_train(struct tt_conn *c)
{
    struct tt_cubic *cb = &c->cubic;
    uint64_t now = c->eng->now;
    if (now - cb->last_ack > HYSTART_ACK_DELTA_US)
        return false;
    cb->last_ack = now;
    uint64_t threshold = cb->delay_min + hystart_ack_delay(c);
    if (!c->pacing)
        threshold >>= 1;
    return now - cb->round_start > threshold;
}

/* Linux hystart_update(), delay increase (HYSTART_DELAY): the least RTT
 * of the round's samples, tested from the ninth on. */
static bool hystart_delay(struct tt_conn *c, uint64_t delay)
{
    struct tt_cubic *cb = &c->cubic;
    if (cb->curr_rtt > delay)
        cb->curr_rtt = delay;
    if (cb->sample_cnt < HYSTART_MIN_SAMPLES) {
        cb->sample_cnt++;
        return false;
    }
    uint64_t thresh = cb->delay_min >> 3;
    if (thresh < HYSTART_DELAY_MIN)
        thresh = HYSTART_DELAY_MIN;
    if (thresh > HYSTART_DELAY_MAX)
        thresh = HYSTART_DELAY_MAX;
    return cb->curr_rtt > cb->delay_min + thresh;
}

static void hystart_update(struct tt_conn *c, uint64_t delay)
{
    struct tt_cubic *cb = &c->cubic;
    if (seq_gt(c->snd_una, cb->end_seq))
        hystart_reset(c);
    if (segs(c) < HYSTART_LOW_WINDOW)
        return;
    bool train = hystart_ack_train(c);
    bool delayed = hystart_delay(c, delay);
    if (train || delayed) {
        cb->found = true;
        c->ssthresh = c->cwnd; /* slow start ends here */
    }
}

/* Linux cubictcp_acked(): the RTT sample of an ACK. */
void tt_cubic_pkts_acked(struct tt_conn *c, int64_t rtt_us)
{
    struct tt_cubic *cb = &c->cubic;
    if (rtt_us < 0)
        return;
    /* Samples of the first second after a reduction are not taken. */
    if (cb->in_epoch && c->eng->now - cb->epoch_start < SEC)
        return;
    uint64_t delay = rtt_us ? (uint64_t)rtt_us : 1;
    if (cb->delay_min == 0 || cb->delay_min > delay)
        cb->delay_min = delay;
    if (!cb->found && c->cwnd < c->ssthresh)
        hystart_update(c, delay);
}
