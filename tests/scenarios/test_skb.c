/*
 * Scenarios: the skbs Linux's tcp_sendmsg() makes of the application's
 * writes (tcp_skb.c, docs/contract.md §2.5 item 7). With the peer's window
 * shut nothing is sent, so the skbs stay as the writes made them:
 *
 * - a write fills the unsent tail skb up to size_goal (tcp_xmit_size_goal():
 *   whole segments up to half the peer's largest window, here
 *   65535 / 2 -> 22 x 1460 = 32120 bytes), then starts a new one;
 * - PSH on the tail at the end of a write (tcp_push()), not with MSG_MORE,
 *   and taken off the skb a later write adds to;
 * - inside a write, PSH on a full skb when more than half the peer's
 *   largest window went in since the last mark (forced_push());
 * - no later write joins an skb that ends a record (MSG_EOR);
 * - acknowledged skbs go, and with the last one their memory.
 */
#include <stdlib.h>

#include "engine.h" /* the skbs are the engine's own, not the API's */
#undef MS           /* harness.h has its own */
#undef SEC
#include "harness.h"

#define GOAL (22 * H_MSS) /* size_goal against a 65535-byte window */
#define DATA0 (ISS + 1)

/* Established, then the peer shuts its window: writes stay queued. */
static void established_window_shut(struct harness *h)
{
    h_reach_established_passive(h);
    h->peer_wnd = 0;
    h_send(h, TCP_ACK, IRS + 1, ISS + 1, NULL, 0);
    h_expect_nothing(h);
}

static ssize_t write_flags(struct harness *h, size_t len, int flags)
{
    uint8_t *buf = calloc(1, len);
    assert_non_null(buf);
    ssize_t n = tt_conn_write_flags(h->conn, buf, len, flags);
    free(buf);
    return n;
}

/* The i-th skb is [DATA0 + from, DATA0 + to) with these flags. */
static void expect_skb(struct harness *h, uint32_t i, uint32_t from, uint32_t to, uint8_t flags)
{
    struct tt_skb_view v;
    assert_true(tt_skb_at(h->conn, i, &v));
    assert_int_equal(v.seq, DATA0 + from);
    assert_int_equal(v.end, DATA0 + to);
    assert_int_equal(v.flags, flags);
}

/* One write of three skbs and a bit: full skbs of size_goal, a forced push
 * on the second (64240 bytes past the mark, more than 32767), PSH on the
 * tail at the write's end. */
static void write_cut_at_size_goal(void **state)
{
    struct harness *h = *state;

    established_window_shut(h);
    assert_int_equal(write_flags(h, 3 * GOAL + 500, 0), 3 * GOAL + 500);
    assert_int_equal(tt_skb_count(h->conn), 4);
    assert_int_equal(tt_skb_unsent_count(h->conn), 4);
    expect_skb(h, 0, 0, GOAL, 0);
    expect_skb(h, 1, GOAL, 2 * GOAL, TT_SKB_PSH);
    expect_skb(h, 2, 2 * GOAL, 3 * GOAL, 0);
    expect_skb(h, 3, 3 * GOAL, 3 * GOAL + 500, TT_SKB_PSH);
    struct tt_skb_view v;
    assert_true(tt_skb_find(h->conn, DATA0 + GOAL + 7, &v));
    assert_int_equal(v.seq, DATA0 + GOAL);
    assert_false(tt_skb_at(h->conn, 4, &v));
}

/* Small writes join the unsent tail; the mark follows the last write
 * without MSG_MORE; MSG_MORE leaves the tail unmarked. */
static void small_writes_share_the_tail(void **state)
{
    struct harness *h = *state;

    established_window_shut(h);
    assert_int_equal(write_flags(h, 100, 0), 100);
    expect_skb(h, 0, 0, 100, TT_SKB_PSH);
    assert_int_equal(write_flags(h, 200, TT_WRITE_MORE), 200);
    assert_int_equal(tt_skb_count(h->conn), 1);
    expect_skb(h, 0, 0, 300, 0);
    assert_int_equal(write_flags(h, 50, 0), 50);
    expect_skb(h, 0, 0, 350, TT_SKB_PSH);
}

/* MSG_EOR closes its skb: the next write starts another. */
static void record_end_closes_the_skb(void **state)
{
    struct harness *h = *state;

    established_window_shut(h);
    assert_int_equal(write_flags(h, 100, TT_WRITE_EOR), 100);
    assert_int_equal(write_flags(h, 100, 0), 100);
    assert_int_equal(tt_skb_count(h->conn), 2);
    expect_skb(h, 0, 0, 100, TT_SKB_PSH | TT_SKB_EOR);
    expect_skb(h, 1, 100, 200, TT_SKB_PSH);
}

/* A sent tail takes no more data (Linux's write queue holds unsent skbs
 * only); acknowledged skbs are dropped; the first-size array stays for the
 * next write (test_spare.c). */
