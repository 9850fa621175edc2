/*
 * Scenarios: when a segment smaller than the MSS may leave. Nagle's
 * algorithm (RFC 896; RFC 1122 4.2.3.4, a SHOULD) in Linux's form
 * (tcp_nagle_check() with Minshall's variant: a partial segment waits
 * while a partial segment of ours is unacknowledged), TCP_NODELAY,
 * TCP_CORK and MSG_MORE (tt_conn_write_flags(TT_WRITE_MORE)), and PSH at
 * the end of each write and of each record (RFC 9293 3.9.1 "PUSH";
 * Linux tcp_mark_push(), MSG_EOR).
 */
#include <errno.h>

#include "harness.h"

static bool has_psh(const struct h_seg *s)
{
    return (s->seg.flags & TCP_PSH) != 0;
}

static ssize_t write_flags(struct harness *h, size_t off, size_t len, int flags)
{
    uint8_t buf[2048];
    assert_true(len <= sizeof(buf));
    h_pattern_fill(buf, off, len);
    return tt_conn_write_flags(h->conn, buf, len, flags);
}

/*
 * RFC 1122 4.2.3.4: with data unacknowledged, a segment smaller than the
 * MSS waits until the ACK comes, and what the application wrote meanwhile
 * leaves as one segment. The first small write goes at once: nothing is in
 * flight, so a request of one byte costs no delay (the echo's RTT).
 */
static void nagle_holds_small_segment_while_small_unacked(void **state)
{
    struct harness *h = *state;
    h_reach_established_passive(h);
    assert_int_equal(h_write_pattern(h, 0, 10), 10);
    h_expect_pattern(h, TCP_ACK, ISS + 1, IRS + 1, 0, 10);
    assert_int_equal(h_write_pattern(h, 10, 10), 10);
    assert_int_equal(h_write_pattern(h, 20, 10), 10);
    h_expect_nothing(h);
    h_advance(h, 5 * MS);
    h_send(h, TCP_ACK, IRS + 1, ISS + 11, NULL, 0);
    h_expect_pattern(h, TCP_ACK, ISS + 11, IRS + 1, 10, 20);
    h_expect_nothing(h);
}

/*
 * RFC 1122 4.2.3.4 holds only segments smaller than the MSS: a write of
 * more than an MSS sends its full segments while a small one is in flight,
 * and only the tail waits for the ACK.
 */
static void nagle_sends_full_segments(void **state)
{
    struct harness *h = *state;
    h_reach_established_passive(h);
    h_write_pattern(h, 0, 10);
    h_expect_pattern(h, TCP_ACK, ISS + 1, IRS + 1, 0, 10);
    assert_int_equal(h_write_pattern(h, 10, H_MSS + 5), H_MSS + 5);
    h_expect_pattern(h, TCP_ACK, ISS + 11, IRS + 1, 10, H_MSS);
    h_expect_nothing(h);
    h_send(h, TCP_ACK, IRS + 1, ISS + 11, NULL, 0);
    h_expect_pattern(h, TCP_ACK, ISS + 11 + H_MSS, IRS + 1, 10 + H_MSS, 5);
}

/*
 * Minshall's variant (Linux tcp_minshall_check()): a full segment in flight
 * does not hold the partial tail of a write; RFC 896's rule would, and
 * every write of a little more than an MSS would wait a round trip.
 */
static void minshall_full_segment_in_flight_does_not_hold_tail(void **state)
{
    struct harness *h = *state;
    h_reach_established_passive(h);
    assert_int_equal(h_write_pattern(h, 0, H_MSS + 100), H_MSS + 100);
    h_expect_pattern(h, TCP_ACK, ISS + 1, IRS + 1, 0, H_MSS);
    const struct h_seg *tail = h_expect_pattern(h, TCP_ACK, ISS + 1 + H_MSS, IRS + 1, H_MSS, 100);
    assert_true(has_psh(tail)); /* the end of the write */
}

/* TCP_NODELAY (RFC 1122 4.2.3.4: the application MAY disable Nagle): small
 * segments go out at once, and turning it on sends what Nagle held. */
static void nodelay_sends_at_once(void **state)
{
    struct harness *h = *state;
    h_reach_established_passive(h);
    h_write_pattern(h, 0, 10);
    h_expect_pattern(h, TCP_ACK, ISS + 1, IRS + 1, 0, 10);
    h_write_pattern(h, 10, 10);
    h_expect_nothing(h);
    assert_int_equal(tt_conn_set_nodelay(h->conn, 1), 0);
    h_expect_pattern(h, TCP_ACK, ISS + 11, IRS + 1, 10, 10);
    h_write_pattern(h, 20, 10);
    h_expect_pattern(h, TCP_ACK, ISS + 21, IRS + 1, 20, 10);
}

/* TCP_CORK (Linux tcp(7)): partial segments wait even with nothing in
 * flight, a full MSS goes, and removing the cork sends the rest with PSH. */
static void cork_holds_until_uncorked_or_full(void **state)
{
    struct harness *h = *state;
    h_reach_established_passive(h);
    assert_int_equal(tt_conn_set_cork(h->conn, 1), 0);
    h_write_pattern(h, 0, 40);
    h_write_pattern(h, 40, 40);
    h_expect_nothing(h);
    h_write_pattern(h, 80, H_MSS);
    h_expect_pattern(h, TCP_ACK, ISS + 1, IRS + 1, 0, H_MSS);
    h_expect_nothing(h);
    assert_int_equal(tt_conn_set_cork(h->conn, 0), 0);
    const struct h_seg *s = h_expect_pattern(h, TCP_ACK, ISS + 1 + H_MSS, IRS + 1, H_MSS, 80);
    assert_true(has_psh(s));
}

