/*
 * Scenarios: SO_LINGER (docs/contract.md §2.3, as Linux). {on, 0} and tt_conn_close_reset:
 * RST|ACK at SND.NXT/RCV.NXT, unsent data discarded, the connection gone at
 * once with no FIN and no TIME_WAIT (RFC 9293 3.10.5 ABORT). {on, N}: close_cb
 * reports 0 when our FIN is acknowledged, or -ETIMEDOUT after exactly N s
 * while the connection goes on.
 */
#include "harness.h"

#include <errno.h>
#include <string.h>

/* The abortive close left nothing behind and said why. */
static void expect_aborted(struct harness *h)
{
    assert_int_equal(tt_engine_conn_count(h->eng), 0);
    assert_int_equal(tt_engine_timewait_count(h->eng), 0);
    h_expect_closed(h, TT_WHY_RST_OUT, h->now);
    const tt_event_t *ev = h_last_event(h, TT_EV_RST_OUT);
    assert_non_null(ev);
    assert_string_equal(ev->rst_why, "linger0");
    h_advance(h, 0);
    assert_int_equal(h->close_calls, 1);
    assert_int_equal(h->close_status, 0);
    h_advance(h, 300 * SEC); /* no retransmission, no timer */
    h_expect_nothing(h);
}

/*
 * docs/contract.md §2.3 SO_LINGER {on, 0}: with 5400 bytes still queued behind the initial
 * window, close sends <SEQ=SND.NXT><ACK=RCV.NXT><CTL=RST,ACK> and nothing
 * else: the queued bytes are never sent, no FIN, no TIME_WAIT.
 */
static void linger0_close_sends_rst_and_discards_queued_data(void **state)
{
    struct harness *h = *state;
    const uint32_t mss = H_MSS;

    h_reach_established_passive(h);
    h_send(h, TCP_ACK, IRS + 1, ISS + 1, "req", 3);
    h_expect(h, TCP_ACK, ISS + 1, IRS + 4);
    assert_int_equal(h_write_pattern(h, 0, 20000), 20000);
    for (uint32_t i = 0; i < 10; i++)
        h_expect_pattern(h, TCP_ACK, ISS + 1 + i * mss, IRS + 4, i * mss, mss);
    h_set_linger(h, 1, 0);
    h_close(h);
    h_expect(h, TCP_RST | TCP_ACK, ISS + 1 + 10 * mss, IRS + 4);
    expect_aborted(h);
    assert_int_equal(h_stats(h).TcpOutRsts, 1);
}

/* libuv's uv_tcp_close_reset, docs/contract.md §2.3: tt_conn_close_reset is linger {on, 0}. */
static void close_reset_is_linger0(void **state)
{
    struct harness *h = *state;

    h_reach_established_passive(h);
    h_close_reset(h);
    h_expect(h, TCP_RST | TCP_ACK, ISS + 1, IRS + 1);
    expect_aborted(h);
}

/* docs/contract.md §2.3: in CLOSE_WAIT the RST acks the peer's FIN: ack = RCV.NXT = IRS+2. */
static void linger0_in_close_wait_acks_peer_fin(void **state)
{
    struct harness *h = *state;

    h_reach_close_wait(h);
    h_set_linger(h, 1, 0);
    h_close(h);
    h_expect(h, TCP_RST | TCP_ACK, ISS + 1, IRS + 2);
    expect_aborted(h);
}

/* docs/contract.md §2.3: after the abortive close the 4-tuple is free: the peer's next
 * segment gets a RST as for a closed port (RFC 9293 3.10.7.1). */
static void linger0_then_peer_segment_gets_rst(void **state)
{
    struct harness *h = *state;

    h_reach_established_passive(h);
    h_close_reset(h);
    h_expect(h, TCP_RST | TCP_ACK, ISS + 1, IRS + 1);
    h_send(h, TCP_ACK, IRS + 1, ISS + 1, "x", 1);
    h_expect(h, TCP_RST, ISS + 1, 0);
}

/* docs/contract.md §2.3 SO_LINGER {on, N} (Linux): close_cb(0) as soon as our FIN is
 * acknowledged, not before; the connection goes on in FIN_WAIT_2. */
