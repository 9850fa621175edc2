/*
 * Scenarios: CUBIC (RFC 9438), the default congestion control as Linux's
 * (docs/contract.md §2.5), against Reno (tcp_congestion_control reno):
 *
 * - a fast retransmit leaves cwnd at 0.7 x (Linux beta 717/1024), not 0.5 x;
 * - after it cwnd climbs back to W_max along the cubic curve, in about
 *   K = cbrt(W_max (1 - beta) / C) seconds (4.2), whatever the RTT is;
 * - with a short RTT it grows as fast as Reno would (Reno-friendly region,
 *   4.3), faster than the cubic curve alone;
 * - a loss below the previous W_max lowers W_max to (1 + beta) / 2 of cwnd
 *   (fast convergence, 4.7), so that cwnd comes back to where it was later;
 * - time without data to send does not count on the curve (Linux's
 *   CA_EVENT_TX_START).
 *
 * The long runs drive a bulk flow through a simulated path: every segment
 * reaches the peer one RTT after it leaves, and the peer ACKs each at once,
 * cumulatively (no SACK; the peer's window, 44 segments, is above the
 * windows that matter). Chosen new segments are dropped once. The figures in the comments
 * come from RFC 9438's equations; the tolerances cover that cwnd moves in
 * whole segments and lags the target by about one RTT.
 */
#include "harness.h"

#include <string.h>

#define SEG1 H_MSS
#define INIT_CWND (10u * H_MSS) /* RFC 6928 */
#define SIM_SEGS 4000u          /* segments the application writes for a long run */
#define SIM_QCAP 256u           /* segments in flight at most (the peer's window: 44) */
#define SIM_DROPS 4
#define SIM_WND 44u /* the peer's window, segments */

static tt_conn_info_t info_of(const struct harness *h)
{
    tt_conn_info_t i;
    tt_conn_get_info(h->conn, &i);
    return i;
}

static uint32_t cwnd_segs(const struct harness *h)
{
    return info_of(h).cwnd / SEG1;
}

/* ---- fast retransmit: the reduction ---- */

/*
 * test_recovery.c's PRR scenario: ten segments in flight (cwnd 10), two
 * more queued, three duplicate ACKs, the fast retransmit, and the full ACK
 * that ends recovery. Returns ssthresh; cwnd is then ssthresh.
 */
static uint32_t fast_retransmit_from_cwnd_10(struct harness *h)
{
    h_reach_established_passive(h);
    h_prime_rtt(h);
    assert_int_equal(h_write_pattern(h, 1, 12 * SEG1), 12 * SEG1);
    for (uint32_t k = 0; k < 10; k++)
        h_expect_pattern(h, TCP_ACK, ISS + 2 + k * SEG1, IRS + 1, 1 + k * SEG1, SEG1);
    h_advance(h, 1 * MS);
    for (uint32_t k = 10; k < 12; k++) { /* Limited Transmit */
        h_send(h, TCP_ACK, IRS + 1, ISS + 2, NULL, 0);
        h_expect_pattern(h, TCP_ACK, ISS + 2 + k * SEG1, IRS + 1, 1 + k * SEG1, SEG1);
    }
    h_send(h, TCP_ACK, IRS + 1, ISS + 2, NULL, 0);
    h_expect_pattern(h, TCP_ACK, ISS + 2, IRS + 1, 1, SEG1);
    h_expect_nothing(h);
    tt_conn_info_t i = info_of(h);
    assert_int_equal(i.ca_state, TT_CA_RECOVERY);
    uint32_t ssthresh = i.ssthresh;
    h_send(h, TCP_ACK, IRS + 1, ISS + 2 + 12 * SEG1, NULL, 0);
    i = info_of(h);
    assert_int_equal(i.ca_state, TT_CA_OPEN);
    assert_int_equal(i.cwnd, ssthresh);
    return ssthresh;
}

/* Linux's default, and its numbers: cwnd 10 becomes 7 (10 x 717 / 1024). */
static void fast_retransmit_leaves_cwnd_at_0_7(void **state)
{
    struct harness *h = *state;

    tt_config_t def;
    tt_config_init(&def);
    assert_int_equal(def.tcp_congestion_control, TT_CC_CUBIC);
    assert_int_equal(h->cfg.tcp_congestion_control, TT_CC_CUBIC);
    assert_int_equal(fast_retransmit_from_cwnd_10(h), 7 * SEG1);
}