/*
 * The cork's ceiling: with nothing in flight, data a cork holds leaves once
 * the persist timer runs out (one RTO, 200 ms here; Linux's probe timer and
 * tcp_write_wakeup(), which sets PSH), so a cork never strands data.
 */
static void cork_released_after_one_rto(void **state)
{
    struct harness *h = *state;
    h_reach_established_passive(h);
    h_prime_rtt(h);
    tt_conn_set_cork(h->conn, 1);
    h_write_pattern(h, 1, 40);
    h_advance(h, 200 * MS - 1);
    h_expect_nothing(h);
    h_advance(h, 1);
    const struct h_seg *s = h_expect_pattern(h, TCP_ACK, ISS + 2, IRS + 1, 1, 40);
    assert_true(has_psh(s));
}

/* MSG_MORE (Linux tcp_push(): TCP_NAGLE_CORK for this call): the write
 * waits even with TCP_NODELAY, and the next plain write sends both with
 * PSH; data sent after MSG_MORE alone carries no PSH. */
static void msg_more_holds_and_sets_no_psh(void **state)
{
    struct harness *h = *state;
    h_reach_established_passive(h);
    tt_conn_set_nodelay(h->conn, 1);
    assert_int_equal(write_flags(h, 0, 20, TT_WRITE_MORE), 20);
    h_expect_nothing(h);
    assert_int_equal(write_flags(h, 20, 20, 0), 20);
    const struct h_seg *s = h_expect_pattern(h, TCP_ACK, ISS + 1, IRS + 1, 0, 40);
    assert_true(has_psh(s));
    h_send(h, TCP_ACK, IRS + 1, ISS + 41, NULL, 0);
    write_flags(h, 40, 30, TT_WRITE_MORE);
    h_expect_nothing(h);
    tt_conn_set_nodelay(h->conn, 1); /* Linux: setting it pushes what waits */
    s = h_expect_pattern(h, TCP_ACK, ISS + 41, IRS + 1, 40, 30);
    assert_false(has_psh(s));
}

/* MSG_EOR: no segment carries bytes of two records, and the end of each
 * is pushed. Without it the two writes would leave as one segment. Only
 * the last segment of the queue waits for the cork: a record followed by
 * more data goes (Linux tcp_write_xmit(): TCP_NAGLE_PUSH for all but the
 * last skb). */
static void eor_keeps_records_apart(void **state)
{
    struct harness *h = *state;
    h_reach_established_passive(h);
    tt_conn_set_cork(h->conn, 1);
    assert_int_equal(write_flags(h, 0, 100, TT_WRITE_EOR), 100);
    h_expect_nothing(h);
    assert_int_equal(write_flags(h, 100, 100, TT_WRITE_EOR), 100);
    assert_true(has_psh(h_expect_pattern(h, TCP_ACK, ISS + 1, IRS + 1, 0, 100)));
    h_expect_nothing(h);
    tt_conn_set_cork(h->conn, 0); /* now Nagle's turn: the first is unacknowledged */
    h_expect_nothing(h);
    h_send(h, TCP_ACK, IRS + 1, ISS + 101, NULL, 0);
    assert_true(has_psh(h_expect_pattern(h, TCP_ACK, ISS + 101, IRS + 1, 100, 100)));
    h_expect_nothing(h);
}

/* The FIN is never held (Linux tcp_nagle_test(): "or for the final FIN"):
 * a close sends what Nagle held with the FIN at once. */
static void fin_is_not_held_by_nagle(void **state)
{
    struct harness *h = *state;
    h_reach_established_passive(h);
    h_write_pattern(h, 0, 10);
    h_expect_pattern(h, TCP_ACK, ISS + 1, IRS + 1, 0, 10);
    h_write_pattern(h, 10, 10);
    h_expect_nothing(h);
    h_shutdown(h);
    h_expect_pattern(h, TCP_ACK | TCP_FIN, ISS + 11, IRS + 1, 10, 10);
}

/* The API's errors: an unknown flag, and a NULL buffer with a length. */
static void write_flags_errors(void **state)
{
    struct harness *h = *state;
    h_reach_established_passive(h);
    uint8_t b = 0;
    assert_int_equal(tt_conn_write_flags(h->conn, &b, 1, 0x100), -EINVAL);
    assert_int_equal(tt_conn_write_flags(h->conn, NULL, 1, 0), -EFAULT);
    assert_int_equal(tt_conn_write(h->conn, NULL, 1), -EFAULT);
    assert_int_equal(tt_conn_write(h->conn, NULL, 0), 0);
    h_expect_nothing(h);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(nagle_holds_small_segment_while_small_unacked, h_setup,
                                        h_teardown),
        cmocka_unit_test_setup_teardown(nagle_sends_full_segments, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(minshall_full_segment_in_flight_does_not_hold_tail, h_setup,
                                        h_teardown),
        cmocka_unit_test_setup_teardown(nodelay_sends_at_once, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(cork_holds_until_uncorked_or_full, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(cork_released_after_one_rto, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(msg_more_holds_and_sets_no_psh, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(eor_keeps_records_apart, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(fin_is_not_held_by_nagle, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(write_flags_errors, h_setup, h_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
