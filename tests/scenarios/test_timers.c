/*
 * Scenarios: timers other than TIME_WAIT's. The FIN_WAIT_2 timeout of an
 * orphan (Linux tcp_fin_timeout; RFC 9293 sets no bound), the delayed ACK
 * (RFC 1122 4.2.3.2, RFC 9293 3.8.6.3, RFC 5681 4.2) and the RTO ceiling with
 * the final give-up (RFC 6298 2.5 and 5.5, RFC 1122 4.2.3.5, Linux
 * tcp_retries2). Each deadline is checked one microsecond early too.
 */
#include "harness.h"

#include <errno.h>
#include <string.h>

#define DELACK (40 * MS)

static void advance_to(struct harness *h, uint64_t t)
{
    assert_true(t >= h->now);
    h_advance(h, t - h->now);
}

/* The orphan in FIN_WAIT_2 is dropped at exactly `at`, silently (as Linux). */
static void expect_fin_timeout_at(struct harness *h, uint64_t at)
{
    advance_to(h, at - 1);
    h_expect_nothing(h);
    assert_int_equal(h_conn_state(h), TT_STATE_FIN_WAIT_2);
    assert_int_equal(tt_engine_conn_count(h->eng), 1);
    h_advance(h, 1);
    h_expect_nothing(h);
    assert_int_equal(h_conn_state(h), TT_STATE_CLOSED);
    assert_int_equal(tt_engine_conn_count(h->eng), 0);
    assert_int_equal(tt_engine_timewait_count(h->eng), 0);
    h_expect_closed(h, TT_WHY_FIN_TIMEOUT, at);
}

/*
 * Linux tcp_fin_timeout (docs/contract.md §2.6, default 60 s): an orphan in FIN_WAIT_2 is
 * dropped 60 s after it entered FIN_WAIT_2, sending nothing; the peer's late
 * FIN then finds no connection and gets <SEQ=SEG.ACK><CTL=RST>.
 */
static void fin_wait_2_orphan_dropped_after_fin_timeout(void **state)
{
    struct harness *h = *state;

    h_reach_fin_wait_1(h, H_ORPHAN);
    h_advance(h, 100 * MS);
    h_send(h, TCP_ACK, IRS + 1, ISS + 2, NULL, 0);
    h_expect_nothing(h);
    expect_fin_timeout_at(h, h->now + 60 * SEC);
    h_send(h, TCP_FIN | TCP_ACK, IRS + 1, ISS + 2, NULL, 0);
    h_expect(h, TCP_RST, ISS + 2, 0);
}

/* docs/contract.md §3.2 --tcp-fin-timeout: the value is the engine's fin_timeout_us. */
static void fin_wait_2_timeout_follows_config(void **state)
{
    struct harness *h = *state;

    h->cfg.fin_timeout_us = 5 * SEC;
    h_reinit(h);
    h_reach_fin_wait_2(h, H_ORPHAN);
    expect_fin_timeout_at(h, h->now + 5 * SEC);
}

/* Linux: FIN_WAIT_2 after shutdown, with the handle still open, has no
 * timeout: the application may still be reading (RFC 9293 3.6). */
static void fin_wait_2_after_shutdown_waits_forever(void **state)
{
    struct harness *h = *state;

    h_reach_fin_wait_2(h, H_SHUTDOWN);
    h_advance(h, 600 * SEC);
    h_expect_nothing(h);
    assert_int_equal(h_conn_state(h), TT_STATE_FIN_WAIT_2);
    h_send(h, TCP_FIN | TCP_ACK, IRS + 1, ISS + 2, NULL, 0);
    h_expect(h, TCP_ACK, ISS + 2, IRS + 2);
    assert_int_equal(h->eof_calls, 1);
}

/* Linux tcp_close(): closing a handle already in FIN_WAIT_2 arms the
 * timeout from the close. */
static void fin_timeout_counts_from_close_in_fin_wait_2(void **state)
{
    struct harness *h = *state;

    h_reach_fin_wait_2(h, H_SHUTDOWN);
    h_advance(h, 10 * SEC);
    h_close(h);
    h_expect_nothing(h);
    expect_fin_timeout_at(h, h->now + 60 * SEC);
}

/*
 * The delayed-ACK fixture: delack 40 ms, passive open, and the first 16
 * data segments sent and ACKed at once (Linux's quick-ACK mode for a new
 * connection), after which ACKs are delayed. IRS moves on past those 16
 * bytes, so IRS + 1 is RCV.NXT again, and the received count starts at 0.
 */