/* tcp_congestion_control reno: half, as before CUBIC. */
static void reno_fast_retransmit_leaves_cwnd_at_half(void **state)
{
    struct harness *h = *state;

    h->cfg.tcp_congestion_control = TT_CC_RENO;
    h_reinit(h);
    assert_int_equal(fast_retransmit_from_cwnd_10(h), INIT_CWND / 2);
}

/* ---- a simulated path for long runs ---- */

struct sim_pkt {
    uint64_t at;  /* when it reaches the peer */
    uint32_t idx; /* segment number in the stream */
    bool drop;
};

struct sim {
    struct harness *h;
    uint64_t rtt;
    struct sim_pkt q[SIM_QCAP]; /* in flight, oldest first (one delay for all) */
    uint32_t head, tail;
    bool got[SIM_SEGS];          /* what the peer holds */
    uint32_t rcv_nxt;            /* the peer's next expected segment */
    uint32_t sent;               /* new segments sent so far */
    uint32_t written;            /* segments the application wrote */
    uint64_t drop_at[SIM_DROPS]; /* drop the first new segment sent at or after each */
    int ndrops, next_drop;
};

static void sim_init(struct sim *s, struct harness *h, uint64_t rtt)
{
    memset(s, 0, sizeof(*s));
    s->h = h;
    s->rtt = rtt;
}

/* Everything the engine just sent goes on the path. */
static void sim_drain(struct sim *s)
{
    struct harness *h = s->h;
    while (h_pending(h) > 0) {
        const struct h_seg *g = h_pop_any(h);
        if (g->seg.len == 0)
            continue;
        uint32_t off = g->seg.seq - (ISS + 1);
        assert_int_equal(g->seg.len, SEG1);
        assert_int_equal(off % SEG1, 0);
        struct sim_pkt p = {h->now + s->rtt, off / SEG1, false};
        if (p.idx >= s->sent) {
            s->sent = p.idx + 1;
            if (s->next_drop < s->ndrops && h->now >= s->drop_at[s->next_drop]) {
                p.drop = true;
                s->next_drop++;
            }
        }
        assert_true(s->tail - s->head < SIM_QCAP);
        s->q[s->tail++ % SIM_QCAP] = p;
    }
}

/* A connection with room for SIM_SEGS segments, its handshake one RTT long
 * (the least RTT is CUBIC's). */
static void sim_start(struct sim *s)
{
    struct harness *h = s->h;
    h->cfg.sndbuf = 2 * SIM_SEGS * SEG1; /* the payload and its skbs' memory */
    h_reinit(h);
    h->peer_wnd = SIM_WND * SEG1; /* whole segments: none is cut to fit */
    h_reach_established_rtt(h, s->rtt);
}

/* The application writes n more segments; the first may go out at once. */
static void sim_write(struct sim *s, uint32_t n)
{
    struct harness *h = s->h;
    assert_true(s->written + n <= SIM_SEGS);
    assert_int_equal(h_write_pattern(h, (size_t)s->written * SEG1, (size_t)n * SEG1),
                     (ssize_t)n * SEG1);
    s->written += n;
    sim_drain(s);
}

/* The next segment reaches the peer, which ACKs it; false when none is left. */
static bool sim_step(struct sim *s)
{
    struct harness *h = s->h;
    if (s->head == s->tail)
        return false;
    struct sim_pkt p = s->q[s->head++ % SIM_QCAP];
    if (p.at > h->now)
        h_advance(h, p.at - h->now);
    sim_drain(s); /* a retransmission timeout may have fired */
    if (p.drop)
        return true;
    assert_true(p.idx < SIM_SEGS);
    s->got[p.idx] = true;
    while (s->rcv_nxt < SIM_SEGS && s->got[s->rcv_nxt])
        s->rcv_nxt++;
    h_send(h, TCP_ACK, IRS + 1, ISS + 1 + s->rcv_nxt * SEG1, NULL, 0);
    sim_drain(s);
    return true;
}

