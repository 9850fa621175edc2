/*
 * Scenarios: the ACK of the peer's FIN. Linux tcp_fin() does not send it
 * when the FIN ends ESTABLISHED: the socket moves to CLOSE_WAIT, enters
 * pingpong mode and only schedules the ACK, as a delayed one
 * (tcp_send_delayed_ack()). An application that closes once it has read
 * the end of the stream then sends its FIN with the ACK on it, and three
 * segments close the connection, not four. How long the ACK waits is ato:
 * 0 before any data came (the timer fires at the next jiffy,
 * TT_DELACK_TICK_US here), the delayed-ACK timeout after. In FIN_WAIT_1
 * and FIN_WAIT_2 the ACK goes at once (tcp_fin() calls tcp_send_ack()).
 * Measured against Linux 6.18 over loopback: 0.8 to 4.8 ms without data,
 * 41 to 48 ms after data, an echo, or with data on the FIN itself.
 */
#include "harness.h"

#define DELACK (40 * MS)
#define TICK (2 * MS) /* TT_DELACK_TICK_US */

static void established_with_delack(struct harness *h)
{
    h->cfg.delack_us = DELACK;
    h_reinit(h);
    h_reach_established_passive(h);
}

static void close_on_eof(struct harness *h, const uint8_t *buf, ssize_t nread)
{
    (void)buf;
    if (nread == TT_EOF && h->conn)
        h_close(h);
}

static void echo_then_close_on_eof(struct harness *h, const uint8_t *buf, ssize_t nread)
{
    if (nread > 0)
        assert_int_equal(tt_conn_write(h->conn, buf, (size_t)nread), nread);
    close_on_eof(h, buf, nread);
}

/* The peer closes, the application closes at once: FIN, FIN+ACK, ACK. */
static void three_segment_close(struct harness *h)
{
    h_send(h, TCP_FIN | TCP_ACK, IRS + 1, ISS + 1, NULL, 0);
    h_expect(h, TCP_FIN | TCP_ACK, ISS + 1, IRS + 2);
    h_expect_nothing(h);
    h_send(h, TCP_ACK, IRS + 2, ISS + 2, NULL, 0);
    h_expect_nothing(h);
    h_expect_closed(h, TT_WHY_LAST_ACK, 0);
}

/* No data came (Linux: ato is 0): the ACK waits for the next jiffy. */
static void fin_without_data_acked_after_a_tick(void **state)
{
    struct harness *h = *state;

    established_with_delack(h);
    h_send(h, TCP_FIN | TCP_ACK, IRS + 1, ISS + 1, NULL, 0);
    assert_int_equal(h->eof_calls, 1);
    assert_int_equal(h_conn_state(h), TT_STATE_CLOSE_WAIT);
    h_expect_after(h, TICK, TCP_ACK, ISS + 1, IRS + 2);
    h_advance(h, 1 * SEC);
    h_expect_nothing(h);
    assert_int_equal(h_stats(h).TcpExtDelayedACKs, 1);
}

/* After data the ACK is a delayed one. Quick-ACK mode, which still ACKs
 * this new connection's data at once, does not apply in pingpong mode
 * (Linux tcp_in_quickack_mode()). */
static void fin_after_data_acked_after_delack(void **state)
{
    struct harness *h = *state;

    established_with_delack(h);
    h_send(h, TCP_ACK | TCP_PSH, IRS + 1, ISS + 1, "abc", 3);
    h_expect(h, TCP_ACK, ISS + 1, IRS + 4); /* quick-ACK mode */
    h_advance(h, 100 * MS);
    h_send(h, TCP_FIN | TCP_ACK, IRS + 4, ISS + 1, NULL, 0);
    h_expect_after(h, DELACK, TCP_ACK, ISS + 1, IRS + 5);
    h_advance(h, 1 * SEC);
    h_expect_nothing(h);
}

/* Data and FIN in one segment, the first data of the connection: quick-ACK
 * mode would ACK the data at once, pingpong mode delays it. */
static void data_with_fin_acked_after_delack(void **state)
{
    struct harness *h = *state;

    established_with_delack(h);
    h_send(h, TCP_FIN | TCP_ACK | TCP_PSH, IRS + 1, ISS + 1, "abc", 3);
    assert_int_equal(h->rx_len, 3);
    assert_int_equal(h->eof_calls, 1);
    h_expect_after(h, DELACK, TCP_ACK, ISS + 1, IRS + 5);
    h_expect_nothing(h);
}

/* Two full segments' worth unacknowledged is ACKed at once, FIN or not
 * (RFC 5681 4.2; the upstream packetdrill inq/server.pkt expects it). */