static void established_with_delack(struct harness *h)
{
    h->cfg.delack_us = DELACK;
    h_reinit(h);
    h_reach_established_passive(h);
    for (uint32_t i = 0; i < 16; i++) {
        h_send(h, TCP_ACK, IRS + 1 + i, ISS + 1, "q", 1);
        h_expect(h, TCP_ACK, ISS + 1, IRS + 2 + i);
    }
    h->irs += 16;
    h->rx_len = 0;
}

/* Linux quick-ACK mode (tcp_incr_quickack): the first data segments of a
 * connection are ACKed at once, so slow start is not slowed by delayed ACKs. */
static void first_segments_acked_at_once(void **state)
{
    struct harness *h = *state;

    h->cfg.delack_us = DELACK;
    h_reinit(h);
    h_reach_established_passive(h);
    h_send(h, TCP_ACK, IRS + 1, ISS + 1, "abc", 3);
    h_expect(h, TCP_ACK, ISS + 1, IRS + 4);
}

/* RFC 1122 4.2.3.2, RFC 9293 3.8.6.3: in-order data is ACKed after the
 * delayed-ACK timeout (40 ms), not before. */
static void delayed_ack_sent_after_40ms(void **state)
{
    struct harness *h = *state;

    established_with_delack(h);
    h_send(h, TCP_ACK, IRS + 1, ISS + 1, "abc", 3);
    h_expect_nothing(h);
    h_expect_after(h, DELACK, TCP_ACK, ISS + 1, IRS + 4);
    h_advance(h, 1 * SEC);
    h_expect_nothing(h);
    assert_int_equal(h->rx_len, 3);
}

/* RFC 1122 4.2.3.2, RFC 5681 4.2: every second full-sized segment is ACKed
 * at once. */
static void second_full_segment_acked_at_once(void **state)
{
    struct harness *h = *state;
    uint8_t d[2 * H_MSS];

    h_pattern_fill(d, 0, sizeof(d));
    established_with_delack(h);
    h_send(h, TCP_ACK, IRS + 1, ISS + 1, d, H_MSS);
    h_expect_nothing(h);
    h_advance(h, 1 * MS);
    h_send(h, TCP_ACK, IRS + 1 + H_MSS, ISS + 1, d + H_MSS, H_MSS);
    h_expect(h, TCP_ACK, ISS + 1, IRS + 1 + 2 * H_MSS);
    h_advance(h, 1 * SEC);
    h_expect_nothing(h);
}

/* RFC 5681 4.2: an out-of-order segment is ACKed at once (duplicate ACK),
 * and so is the segment that fills the hole. */
static void out_of_order_acked_at_once_despite_delack(void **state)
{
    struct harness *h = *state;
    uint8_t d[200];

    h_pattern_fill(d, 0, sizeof(d));
    established_with_delack(h);
    h_send(h, TCP_ACK, IRS + 101, ISS + 1, d + 100, 100);
    h_expect(h, TCP_ACK, ISS + 1, IRS + 1);
    h_advance(h, 5 * MS);
    h_send(h, TCP_ACK, IRS + 1, ISS + 1, d, 100);
    h_expect(h, TCP_ACK, ISS + 1, IRS + 201);
    h_advance(h, 1 * SEC);
    h_expect_nothing(h);
}

/* Linux tcp_fin() schedules the FIN's ACK as a delayed one
 * (tcp_send_delayed_ack()); a delayed-ACK timer already running for data
 * keeps its earlier deadline, and its ACK covers the FIN. */
static void fin_ack_waits_for_the_running_delack(void **state)
{
    struct harness *h = *state;

    established_with_delack(h);
    h_send(h, TCP_ACK, IRS + 1, ISS + 1, "abc", 3);
    h_expect_nothing(h);
    h_advance(h, 10 * MS);
    h_send(h, TCP_FIN | TCP_ACK, IRS + 4, ISS + 1, NULL, 0);
    h_expect_after(h, DELACK - 10 * MS, TCP_ACK, ISS + 1, IRS + 5);
    h_advance(h, 1 * SEC);
    h_expect_nothing(h);
}

/* RFC 1122 4.2.3.2: data we send before the timer fires carries the ACK and
 * cancels the delayed one. */