static void linger_n_reports_success_when_fin_acked(void **state)
{
    struct harness *h = *state;

    h_reach_established_passive(h);
    h_set_linger(h, 1, 5);
    h_close(h);
    h_expect(h, TCP_FIN | TCP_ACK, ISS + 1, IRS + 1);
    h_advance(h, 100 * MS);
    assert_int_equal(h->close_calls, 0);
    h_send(h, TCP_ACK, IRS + 1, ISS + 2, NULL, 0);
    h_expect_nothing(h);
    assert_int_equal(h->close_calls, 1);
    assert_int_equal(h->close_status, 0);
    assert_int_equal(h->close_at, h->now);
    assert_int_equal(h_conn_state(h), TT_STATE_FIN_WAIT_2);
}

/* docs/contract.md §2.3 SO_LINGER {on, N} waits until our FIN is acknowledged: an ACK of the data
 * alone does not complete the close. */
static void linger_n_waits_for_data_and_fin(void **state)
{
    struct harness *h = *state;

    h_reach_established_passive(h);
    assert_int_equal(h_write(h, "tail", 4), 4);
    h_expect_data(h, TCP_ACK, ISS + 1, IRS + 1, "tail", 4);
    h_set_linger(h, 1, 5);
    h_close(h);
    h_expect(h, TCP_FIN | TCP_ACK, ISS + 5, IRS + 1);
    h_send(h, TCP_ACK, IRS + 1, ISS + 5, NULL, 0);
    h_expect_nothing(h);
    assert_int_equal(h->close_calls, 0);
    h_send(h, TCP_ACK, IRS + 1, ISS + 6, NULL, 0);
    h_expect_nothing(h);
    assert_int_equal(h->close_calls, 1);
    assert_int_equal(h->close_status, 0);
    h_advance(h, 10 * SEC); /* past the linger time: it was cancelled, nothing to tell */
    assert_null(h_last_event(h, TT_EV_LINGER_EXPIRED));
}

/* Pops every pending segment; each must be our FIN again. */
static void drain_fin_retransmissions(struct harness *h, uint32_t seq, uint32_t ack)
{
    while (h_pending(h))
        h_expect(h, TCP_FIN | TCP_ACK, seq, ack);
}

/*
 * docs/contract.md §2.3 SO_LINGER {on, N} (Linux): if the FIN is not
 * acknowledged within N s, close_cb(0) at exactly +N s (not 1 µs before),
 * as Linux's close() returns 0 then; the connection goes on without its
 * handle, still retransmitting its FIN, and a late ACK still moves it to
 * FIN_WAIT_2.
 */
static void linger_n_times_out_after_exactly_n_seconds(void **state)
{
    struct harness *h = *state;

    h_reach_established_passive(h);
    h_set_linger(h, 1, 5);
    uint64_t t_close = h->now;
    h_close(h);
    h_expect(h, TCP_FIN | TCP_ACK, ISS + 1, IRS + 1);
    h_advance(h, 5 * SEC - 1);
    drain_fin_retransmissions(h, ISS + 1, IRS + 1);
    assert_int_equal(h->close_calls, 0);
    h_advance(h, 1);
    drain_fin_retransmissions(h, ISS + 1, IRS + 1);
    assert_int_equal(h->close_calls, 1);
    assert_int_equal(h->close_status, 0); /* Linux's close() returns 0 */
    assert_int_equal(h->close_at, t_close + 5 * SEC);
    const tt_event_t *ev = h_last_event(h, TT_EV_LINGER_EXPIRED); /* the trace tells */
    assert_non_null(ev);
    assert_int_equal(ev->state, TT_STATE_FIN_WAIT_1);
    assert_int_equal(ev->now_us, t_close + 5 * SEC);
    assert_int_equal(h_conn_state(h), TT_STATE_FIN_WAIT_1);
    assert_int_equal(tt_engine_conn_count(h->eng), 1);
    h_advance(h, 10 * SEC);
    drain_fin_retransmissions(h, ISS + 1, IRS + 1);
    h_send(h, TCP_ACK, IRS + 1, ISS + 2, NULL, 0);
    h_expect_nothing(h);
    assert_int_equal(h_conn_state(h), TT_STATE_FIN_WAIT_2);
    assert_int_equal(h->close_calls, 1);
}

/* docs/contract.md §2.3 SO_LINGER {on, N}: the timeout counts from close even when the FIN
 * cannot leave yet (a zero window holds the data before it). */
