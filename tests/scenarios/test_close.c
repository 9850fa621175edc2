/*
 * Scenarios: every close path of docs/contract.md §2.1 with its exact segments and state
 * changes (RFC 9293 3.6 and 3.10.7.4): the active close through FIN_WAIT_2,
 * FIN+ACK together in FIN_WAIT_1, the simultaneous close through CLOSING, the
 * passive close through CLOSE_WAIT and LAST_ACK, half-close both ways, the
 * FIN after queued data, and FIN retransmission in FIN_WAIT_1, CLOSING and
 * LAST_ACK.
 */
#include "harness.h"

#include <errno.h>
#include <string.h>

/* RFC 9293 3.6 (Figure 12, TCP A): ESTABLISHED -> FIN_WAIT_1 -> FIN_WAIT_2 ->
 * TIME_WAIT -> CLOSED, our FIN <SEQ=ISS+1><ACK=IRS+1><CTL=FIN,ACK>, our last
 * ACK <SEQ=ISS+2><ACK=IRS+2>, CLOSED 2*MSL after it. */
static void active_close_through_fin_wait_2_and_time_wait(void **state)
{
    struct harness *h = *state;

    h_reach_established_passive(h);
    h_close(h);
    h_expect(h, TCP_FIN | TCP_ACK, ISS + 1, IRS + 1);
    assert_int_equal(h_conn_state(h), TT_STATE_FIN_WAIT_1);
    h_advance(h, 10 * MS);
    h_send(h, TCP_ACK, IRS + 1, ISS + 2, NULL, 0);
    h_expect_nothing(h);
    assert_int_equal(h_conn_state(h), TT_STATE_FIN_WAIT_2);
    h_advance(h, 10 * MS);
    h_send(h, TCP_FIN | TCP_ACK, IRS + 1, ISS + 2, NULL, 0);
    h_expect(h, TCP_ACK, ISS + 2, IRS + 2);
    assert_int_equal(h_conn_state(h), TT_STATE_TIME_WAIT);
    uint64_t t_ack = h->now;
    h_advance(h, 2 * SEC);
    h_expect_nothing(h);
    h_expect_states(h, TT_STATE_ESTABLISHED, TT_STATE_FIN_WAIT_1, TT_STATE_FIN_WAIT_2,
                    TT_STATE_TIME_WAIT, TT_STATE_CLOSED, -1);
    h_expect_closed(h, TT_WHY_TIMEWAIT_EXPIRED, t_ack + 2 * SEC);
    assert_int_equal(tt_engine_conn_count(h->eng), 0);
    assert_int_equal(tt_engine_timewait_count(h->eng), 0);
}

/* RFC 9293 3.10.7.4 eighth step, FIN-WAIT-1: a FIN that also acks our FIN
 * moves straight to TIME_WAIT, skipping FIN_WAIT_2. */
static void fin_and_ack_together_skip_fin_wait_2(void **state)
{
    struct harness *h = *state;

    h_reach_fin_wait_1(h, H_ORPHAN);
    h_send(h, TCP_FIN | TCP_ACK, IRS + 1, ISS + 2, NULL, 0);
    h_expect(h, TCP_ACK, ISS + 2, IRS + 2);
    assert_int_equal(h_conn_state(h), TT_STATE_TIME_WAIT);
    h_expect_states(h, TT_STATE_ESTABLISHED, TT_STATE_FIN_WAIT_1, TT_STATE_TIME_WAIT, -1);
}

/* RFC 9293 3.6 (Figure 13): both FINs cross. FIN_WAIT_1 -> CLOSING, the
 * peer's FIN is ACKed; TIME_WAIT when our FIN is acked; nothing more sent. */
