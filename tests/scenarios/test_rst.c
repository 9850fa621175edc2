/*
 * Scenarios: resets. The RST for a segment that matches nothing (RFC 9293
 * 3.10.7.1), never a RST for a RST; RST processing in each state with RFC
 * 5961 3.2 validation (exact: reset; in window: challenge ACK; outside:
 * ignored); the challenge ACK to a SYN in a synchronized state (RFC 5961 4.2);
 * ACK validation (RFC 5961 5.2); and the per-connection rate limit on such
 * ACKs (docs/contract.md §2.4, Linux tcp_invalid_ratelimit).
 */
#include "harness.h"

#include <errno.h>
#include <string.h>

#define CLOSED_PORT 9
#define OTHER_PORT 5555

static void use_closed_port(struct harness *h)
{
    h->lport = CLOSED_PORT;
    h->rport = OTHER_PORT;
}

/* RFC 9293 3.10.7.1: a segment with ACK to a closed port gets <SEQ=SEG.ACK><CTL=RST>. */
static void ack_to_closed_port_gets_rst_seq_seg_ack(void **state)
{
    struct harness *h = *state;

    use_closed_port(h);
    h_send(h, TCP_ACK, 1000, 0x12345678, "data", 4);
    h_expect(h, TCP_RST, 0x12345678, 0);
    assert_int_equal(h_stats(h).TcpOutRsts, 1);
}

/* RFC 9293 3.10.7.1: a SYN to a closed port gets
 * <SEQ=0><ACK=SEG.SEQ+SEG.LEN><CTL=RST,ACK>. */
static void syn_to_closed_port_gets_rst_ack(void **state)
{
    struct harness *h = *state;

    use_closed_port(h);
    h_send_syn(h);
    h_expect(h, TCP_RST | TCP_ACK, 0, IRS + 1);
}

/* RFC 9293 3.10.7.1: SEG.LEN counts the data and the FIN. */
static void fin_with_data_to_closed_port_acked_by_len(void **state)
{
    struct harness *h = *state;

    use_closed_port(h);
    h_send(h, TCP_FIN, 5000, 0, "0123456789", 10);
    h_expect(h, TCP_RST | TCP_ACK, 0, 5011);
}

/* RFC 9293 3.10.7.1: a RST is never answered with a RST. */
static void rst_to_closed_port_gets_nothing(void **state)
{
    struct harness *h = *state;

    use_closed_port(h);
    h_send(h, TCP_RST, 1000, 0, NULL, 0);
    h_expect_nothing(h);
    h_send(h, TCP_RST | TCP_ACK, 1000, 2000, NULL, 0);
    h_expect_nothing(h);
    assert_int_equal(h_stats(h).TcpOutRsts, 0);
}

/* docs/contract.md §4.2 rst_noconn: each RST that answers a segment of no
 * connection is an event with the 4-tuple, why and the segment's flags; a
 * RST, which gets no answer, makes none. */
static void rst_to_no_connection_is_an_event(void **state)
{
    struct harness *h = *state;
    const tt_event_t *ev;

    use_closed_port(h);
    h_send(h, TCP_RST, 1000, 0, NULL, 0);
    h_expect_nothing(h);
    assert_int_equal(h_count_events(h, TT_EV_RST_NOCONN), 0);
    h_send_syn(h);
    h_expect(h, TCP_RST | TCP_ACK, 0, IRS + 1);
    assert_int_equal(h_count_events(h, TT_EV_RST_NOCONN), 1);
    ev = h_last_event(h, TT_EV_RST_NOCONN);
    assert_string_equal(ev->rst_why, "no_connection");
    assert_int_equal(ev->seg_flags, TCP_SYN);
    assert_int_equal(ev->lport, CLOSED_PORT);
    assert_int_equal(ev->rport, OTHER_PORT);
    assert_int_equal(ev->raddr, H_PEER_ADDR);
    assert_int_equal(ev->now_us, h->now);
    assert_int_equal(h_count_events(h, TT_EV_STATE), 0); /* no connection came or went */
}

/* The peer reset the connection: nothing sent, CLOSED why "rst_in", an
 * RST_IN event naming the state it hit. */
