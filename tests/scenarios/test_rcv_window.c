/*
 * Scenarios: our receive window at zero (an application that does not
 * read). RFC 9293 3.10.7.4: "If the RCV.WND is zero, no segments will be
 * acceptable, but special allowance should be made to accept valid ACKs,
 * URGs, and RSTs": the peer's probe still acknowledges our data, its text is
 * dropped and answered with an ACK. As Linux (tcp_data_queue), a bare FIN
 * at RCV.NXT is taken even then, so that teardown does not wait for the
 * application to read.
 */
#include "harness.h"

#define RCVBUF 1024

/* A passive connection whose application reads nothing, with a receive
 * buffer of RCVBUF bytes: the SYN-ACK offers RCVBUF. */
static void reach_established_not_reading(struct harness *h)
{
    h->cfg.rcvbuf = RCVBUF;
    h_reinit(h);
    h_reach_established_passive(h);
    tt_conn_read_stop(h->conn);
}

/* The peer fills our window with RCVBUF bytes at IRS+1, acking up to
 * ack; we ACK them all with a window of 0, at SND.NXT = snd_nxt. */
static void peer_fills_window(struct harness *h, uint32_t ack, uint32_t snd_nxt)
{
    uint8_t buf[RCVBUF];
    h_pattern_fill(buf, 0, sizeof(buf));
    h_send(h, TCP_ACK, IRS + 1, ack, buf, sizeof(buf));
    const struct h_seg *s = h_expect(h, TCP_ACK, snd_nxt, IRS + 1 + RCVBUF);
    assert_int_equal(s->seg.wnd, 0);
}

/*
 * RFC 9293 3.10.7.4 (valid ACKs accepted at zero window): both sides send;
 * our 100 bytes are in flight when the peer's 1024 fill our window. The
 * peer's zero-window probe (1 byte at RCV.NXT) acknowledges our 100 bytes:
 * its byte is dropped and ACKed with window 0, and our data, acknowledged,
 * is not retransmitted (it was, 3 times in 2 s, while the ACK was ignored).
 */
static void probe_ack_taken_with_zero_window(void **state)
{
    struct harness *h = *state;

    reach_established_not_reading(h);
    assert_int_equal(h_write_pattern(h, 0, 100), 100);
    h_expect_pattern(h, TCP_ACK, ISS + 1, IRS + 1, 0, 100);
    peer_fills_window(h, ISS + 1, ISS + 101);
    h_advance(h, 100 * MS);
    h_send(h, TCP_ACK, IRS + 1 + RCVBUF, ISS + 101, "z", 1);
    const struct h_seg *s = h_expect(h, TCP_ACK, ISS + 101, IRS + 1 + RCVBUF);
    assert_int_equal(s->seg.wnd, 0);
    h_advance(h, 10 * SEC);
    h_expect_nothing(h);
    assert_int_equal(h_stats(h).TcpRetransSegs, 0);
    assert_int_equal(h_conn_state(h), TT_STATE_ESTABLISHED);
}

/* The probe that acks nothing new is answered the same way and is not a
 * duplicate ACK: three of them trigger no fast retransmit (it carries data,
 * as Linux's FLAG_DATA makes it no dupack). */
static void probes_at_zero_window_are_not_dupacks(void **state)
{
    struct harness *h = *state;

    reach_established_not_reading(h);
    assert_int_equal(h_write_pattern(h, 0, 300), 300);
    h_expect_pattern(h, TCP_ACK, ISS + 1, IRS + 1, 0, 300);
    peer_fills_window(h, ISS + 101, ISS + 301);
    for (int i = 0; i < 4; i++) {
        h_send(h, TCP_ACK, IRS + 1 + RCVBUF, ISS + 101, "z", 1);
        h_expect(h, TCP_ACK, ISS + 301, IRS + 1 + RCVBUF);
    }
    assert_int_equal(h_stats(h).TcpRetransSegs, 0);
}

/* RFC 9293 3.10.7.4 with RFC 5961 3.2 at zero window: a RST at exactly
 * RCV.NXT resets, even with bytes in it; one at RCV.NXT+1 is outside the
 * (empty) window and dropped without a word. */
static void rst_at_rcv_nxt_taken_with_zero_window(void **state)
{
    struct harness *h = *state;

    reach_established_not_reading(h);
    peer_fills_window(h, ISS + 1, ISS + 1);
    h_send(h, TCP_RST | TCP_ACK, IRS + 2 + RCVBUF, ISS + 1, NULL, 0);
    h_expect_nothing(h);
    assert_int_equal(h_conn_state(h), TT_STATE_ESTABLISHED);
    h_send(h, TCP_RST | TCP_ACK, IRS + 1 + RCVBUF, ISS + 1, "reset", 5);
    h_expect_nothing(h);
    h_expect_closed(h, TT_WHY_RST_IN, h->now);
}

/*
 * Linux tcp_data_queue() ("some stacks send bare FIN in a loop"): at zero
 * window a bare FIN at RCV.NXT is accepted: we ACK it (RCV.NXT + 1) and
 * move to CLOSE_WAIT; the application reads the 1024 bytes, then EOF.
 */
static void bare_fin_taken_with_zero_window(void **state)
{
    struct harness *h = *state;

    reach_established_not_reading(h);
    peer_fills_window(h, ISS + 1, ISS + 1);
    h_send(h, TCP_FIN | TCP_ACK, IRS + 1 + RCVBUF, ISS + 1, NULL, 0);
    h_expect(h, TCP_ACK, ISS + 1, IRS + 2 + RCVBUF);
    assert_int_equal(h_conn_state(h), TT_STATE_CLOSE_WAIT);
    assert_int_equal(h->eof_calls, 0);
    h_adopt(h, h->conn);
    while (h_pending(h)) /* the window update, if one is sent */
        h_expect(h, TCP_ACK, ISS + 1, IRS + 2 + RCVBUF);
    assert_int_equal(h->rx_len, RCVBUF);
    assert_int_equal(h->eof_calls, 1);
    h_close(h);
    h_expect(h, TCP_FIN | TCP_ACK, ISS + 1, IRS + 2 + RCVBUF);
    h_send(h, TCP_ACK, IRS + 2 + RCVBUF, ISS + 2, NULL, 0);
    h_expect_nothing(h);
    h_expect_closed(h, TT_WHY_LAST_ACK, h->now);
}

/* Linux tcp_data_queue(): a FIN behind data at zero window goes with the
 * data; the ACK says where we are and the connection stays ESTABLISHED. */
static void fin_with_data_dropped_with_zero_window(void **state)
{
    struct harness *h = *state;

    reach_established_not_reading(h);
    peer_fills_window(h, ISS + 1, ISS + 1);
    h_send(h, TCP_FIN | TCP_ACK, IRS + 1 + RCVBUF, ISS + 1, "x", 1);
    h_expect(h, TCP_ACK, ISS + 1, IRS + 1 + RCVBUF);
    assert_int_equal(h_conn_state(h), TT_STATE_ESTABLISHED);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(probe_ack_taken_with_zero_window, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(probes_at_zero_window_are_not_dupacks, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(rst_at_rcv_nxt_taken_with_zero_window, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(bare_fin_taken_with_zero_window, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(fin_with_data_dropped_with_zero_window, h_setup,
                                        h_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