static void simultaneous_close_through_closing(void **state)
{
    struct harness *h = *state;

    h_reach_fin_wait_1(h, H_SHUTDOWN);
    h_send(h, TCP_FIN | TCP_ACK, IRS + 1, ISS + 1, NULL, 0);
    h_expect(h, TCP_ACK, ISS + 2, IRS + 2);
    assert_int_equal(h_conn_state(h), TT_STATE_CLOSING);
    assert_int_equal(h->eof_calls, 1);
    h_send(h, TCP_ACK, IRS + 2, ISS + 2, NULL, 0);
    h_expect_nothing(h);
    assert_int_equal(h_conn_state(h), TT_STATE_TIME_WAIT);
    h_expect_states(h, TT_STATE_ESTABLISHED, TT_STATE_FIN_WAIT_1, TT_STATE_CLOSING,
                    TT_STATE_TIME_WAIT, -1);
}

/*
 * RFC 9293 3.6 (Figure 12, TCP B): the peer closes first. ESTABLISHED ->
 * CLOSE_WAIT (EOF to the app, the FIN ACKed) -> LAST_ACK (our FIN) -> CLOSED
 * why "last_ack" on its ACK. The passive closer has no TIME_WAIT (docs/contract.md §2.2).
 */
static void passive_close_through_close_wait_and_last_ack(void **state)
{
    struct harness *h = *state;

    h_reach_established_passive(h);
    h_send(h, TCP_FIN | TCP_ACK, IRS + 1, ISS + 1, NULL, 0);
    h_expect(h, TCP_ACK, ISS + 1, IRS + 2);
    assert_int_equal(h->eof_calls, 1);
    assert_int_equal(tt_conn_state(h->conn), TT_STATE_CLOSE_WAIT);
    h_advance(h, 5 * MS);
    h_close(h);
    h_expect(h, TCP_FIN | TCP_ACK, ISS + 1, IRS + 2);
    assert_int_equal(h_conn_state(h), TT_STATE_LAST_ACK);
    h_advance(h, 5 * MS);
    h_send(h, TCP_ACK, IRS + 2, ISS + 2, NULL, 0);
    h_expect_nothing(h);
    h_expect_states(h, TT_STATE_ESTABLISHED, TT_STATE_CLOSE_WAIT, TT_STATE_LAST_ACK,
                    TT_STATE_CLOSED, -1);
    h_expect_closed(h, TT_WHY_LAST_ACK, h->now);
    assert_int_equal(tt_engine_conn_count(h->eng), 0);
    assert_int_equal(tt_engine_timewait_count(h->eng), 0);
}

/* The same close paths on a connection we opened (active open). */
static void active_open_then_active_close(void **state)
{
    struct harness *h = *state;

    h_reach_established_active(h);
    h_close(h);
    h_expect(h, TCP_FIN | TCP_ACK, ISS + 1, IRS + 1);
    h_send(h, TCP_FIN | TCP_ACK, IRS + 1, ISS + 2, NULL, 0);
    h_expect(h, TCP_ACK, ISS + 2, IRS + 2);
    assert_int_equal(h_conn_state(h), TT_STATE_TIME_WAIT);
    assert_int_equal(tt_engine_timewait_count(h->eng), 1);
}

/*
 * RFC 9293 3.6 and docs/contract.md §2.1 half-close: after shutdown our FIN goes out and
 * reading goes on: data in FIN_WAIT_2 is delivered and ACKed; writing is
 * refused with -EPIPE; the peer's FIN then gives EOF and TIME_WAIT.
 */
static void half_close_keeps_receiving(void **state)
{
    struct harness *h = *state;

    h_reach_fin_wait_2(h, H_SHUTDOWN);
    h_send(h, TCP_ACK, IRS + 1, ISS + 2, "more", 4);
    h_expect(h, TCP_ACK, ISS + 2, IRS + 5);
    assert_int_equal(h->rx_len, 4);
    assert_memory_equal(h->rx, "more", 4);
    assert_int_equal(h_write(h, "x", 1), -EPIPE);
    h_expect_nothing(h);
    h_send(h, TCP_FIN | TCP_ACK, IRS + 5, ISS + 2, NULL, 0);
    h_expect(h, TCP_ACK, ISS + 2, IRS + 6);
    assert_int_equal(h->eof_calls, 1);
    assert_int_equal(h_conn_state(h), TT_STATE_TIME_WAIT);
}

