/*
 * Scenarios: pacing as Linux does it under the fq qdisc (--tcp-pacing 1,
 * docs/contract.md §2.5 item 8). Linux gives each packet a departure time
 * (tcp_wstamp_ns) and moves it on by the packet's length at the pacing
 * rate (tcp_update_skb_after_send()); fq sends the packet then. The rate
 * is tcp_update_pacing_rate()'s: tcp_pacing_ss_ratio (200 %) of
 * cwnd x MSS / SRTT in slow start, tcp_pacing_ca_ratio (120 %) once cwnd
 * reaches half of ssthresh. The first ten segments go unpaced; a packet
 * sent after the departure time passed gets at most half its own time back
 * (credit for late timers), so the time is kept across idle periods.
 *
 * Every connection here: RTT 100 ms from the handshake (SRTT 100 ms),
 * MSS 1460, cwnd 10, GSO packets of two segments (tcp_tso_autosize() at
 * these rates: tcp_min_tso_segs).
 */
#include "harness.h"

#define SEG1 H_MSS
#define DATA0 (ISS + 1)
#define RTT (100 * MS)

/* Established with a handshake of rtt (SRTT from tcp_synack_rtt_meas()). */
static void established_rtt(struct harness *h, int pacing, uint64_t rtt)
{
    h->cfg.tcp_pacing = pacing;
    h->cfg.tcp_slow_start_after_idle = 0; /* the idle scenario keeps cwnd */
    h_reinit(h);
    h_reach_established_rtt(h, rtt);
}

static void established(struct harness *h, int pacing)
{
    established_rtt(h, pacing, RTT);
}

/* The next n data segments, from segment first on, all sent at time at. */
static void expect_segs_at(struct harness *h, uint32_t first, uint32_t n, uint64_t at)
{
    for (uint32_t i = first; i < first + n; i++) {
        const struct h_seg *s =
            h_expect_pattern(h, TCP_ACK, DATA0 + i * SEG1, IRS + 1, i * SEG1, SEG1);
        assert_int_equal(s->at_us, at);
    }
}

/* Pops every segment waiting; returns the highest sequence number sent
 * (from high on). */
static uint32_t drain(struct harness *h, uint32_t high)
{
    while (h_pending(h)) {
        const struct h_seg *s = h_pop_any(h);
        uint32_t end = s->seg.seq + (uint32_t)s->seg.len;
        if ((int32_t)(end - high) > 0)
            high = end;
    }
    return high;
}

/* The peer acknowledges the first n segments. */
static void ack_segs(struct harness *h, uint32_t n)
{
    h_send(h, TCP_ACK, IRS + 1, DATA0 + n * SEG1, NULL, 0);
}

/*
 * Slow start: the initial window leaves at once; the fifth packet brings
 * the count to ten segments, so the next departure is 2920 B at 2 x 10 x
 * 1460 B / 100 ms = 292 kB/s later, 10 ms. One RTT later an ACK of two
 * segments makes cwnd 12 (rate 350.4 kB/s, 8.333 ms per packet): the first
 * packet goes at once with half its time as credit (the flow was idle
 * since the 10 ms mark), the next 4.167 ms later, not before.
 */
static void slow_start_gaps_at_200_percent(void **state)
{
    struct harness *h = *state;

    established(h, 1);
    assert_int_equal(h_write_pattern(h, 0, 30 * SEG1), 30 * SEG1);
    uint64_t t0 = h->now;
    expect_segs_at(h, 0, 10, t0);
    h_expect_nothing(h);
    h_advance(h, RTT);
    ack_segs(h, 2);
    expect_segs_at(h, 10, 2, t0 + RTT);
    h_expect_nothing(h); /* cwnd has room for two more: pacing holds them */
    h_advance(h, 4166);
    h_expect_nothing(h);
    h_advance(h, 1);
    expect_segs_at(h, 12, 2, t0 + RTT + 4167);
    h_expect_nothing(h); /* cwnd is full */
}

/*
 * --tcp-pacing 0, Linux under pfifo: the same ACK sends all that cwnd
 * allows at once.
 */
static void nothing_paced_with_the_knob_off(void **state)
{
    struct harness *h = *state;

    established(h, 0);
    assert_int_equal(h_write_pattern(h, 0, 30 * SEG1), 30 * SEG1);
    uint64_t t0 = h->now;
    expect_segs_at(h, 0, 10, t0);
    h_advance(h, RTT);
    ack_segs(h, 2);
    expect_segs_at(h, 10, 4, t0 + RTT);
    h_expect_nothing(h);
}

/*
 * tcp_pacing_ss_ratio 100 halves the slow-start rate: the gap after the
 * ACK doubles to 8.333 ms (the first packet's credit is half its time).
 */
static void ss_ratio_sets_the_rate(void **state)
{
    struct harness *h = *state;

    h->cfg.tcp_pacing_ss_ratio = 100;
    established(h, 1);
    assert_int_equal(h_write_pattern(h, 0, 30 * SEG1), 30 * SEG1);
    uint64_t t0 = h->now;
    expect_segs_at(h, 0, 10, t0);
    h_advance(h, RTT);
    ack_segs(h, 2);
    expect_segs_at(h, 10, 2, t0 + RTT);
    h_advance(h, 8333);
    h_expect_nothing(h);
    h_advance(h, 1);
    expect_segs_at(h, 12, 2, t0 + RTT + 8334);
}

