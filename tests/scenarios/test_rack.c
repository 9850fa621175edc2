/*
 * Scenarios: RACK loss detection (RFC 8985 section 6) as Linux does it
 * (net.ipv4.tcp_recovery 1, its default; Linux tcp_recovery.c). A segment
 * is lost when a segment sent after it has been delivered and the
 * reordering window has passed since it was sent; until then the reorder
 * timer waits for the rest. The window is min_RTT / 4 (times
 * reo_wnd_steps, which DSACKs raise), 0 once DupThresh segments are SACKed
 * or recovery is under way while no reordering has been seen.
 *
 * Every test agrees SACK in the handshake, whose RTT (100 ms) is the
 * first sample: SRTT = min_RTT = 100 ms, reo_wnd = 25 ms; RACK.rtt of a
 * segment SACKed 100 ms after it went out is 100 ms too.
 */
#include "harness.h"

#define RTT (100 * MS)
#define REO_WND (RTT / 4)
#define SLACK (2 * MS) /* Linux TCP_TIMEOUT_MIN: the timer fires this much after */

static tt_conn_info_t info_of(const struct harness *h)
{
    tt_conn_info_t i;
    tt_conn_get_info(h->conn, &i);
    return i;
}

/* Passive open with SACK; the peer's ACK of our SYN-ACK comes after RTT. */
static void reach_established(struct harness *h)
{
    h_reach_established_sack(h, RTT);
}

#define SEQ(k) (ISS + 1 + (uint32_t)(k)*H_MSS)

static void expect_seg(struct harness *h, uint32_t k)
{
    h_expect_pattern(h, TCP_ACK, SEQ(k), IRS + 1, (size_t)k * H_MSS, H_MSS);
}

/* Segments [from, to) of the stream written and sent now. */
static void send_segs(struct harness *h, uint32_t from, uint32_t to)
{
    uint32_t len = (to - from) * H_MSS;
    assert_int_equal(h_write_pattern(h, (size_t)from * H_MSS, len), len);
    for (uint32_t k = from; k < to; k++)
        expect_seg(h, k);
}

/* An ACK of SEQ(una) that SACKs segments [from, to). */
static void sack(struct harness *h, uint32_t una, uint32_t from, uint32_t to)
{
    struct tcp_opts o = {.sack_count = 1};
    o.sack[0].left = SEQ(from);
    o.sack[0].right = SEQ(to);
    h_send_opts(h, TCP_ACK, IRS + 1, SEQ(una), &o, NULL, 0);
}

/* Nothing until delay - 1 µs, then segment k at delay exactly. */
static void expect_seg_after(struct harness *h, uint64_t delay, uint32_t k)
{
    h_advance(h, delay - 1);
    h_expect_nothing(h);
    h_advance(h, 1);
    expect_seg(h, k);
}

/*
 * RFC 8985 6.2 step 5 and 6.3: four segments out, the peer SACKs the last
 * one a round trip later. The first three were sent before it, but the
 * reordering window has not passed: nothing yet, the reorder timer runs
 * for RACK.rtt + reo_wnd - (now - xmit_ts) = 25 ms (+ 2 ms, Linux). When
 * it fires they are lost: fast recovery, the first one goes out again
 * (packetdrill fr-4pkt-fack-last-mss, sack-shift-sacked-7-3-4-8-9-fack).
 */
static void reorder_timer_marks_lost(void **state)
{
    struct harness *h = *state;
    reach_established(h);
    send_segs(h, 0, 4);
    h_advance(h, RTT);
    sack(h, 0, 3, 4);
    h_expect_nothing(h);
    assert_int_equal(info_of(h).ca_state, TT_CA_DISORDER);
    expect_seg_after(h, REO_WND + SLACK, 0);
    tt_conn_info_t i = info_of(h);
    assert_int_equal(i.ca_state, TT_CA_RECOVERY);
    assert_int_equal(i.lost_segs, 3);
    h_expect_nothing(h);
}

/*
 * RFC 8985 6.2: what arrives within the reordering window is reordering,
 * not loss. The first three segments arrive 10 ms after the fourth: no
 * retransmission, ever; and the distance (four segments below the highest
 * SACK) is the reordering Linux reports (tcp_check_sack_reordering()).
 */