/* RFC 9293 3.6: after the peer's FIN (CLOSE_WAIT) we may still send; our
 * FIN follows the data. */
static void close_wait_still_sends(void **state)
{
    struct harness *h = *state;

    h_reach_close_wait(h);
    assert_int_equal(h_write(h, "late", 4), 4);
    h_expect_data(h, TCP_ACK, ISS + 1, IRS + 2, "late", 4);
    h_send(h, TCP_ACK, IRS + 2, ISS + 5, NULL, 0);
    h_expect_nothing(h);
    h_close(h);
    h_expect(h, TCP_FIN | TCP_ACK, ISS + 5, IRS + 2);
    h_send(h, TCP_ACK, IRS + 2, ISS + 6, NULL, 0);
    h_expect_nothing(h);
    h_expect_closed(h, TT_WHY_LAST_ACK, h->now);
}

/* RFC 9293 3.10.4 (CLOSE in ESTABLISHED): the FIN is queued behind the data;
 * data already in flight is followed by the FIN at the next sequence number. */
static void close_sends_fin_after_data_in_flight(void **state)
{
    struct harness *h = *state;

    h_reach_established_passive(h);
    assert_int_equal(h_write(h, "data", 4), 4);
    h_expect_data(h, TCP_ACK, ISS + 1, IRS + 1, "data", 4);
    h_close(h);
    h_expect(h, TCP_FIN | TCP_ACK, ISS + 5, IRS + 1);
    h_send(h, TCP_ACK, IRS + 1, ISS + 6, NULL, 0);
    h_expect_nothing(h);
    assert_int_equal(h_conn_state(h), TT_STATE_FIN_WAIT_2);
}

/*
 * RFC 9293 3.10.4: shutdown with data still queued (beyond the initial window)
 * sends no FIN until the data has gone; the FIN then comes after the last
 * byte, on the last data segment or right after it.
 */
static void shutdown_sends_fin_after_queued_data(void **state)
{
    struct harness *h = *state;
    const uint32_t total = 20000, mss = H_MSS;

    h_reach_established_passive(h);
    assert_int_equal(h_write_pattern(h, 0, total), total);
    for (uint32_t i = 0; i < 10; i++)
        h_expect_pattern(h, TCP_ACK, ISS + 1 + i * mss, IRS + 1, i * mss, mss);
    h_shutdown(h);
    h_expect_nothing(h);
    assert_int_equal(h_conn_state(h), TT_STATE_FIN_WAIT_1);
    h_advance(h, 1 * MS);
    h_send(h, TCP_ACK, IRS + 1, ISS + 1 + 10 * mss, NULL, 0);
    for (uint32_t i = 10; i < 13; i++)
        h_expect_pattern(h, TCP_ACK, ISS + 1 + i * mss, IRS + 1, i * mss, mss);
    if (h_pending(h) && (h->out[h->out_head].seg.flags & TCP_FIN)) {
        h_expect_pattern(h, TCP_FIN | TCP_ACK, ISS + 1 + 13 * mss, IRS + 1, 13 * mss,
                         total - 13 * mss);
    } else {
        h_expect_pattern(h, TCP_ACK, ISS + 1 + 13 * mss, IRS + 1, 13 * mss, total - 13 * mss);
        h_expect(h, TCP_FIN | TCP_ACK, ISS + 1 + total, IRS + 1);
    }
    h_send(h, TCP_ACK, IRS + 1, ISS + 2 + total, NULL, 0);
    h_expect_nothing(h);
    assert_int_equal(h_conn_state(h), TT_STATE_FIN_WAIT_2);
}

/* RFC 9293 3.10.7.4 and RFC 6298 5.4-5.5: an unacknowledged FIN in
 * FIN_WAIT_1 is retransmitted at the RTO (200 ms here), then after 400 ms. */
