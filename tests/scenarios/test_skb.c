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
 * only); acknowledged skbs are dropped, the last one frees the array. */
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
    assert_null(h->conn->skbs.v);
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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(write_cut_at_size_goal, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(small_writes_share_the_tail, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(record_end_closes_the_skb, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(sent_tail_then_acked, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(split_keeps_marks_on_the_second_part, h_setup, h_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