static void expect_reset_in(struct harness *h, tt_state_t was)
{
    h_expect_nothing(h);
    assert_int_equal(h_conn_state(h), TT_STATE_CLOSED);
    h_expect_closed(h, TT_WHY_RST_IN, h->now);
    h_expect_state_event(h, was, TT_STATE_CLOSED);
    const tt_event_t *ev = h_last_event(h, TT_EV_RST_IN);
    assert_non_null(ev);
    assert_int_equal(ev->state, was);
    assert_int_equal(tt_engine_conn_count(h->eng), 0);
    assert_int_equal(tt_engine_timewait_count(h->eng), 0);
    h_advance(h, 300 * SEC);
    h_expect_nothing(h);
}

/* RFC 9293 3.10.7.4 second step, RFC 5961 3.2: in SYN_RECEIVED (passive) an
 * exact RST drops the embryonic connection; the listener stays. */
static void rst_in_syn_received(void **state)
{
    struct harness *h = *state;

    h_reach_syn_received(h);
    h_send(h, TCP_RST, IRS + 1, 0, NULL, 0);
    expect_reset_in(h, TT_STATE_SYN_RECEIVED);
    assert_int_equal(h->connection_calls, 0);
    h->irs += 1000;
    h_peer_connects(h);
}

/* RFC 9293 3.10.7.4 second step, RFC 5961 3.2: in ESTABLISHED a RST with
 * SEG.SEQ = RCV.NXT resets: read_cb(-ECONNRESET), writes fail likewise. */
static void rst_exact_in_established_resets(void **state)
{
    struct harness *h = *state;

    h_reach_established_passive(h);
    h_send(h, TCP_RST, IRS + 1, 0, NULL, 0);
    assert_int_equal(h->read_err, -ECONNRESET);
    assert_int_equal(tt_conn_state(h->conn), TT_STATE_CLOSED);
    /* The error was reported by read_cb; a write then fails as in Linux
     * (EPIPE once ECONNRESET has been consumed) or with the error again. */
    ssize_t rc = h_write(h, "x", 1);
    assert_true(rc == -ECONNRESET || rc == -EPIPE);
    expect_reset_in(h, TT_STATE_ESTABLISHED);
    assert_int_equal(h_stats(h).TcpEstabResets, 1);
}

/* RFC 5961 3.2: RST|ACK at RCV.NXT is as good as a bare RST. */
static void rst_ack_exact_in_established_resets(void **state)
{
    struct harness *h = *state;

    h_reach_established_passive(h);
    h_send(h, TCP_RST | TCP_ACK, IRS + 1, ISS + 1, NULL, 0);
    assert_int_equal(h->read_err, -ECONNRESET);
    expect_reset_in(h, TT_STATE_ESTABLISHED);
}

/* RFC 5961 3.2: a RST in the window but not at RCV.NXT gets a challenge ACK
 * <SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK>; the connection survives; the peer's
 * exact RST (as it would answer) then resets. */
static void rst_in_window_not_exact_gets_challenge_ack(void **state)
{
    struct harness *h = *state;

    h_reach_established_passive(h);
    h_send(h, TCP_RST, IRS + 100, 0, NULL, 0);
    h_expect(h, TCP_ACK, ISS + 1, IRS + 1);
    assert_int_equal(tt_conn_state(h->conn), TT_STATE_ESTABLISHED);
    assert_int_equal(h->read_err, 0);
    assert_int_equal(h_stats(h).TcpExtTCPChallengeACK, 1);
    h_send(h, TCP_RST, IRS + 1, 0, NULL, 0);
    expect_reset_in(h, TT_STATE_ESTABLISHED);
}

/* RFC 5961 3.2, RFC 9293 3.10.7.4 first check: a RST outside the window is
 * dropped silently: before RCV.NXT, or past RCV.NXT + RCV.WND. */