static void fin_retransmitted_in_fin_wait_1(void **state)
{
    struct harness *h = *state;

    h_reach_established_passive(h);
    h_prime_rtt(h);
    h_close(h);
    h_expect(h, TCP_FIN | TCP_ACK, ISS + 2, IRS + 1);
    h_expect_after(h, 200 * MS, TCP_FIN | TCP_ACK, ISS + 2, IRS + 1);
    h_expect_after(h, 400 * MS, TCP_FIN | TCP_ACK, ISS + 2, IRS + 1);
    h_send(h, TCP_ACK, IRS + 1, ISS + 3, NULL, 0);
    h_expect_nothing(h);
    assert_int_equal(h_conn_state(h), TT_STATE_FIN_WAIT_2);
}

/* RFC 9293 3.10.7.4: in CLOSING our FIN is still unacknowledged and is
 * retransmitted at the RTO, now acking the peer's FIN. */
static void fin_retransmitted_in_closing(void **state)
{
    struct harness *h = *state;

    h_reach_established_passive(h);
    h_prime_rtt(h);
    h_shutdown(h);
    h_expect(h, TCP_FIN | TCP_ACK, ISS + 2, IRS + 1);
    h_advance(h, 50 * MS);
    h_send(h, TCP_FIN | TCP_ACK, IRS + 1, ISS + 2, NULL, 0);
    h_expect(h, TCP_ACK, ISS + 3, IRS + 2);
    assert_int_equal(h_conn_state(h), TT_STATE_CLOSING);
    h_expect_after(h, 150 * MS, TCP_FIN | TCP_ACK, ISS + 2, IRS + 2);
    h_send(h, TCP_ACK, IRS + 2, ISS + 3, NULL, 0);
    h_expect_nothing(h);
    assert_int_equal(h_conn_state(h), TT_STATE_TIME_WAIT);
}

/* RFC 9293 3.10.7.4: in LAST_ACK our FIN is retransmitted at the RTO; its
 * ACK closes. */
static void fin_retransmitted_in_last_ack(void **state)
{
    struct harness *h = *state;

    h_reach_established_passive(h);
    h_prime_rtt(h);
    h_send(h, TCP_FIN | TCP_ACK, IRS + 1, ISS + 2, NULL, 0);
    h_expect(h, TCP_ACK, ISS + 2, IRS + 2);
    h_close(h);
    h_expect(h, TCP_FIN | TCP_ACK, ISS + 2, IRS + 2);
    h_expect_after(h, 200 * MS, TCP_FIN | TCP_ACK, ISS + 2, IRS + 2);
    h_send(h, TCP_ACK, IRS + 2, ISS + 3, NULL, 0);
    h_expect_nothing(h);
    h_expect_closed(h, TT_WHY_LAST_ACK, h->now);
}

/* RFC 9293 3.10.7.4 eighth step: a retransmitted FIN in CLOSE_WAIT is ACKed
 * again and EOF is not reported twice. */
static void duplicate_fin_in_close_wait_acked_again(void **state)
{
    struct harness *h = *state;

    h_reach_close_wait(h);
    h_send(h, TCP_FIN | TCP_ACK, IRS + 1, ISS + 1, NULL, 0);
    h_expect(h, TCP_ACK, ISS + 1, IRS + 2);
    assert_int_equal(h->eof_calls, 1);
    assert_int_equal(h_conn_state(h), TT_STATE_CLOSE_WAIT);
}

/* RFC 9293 3.10.4: CLOSE in CLOSE_WAIT (LAST_ACK fixture) then the ACK of
 * something other than our FIN leaves us in LAST_ACK. */
static void last_ack_waits_for_the_ack_of_our_fin(void **state)
{
    struct harness *h = *state;

    h_reach_last_ack(h);
    h_send(h, TCP_ACK, IRS + 2, ISS + 1, NULL, 0);
    h_expect_nothing(h);
    assert_int_equal(h_conn_state(h), TT_STATE_LAST_ACK);
    h_send(h, TCP_ACK, IRS + 2, ISS + 2, NULL, 0);
    h_expect_nothing(h);
    assert_int_equal(h_conn_state(h), TT_STATE_CLOSED);
}