static void reordering_within_window_is_not_loss(void **state)
{
    struct harness *h = *state;
    reach_established(h);
    send_segs(h, 0, 4);
    h_advance(h, RTT);
    sack(h, 0, 3, 4);
    h_advance(h, 10 * MS);
    h_send(h, TCP_ACK, IRS + 1, SEQ(4), NULL, 0);
    h_advance(h, REO_WND + SLACK);
    h_expect_nothing(h);
    tt_conn_info_t i = info_of(h);
    assert_int_equal(i.ca_state, TT_CA_OPEN);
    assert_int_equal(i.reordering, 4);
    assert_int_equal(h_stats(h).TcpRetransSegs, 0);
}

/*
 * RFC 8985 6.2 step 5: a segment sent 30 ms after the first four is
 * SACKed a round trip after it went out. For the four, RACK.rtt + reo_wnd
 * = 125 ms has passed (130 ms): lost at once, no timer, although only one
 * segment is SACKed (RFC 6675's DupThresh would wait for three).
 */
static void later_segment_delivered_marks_earlier_lost(void **state)
{
    struct harness *h = *state;
    reach_established(h);
    send_segs(h, 0, 4);
    h_advance(h, 30 * MS);
    send_segs(h, 4, 5);
    h_advance(h, RTT);
    sack(h, 0, 4, 5);
    expect_seg(h, 0);
    tt_conn_info_t i = info_of(h);
    assert_int_equal(i.ca_state, TT_CA_RECOVERY);
    assert_int_equal(i.lost_segs, 4);
}

/*
 * RFC 8985 6.2 step 4 (Linux tcp_rack_reo_wnd()): with DupThresh (three)
 * segments SACKed and no reordering seen the window is 0: recovery at
 * once. tcp_recovery bit 0x4 (TT_RACK_NO_DUPTHRESH) keeps the window, and
 * the reorder timer decides.
 */
static void dupthresh_sacked_zero_window(void **state)
{
    struct harness *h = *state;
    reach_established(h);
    send_segs(h, 0, 10);
    h_advance(h, RTT);
    sack(h, 0, 3, 6);
    expect_seg(h, 0); /* PRR (RFC 6937): pipe 4 < ssthresh 7, three may go */
    expect_seg(h, 1);
    expect_seg(h, 2);
    assert_int_equal(info_of(h).lost_segs, 3);
}

static void no_dupthresh_waits_for_reo_wnd(void **state)
{
    struct harness *h = *state;
    h->cfg.tcp_recovery = TT_RACK_LOSS_DETECTION | TT_RACK_NO_DUPTHRESH;
    reach_established(h);
    send_segs(h, 0, 10);
    h_advance(h, RTT);
    sack(h, 0, 3, 6);
    h_expect_nothing(h);
    expect_seg_after(h, REO_WND + SLACK, 0);
}

/*
 * RFC 8985 6.2 (Linux tcp_rack_detect_loss() on retransmissions): in
 * recovery, segments 0-2 lost went out again together; the peer SACKs the
 * retransmission of 1 a round trip later (10 ms RTT here). Segment 0's
 * retransmission was sent before it and is not delivered: lost again (the
 * window is 0 in recovery), it goes out a third time. RFC 6675 alone
 * would wait for the RTO.
 */
static void lost_retransmission_sent_again(void **state)
{
    struct harness *h = *state;
    reach_established(h);
    send_segs(h, 0, 10);
    h_advance(h, RTT);
    sack(h, 0, 3, 6);
    expect_seg(h, 0);
    expect_seg(h, 1);
    expect_seg(h, 2);
    h_expect_nothing(h);
    h_advance(h, RTT);
    struct tcp_opts o = {.sack_count = 2};
    o.sack[0] = (struct tcp_sack_block){SEQ(1), SEQ(2)};
    o.sack[1] = (struct tcp_sack_block){SEQ(3), SEQ(6)};
    h_send_opts(h, TCP_ACK, IRS + 1, SEQ(0), &o, NULL, 0);
    expect_seg(h, 0);
    assert_int_equal(h_stats(h).TcpRetransSegs, 4);
}

/*
 * RFC 8985 6.2 step 3 (Linux tcp_rack_update_reo_wnd()): a DSACK says a
 * retransmission was spurious, the path reorders: reo_wnd_steps becomes 2
 * and the window 2 * min_RTT / 4 = 50 ms. The reorder timer of
 * reorder_timer_marks_lost() then fires 52 ms after the SACK, not 27.
 */