static void sim_run_until(struct sim *s, uint64_t t)
{
    while (s->head != s->tail && s->q[s->head % SIM_QCAP].at <= t)
        assert_true(sim_step(s));
}

/* Runs until a recovery has come and gone; returns when it ended. */
static uint64_t sim_through_recovery(struct sim *s)
{
    while (info_of(s->h).ca_state != TT_CA_RECOVERY)
        assert_true(sim_step(s));
    while (info_of(s->h).ca_state != TT_CA_OPEN)
        assert_true(sim_step(s));
    return s->h->now;
}

/* The first time cwnd reaches segs, from now on, or UINT64_MAX past limit. */
static uint64_t sim_time_to_reach(struct sim *s, uint32_t segs, uint64_t limit)
{
    while (cwnd_segs(s->h) < segs) {
        if (s->h->now > limit || !sim_step(s))
            return UINT64_MAX;
    }
    return s->h->now;
}

/*
 * A loss when cwnd is 40: slow start doubles 10, 20, 40 per RTT, and the
 * first segment sent in the third round trip is dropped.
 */
static uint64_t sim_loss_at_40(struct sim *s)
{
    sim_start(s);
    sim_write(s, SIM_SEGS);
    s->drop_at[s->ndrops++] = s->h->now + 2 * s->rtt;
    uint64_t end = sim_through_recovery(s);
    tt_conn_info_t i = info_of(s->h);
    assert_int_equal(i.ssthresh, 28 * SEG1); /* 40 x 0.7 */
    assert_int_equal(i.cwnd, 28 * SEG1);
    return end;
}

/*
 * RFC 9438 4.2: from W_max 40 and cwnd 28, K = cbrt(40 x 0.3 / 0.4) =
 * 3.107 s. With an RTT of 300 ms the cubic curve, not the Reno-friendly
 * line (28 + 0.53 per RTT), sets the pace, and cwnd follows W_cubic(t + RTT):
 * concave, within one segment of W_max from 1.45 s, flat at W_max around K,
 * above it only once W_cubic passes 41, at K + cbrt(1 / 0.4) - RTT = 4.16 s,
 * then convex. Reno would climb one segment per RTT from 20 (see below).
 */
static void cubic_returns_to_w_max_after_k(void **state)
{
    struct harness *h = *state;
    struct sim s;

    sim_init(&s, h, 300 * MS);
    uint64_t t0 = sim_loss_at_40(&s);
    sim_run_until(&s, t0 + 1000 * MS); /* W_cubic(1.3 s) = 37.6 */
    assert_in_range(cwnd_segs(h), 36, 38);
    uint64_t t40 = sim_time_to_reach(&s, 40, t0 + 10 * SEC);
    assert_in_range(t40 - t0, 1450 * MS - s.rtt, 3107 * MS);
    sim_run_until(&s, t0 + 3107 * MS);
    assert_int_equal(cwnd_segs(h), 40); /* the plateau at K */
    uint64_t t41 = sim_time_to_reach(&s, 41, t0 + 10 * SEC);
    assert_in_range(t41 - t0, 4160 * MS - s.rtt, 4160 * MS + s.rtt);
    sim_run_until(&s, t0 + 4660 * MS); /* K + 1.55 s: W_cubic(4.96 s) = 42.5 */
    assert_in_range(cwnd_segs(h), 41, 44);
}

/*
 * RFC 9438 4.3: with an RTT of 10 ms, K is still 3.107 s, 310 RTTs; the
 * cubic curve alone would give W_cubic(0.2 s + RTT) = 40 - 0.4 x 2.9^3 =
 * 30.3 after 20 RTTs. The Reno-friendly W_est grows alpha_cubic = 0.53
 * segments per RTT, to 38.6, and cwnd keeps up with it.
 */
static void reno_friendly_region_at_small_rtt(void **state)
{
    struct harness *h = *state;
    struct sim s;

    sim_init(&s, h, 10 * MS);
    uint64_t t0 = sim_loss_at_40(&s);
    sim_run_until(&s, t0 + 200 * MS);
    assert_in_range(cwnd_segs(h), 36, 40);
}