/* docs/contract.md §2.3, SO_LINGER off: close returns at once; close_cb reports 0 without
 * waiting for the FIN to be acknowledged. */
static void close_cb_at_once_when_linger_off(void **state)
{
    struct harness *h = *state;

    h_reach_established_passive(h);
    h_close(h);
    h_expect(h, TCP_FIN | TCP_ACK, ISS + 1, IRS + 1);
    h_advance(h, 0);
    assert_int_equal(h->close_calls, 1);
    assert_int_equal(h->close_status, 0);
}

/* RFC 9293 3.10.7.4 first check: in LAST_ACK the peer's FIN again (our ACK
 * of it was lost) is ACKed again, <SEQ=SND.NXT><ACK=RCV.NXT>, past our FIN. */
static void dup_fin_in_last_ack_acked_again(void **state)
{
    struct harness *h = *state;

    h_reach_last_ack(h);
    h_advance(h, 10 * MS);
    h_send(h, TCP_FIN | TCP_ACK, IRS + 1, ISS + 1, NULL, 0);
    h_expect(h, TCP_ACK, ISS + 2, IRS + 2);
    assert_int_equal(h_conn_state(h), TT_STATE_LAST_ACK);
}

/* RFC 9293 3.10.7.4: in CLOSING the peer's FIN again is ACKed again. */
static void dup_fin_in_closing_acked_again(void **state)
{
    struct harness *h = *state;

    h_reach_closing(h, H_ORPHAN);
    h_advance(h, 10 * MS);
    h_send(h, TCP_FIN | TCP_ACK, IRS + 1, ISS + 1, NULL, 0);
    h_expect(h, TCP_ACK, ISS + 2, IRS + 2);
    assert_int_equal(h_conn_state(h), TT_STATE_CLOSING);
}

/* RFC 9293 3.10.4, CLOSE in SYN-SENT: the connection is deleted, nothing is
 * sent, no SYN follows; a late SYN-ACK finds no connection and gets
 * <SEQ=SEG.ACK><CTL=RST> (RFC 9293 3.10.7.1). */
static void close_in_syn_sent_deletes_connection(void **state)
{
    struct harness *h = *state;

    h_connect(h, H_SERVICE_PORT);
    h_expect_syn(h);
    h_close(h);
    h_expect_nothing(h);
    h_advance(h, 0);
    assert_int_equal(h->close_calls, 1);
    assert_int_equal(tt_engine_conn_count(h->eng), 0);
    h_advance(h, 10 * SEC);
    h_expect_nothing(h);
    h_send(h, TCP_SYN | TCP_ACK, IRS, ISS + 1, NULL, 0);
    h_expect(h, TCP_RST, ISS + 1, 0);
}

/* RFC 5681 2 and RFC 9293 3.10.7.4: a bare duplicate ACK needs no answer. */
static void duplicate_ack_in_established_ignored(void **state)
{
    struct harness *h = *state;

    h_reach_established_passive(h);
    h_send(h, TCP_ACK, IRS + 1, ISS + 1, NULL, 0);
    h_expect_nothing(h);
    assert_int_equal(tt_conn_state(h->conn), TT_STATE_ESTABLISHED);
}

/*
 * RFC 6298 5.4 and RFC 9293 3.10.7.4: data and the FIN behind it both lost.
 * At the RTO the data goes again (the FIN with it or, as Linux, on its own
 * once the data is acked); the close then completes normally.
 */