static void rst_out_of_window_ignored(void **state)
{
    struct harness *h = *state;

    h_reach_established_passive(h);
    h_send(h, TCP_RST, IRS, 0, NULL, 0);
    h_expect_nothing(h);
    h_send(h, TCP_RST, IRS + 1 + 200000, 0, NULL, 0);
    h_expect_nothing(h);
    h_send(h, TCP_RST | TCP_ACK, IRS - 5000, ISS + 1, NULL, 0);
    h_expect_nothing(h);
    assert_int_equal(tt_conn_state(h->conn), TT_STATE_ESTABLISHED);
    assert_int_equal(h->read_err, 0);
}

/* RFC 9293 3.10.7.4 second step in FIN_WAIT_1 (handle kept by shutdown). */
static void rst_in_fin_wait_1(void **state)
{
    struct harness *h = *state;

    h_reach_fin_wait_1(h, H_SHUTDOWN);
    h_send(h, TCP_RST, IRS + 1, 0, NULL, 0);
    assert_int_equal(h->read_err, -ECONNRESET);
    expect_reset_in(h, TT_STATE_FIN_WAIT_1);
}

/* RFC 9293 3.10.7.4 second step in FIN_WAIT_2 (handle kept by shutdown). */
static void rst_in_fin_wait_2(void **state)
{
    struct harness *h = *state;

    h_reach_fin_wait_2(h, H_SHUTDOWN);
    h_send(h, TCP_RST, IRS + 1, 0, NULL, 0);
    assert_int_equal(h->read_err, -ECONNRESET);
    expect_reset_in(h, TT_STATE_FIN_WAIT_2);
}

/* RFC 9293 3.10.7.4 second step in FIN_WAIT_2 of an orphan: no handle to tell. */
static void rst_in_orphan_fin_wait_2(void **state)
{
    struct harness *h = *state;

    h_reach_fin_wait_2(h, H_ORPHAN);
    h_send(h, TCP_RST, IRS + 1, 0, NULL, 0);
    expect_reset_in(h, TT_STATE_FIN_WAIT_2);
}

/* RFC 9293 3.10.7.4 second step in CLOSE_WAIT: RCV.NXT is past the peer's FIN. */
static void rst_in_close_wait(void **state)
{
    struct harness *h = *state;

    h_reach_close_wait(h);
    h_send(h, TCP_RST, IRS + 1, 0, NULL, 0); /* the FIN's own number: before the window */
    h_expect_nothing(h);
    assert_int_equal(tt_conn_state(h->conn), TT_STATE_CLOSE_WAIT);
    h_send(h, TCP_RST, IRS + 2, 0, NULL, 0);
    expect_reset_in(h, TT_STATE_CLOSE_WAIT);
}

/* RFC 9293 3.10.7.4 second step in CLOSING: CLOSED, TCB deleted. */
static void rst_in_closing(void **state)
{
    struct harness *h = *state;

    h_reach_closing(h, H_SHUTDOWN);
    h_send(h, TCP_RST, IRS + 2, 0, NULL, 0);
    expect_reset_in(h, TT_STATE_CLOSING);
}

/* RFC 9293 3.10.7.4 second step in LAST_ACK: CLOSED, TCB deleted. */
static void rst_in_last_ack(void **state)
{
    struct harness *h = *state;

    h_reach_last_ack(h);
    h_send(h, TCP_RST, IRS + 2, 0, NULL, 0);
    expect_reset_in(h, TT_STATE_LAST_ACK);
}

/* RFC 5961 4.2: a SYN in a synchronized state, in the window or not, gets a
 * challenge ACK and changes nothing. */
static void syn_in_established_gets_challenge_ack(void **state)
{
    struct harness *h = *state;

    h_reach_established_passive(h);
    h->irs += 100;
    h_send_syn(h); /* in the window */
    h->irs -= 100;
    h_expect(h, TCP_ACK, ISS + 1, IRS + 1);
    assert_int_equal(tt_conn_state(h->conn), TT_STATE_ESTABLISHED);
    assert_int_equal(h_stats(h).TcpExtTCPChallengeACK, 1);
    h_advance(h, 500 * MS);
    h_send_syn(h); /* the original SYN again */
    h_expect(h, TCP_ACK, ISS + 1, IRS + 1);
    assert_int_equal(tt_conn_state(h->conn), TT_STATE_ESTABLISHED);
    assert_int_equal(h->read_err, 0);
}