static void large_data_with_fin_acked_at_once(void **state)
{
    struct harness *h = *state;
    uint8_t d[2 * H_MSS];

    h_pattern_fill(d, 0, sizeof(d));
    established_with_delack(h);
    h_send(h, TCP_FIN | TCP_ACK, IRS + 1, ISS + 1, d, sizeof(d));
    h_expect(h, TCP_ACK, ISS + 1, IRS + 2 + sizeof(d));
    h_expect_nothing(h);
}

/* Linux __tcp_ack_snd_check(): more than one full segment (rcv_mss)
 * unacknowledged goes at once, and the FIN counts: a full segment with
 * the FIN after a first full one (the upstream packetdrill
 * ioctl/ioctl-siocinq-fin.pkt expects it). */
static void full_segment_with_fin_acked_at_once(void **state)
{
    struct harness *h = *state;
    uint8_t d[2000];

    h_pattern_fill(d, 0, sizeof(d));
    established_with_delack(h);
    h_send(h, TCP_ACK | TCP_PSH, IRS + 1, ISS + 1, d, 1000);
    h_expect(h, TCP_ACK, ISS + 1, IRS + 1001); /* quick-ACK mode */
    h_advance(h, 100 * MS);
    h_send(h, TCP_FIN | TCP_ACK | TCP_PSH, IRS + 1001, ISS + 1, d + 1000, 1000);
    h_expect(h, TCP_ACK, ISS + 1, IRS + 2002);
    h_expect_nothing(h);
}

/* Below rcv_mss (536 before a larger segment came), FIN included, it waits. */
static void short_segment_with_fin_waits(void **state)
{
    struct harness *h = *state;
    uint8_t d[500];

    h_pattern_fill(d, 0, sizeof(d));
    established_with_delack(h);
    h_send(h, TCP_FIN | TCP_ACK | TCP_PSH, IRS + 1, ISS + 1, d, sizeof(d));
    h_expect_after(h, DELACK, TCP_ACK, ISS + 1, IRS + 2 + sizeof(d));
}

/* The application closes from the callback that tells it of the FIN: its
 * FIN carries the ACK, and no other ACK is ever sent. */
static void prompt_close_sends_one_fin_ack(void **state)
{
    struct harness *h = *state;

    established_with_delack(h);
    h->on_read = close_on_eof;
    three_segment_close(h);
    h_advance(h, 1 * SEC);
    h_expect_nothing(h);
    assert_int_equal(h_stats(h).TcpExtDelayedACKs, 0);
}

/* The same after a request and its reply (a short connection): the reply
 * was data we sent, the FIN still waits for the close. */
static void prompt_close_after_echo_sends_one_fin_ack(void **state)
{
    struct harness *h = *state;

    established_with_delack(h);
    h->on_read = echo_then_close_on_eof;
    h_send(h, TCP_ACK | TCP_PSH, IRS + 1, ISS + 1, "ping", 4);
    h_expect_data(h, TCP_ACK, ISS + 1, IRS + 5, "ping", 4);
    h_send(h, TCP_ACK, IRS + 5, ISS + 5, NULL, 0);
    h_advance(h, 1 * MS);
    h_send(h, TCP_FIN | TCP_ACK, IRS + 5, ISS + 5, NULL, 0);
    h_expect(h, TCP_FIN | TCP_ACK, ISS + 5, IRS + 6);
    h_expect_nothing(h);
    h_send(h, TCP_ACK, IRS + 6, ISS + 6, NULL, 0);
    h_expect_closed(h, TT_WHY_LAST_ACK, 0);
}

/* A close in a later engine call, before the timer fires, is as prompt. */
static void close_before_the_tick_sends_one_fin_ack(void **state)
{
    struct harness *h = *state;

    established_with_delack(h);
    h_send(h, TCP_FIN | TCP_ACK, IRS + 1, ISS + 1, NULL, 0);
    h_advance(h, TICK - 1);
    h_expect_nothing(h);
    h_close(h);
    h_expect(h, TCP_FIN | TCP_ACK, ISS + 1, IRS + 2);
    h_send(h, TCP_ACK, IRS + 2, ISS + 2, NULL, 0);
    h_advance(h, 1 * SEC);
    h_expect_nothing(h);
    h_expect_closed(h, TT_WHY_LAST_ACK, 0);
}