static void lost_data_and_fin_both_retransmitted(void **state)
{
    struct harness *h = *state;

    h_reach_established_passive(h);
    h_prime_rtt(h);
    assert_int_equal(h_write(h, "last", 4), 4);
    h_expect_data(h, TCP_ACK, ISS + 2, IRS + 1, "last", 4);
    h_close(h);
    h_expect(h, TCP_FIN | TCP_ACK, ISS + 6, IRS + 1);
    h_advance(h, 200 * MS - 1);
    h_expect_nothing(h);
    h_advance(h, 1);
    if (h_pending(h) && (h->out[h->out_head].seg.flags & TCP_FIN)) {
        h_expect_data(h, TCP_FIN | TCP_ACK, ISS + 2, IRS + 1, "last", 4);
    } else {
        h_expect_data(h, TCP_ACK, ISS + 2, IRS + 1, "last", 4);
        h_expect_nothing(h);
        h_send(h, TCP_ACK, IRS + 1, ISS + 6, NULL, 0);
        h_expect(h, TCP_FIN | TCP_ACK, ISS + 6, IRS + 1);
    }
    h_send(h, TCP_FIN | TCP_ACK, IRS + 1, ISS + 7, NULL, 0);
    h_expect(h, TCP_ACK, ISS + 7, IRS + 2);
    assert_int_equal(h_conn_state(h), TT_STATE_TIME_WAIT);
}

/*
 * docs/contract.md §2.2 (the ACK of a retransmitted FIN is never rate-limited; Linux
 * tt_tcp_oow_rate_limited() exempts every segment that occupies sequence space,
 * a FIN included): the peer retransmits its FIN because our ACKs are lost;
 * each copy is ACKed, however close together. LAST_ACK, CLOSING, CLOSE_WAIT.
 */
static void dup_fins_in_last_ack_all_acked(void **state)
{
    struct harness *h = *state;

    h_reach_last_ack(h);
    h_advance(h, 10 * MS);
    h_send(h, TCP_FIN | TCP_ACK, IRS + 1, ISS + 1, NULL, 0);
    h_expect(h, TCP_ACK, ISS + 2, IRS + 2);
    h_advance(h, 100 * MS);
    h_send(h, TCP_FIN | TCP_ACK, IRS + 1, ISS + 1, NULL, 0);
    h_expect(h, TCP_ACK, ISS + 2, IRS + 2);
}

static void dup_fins_in_closing_all_acked(void **state)
{
    struct harness *h = *state;

    h_reach_closing(h, H_ORPHAN);
    h_advance(h, 10 * MS);
    h_send(h, TCP_FIN | TCP_ACK, IRS + 1, ISS + 1, NULL, 0);
    h_expect(h, TCP_ACK, ISS + 2, IRS + 2);
    h_advance(h, 100 * MS);
    h_send(h, TCP_FIN | TCP_ACK, IRS + 1, ISS + 1, NULL, 0);
    h_expect(h, TCP_ACK, ISS + 2, IRS + 2);
}

static void dup_fins_in_close_wait_all_acked(void **state)
{
    struct harness *h = *state;

    h_reach_close_wait(h);
    h_advance(h, 10 * MS);
    h_send(h, TCP_FIN | TCP_ACK, IRS + 1, ISS + 1, NULL, 0);
    h_expect(h, TCP_ACK, ISS + 1, IRS + 2);
    h_advance(h, 100 * MS);
    h_send(h, TCP_FIN | TCP_ACK, IRS + 1, ISS + 1, NULL, 0);
    h_expect(h, TCP_ACK, ISS + 1, IRS + 2);
    assert_int_equal(h->eof_calls, 1);
}

/*
 * Linux (tcp_rcv_state_process, TcpExtTCPAbortOnData): once the application
 * has closed, new data from the peer cannot be delivered; the connection is
 * reset rather than the data acknowledged into a void. The RST answers the
 * segment: <SEQ=SEG.ACK><CTL=RST>, no ACK (tcp_v4_send_reset()).
 */
static void data_after_close_resets_orphan(void **state)
{
    struct harness *h = *state;

    h_reach_fin_wait_2(h, H_ORPHAN);
    h_send(h, TCP_ACK, IRS + 1, ISS + 2, "late", 4);
    h_expect(h, TCP_RST, ISS + 2, 0);
    h_expect_nothing(h);
    h_expect_closed(h, TT_WHY_RST_OUT, h->now);
    assert_int_equal(tt_engine_conn_count(h->eng), 0);
    assert_int_equal(h_stats(h).TcpExtTCPAbortOnData, 1);
}