/*
 * The departure time is kept across idle time: after a second without
 * data, the first packet leaves at once and takes half of its time as
 * credit, not all the idle time. cwnd 20 after the ACK of the initial
 * window: 2 x 20 x 1460 B / 100 ms = 584 kB/s, 5 ms a packet, so the
 * second packet follows 2.5 ms later, the third 5 ms after that.
 */
static void departure_time_kept_across_idle(void **state)
{
    struct harness *h = *state;

    established(h, 1);
    assert_int_equal(h_write_pattern(h, 0, 10 * SEG1), 10 * SEG1);
    expect_segs_at(h, 0, 10, h->now);
    h_advance(h, RTT);
    ack_segs(h, 10);
    h_expect_nothing(h);
    h_advance(h, 1 * SEC);
    assert_int_equal(h_write_pattern(h, 10 * SEG1, 20 * SEG1), 20 * SEG1);
    uint64_t t1 = h->now;
    expect_segs_at(h, 10, 2, t1);
    h_expect_nothing(h);
    h_advance(h, 2500);
    expect_segs_at(h, 12, 2, t1 + 2500);
    h_advance(h, 4999);
    h_expect_nothing(h);
    h_advance(h, 1);
    expect_segs_at(h, 14, 2, t1 + 7500);
}

/*
 * Congestion avoidance: after fast recovery cwnd = ssthresh, at least half
 * of ssthresh, so the rate is tcp_pacing_ca_ratio's 120 %. The gap between
 * two packets of new data is then their length over 1.2 x cwnd x MSS /
 * SRTT, read from TCP_INFO at that moment.
 */
static void congestion_avoidance_gaps_at_120_percent(void **state)
{
    struct harness *h = *state;

    established(h, 1);
    assert_int_equal(h_write_pattern(h, 0, 40 * SEG1), 40 * SEG1);
    expect_segs_at(h, 0, 10, h->now);
    h_advance(h, RTT);
    uint32_t high = DATA0 + 10 * SEG1;
    for (int k = 0; k < 3; k++) { /* segment 0 lost: three duplicate ACKs */
        ack_segs(h, 0);
        high = drain(h, high); /* Limited Transmit, the fast retransmit */
    }
    h_send(h, TCP_ACK, IRS + 1, high, NULL, 0); /* recovery ends: cwnd = ssthresh */
    tt_conn_info_t i;
    tt_conn_get_info(h->conn, &i);
    assert_true(i.ssthresh != UINT32_MAX && i.cwnd >= i.ssthresh / 2);
    drain(h, high); /* what the departure time let go at once */
    uint64_t rate = 120ull * (i.cwnd / SEG1) * SEG1 * 10000 / i.srtt_us; /* bytes/s */
    uint64_t gap_us = 2ull * SEG1 * SEC / rate;                          /* a packet of two */
    h_advance(h, gap_us + 1);
    assert_int_equal(h_pending(h), 2);
    uint64_t first = h_pop_any(h)->at_us;
    h_pop_any(h);
    h_advance(h, gap_us + 1);
    assert_int_equal(h_pending(h), 2);
    uint64_t second = h_pop_any(h)->at_us;
    assert_in_range(second - first, gap_us, gap_us + 1);
    drain(h, high);
}

/*
 * HyStart's ACK train (Linux hystart_update()): a paced flow's train must
 * last delay_min (plus the GSO cushion, 1 ms here), not half of it, since
 * pacing spreads a round's packets over up to half an RTT. RTT 10 ms; the
 * ACK of the initial window makes cwnd 20 and the next ACK starts a round;
 * then ACKs 1.9 ms apart, each a train's next. Unpaced, the fourth (5.7 ms
 * in, past 11 ms / 2) would end slow start; paced, the seventh (11.4 ms in).
 */
static void paced_ack_train_lasts_delay_min(void **state)
{
    struct harness *h = *state;

    established_rtt(h, 1, 10 * MS);
    assert_int_equal(h_write_pattern(h, 0, 100 * SEG1), 100 * SEG1);
    uint32_t high = drain(h, DATA0);
    h_advance(h, 10 * MS);
    ack_segs(h, 10);
    high = drain(h, high);
    h_advance(h, 10 * MS);
    for (uint32_t k = 1; k <= 7; k++) {
        high = drain(h, high);
        ack_segs(h, 10 + 2 * k);
        high = drain(h, high);
        tt_conn_info_t i;
        tt_conn_get_info(h->conn, &i);
        if (k < 7)
            assert_int_equal(i.ssthresh, UINT32_MAX);
        else
            assert_int_equal(i.ssthresh, i.cwnd);
        h_advance(h, 1900);
    }
    drain(h, high);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(slow_start_gaps_at_200_percent, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(nothing_paced_with_the_knob_off, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(ss_ratio_sets_the_rate, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(departure_time_kept_across_idle, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(congestion_avoidance_gaps_at_120_percent, h_setup,
                                        h_teardown),
        cmocka_unit_test_setup_teardown(paced_ack_train_lasts_delay_min, h_setup, h_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