static void linger_n_times_out_with_data_stuck_behind_zero_window(void **state)
{
    struct harness *h = *state;

    h_reach_established_passive(h);
    h->peer_wnd = 0;
    h_send(h, TCP_ACK, IRS + 1, ISS + 1, NULL, 0);
    h_expect_nothing(h);
    assert_int_equal(h_write_pattern(h, 0, 100), 100);
    h_set_linger(h, 1, 2);
    uint64_t t_close = h->now;
    h_close(h);
    h_advance(h, 2 * SEC - 1);
    while (h_pending(h)) /* zero-window probes, whatever their form */
        h_pop_any(h);
    assert_int_equal(h->close_calls, 0);
    h_advance(h, 1);
    while (h_pending(h))
        h_pop_any(h);
    assert_int_equal(h->close_calls, 1);
    assert_int_equal(h->close_status, 0);
    assert_int_equal(h->close_at, t_close + 2 * SEC);
}

/* A RST|ACK at <SEQ=seq><ACK=ack> ended the connection at once, said so in
 * the trace (rst_out "linger0", CLOSED why rst_out) and left nothing behind. */
static void expect_linger0_rst(struct harness *h, uint32_t seq, uint32_t ack)
{
    h_expect(h, TCP_RST | TCP_ACK, seq, ack);
    expect_aborted(h);
}

/* SO_LINGER {on, 0} when the application has already shut down: the FIN
 * went out or was queued, and close then aborts. */
static void linger0_close(struct harness *h)
{
    h_set_linger(h, 1, 0);
    h_close(h);
}

/*
 * Linux tcp_disconnect() (RFC 2525 2.17): in LAST_ACK an abortive close with
 * queued data never sent (and the FIN behind it) is a RST at SND.NXT, not a
 * silent disappearance that leaves the peer waiting for bytes that will
 * never come. 20000 bytes: ten segments leave in the initial window.
 */
static void linger0_in_last_ack_with_unsent_data_sends_rst(void **state)
{
    struct harness *h = *state;
    const uint32_t mss = H_MSS;

    h_reach_close_wait(h);
    assert_int_equal(h_write_pattern(h, 0, 20000), 20000);
    for (uint32_t i = 0; i < 10; i++)
        h_expect_pattern(h, TCP_ACK, ISS + 1 + i * mss, IRS + 2, i * mss, mss);
    h_shutdown(h);
    h_expect_nothing(h);
    assert_int_equal(h_conn_state(h), TT_STATE_LAST_ACK);
    linger0_close(h);
    expect_linger0_rst(h, ISS + 1 + 10 * mss, IRS + 2);
    h_expect_states(h, TT_STATE_CLOSE_WAIT, TT_STATE_LAST_ACK, TT_STATE_CLOSED, -1);
}

/* The same when only our FIN is unsent: the peer's 4-byte window holds the
 * 4 bytes of data and leaves no room for the FIN. */
static void linger0_in_last_ack_with_fin_unsent_sends_rst(void **state)
{
    struct harness *h = *state;

    h_reach_established_passive(h);
    h->peer_wnd = 4;
    h_send(h, TCP_FIN | TCP_ACK, IRS + 1, ISS + 1, NULL, 0);
    h_expect(h, TCP_ACK, ISS + 1, IRS + 2);
    assert_int_equal(h_write(h, "data", 4), 4);
    h_expect_data(h, TCP_ACK, ISS + 1, IRS + 2, "data", 4);
    h_shutdown(h);
    h_expect_nothing(h);
    assert_int_equal(h_conn_state(h), TT_STATE_LAST_ACK);
    linger0_close(h);
    expect_linger0_rst(h, ISS + 5, IRS + 2);
}

/* Linux tcp_disconnect(): CLOSING with data and FIN unsent (the peer's FIN
 * crossed our shutdown while the data waited for the window). */
static void linger0_in_closing_with_unsent_data_sends_rst(void **state)
{
    struct harness *h = *state;
    const uint32_t mss = H_MSS;

    h_reach_established_passive(h);
    assert_int_equal(h_write_pattern(h, 0, 20000), 20000);
    for (uint32_t i = 0; i < 10; i++)
        h_expect_pattern(h, TCP_ACK, ISS + 1 + i * mss, IRS + 1, i * mss, mss);
    h_shutdown(h);
    h_expect_nothing(h);
    h_send(h, TCP_FIN | TCP_ACK, IRS + 1, ISS + 1, NULL, 0);
    h_expect(h, TCP_ACK, ISS + 1 + 10 * mss, IRS + 2);
    assert_int_equal(h_conn_state(h), TT_STATE_CLOSING);
    linger0_close(h);
    expect_linger0_rst(h, ISS + 1 + 10 * mss, IRS + 2);
}