/* A late close: the ACK went alone, and the FIN follows (four segments). */
static void late_close_is_a_four_segment_close(void **state)
{
    struct harness *h = *state;

    established_with_delack(h);
    h_send(h, TCP_FIN | TCP_ACK, IRS + 1, ISS + 1, NULL, 0);
    h_expect_after(h, TICK, TCP_ACK, ISS + 1, IRS + 2);
    h_advance(h, 100 * MS);
    h_close(h);
    h_expect(h, TCP_FIN | TCP_ACK, ISS + 1, IRS + 2);
    h_send(h, TCP_ACK, IRS + 2, ISS + 2, NULL, 0);
    h_expect_closed(h, TT_WHY_LAST_ACK, 0);
}

/* The peer's FIN again, its ACK still waiting: a retransmission is ACKed at
 * once (Linux tcp_data_queue(): quick-ACK mode for a duplicate), and that
 * ACK was the one owed. */
static void duplicate_fin_acked_at_once(void **state)
{
    struct harness *h = *state;

    established_with_delack(h);
    h_send(h, TCP_FIN | TCP_ACK, IRS + 1, ISS + 1, NULL, 0);
    h_expect_nothing(h);
    h_advance(h, 1 * MS);
    h_send(h, TCP_FIN | TCP_ACK, IRS + 1, ISS + 1, NULL, 0);
    h_expect(h, TCP_ACK, ISS + 1, IRS + 2);
    h_advance(h, 1 * SEC);
    h_expect_nothing(h);
    assert_int_equal(h->eof_calls, 1);
}

/* The FIN that fills the last hole: reassembly over, ACK at once (Linux
 * sets ICSK_ACK_NOW when the out-of-order queue empties). */
static void fin_after_a_hole_acked_at_once(void **state)
{
    struct harness *h = *state;

    established_with_delack(h);
    h_send(h, TCP_FIN | TCP_ACK, IRS + 4, ISS + 1, NULL, 0);
    h_expect(h, TCP_ACK, ISS + 1, IRS + 1); /* the duplicate ACK of the hole */
    h_send(h, TCP_ACK, IRS + 1, ISS + 1, "abc", 3);
    h_expect(h, TCP_ACK, ISS + 1, IRS + 5);
    assert_int_equal(h->eof_calls, 1);
    h_expect_nothing(h);
}

/* Simultaneous close: FIN_WAIT_1 -> CLOSING, the ACK at once. */
static void fin_in_fin_wait_1_acked_at_once(void **state)
{
    struct harness *h = *state;

    h->cfg.delack_us = DELACK;
    h_reinit(h);
    h_reach_fin_wait_1(h, H_SHUTDOWN);
    h_send(h, TCP_FIN | TCP_ACK, IRS + 1, ISS + 1, NULL, 0);
    h_expect(h, TCP_ACK, ISS + 2, IRS + 2);
    assert_int_equal(h_conn_state(h), TT_STATE_CLOSING);
}

/* Active close: FIN_WAIT_2 -> TIME_WAIT, the ACK at once. */
static void fin_in_fin_wait_2_acked_at_once(void **state)
{
    struct harness *h = *state;

    h->cfg.delack_us = DELACK;
    h_reinit(h);
    h_reach_fin_wait_2(h, H_SHUTDOWN);
    h_send(h, TCP_FIN | TCP_ACK, IRS + 1, ISS + 2, NULL, 0);
    h_expect(h, TCP_ACK, ISS + 2, IRS + 2);
    h_expect_nothing(h);
}

/* With delayed ACKs off (delack 0) the ACK goes out once the application
 * has heard of the FIN, alone if it did not close. */
static void no_delack_acks_fin_at_once(void **state)
{
    struct harness *h = *state;

    h_reach_established_passive(h);
    h_send(h, TCP_FIN | TCP_ACK, IRS + 1, ISS + 1, NULL, 0);
    h_expect(h, TCP_ACK, ISS + 1, IRS + 2);
    assert_int_equal(h->last_at, h->now);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(fin_without_data_acked_after_a_tick, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(fin_after_data_acked_after_delack, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(data_with_fin_acked_after_delack, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(large_data_with_fin_acked_at_once, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(full_segment_with_fin_acked_at_once, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(short_segment_with_fin_waits, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(prompt_close_sends_one_fin_ack, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(prompt_close_after_echo_sends_one_fin_ack, h_setup,
                                        h_teardown),
        cmocka_unit_test_setup_teardown(close_before_the_tick_sends_one_fin_ack, h_setup,
                                        h_teardown),
        cmocka_unit_test_setup_teardown(late_close_is_a_four_segment_close, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(duplicate_fin_acked_at_once, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(fin_after_a_hole_acked_at_once, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(fin_in_fin_wait_1_acked_at_once, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(fin_in_fin_wait_2_acked_at_once, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(no_delack_acks_fin_at_once, h_setup, h_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