/* RFC 9293 3.10.7.4 fifth step: an ACK of data never sent drops the
 * segment, its data and FIN too. In ESTABLISHED nothing answers it (Linux
 * tcp_rcv_established(): tcp_ack() < 0 is discarded), so a blind sender
 * draws no reply; the next real segment is taken as usual. */
static void ack_of_unsent_data_dropped_silently_in_established(void **state)
{
    struct harness *h = *state;

    h_reach_established_passive(h);
    h_send(h, TCP_ACK, IRS + 1, ISS + 1000, "zz", 2);
    h_expect_nothing(h);
    h_send(h, TCP_ACK | TCP_FIN, IRS + 1, ISS + 9999, NULL, 0);
    h_expect_nothing(h);
    assert_int_equal(h->rx_len, 0);
    assert_int_equal(h->eof_calls, 0);
    assert_int_equal(tt_conn_state(h->conn), TT_STATE_ESTABLISHED);
    assert_int_equal(h_stats(h).TcpExtTCPChallengeACK, 0);
    h_send(h, TCP_ACK, IRS + 1, ISS + 1, "ok", 2);
    h_expect(h, TCP_ACK, ISS + 1, IRS + 3);
    assert_int_equal(h->rx_len, 2);
}

/* In the other synchronized states the same segment draws a challenge ACK,
 * rate-limited (Linux tcp_rcv_state_process(): tcp_send_challenge_ack()
 * when tcp_ack() refuses the ACK); the segment is dropped all the same. */
static void ack_of_unsent_data_challenged_in_close_wait(void **state)
{
    struct harness *h = *state;

    h_reach_close_wait(h);
    h_send(h, TCP_ACK, IRS + 2, ISS + 1000, NULL, 0);
    h_expect(h, TCP_ACK, ISS + 1, IRS + 2);
    assert_int_equal(h_stats(h).TcpExtTCPChallengeACK, 1);
    h_advance(h, 1 * MS);
    h_send(h, TCP_ACK, IRS + 2, ISS + 1000, NULL, 0);
    h_expect_nothing(h); /* tcp_invalid_ratelimit */
    assert_int_equal(tt_conn_state(h->conn), TT_STATE_CLOSE_WAIT);
}

/* RFC 5961 5.2: an ACK older than SND.UNA - MAX.SND.WND is answered with an
 * ACK and dropped. */
static void ack_far_too_old_acked_and_dropped(void **state)
{
    struct harness *h = *state;

    h_reach_established_passive(h);
    h_send(h, TCP_ACK, IRS + 1, ISS + 1 - 200000, "zz", 2);
    h_expect(h, TCP_ACK, ISS + 1, IRS + 1);
    assert_int_equal(h->rx_len, 0);
    assert_int_equal(h_stats(h).TcpExtTCPChallengeACK, 1); /* Linux tcp_send_challenge_ack */
}

/*
 * RFC 5961 7 and docs/contract.md §2.4 (Linux tcp_invalid_ratelimit, 500 ms per
 * connection): challenge ACKs are rate-limited: one at t, none at t + 1 ms
 * nor at t + 500 ms - 1 µs, one again at t + 500 ms.
 */
static void challenge_acks_rate_limited(void **state)
{
    struct harness *h = *state;

    h_reach_established_passive(h);
    h_advance(h, 1 * SEC);
    h_send(h, TCP_RST, IRS + 100, 0, NULL, 0);
    h_expect(h, TCP_ACK, ISS + 1, IRS + 1);
    uint64_t first = h->now;
    h_advance(h, 1 * MS);
    h_send(h, TCP_RST, IRS + 200, 0, NULL, 0);
    h_expect_nothing(h);
    h_advance(h, first + 500 * MS - 1 - h->now);
    h_send(h, TCP_RST, IRS + 300, 0, NULL, 0);
    h_expect_nothing(h);
    h_advance(h, 1);
    h_send(h, TCP_RST, IRS + 400, 0, NULL, 0);
    h_expect(h, TCP_ACK, ISS + 1, IRS + 1);
    assert_int_equal(tt_conn_state(h->conn), TT_STATE_ESTABLISHED);
}