static void sent_tail_then_acked(void **state)
{
    struct harness *h = *state;

    h_reach_established_passive(h);
    assert_int_equal(h_write_pattern(h, 0, 100), 100);
    h_expect_pattern(h, TCP_ACK | TCP_PSH, DATA0, IRS + 1, 0, 100);
    assert_int_equal(h_write_pattern(h, 100, 100), 100); /* Nagle holds it */
    assert_int_equal(tt_skb_count(h->conn), 2);
    assert_int_equal(tt_skb_unsent_count(h->conn), 1);
    expect_skb(h, 0, 0, 100, TT_SKB_PSH);
    expect_skb(h, 1, 100, 200, TT_SKB_PSH);
    h_send(h, TCP_ACK, IRS + 1, DATA0 + 100, NULL, 0);
    h_expect_pattern(h, TCP_ACK | TCP_PSH, DATA0 + 100, IRS + 1, 100, 100);
    assert_int_equal(tt_skb_count(h->conn), 1);
    assert_int_equal(tt_skb_unsent_count(h->conn), 0);
    expect_skb(h, 0, 100, 200, TT_SKB_PSH);
    h_send(h, TCP_ACK, IRS + 1, DATA0 + 200, NULL, 0);
    h_expect_nothing(h);
    assert_int_equal(tt_skb_count(h->conn), 0);
    assert_int_equal(h->conn->skbs.cap, 4); /* SKB_MIN */
}

/* tso_fragment(): a cut skb's first part loses PSH and EOR. */
static void split_keeps_marks_on_the_second_part(void **state)
{
    struct harness *h = *state;

    established_window_shut(h);
    assert_int_equal(write_flags(h, 3000, TT_WRITE_EOR), 3000);
    tt_skb_split(h->conn, DATA0 + 1460);
    tt_skb_split(h->conn, DATA0 + 1460); /* a boundary already: nothing */
    assert_int_equal(tt_skb_count(h->conn), 2);
    expect_skb(h, 0, 0, 1460, 0);
    expect_skb(h, 1, 1460, 3000, TT_SKB_PSH | TT_SKB_EOR);
}

/* The next segment: [DATA0 + from, + len), PSH as psh says. */
static void expect_seg(struct harness *h, uint32_t from, uint32_t len, bool psh)
{
    const struct h_seg *s = h_expect_len(h, TCP_ACK, DATA0 + from, IRS + 1, len);
    assert_int_equal((s->seg.flags & TCP_PSH) != 0, psh);
}

/*
 * A long write sends as it fills (tcp_sendmsg_locked()): the first full skb
 * is the send head and goes at once, one packet of five (half of cwnd 10:
 * tcp_push_one()), which cuts it (tso_fragment()); the rest fills up to
 * size_goal again and, 39420 bytes past the last mark (more than 32767),
 * is marked PSH and pushed (forced_push(), five more segments). With cwnd
 * full the write goes on queueing skbs: PSH at a forced push every
 * 32767-odd bytes and at the end. Without the sends inside the write the
 * skbs would be cut at 32120 and 64240 and marked at 64240 instead.
 */
static void long_write_sends_as_it_fills(void **state)
{
    struct harness *h = *state;

    h_reach_established_passive(h);
    assert_int_equal(h_write_pattern(h, 0, 100000), 100000);
    for (uint32_t k = 0; k < 10; k++)
        expect_seg(h, k * H_MSS, H_MSS, k == 4 || k == 9); /* two packets of five */
    h_expect_nothing(h);
    assert_int_equal(tt_skb_count(h->conn), 5);
    expect_skb(h, 0, 0, 5 * H_MSS, 0);
    expect_skb(h, 1, 5 * H_MSS, 10 * H_MSS, 0); /* cut: its first part lost the mark */
    expect_skb(h, 2, 10 * H_MSS, 10 * H_MSS + GOAL, TT_SKB_PSH);
    expect_skb(h, 3, 10 * H_MSS + GOAL, 10 * H_MSS + 2 * GOAL, TT_SKB_PSH);
    expect_skb(h, 4, 10 * H_MSS + 2 * GOAL, 100000, TT_SKB_PSH);
}

/*
 * A peer window of 4380 bytes: size_goal is one segment (half the window,
 * 2190, rounded down to whole segments, at least one), so each skb holds
 * one. A write of three segments while the window is shut: the second is
 * past half the window since the last mark (forced_push()), the third ends
 * the write: PSH on both. When the window opens they go skb by skb, each
 * its own packet (tcp_write_xmit()), marks kept; one GSO packet of the
 * three would mark only the third.
 */
static void one_segment_skbs_keep_their_marks(void **state)
{
    struct harness *h = *state;

    h->peer_wnd = 3 * H_MSS;
    h_reach_established_passive(h);
    h->peer_wnd = 0;
    h_send(h, TCP_ACK, IRS + 1, DATA0, NULL, 0);
    assert_int_equal(h_write_pattern(h, 0, 3 * H_MSS), 3 * H_MSS);
    h_expect_nothing(h);
    assert_int_equal(tt_skb_count(h->conn), 3);
    h->peer_wnd = 3 * H_MSS;
    h_send(h, TCP_ACK, IRS + 1, DATA0, NULL, 0);
    expect_seg(h, 0, H_MSS, false);
    expect_seg(h, H_MSS, H_MSS, true);
    expect_seg(h, 2 * H_MSS, H_MSS, true);
}