/* The same in FIN_WAIT_1, our FIN not yet acknowledged: the RST's SEQ is
 * the segment's ACK, SND.UNA here, not SND.NXT past our FIN (packetdrill
 * user_timeout/user_timeout.pkt: `R 1:1(0)`). */
static void data_after_close_in_fin_wait_1_reset_at_seg_ack(void **state)
{
    struct harness *h = *state;

    h_reach_fin_wait_1(h, H_ORPHAN);
    h_send(h, TCP_ACK, IRS + 1, ISS + 1, "late", 4);
    h_expect(h, TCP_RST, ISS + 1, 0);
    h_expect_nothing(h);
    h_expect_closed(h, TT_WHY_RST_OUT, h->now);
    assert_int_equal(h_stats(h).TcpExtTCPAbortOnData, 1);
}

/* The RST of a close with unread data (RFC 2525 2.17, Linux tcp_close():
 * TcpExtTCPAbortOnClose): rst_out "unread_data", CLOSED why rst_out, the
 * connection gone with no TIME_WAIT. */
static void expect_unread_data_rst(struct harness *h, uint32_t seq, uint32_t ack)
{
    h_expect(h, TCP_RST | TCP_ACK, seq, ack);
    h_expect_nothing(h);
    h_expect_closed(h, TT_WHY_RST_OUT, h->now);
    const tt_event_t *ev = h_last_event(h, TT_EV_RST_OUT);
    assert_non_null(ev);
    assert_string_equal(ev->rst_why, "unread_data");
    assert_int_equal(h_stats(h).TcpExtTCPAbortOnClose, 1);
    assert_int_equal(tt_engine_conn_count(h->eng), 0);
    assert_int_equal(tt_engine_timewait_count(h->eng), 0);
    h_advance(h, 300 * SEC);
    h_expect_nothing(h);
}

/*
 * RFC 2525 2.17 and RFC 1122 4.2.2.13, as Linux tcp_close() does in every
 * state: closing with received data unread sends a RST, in LAST_ACK too
 * (the app shut down after the peer's "abc" and FIN, read nothing, closed).
 */
static void close_with_unread_data_in_last_ack_sends_rst(void **state)
{
    struct harness *h = *state;

    h_reach_established_passive(h);
    tt_conn_read_stop(h->conn);
    h_send(h, TCP_FIN | TCP_ACK, IRS + 1, ISS + 1, "abc", 3);
    h_expect(h, TCP_ACK, ISS + 1, IRS + 5);
    h_shutdown(h);
    h_expect(h, TCP_FIN | TCP_ACK, ISS + 1, IRS + 5);
    assert_int_equal(h_conn_state(h), TT_STATE_LAST_ACK);
    h_close(h);
    expect_unread_data_rst(h, ISS + 2, IRS + 5);
}

/* The same in CLOSING: our FIN and the peer's "abc"+FIN crossed. */
static void close_with_unread_data_in_closing_sends_rst(void **state)
{
    struct harness *h = *state;

    h_reach_established_passive(h);
    tt_conn_read_stop(h->conn);
    h_shutdown(h);
    h_expect(h, TCP_FIN | TCP_ACK, ISS + 1, IRS + 1);
    h_send(h, TCP_FIN | TCP_ACK, IRS + 1, ISS + 1, "abc", 3);
    h_expect(h, TCP_ACK, ISS + 2, IRS + 5);
    assert_int_equal(h_conn_state(h), TT_STATE_CLOSING);
    h_close(h);
    expect_unread_data_rst(h, ISS + 2, IRS + 5);
}