static void dsack_widens_reo_wnd(void **state)
{
    struct harness *h = *state;
    reach_established(h);
    send_segs(h, 0, 1);
    h_advance(h, RTT);
    struct tcp_opts o = {.sack_count = 1};
    o.sack[0] = (struct tcp_sack_block){SEQ(0), SEQ(1)}; /* below the ACK: a DSACK */
    h_send_opts(h, TCP_ACK, IRS + 1, SEQ(1), &o, NULL, 0);
    h_expect_nothing(h);
    send_segs(h, 1, 5);
    h_advance(h, RTT);
    sack(h, 1, 4, 5);
    h_advance(h, REO_WND + SLACK);
    h_expect_nothing(h);
    expect_seg_after(h, REO_WND, 1);
}

/*
 * Linux tcp_match_skb_to_sack(): a SACK block counts for the whole
 * segments it covers only. The last byte of the fourth segment SACKed
 * SACKs nothing: no segment is SACKed, nothing delivered, no reorder
 * timer (packetdrill fr-4pkt-fack-last-byte).
 */
static void partial_segment_sack_counts_nothing(void **state)
{
    struct harness *h = *state;
    reach_established(h);
    send_segs(h, 0, 4);
    h_advance(h, RTT);
    struct tcp_opts o = {.sack_count = 1};
    o.sack[0] = (struct tcp_sack_block){SEQ(4) - 1, SEQ(4)};
    h_send_opts(h, TCP_ACK, IRS + 1, SEQ(0), &o, NULL, 0);
    h_advance(h, REO_WND + SLACK);
    h_expect_nothing(h);
    assert_int_equal(info_of(h).sacked_segs, 0);
}

/* tcp_recovery 0: RACK off; one SACKed segment is not enough (RFC 6675
 * DupThresh), the tail loss probe comes first (2 SRTT + 2 ms after the
 * data went out): the highest segment again. */
static void rack_off_waits_for_dupthresh(void **state)
{
    struct harness *h = *state;
    h->cfg.tcp_recovery = 0;
    reach_established(h);
    send_segs(h, 0, 4);
    h_advance(h, RTT);
    sack(h, 0, 3, 4);
    h_advance(h, REO_WND + SLACK);
    h_expect_nothing(h);
    assert_int_equal(info_of(h).ca_state, TT_CA_DISORDER);
}

/*
 * Linux tcp_may_raise_cwnd(): ten segments out, all of cwnd (10). The
 * peer SACKs the last, then the fourth too: reordering of 7 segments,
 * more than tcp_reordering (3). From then on SACKed data opens cwnd as
 * acknowledged data does: 11 segments after the second SACK, 19 once the
 * other eight are acknowledged. The first SACK, before any reordering was
 * seen, opens nothing. Two reordering events: the fourth SACKed below the
 * highest SACK, the holes acknowledged without a retransmission (packetdrill
 * cubic/cubic-rack-reo-timeout-retrans-failed-incoming-data, tcpi_reord_seen).
 */
static void sacked_data_opens_cwnd_once_reordering_seen(void **state)
{
    struct harness *h = *state;
    reach_established(h);
    send_segs(h, 0, 10);
    h_advance(h, RTT);
    sack(h, 0, 9, 10);
    assert_int_equal(info_of(h).cwnd, 10 * H_MSS);
    struct tcp_opts o = {.sack_count = 2};
    o.sack[0] = (struct tcp_sack_block){SEQ(3), SEQ(4)};
    o.sack[1] = (struct tcp_sack_block){SEQ(9), SEQ(10)};
    h_send_opts(h, TCP_ACK, IRS + 1, SEQ(0), &o, NULL, 0);
    tt_conn_info_t i = info_of(h);
    assert_true(i.reordering > 3);
    assert_int_equal(i.cwnd, 11 * H_MSS);
    h_send(h, TCP_ACK, IRS + 1, SEQ(10), NULL, 0);
    i = info_of(h);
    assert_int_equal(i.cwnd, 19 * H_MSS);
    assert_int_equal(i.reordering, 10);
    assert_int_equal(i.reord_seen, 2);
    h_expect_nothing(h);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(reorder_timer_marks_lost, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(reordering_within_window_is_not_loss, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(later_segment_delivered_marks_earlier_lost, h_setup,
                                        h_teardown),
        cmocka_unit_test_setup_teardown(dupthresh_sacked_zero_window, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(no_dupthresh_waits_for_reo_wnd, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(lost_retransmission_sent_again, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(dsack_widens_reo_wnd, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(partial_segment_sack_counts_nothing, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(rack_off_waits_for_dupthresh, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(sacked_data_opens_cwnd_once_reordering_seen, h_setup,
                                        h_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