/* Nothing lost, nothing to say: the connection ends with no segment and
 * CLOSED why app_close, and a late ACK finds no connection. */
static void expect_silent_abort(struct harness *h)
{
    h_expect_nothing(h);
    assert_int_equal(tt_engine_conn_count(h->eng), 0);
    assert_int_equal(tt_engine_timewait_count(h->eng), 0);
    h_expect_closed(h, TT_WHY_APP_CLOSE, h->now);
    assert_null(h_last_event(h, TT_EV_RST_OUT));
    assert_int_equal(h_stats(h).TcpOutRsts, 0);
    h_advance(h, 300 * SEC);
    h_expect_nothing(h);
}

/* Linux tcp_disconnect(): LAST_ACK with everything sent (SND.NXT is the end
 * of the queue, FIN included) needs no RST: the peer has all our data and
 * our FIN. The connection goes without a segment, as on Linux. */
static void linger0_in_last_ack_all_sent_is_silent(void **state)
{
    struct harness *h = *state;

    h_reach_close_wait(h);
    h_shutdown(h);
    h_expect(h, TCP_FIN | TCP_ACK, ISS + 1, IRS + 2);
    linger0_close(h);
    expect_silent_abort(h);
}

/* The same in CLOSING: our FIN went out before the peer's arrived. */
static void linger0_in_closing_all_sent_is_silent(void **state)
{
    struct harness *h = *state;

    h_reach_closing(h, H_SHUTDOWN);
    linger0_close(h);
    expect_silent_abort(h);
}

/* Linux tcp_close() looks for unread data before SO_LINGER: with both, the
 * RST is the unread-data one (TcpExtTCPAbortOnClose), even in LAST_ACK with
 * everything sent, where linger {on, 0} alone would be silent. */
static void linger0_with_unread_data_resets_for_unread_data(void **state)
{
    struct harness *h = *state;

    h_reach_established_passive(h);
    tt_conn_read_stop(h->conn);
    h_send(h, TCP_FIN | TCP_ACK, IRS + 1, ISS + 1, "abc", 3);
    h_expect(h, TCP_ACK, ISS + 1, IRS + 5);
    h_shutdown(h);
    h_expect(h, TCP_FIN | TCP_ACK, ISS + 1, IRS + 5);
    linger0_close(h);
    h_expect(h, TCP_RST | TCP_ACK, ISS + 2, IRS + 5);
    h_expect_closed(h, TT_WHY_RST_OUT, h->now);
    assert_string_equal(h_last_event(h, TT_EV_RST_OUT)->rst_why, "unread_data");
    assert_int_equal(h_stats(h).TcpExtTCPAbortOnClose, 1);
    assert_int_equal(h_stats(h).TcpExtTCPAbortOnLinger, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(linger0_close_sends_rst_and_discards_queued_data, h_setup,
                                        h_teardown),
        cmocka_unit_test_setup_teardown(close_reset_is_linger0, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(linger0_in_close_wait_acks_peer_fin, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(linger0_then_peer_segment_gets_rst, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(linger_n_reports_success_when_fin_acked, h_setup,
                                        h_teardown),
        cmocka_unit_test_setup_teardown(linger_n_waits_for_data_and_fin, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(linger_n_times_out_after_exactly_n_seconds, h_setup,
                                        h_teardown),
        cmocka_unit_test_setup_teardown(linger_n_times_out_with_data_stuck_behind_zero_window,
                                        h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(linger0_in_last_ack_with_unsent_data_sends_rst, h_setup,
                                        h_teardown),
        cmocka_unit_test_setup_teardown(linger0_in_last_ack_with_fin_unsent_sends_rst, h_setup,
                                        h_teardown),
        cmocka_unit_test_setup_teardown(linger0_in_closing_with_unsent_data_sends_rst, h_setup,
                                        h_teardown),
        cmocka_unit_test_setup_teardown(linger0_in_last_ack_all_sent_is_silent, h_setup,
                                        h_teardown),
        cmocka_unit_test_setup_teardown(linger0_in_closing_all_sent_is_silent, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(linger0_with_unread_data_resets_for_unread_data, h_setup,
                                        h_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