static void delayed_ack_piggybacked_on_data(void **state)
{
    struct harness *h = *state;

    established_with_delack(h);
    h_send(h, TCP_ACK, IRS + 1, ISS + 1, "abc", 3);
    h_advance(h, 10 * MS);
    assert_int_equal(h_write(h, "xyz", 3), 3);
    h_expect_data(h, TCP_ACK, ISS + 1, IRS + 4, "xyz", 3);
    h_advance(h, 1 * MS);
    h_send(h, TCP_ACK, IRS + 4, ISS + 4, NULL, 0);
    h_expect_nothing(h);
    h_advance(h, 5 * SEC);
    h_expect_nothing(h);
}

/*
 * RFC 6298 5.5 and 2.5, Linux TCP_RTO_MAX and tcp_retries2 = 15: the RTO
 * doubles from 200 ms up to 102.4 s, then stays at 120 s; after the 15th
 * retransmission the next expiry (at +924.6 s in all, Linux's figure) ends
 * the connection: read_cb(-ETIMEDOUT), CLOSED why "timeout", nothing sent.
 */
static void rto_capped_at_120s_then_connection_times_out(void **state)
{
    struct harness *h = *state;
    uint64_t gap = 200 * MS;

    h_reach_established_passive(h);
    h_prime_rtt(h);
    assert_int_equal(h_write(h, "!", 1), 1);
    h_expect_data(h, TCP_ACK, ISS + 2, IRS + 1, "!", 1);
    uint64_t t_sent = h->now;
    for (int i = 1; i <= 15; i++) {
        h_advance(h, gap - 1);
        h_expect_nothing(h);
        h_advance(h, 1);
        h_expect_data(h, TCP_ACK, ISS + 2, IRS + 1, "!", 1);
        gap = gap * 2 > 120 * SEC ? 120 * SEC : gap * 2;
    }
    assert_int_equal(h->now - t_sent, 804600 * MS);
    h_advance(h, 120 * SEC - 1);
    h_expect_nothing(h);
    assert_int_equal(h->read_err, 0);
    h_advance(h, 1);
    h_expect_nothing(h);
    assert_int_equal(h->read_err, -ETIMEDOUT);
    h_expect_closed(h, TT_WHY_TIMEOUT, t_sent + 924600 * MS);
}

/* Linux tcp_fin_timeout: the peer's FIN just before the timeout moves the
 * orphan to TIME_WAIT; the FIN_WAIT_2 timer must not fire afterwards, and
 * TIME_WAIT runs its own 2*MSL from the final ACK. */
static void fin_timeout_cancelled_by_peer_fin(void **state)
{
    struct harness *h = *state;

    h_reach_fin_wait_2(h, H_ORPHAN);
    uint64_t t_fw2 = h->now;
    advance_to(h, t_fw2 + 60 * SEC - 1);
    h_send(h, TCP_FIN | TCP_ACK, IRS + 1, ISS + 2, NULL, 0);
    h_expect(h, TCP_ACK, ISS + 2, IRS + 2);
    uint64_t t_tw = h->now;
    advance_to(h, t_tw + 2 * SEC - 1);
    h_expect_nothing(h);
    assert_int_equal(h_conn_state(h), TT_STATE_TIME_WAIT);
    assert_int_equal(h_closed_why(h), -1);
    h_advance(h, 1);
    h_expect_closed(h, TT_WHY_TIMEWAIT_EXPIRED, t_tw + 2 * SEC);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(fin_wait_2_orphan_dropped_after_fin_timeout, h_setup,
                                        h_teardown),
        cmocka_unit_test_setup_teardown(fin_wait_2_timeout_follows_config, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(fin_wait_2_after_shutdown_waits_forever, h_setup,
                                        h_teardown),
        cmocka_unit_test_setup_teardown(fin_timeout_counts_from_close_in_fin_wait_2, h_setup,
                                        h_teardown),
        cmocka_unit_test_setup_teardown(fin_timeout_cancelled_by_peer_fin, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(first_segments_acked_at_once, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(delayed_ack_sent_after_40ms, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(second_full_segment_acked_at_once, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(out_of_order_acked_at_once_despite_delack, h_setup,
                                        h_teardown),
        cmocka_unit_test_setup_teardown(fin_ack_waits_for_the_running_delack, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(delayed_ack_piggybacked_on_data, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(rto_capped_at_120s_then_connection_times_out, h_setup,
                                        h_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