/* docs/contract.md §2.4, Linux tcp_oow_rate_limited(): in ESTABLISHED too, the ACKs to
 * out-of-window segments without data are rate-limited (500 ms). */
static void out_of_window_acks_rate_limited(void **state)
{
    struct harness *h = *state;

    h_reach_established_passive(h);
    h_send(h, TCP_ACK, IRS + 1 + 200000, ISS + 1, NULL, 0);
    h_expect(h, TCP_ACK, ISS + 1, IRS + 1);
    h_advance(h, 10 * MS);
    h_send(h, TCP_ACK, IRS + 1 + 200000, ISS + 1, NULL, 0);
    h_expect_nothing(h);
    h_advance(h, 490 * MS);
    h_send(h, TCP_ACK, IRS + 1 + 200000, ISS + 1, NULL, 0);
    h_expect(h, TCP_ACK, ISS + 1, IRS + 1);
}

/* Linux tcp_oow_rate_limited(): out-of-window data is not an ACK loop; each
 * such segment is ACKed. */
static void out_of_window_data_acked_without_rate_limit(void **state)
{
    struct harness *h = *state;

    h_reach_established_passive(h);
    for (int i = 0; i < 3; i++) {
        h_advance(h, 1 * MS);
        h_send(h, TCP_ACK, IRS + 1 + 200000, ISS + 1, "d", 1);
        h_expect(h, TCP_ACK, ISS + 1, IRS + 1);
    }
    assert_int_equal(h->rx_len, 0);
}

/* RFC 9293 3.10.7.4 second step: in SYN_RECEIVED reached by an active open
 * (simultaneous open) a RST means the connection was refused. */
static void rst_in_syn_received_after_simultaneous_open_refuses(void **state)
{
    struct harness *h = *state;
    struct tcp_opts o;

    memset(&o, 0, sizeof(o));
    o.mss_ok = true;
    o.mss = H_MSS;
    h_connect(h, H_SERVICE_PORT);
    h_expect_syn(h);
    h_send_opts(h, TCP_SYN, IRS, 0, &o, NULL, 0);
    h_expect(h, TCP_SYN | TCP_ACK, ISS, IRS + 1);
    h_send(h, TCP_RST, IRS + 1, 0, NULL, 0);
    h_expect_nothing(h);
    assert_int_equal(h->connect_calls, 1);
    assert_int_equal(h->connect_status, -ECONNREFUSED);
    assert_int_equal(tt_engine_conn_count(h->eng), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(ack_to_closed_port_gets_rst_seq_seg_ack, h_setup,
                                        h_teardown),
        cmocka_unit_test_setup_teardown(syn_to_closed_port_gets_rst_ack, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(fin_with_data_to_closed_port_acked_by_len, h_setup,
                                        h_teardown),
        cmocka_unit_test_setup_teardown(rst_to_closed_port_gets_nothing, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(rst_to_no_connection_is_an_event, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(rst_in_syn_received, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(rst_in_syn_received_after_simultaneous_open_refuses,
                                        h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(rst_exact_in_established_resets, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(rst_ack_exact_in_established_resets, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(rst_in_window_not_exact_gets_challenge_ack, h_setup,
                                        h_teardown),
        cmocka_unit_test_setup_teardown(rst_out_of_window_ignored, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(rst_in_fin_wait_1, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(rst_in_fin_wait_2, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(rst_in_orphan_fin_wait_2, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(rst_in_close_wait, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(rst_in_closing, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(rst_in_last_ack, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(syn_in_established_gets_challenge_ack, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(ack_of_unsent_data_dropped_silently_in_established, h_setup,
                                        h_teardown),
        cmocka_unit_test_setup_teardown(ack_of_unsent_data_challenged_in_close_wait, h_setup,
                                        h_teardown),
        cmocka_unit_test_setup_teardown(ack_far_too_old_acked_and_dropped, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(challenge_acks_rate_limited, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(out_of_window_acks_rate_limited, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(out_of_window_data_acked_without_rate_limit, h_setup,
                                        h_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