/*
 * A GSO packet never goes past the end of its skb (tcp_write_xmit() sends
 * skb by skb): a record of three segments (MSG_EOR closes its skb) and a
 * write of four, queued while the window is shut, go as two packets of
 * three and four when it opens (packets of up to five: half of cwnd), PSH
 * on segments 3 and 7. Packets of five across the skbs would add PSH on
 * segment 5.
 */
static void packets_stop_at_skb_ends(void **state)
{
    struct harness *h = *state;

    established_window_shut(h);
    assert_int_equal(write_flags(h, 3 * H_MSS, TT_WRITE_EOR), 3 * H_MSS);
    assert_int_equal(write_flags(h, 4 * H_MSS, 0), 4 * H_MSS);
    h->peer_wnd = H_PEER_WND;
    h_send(h, TCP_ACK, IRS + 1, DATA0, NULL, 0);
    for (uint32_t k = 0; k < 7; k++)
        expect_seg(h, k * H_MSS, H_MSS, k == 2 || k == 6);
    h_expect_nothing(h);
}

/*
 * Loss recovery resends a lost skb as one packet (Linux
 * tcp_xmit_retransmit_queue(), __tcp_retransmit_skb()): ten segments left
 * as two packets of five, so two skbs; the peer SACKs all but segments 1
 * and 2, which RACK marks lost at once (no RTT yet). Both go again as one
 * packet of two, PSH forced on the second (__tcp_transmit_skb()), though
 * no write ends there (sack/sack-route-refresh-ip-tos.pkt).
 */
static void lost_packet_of_two_resent_with_psh(void **state)
{
    struct harness *h = *state;

    h_reach_established_sack(h, 0);
    assert_int_equal(h_write_pattern(h, 0, 10 * H_MSS), 10 * H_MSS);
    for (uint32_t k = 0; k < 10; k++)
        expect_seg(h, k * H_MSS, H_MSS, k == 4 || k == 9);
    struct tcp_opts o = {.sack_count = 1};
    o.sack[0].left = DATA0 + 3 * H_MSS;
    o.sack[0].right = DATA0 + 10 * H_MSS;
    h_send_opts(h, TCP_ACK, IRS + 1, DATA0 + H_MSS, &o, NULL, 0);
    expect_seg(h, H_MSS, H_MSS, false);
    expect_seg(h, 2 * H_MSS, H_MSS, true);
    h_expect_nothing(h);
}

/*
 * A segment sent again keeps its skb's PSH (Linux retransmits the skb,
 * flags and all): two writes of one segment each went out with PSH; the
 * timeout resends the first, still with PSH, though the last write's end
 * is elsewhere.
 */
static void retransmission_keeps_the_skb_mark(void **state)
{
    struct harness *h = *state;

    h->cfg.tcp_early_retrans = 0; /* the RTO, not a tail loss probe */
    h_reinit(h);
    h_reach_established_passive(h);
    assert_int_equal(h_write_pattern(h, 0, H_MSS), H_MSS);
    expect_seg(h, 0, H_MSS, true);
    assert_int_equal(h_write_pattern(h, H_MSS, H_MSS), H_MSS);
    expect_seg(h, H_MSS, H_MSS, true);
    h_advance(h, 300 * MS); /* the RTO: 200 ms (TCP_RTO_MIN) */
    expect_seg(h, 0, H_MSS, true);
}

/*
 * Linux counts SACKed segments by skb (tcp_skb_pcount(), sacked_out): three
 * SACKed records of 400 bytes are three segments, the duplicate-ACK
 * threshold (RFC 6675 IsLost with DupThresh 3, RACK off): the first record
 * is resent at once. In bytes they would be one segment (1200 < 1460).
 */
static void three_sacked_records_count_three(void **state)
{
    struct harness *h = *state;

    h->cfg.tcp_recovery = 0;
    h_reach_established_sack(h, 0);
    tt_conn_set_nodelay(h->conn, 1);
    for (uint32_t k = 0; k < 5; k++) {
        assert_int_equal(write_flags(h, 400, TT_WRITE_EOR), 400);
        expect_seg(h, k * 400, 400, true);
    }
    struct tcp_opts o = {.sack_count = 1};
    o.sack[0].left = DATA0 + 400;
    o.sack[0].right = DATA0 + 1600;
    h_send_opts(h, TCP_ACK, IRS + 1, DATA0, &o, NULL, 0);
    expect_seg(h, 0, 400, true);
    while (h_pending(h) > 0)
        h_pop_any(h); /* what recovery sends besides */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(write_cut_at_size_goal, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(small_writes_share_the_tail, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(record_end_closes_the_skb, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(sent_tail_then_acked, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(split_keeps_marks_on_the_second_part, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(long_write_sends_as_it_fills, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(one_segment_skbs_keep_their_marks, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(packets_stop_at_skb_ends, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(retransmission_keeps_the_skb_mark, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(lost_packet_of_two_resent_with_psh, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(three_sacked_records_count_three, h_setup, h_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
