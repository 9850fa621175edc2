/*
 * Scenarios: a segment at the right edge of our receive window. RFC 9293
 * 3.10.7.4's four cases put RCV.NXT+RCV.WND outside the window; Linux
 * (tcp_sequence) lets a segment that starts there in, and so does tuntcp.
 * It matters: a Linux sender that has sent our whole window, with one of
 * its segments lost, puts its pure ACKs exactly at the edge. Were they
 * dropped, our SND.UNA would go stale and the peer would take our ACKs for
 * old ones: each side waits for the other (seen in the soak, bulk echo
 * under loss).
 */
#include "harness.h"

#define RCVBUF 1024

/* A passive connection with a receive window of RCVBUF bytes, our first
 * 100 bytes in flight. */
static void reach_established_sending(struct harness *h)
{
    h->cfg.rcvbuf = RCVBUF;
    h_reinit(h);
    h_reach_established_passive(h);
    assert_int_equal(h_write_pattern(h, 0, 100), 100);
    h_expect_pattern(h, TCP_ACK, ISS + 1, IRS + 1, 0, 100);
}

/* The peer's second half of our window arrives, the first half lost: we
 * say where we are with an immediate ACK. The edge stays at IRS+1+RCVBUF. */
static void peer_loses_first_half(struct harness *h)
{
    uint8_t buf[RCVBUF / 2];
    h_pattern_fill(buf, RCVBUF / 2, sizeof(buf));
    h_send(h, TCP_ACK, IRS + 1 + RCVBUF / 2, ISS + 1, buf, sizeof(buf));
    h_expect(h, TCP_ACK, ISS + 101, IRS + 1);
}

/* The peer's pure ACK at the right edge acknowledges our 100 bytes: it
 * draws no reply, and our data is never retransmitted. */
static void pure_ack_at_right_edge_counts(void **state)
{
    struct harness *h = *state;

    reach_established_sending(h);
    peer_loses_first_half(h);
    h_send(h, TCP_ACK, IRS + 1 + RCVBUF, ISS + 101, NULL, 0);
    h_expect_nothing(h);
    h_advance(h, 10 * SEC);
    h_expect_nothing(h);
    assert_int_equal(h_stats(h).TcpRetransSegs, 0);
    assert_int_equal(h_conn_state(h), TT_STATE_ESTABLISHED);
}

/* One past the edge the segment is unacceptable (both RFC 9293 and Linux):
 * it is answered with an ACK and its ACK field is ignored, so our 100
 * bytes go again when the retransmission timer runs out. */
static void pure_ack_past_right_edge_dropped(void **state)
{
    struct harness *h = *state;

    reach_established_sending(h);
    h_send(h, TCP_ACK, IRS + 2 + RCVBUF, ISS + 101, NULL, 0);
    h_expect(h, TCP_ACK, ISS + 101, IRS + 1);
    h_advance(h, 300 * MS); /* the first retransmission only */
    h_expect_pattern(h, TCP_ACK, ISS + 1, IRS + 1, 0, 100);
    assert_true(h_stats(h).TcpRetransSegs >= 1);
}

/* Text that starts at the edge is beyond the window: its ACK counts, the
 * text is dropped, and an ACK tells the peer where we are. */
static void data_at_right_edge_acks_but_is_dropped(void **state)
{
    struct harness *h = *state;

    reach_established_sending(h);
    h_send(h, TCP_ACK, IRS + 1 + RCVBUF, ISS + 101, "x", 1);
    h_expect(h, TCP_ACK, ISS + 101, IRS + 1);
    h_advance(h, 10 * SEC);
    h_expect_nothing(h);
    assert_int_equal(h_stats(h).TcpRetransSegs, 0);
    assert_int_equal(h->rx_len, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(pure_ack_at_right_edge_counts, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(pure_ack_past_right_edge_dropped, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(data_at_right_edge_acks_but_is_dropped, h_setup,
                                        h_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