/*
 * Linux tcp_sequence() and tcp_rcv_state_process(): in LAST_ACK the peer's
 * FIN again (our ACK of it was lost) that also acknowledges our FIN is
 * taken for its ACK, and the connection closes at once, with nothing sent
 * (Linux: tcp_done(), consumed). RFC 9293's test would call it an old
 * duplicate, ignore the ACK and wait an RTO to resend our FIN.
 */
static void dup_fin_acking_our_fin_closes_last_ack(void **state)
{
    struct harness *h = *state;

    h_reach_last_ack(h);
    h_advance(h, 10 * MS);
    h_send(h, TCP_FIN | TCP_ACK, IRS + 1, ISS + 2, NULL, 0);
    h_expect_nothing(h);
    h_expect_closed(h, TT_WHY_LAST_ACK, h->now);
    assert_int_equal(tt_engine_conn_count(h->eng), 0);
    h_advance(h, 10 * SEC); /* no FIN again */
    h_expect_nothing(h);
}

/* The same in CLOSING (Linux: tcp_time_wait(), consumed): straight to
 * TIME_WAIT without a segment; the peer's next FIN is ACKed from there. */
static void dup_fin_acking_our_fin_moves_closing_to_time_wait(void **state)
{
    struct harness *h = *state;

    h_reach_closing(h, H_ORPHAN);
    h_advance(h, 10 * MS);
    h_send(h, TCP_FIN | TCP_ACK, IRS + 1, ISS + 2, NULL, 0);
    h_expect_nothing(h);
    assert_int_equal(h_conn_state(h), TT_STATE_TIME_WAIT);
    h_expect_states(h, TT_STATE_ESTABLISHED, TT_STATE_FIN_WAIT_1, TT_STATE_CLOSING,
                    TT_STATE_TIME_WAIT, -1);
    h_advance(h, 200 * MS);
    h_send(h, TCP_FIN | TCP_ACK, IRS + 1, ISS + 2, NULL, 0);
    h_expect(h, TCP_ACK, ISS + 2, IRS + 2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(active_close_through_fin_wait_2_and_time_wait, h_setup,
                                        h_teardown),
        cmocka_unit_test_setup_teardown(fin_and_ack_together_skip_fin_wait_2, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(simultaneous_close_through_closing, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(passive_close_through_close_wait_and_last_ack, h_setup,
                                        h_teardown),
        cmocka_unit_test_setup_teardown(active_open_then_active_close, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(half_close_keeps_receiving, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(close_wait_still_sends, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(close_sends_fin_after_data_in_flight, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(shutdown_sends_fin_after_queued_data, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(fin_retransmitted_in_fin_wait_1, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(fin_retransmitted_in_closing, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(fin_retransmitted_in_last_ack, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(duplicate_fin_in_close_wait_acked_again, h_setup,
                                        h_teardown),
        cmocka_unit_test_setup_teardown(last_ack_waits_for_the_ack_of_our_fin, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(close_cb_at_once_when_linger_off, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(dup_fin_in_last_ack_acked_again, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(dup_fin_in_closing_acked_again, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(close_in_syn_sent_deletes_connection, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(duplicate_ack_in_established_ignored, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(lost_data_and_fin_both_retransmitted, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(dup_fins_in_last_ack_all_acked, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(dup_fins_in_closing_all_acked, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(dup_fins_in_close_wait_all_acked, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(data_after_close_resets_orphan, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(data_after_close_in_fin_wait_1_reset_at_seg_ack, h_setup,
                                        h_teardown),
        cmocka_unit_test_setup_teardown(close_with_unread_data_in_last_ack_sends_rst, h_setup,
                                        h_teardown),
        cmocka_unit_test_setup_teardown(close_with_unread_data_in_closing_sends_rst, h_setup,
                                        h_teardown),
        cmocka_unit_test_setup_teardown(dup_fin_acking_our_fin_closes_last_ack, h_setup,
                                        h_teardown),
        cmocka_unit_test_setup_teardown(dup_fin_acking_our_fin_moves_closing_to_time_wait, h_setup,
                                        h_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