/* Steps until recovery starts; returns cwnd just before it did. */
static uint32_t sim_until_recovery(struct sim *s)
{
    uint32_t before = cwnd_segs(s->h);
    while (info_of(s->h).ca_state != TT_CA_RECOVERY) {
        before = cwnd_segs(s->h);
        assert_true(sim_step(s));
    }
    return before;
}

/*
 * RFC 9438 4.7: a second loss at cwnd 36, below W_max 40, sets W_max to
 * 36 x (1 + 0.7) / 2 = 30 (Linux: 36 x 1741 / 2048), not 36; ssthresh is
 * 36 x 0.7 = 25. So cwnd plateaus at 30 from K = cbrt(5 / 0.4) = 2.3 s
 * on; without fast convergence it would be climbing to 36 by then, and
 * be there at cbrt(11 / 0.4) = 3.0 s.
 */
static void fast_convergence_lowers_w_max(void **state)
{
    struct harness *h = *state;
    struct sim s;

    sim_init(&s, h, 300 * MS);
    uint64_t t0 = sim_loss_at_40(&s);
    assert_true(sim_time_to_reach(&s, 34, t0 + 10 * SEC) != UINT64_MAX);
    s.drop_at[s.ndrops++] = h->now; /* the next new segment */
    uint32_t c2 = sim_until_recovery(&s);
    assert_int_equal(c2, 36);
    uint64_t t1 = sim_through_recovery(&s);
    assert_int_equal(info_of(h).ssthresh, 25 * SEG1);
    sim_run_until(&s, t1 + 2300 * MS);
    assert_int_equal(cwnd_segs(h), 30);
    sim_run_until(&s, t1 + 3300 * MS);
    assert_int_equal(cwnd_segs(h), 30);
}

/*
 * Linux's CA_EVENT_TX_START: a flow that stops for lack of data and starts
 * again 5 s later goes on along the curve where it left it (near the
 * plateau at W_max 40), not where 5 s more would have put it (W_cubic
 * 40 + 0.4 x 3^3 = 51 and more: cwnd would grow 1.5 x per RTT, to the
 * peer's window of 44).
 */
static void idle_time_is_not_on_the_curve(void **state)
{
    struct harness *h = *state;
    struct sim s;

    sim_init(&s, h, 300 * MS);
    sim_start(&s);
    sim_write(&s, 180); /* runs out about 1 s after the recovery */
    s.drop_at[s.ndrops++] = h->now + 2 * s.rtt;
    sim_through_recovery(&s);
    while (sim_step(&s))
        ;
    uint32_t before = cwnd_segs(h);
    assert_in_range(before, 34, 40);
    h_advance(h, 5 * SEC);
    sim_write(&s, 400);
    sim_run_until(&s, h->now + 3 * s.rtt);
    assert_in_range(cwnd_segs(h), before, 40);
}

/*
 * Reno's congestion avoidance in the same path: one segment per RTT from
 * 20, so at 3.1 s (about K for CUBIC) cwnd is about 30, far from 40.
 */
static void reno_grows_one_segment_per_rtt(void **state)
{
    struct harness *h = *state;
    struct sim s;

    h->cfg.tcp_congestion_control = TT_CC_RENO;
    sim_init(&s, h, 300 * MS);
    sim_start(&s);
    sim_write(&s, SIM_SEGS);
    s.drop_at[s.ndrops++] = h->now + 2 * s.rtt;
    uint64_t t0 = sim_through_recovery(&s);
    assert_int_equal(cwnd_segs(h), 20);
    sim_run_until(&s, t0 + 3107 * MS);
    assert_in_range(cwnd_segs(h), 28, 31);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(fast_retransmit_leaves_cwnd_at_0_7, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(reno_fast_retransmit_leaves_cwnd_at_half, h_setup,
                                        h_teardown),
        cmocka_unit_test_setup_teardown(cubic_returns_to_w_max_after_k, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(reno_friendly_region_at_small_rtt, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(fast_convergence_lowers_w_max, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(idle_time_is_not_on_the_curve, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(reno_grows_one_segment_per_rtt, h_setup, h_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
