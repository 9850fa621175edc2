/*
 * Scenarios: opening a connection. The three-way handshake both ways, the
 * options of SYN and SYN-ACK, simultaneous open, refusal, and the SYN and
 * SYN-ACK retransmission schedules (RFC 9293 3.5, RFC 6298 2.1 and 5.5,
 * Linux tcp_syn_retries / tcp_synack_retries).
 */
#include "harness.h"

#include <errno.h>
#include <string.h>

static struct tcp_opts mss_only(uint16_t mss)
{
    struct tcp_opts o;

    memset(&o, 0, sizeof(o));
    o.mss_ok = true;
    o.mss = mss;
    return o;
}

static void enable_options(struct harness *h)
{
    h->cfg.tcp_timestamps = 1;
    h->cfg.tcp_sack = 1;
    h->cfg.tcp_window_scaling = 1;
    h_reinit(h);
}

/* RFC 9293 3.5: SYN, SYN-ACK <SEQ=ISS><ACK=IRS+1>, ACK; the listener reports the
 * connection only once it is established, and it carries MSS = mtu - 40. */
static void passive_open_three_way_handshake(void **state)
{
    struct harness *h = *state;

    const struct h_seg *s = h_reach_syn_received(h);
    assert_int_equal(s->seg.opt.mss, 1460);
    assert_false(s->seg.opt.ws_ok); /* options off in this fixture, and not offered */
    assert_false(s->seg.opt.sack_ok);
    assert_false(s->seg.opt.ts_ok);
    assert_int_equal(h_conn_state(h), TT_STATE_SYN_RECEIVED);
    assert_int_equal(h->connection_calls, 0);

    h_send(h, TCP_ACK, IRS + 1, ISS + 1, NULL, 0);
    h_expect_nothing(h);
    assert_int_equal(h->connection_calls, 1);
    assert_int_equal(h->connection_status, 0);
    assert_non_null(h->conn);
    assert_int_equal(tt_conn_state(h->conn), TT_STATE_ESTABLISHED);
    h_expect_state_event(h, TT_STATE_LISTEN, TT_STATE_SYN_RECEIVED);
    h_expect_states(h, TT_STATE_SYN_RECEIVED, TT_STATE_ESTABLISHED, -1);
    assert_int_equal(h_stats(h).TcpPassiveOpens, 1);
}

/* RFC 9293 3.10.7.2: the connection is not handed to the app before the
 * handshake completes; tt_accept() says -EAGAIN until then. */
static void accept_waits_for_the_final_ack(void **state)
{
    struct harness *h = *state;
    tt_conn_t *c = NULL;

    h->auto_accept = false;
    h_reach_syn_received(h);
    assert_int_equal(tt_accept(h->listener, &c), -EAGAIN);
    h_send(h, TCP_ACK, IRS + 1, ISS + 1, NULL, 0);
    h_expect_nothing(h);
    assert_int_equal(h->connection_calls, 1);
    assert_int_equal(tt_accept(h->listener, &c), 0);
    h_adopt(h, c);
    assert_int_equal(tt_conn_state(c), TT_STATE_ESTABLISHED);
    assert_int_equal(tt_accept(h->listener, &c), -EAGAIN);
}

/* RFC 9293 3.5: active open, CLOSED -> SYN_SENT -> ESTABLISHED, connect_cb(0). */
static void active_open_three_way_handshake(void **state)
{
    struct harness *h = *state;
    struct tcp_opts o = mss_only(H_MSS);

    h_connect(h, H_SERVICE_PORT);
    const struct h_seg *s = h_expect_syn(h);
    assert_false(s->seg.opt.ws_ok);
    assert_false(s->seg.opt.sack_ok);
    assert_false(s->seg.opt.ts_ok);
    assert_int_equal(tt_conn_state(h->conn), TT_STATE_SYN_SENT);
    h_expect_state_event(h, TT_STATE_CLOSED, TT_STATE_SYN_SENT);
    assert_int_equal(h->connect_calls, 0);

    h_send_opts(h, TCP_SYN | TCP_ACK, IRS, ISS + 1, &o, NULL, 0);
    h_expect(h, TCP_ACK, ISS + 1, IRS + 1);
    assert_int_equal(h->connect_calls, 1);
    assert_int_equal(h->connect_status, 0);
    assert_int_equal(tt_conn_state(h->conn), TT_STATE_ESTABLISHED);
    h_expect_states(h, TT_STATE_SYN_SENT, TT_STATE_ESTABLISHED, -1);
    assert_int_equal(h_stats(h).TcpActiveOpens, 1);
}

/* RFC 7323 2.2 and 3.2, RFC 2018 2: with the options on, our SYN offers window
 * scaling, SACK and timestamps (TSecr 0) besides the MSS. */
static void syn_offers_ws_sack_ts_when_enabled(void **state)
{
    struct harness *h = *state;

    enable_options(h);
    h_connect(h, H_SERVICE_PORT);
    const struct h_seg *s = h_expect_syn(h);
    assert_true(s->seg.opt.ws_ok);
    assert_true(s->seg.opt.sack_ok);
    assert_true(s->seg.opt.ts_ok);
    assert_int_equal(s->seg.opt.ts_ecr, 0);
    h_send(h, TCP_RST | TCP_ACK, 0, ISS + 1, NULL, 0); /* end it quietly */
    h_expect_nothing(h);
}

/* RFC 7323 2.2 and 3.2, RFC 2018 2: a SYN-ACK carries WS, TS and SACK-permitted
 * only if the peer's SYN offered them. */
static void synack_omits_options_the_peer_did_not_offer(void **state)
{
    struct harness *h = *state;

    enable_options(h);
    h_listen(h, H_LISTEN_PORT);
    h->lport = H_LISTEN_PORT;
    h->rport = H_PEER_PORT;
    h_send_syn(h); /* MSS only */
    const struct h_seg *s = h_expect_synack(h);
    assert_false(s->seg.opt.ws_ok);
    assert_false(s->seg.opt.sack_ok);
    assert_false(s->seg.opt.ts_ok);
}

/* RFC 7323 3.2: the SYN-ACK echoes the peer's TSval in TSecr; WS and SACK are
 * answered when offered. */
static void synack_answers_offered_options(void **state)
{
    struct harness *h = *state;
    struct tcp_opts o = mss_only(H_MSS);

    enable_options(h);
    o.ws_ok = true;
    o.ws = 7;
    o.sack_ok = true;
    o.ts_ok = true;
    o.ts_val = 123456;
    o.ts_ecr = 0;
    h_listen(h, H_LISTEN_PORT);
    h->lport = H_LISTEN_PORT;
    h->rport = H_PEER_PORT;
    h_send_opts(h, TCP_SYN, IRS, 0, &o, NULL, 0);
    const struct h_seg *s = h_expect_synack(h);
    assert_true(s->seg.opt.ws_ok);
    assert_true(s->seg.opt.sack_ok);
    assert_true(s->seg.opt.ts_ok);
    assert_int_equal(s->seg.opt.ts_ecr, 123456);
}

/* RFC 9293 3.5 Figure 8: both SYNs cross. SYN_SENT -> SYN_RECEIVED on the
 * peer's SYN, we answer <SEQ=ISS><ACK=IRS+1><CTL=SYN,ACK>, ESTABLISHED on its ACK. */
static void simultaneous_open_through_syn_received(void **state)
{
    struct harness *h = *state;
    struct tcp_opts o = mss_only(H_MSS);

    h_connect(h, H_SERVICE_PORT);
    h_expect_syn(h);
    h_send_opts(h, TCP_SYN, IRS, 0, &o, NULL, 0);
    h_expect(h, TCP_SYN | TCP_ACK, ISS, IRS + 1);
    assert_int_equal(tt_conn_state(h->conn), TT_STATE_SYN_RECEIVED);
    assert_int_equal(h->connect_calls, 0);

    h_send(h, TCP_ACK, IRS + 1, ISS + 1, NULL, 0);
    h_expect_nothing(h);
    assert_int_equal(h->connect_calls, 1);
    assert_int_equal(h->connect_status, 0);
    assert_int_equal(tt_conn_state(h->conn), TT_STATE_ESTABLISHED);
    h_expect_states(h, TT_STATE_SYN_SENT, TT_STATE_SYN_RECEIVED, TT_STATE_ESTABLISHED, -1);
}

/*
 * RFC 9293 3.5 Figure 8, line 6: in a simultaneous open the peer's answer is a
 * SYN-ACK (its SYN again, acking ours); it completes the open, as in Linux
 * (tcp_rcv_state_process lets it pass the RFC 5961 4.2 SYN check). At most a
 * plain ACK may follow it.
 */
static void simultaneous_open_completed_by_peer_synack(void **state)
{
    struct harness *h = *state;
    struct tcp_opts o = mss_only(H_MSS);

    h_connect(h, H_SERVICE_PORT);
    h_expect_syn(h);
    h_send_opts(h, TCP_SYN, IRS, 0, &o, NULL, 0);
    h_expect(h, TCP_SYN | TCP_ACK, ISS, IRS + 1);
    h_send_opts(h, TCP_SYN | TCP_ACK, IRS, ISS + 1, &o, NULL, 0);
    if (h_pending(h))
        h_expect(h, TCP_ACK, ISS + 1, IRS + 1);
    assert_int_equal(tt_conn_state(h->conn), TT_STATE_ESTABLISHED);
    assert_int_equal(h->connect_status, 0);
}

/*
 * RFC 7323 2.2: the window of a SYN-ACK is never scaled, even when it
 * completes a simultaneous open after window scaling was agreed. With 2000
 * bytes queued, the peer's window of 1460 lets 1460 out, not 1460 << 7
 * (found by fuzz_engine: data beyond any window the peer offered), in two
 * segments of half that window (Linux tcp_bound_to_half_wnd()).
 */
static void simultaneous_open_synack_window_unscaled(void **state)
{
    struct harness *h = *state;
    struct tcp_opts o = mss_only(H_MSS);

    h->cfg.tcp_window_scaling = 1;
    h_reinit(h);
    o.ws_ok = true;
    o.ws = 7;
    h_connect(h, H_SERVICE_PORT);
    h_expect_syn(h);
    h_send_opts(h, TCP_SYN, IRS, 0, &o, NULL, 0);
    h_expect_at(h, TCP_SYN | TCP_ACK, ISS, IRS + 1, NULL, 0, false, __FILE__, __LINE__);
    assert_int_equal(h_write_pattern(h, 0, 2000), 2000);
    h_expect_nothing(h);
    h->peer_wnd = H_MSS;
    h_send_opts(h, TCP_SYN | TCP_ACK, IRS, ISS + 1, &o, NULL, 0);
    h_expect_pattern(h, TCP_ACK, ISS + 1, IRS + 1, 0, H_MSS / 2);
    h_expect_pattern(h, TCP_ACK, ISS + 1 + H_MSS / 2, IRS + 1, H_MSS / 2, H_MSS / 2);
    h_expect_nothing(h);
    assert_int_equal(tt_conn_state(h->conn), TT_STATE_ESTABLISHED);
}

/* RFC 9293 3.10.7.3: a RST whose ACK acks our SYN refuses the connection. */
static void rst_ack_to_syn_refuses_connect(void **state)
{
    struct harness *h = *state;

    h_connect(h, H_SERVICE_PORT);
    h_expect_syn(h);
    h_send(h, TCP_RST | TCP_ACK, 0, ISS + 1, NULL, 0);
    h_expect_nothing(h);
    assert_int_equal(h->connect_calls, 1);
    assert_int_equal(h->connect_status, -ECONNREFUSED);
    assert_int_equal(h_count_events(h, TT_EV_CONNECT_FAIL), 1); /* docs/contract.md §4.2 */
    assert_int_equal(h_last_event(h, TT_EV_CONNECT_FAIL)->err, -ECONNREFUSED);
    assert_int_equal(h_last_event(h, TT_EV_CONNECT_FAIL)->lport, h->lport);
    h_expect_closed(h, TT_WHY_REFUSED, h->now);
    h_expect_states(h, TT_STATE_SYN_SENT, TT_STATE_CLOSED, -1);
    assert_int_equal(tt_engine_conn_count(h->eng), 0);
    assert_int_equal(h_stats(h).TcpAttemptFails, 1);
    h_advance(h, 200 * SEC); /* no SYN retransmission follows */
    h_expect_nothing(h);
}

/* RFC 9293 3.10.7.3 first check: a SYN-ACK acking something other than our
 * SYN gets <SEQ=SEG.ACK><CTL=RST>; we stay in SYN_SENT. */
static void syn_sent_bad_ack_gets_rst(void **state)
{
    struct harness *h = *state;
    struct tcp_opts o = mss_only(H_MSS);

    h_connect(h, H_SERVICE_PORT);
    h_expect_syn(h);
    h_send_opts(h, TCP_SYN | TCP_ACK, IRS, ISS + 5, &o, NULL, 0);
    h_expect(h, TCP_RST, ISS + 5, 0);
    assert_int_equal(tt_conn_state(h->conn), TT_STATE_SYN_SENT);
    assert_int_equal(h->connect_calls, 0);
}

/* RFC 9293 3.10.7.3: in SYN_SENT a RST counts only if its ACK acks our SYN;
 * one with a wrong ACK, or none, is dropped silently (RFC 5961 3.2). */
static void syn_sent_ignores_rst_not_acking_syn(void **state)
{
    struct harness *h = *state;

    h_connect(h, H_SERVICE_PORT);
    h_expect_syn(h);
    h_send(h, TCP_RST | TCP_ACK, 0, ISS + 2, NULL, 0);
    h_expect_nothing(h);
    h_send(h, TCP_RST | TCP_ACK, 0, ISS, NULL, 0);
    h_expect_nothing(h);
    h_send(h, TCP_RST, IRS, 0, NULL, 0);
    h_expect_nothing(h);
    assert_int_equal(tt_conn_state(h->conn), TT_STATE_SYN_SENT);
    assert_int_equal(h->connect_calls, 0);
}

/*
 * RFC 6298 2.1 and 5.5, Linux tcp_syn_retries = 6: the SYN goes again at
 * +1, +3, +7, +15, +31, +63 s (RTO 1 s, doubled each time); at +127 s the
 * connect fails with -ETIMEDOUT, CLOSED why "timeout". Each instant is
 * checked one microsecond early too.
 */
static void syn_retransmitted_with_backoff_then_etimedout(void **state)
{
    struct harness *h = *state;
    uint64_t t0 = h->now;

    h_connect(h, H_SERVICE_PORT);
    h_expect_syn(h);
    for (uint64_t rto = 1 * SEC; rto <= 32 * SEC; rto *= 2) {
        h_expect_after(h, rto, TCP_SYN, ISS, 0);
        assert_int_equal(h->connect_calls, 0);
    }
    assert_int_equal(h->now, t0 + 63 * SEC);
    h_advance(h, 64 * SEC - 1);
    h_expect_nothing(h);
    assert_int_equal(h->connect_calls, 0);
    assert_int_equal(tt_conn_state(h->conn), TT_STATE_SYN_SENT);
    h_advance(h, 1);
    h_expect_nothing(h);
    assert_int_equal(h->connect_calls, 1);
    assert_int_equal(h->connect_status, -ETIMEDOUT);
    h_expect_closed(h, TT_WHY_TIMEOUT, t0 + 127 * SEC);
    assert_int_equal(h_stats(h).TcpRetransSegs, 6);
}

/* RFC 6298 2.1: the SYN-ACK is retransmitted after 1 s, then 2 s later; the
 * peer's ACK then completes the handshake. */
static void synack_retransmitted_after_1s_then_2s(void **state)
{
    struct harness *h = *state;

    h_reach_syn_received(h);
    h_expect_after(h, 1 * SEC, TCP_SYN | TCP_ACK, ISS, IRS + 1);
    h_expect_after(h, 2 * SEC, TCP_SYN | TCP_ACK, ISS, IRS + 1);
    h_send(h, TCP_ACK, IRS + 1, ISS + 1, NULL, 0);
    h_expect_nothing(h);
    assert_int_equal(h->connection_calls, 1);
    assert_int_equal(tt_conn_state(h->conn), TT_STATE_ESTABLISHED);
}

/*
 * Linux tcp_synack_retries = 5: SYN-ACKs at +1, +3, +7, +15, +31 s; at +63 s
 * the embryonic connection is dropped without a RST and never reaches the app.
 */
static void synack_retries_exhausted_drop_silently(void **state)
{
    struct harness *h = *state;

    h_reach_syn_received(h);
    for (uint64_t rto = 1 * SEC; rto <= 16 * SEC; rto *= 2)
        h_expect_after(h, rto, TCP_SYN | TCP_ACK, ISS, IRS + 1);
    h_advance(h, 32 * SEC - 1);
    h_expect_nothing(h);
    assert_int_equal(tt_engine_conn_count(h->eng), 1);
    h_advance(h, 1);
    h_expect_nothing(h);
    assert_int_equal(tt_engine_conn_count(h->eng), 0);
    assert_int_equal(h->connection_calls, 0);
}

/* RFC 9293 3.10.7.2: in LISTEN, any ACK is bad: <SEQ=SEG.ACK><CTL=RST>. */
static void ack_to_listener_gets_rst(void **state)
{
    struct harness *h = *state;

    h_listen(h, H_LISTEN_PORT);
    h->lport = H_LISTEN_PORT;
    h->rport = H_PEER_PORT;
    h_send(h, TCP_ACK, IRS + 1, 0xdeadbeef, NULL, 0);
    h_expect(h, TCP_RST, 0xdeadbeef, 0);
    assert_int_equal(tt_engine_conn_count(h->eng), 0);
}

/* RFC 9293 3.10.7.2: in LISTEN an incoming RST is ignored. */
static void rst_to_listener_ignored(void **state)
{
    struct harness *h = *state;

    h_listen(h, H_LISTEN_PORT);
    h->lport = H_LISTEN_PORT;
    h->rport = H_PEER_PORT;
    h_send(h, TCP_RST, IRS, 0, NULL, 0);
    h_expect_nothing(h);
    h_send(h, TCP_RST | TCP_ACK, IRS, 1234, NULL, 0);
    h_expect_nothing(h);
    h_peer_connects(h); /* the listener still works */
}

/* As Linux's LISTEN state (tcp_rcv_state_process), the listener discards a
 * SYN that also carries FIN: no SYN-ACK, no half-open connection. */
static void listener_drops_syn_fin(void **state)
{
    struct harness *h = *state;

    h_listen(h, H_LISTEN_PORT);
    h->lport = H_LISTEN_PORT;
    h->rport = H_PEER_PORT;
    h_send(h, TCP_SYN | TCP_FIN, IRS, 0, NULL, 0);
    h_expect_nothing(h);
    assert_int_equal(tt_engine_conn_count(h->eng), 0);
    assert_int_equal(h->connection_calls, 0);
    h_peer_connects(h); /* the listener still works */
}

/* The fixture of the other tests, on its own: an active open then data. */
static void active_open_fixture_then_data(void **state)
{
    struct harness *h = *state;

    h_reach_established_active(h);
    assert_int_equal(h_write(h, "hi", 2), 2);
    h_expect_data(h, TCP_ACK, ISS + 1, IRS + 1, "hi", 2);
    h_send(h, TCP_ACK, IRS + 1, ISS + 3, NULL, 0);
    h_expect_nothing(h);
}

/* tuntcp.h tt_listener_close(): connections not yet accepted are reset
 * (<SEQ=SND.NXT><ACK=RCV.NXT><CTL=RST,ACK>, as Linux's listen stop); the
 * port is then closed: a SYN gets <SEQ=0><ACK=SEG.SEQ+1><CTL=RST,ACK>. */
static void listener_close_resets_unaccepted_connection(void **state)
{
    struct harness *h = *state;

    h->auto_accept = false;
    h_listen(h, H_LISTEN_PORT);
    h_peer_connects_unaccepted(h);
    tt_listener_close(h->listener);
    h->listener = NULL;
    h_expect(h, TCP_RST | TCP_ACK, ISS + 1, IRS + 1);
    assert_int_equal(tt_engine_conn_count(h->eng), 0);
    h->irs += 1000;
    h_send_syn(h);
    h_expect(h, TCP_RST | TCP_ACK, 0, IRS + 1);
}

/* RFC 9293 3.10.7.4 (SYN-RECEIVED) and Linux: the peer's SYN again means our
 * SYN-ACK was lost: it is sent again at once, unchanged. */
static void dup_syn_in_syn_received_resends_synack(void **state)
{
    struct harness *h = *state;

    h_reach_syn_received(h);
    h_advance(h, 300 * MS);
    h_send_syn(h);
    h_expect(h, TCP_SYN | TCP_ACK, ISS, IRS + 1);
    h_send(h, TCP_ACK, IRS + 1, ISS + 1, NULL, 0);
    h_expect_nothing(h);
    assert_int_equal(h->connection_calls, 1);
    assert_int_equal(tt_engine_conn_count(h->eng), 1);
}

/* tuntcp.h tt_listen(): the backlog bounds connections established but not
 * yet accepted; half-open ones (SYN_RECEIVED) do not count against it. */
static void backlog_counts_only_established_connections(void **state)
{
    struct harness *h = *state;

    h->auto_accept = false;
    h_listen_backlog(h, H_LISTEN_PORT, 1);
    h->lport = H_LISTEN_PORT;
    h->rport = H_PEER_PORT;
    h_send_syn(h);
    h_expect_synack(h);
    h->rport = H_PEER_PORT + 1;
    h->irs += 5000;
    h_send_syn(h);
    h_expect_synack(h);
    h_send(h, TCP_ACK, IRS + 1, ISS + 1, NULL, 0);
    h_expect_nothing(h);
    assert_int_equal(h->connection_calls, 1);
}

/* RFC 9293 3.10.7.4 fifth step, SYN-RECEIVED: an ACK that does not ack our
 * SYN gets <SEQ=SEG.ACK><CTL=RST>; the handshake can still complete. */
static void bad_ack_in_syn_received_gets_rst(void **state)
{
    struct harness *h = *state;

    h_reach_syn_received(h);
    h_send(h, TCP_ACK, IRS + 1, ISS + 7, NULL, 0);
    h_expect(h, TCP_RST, ISS + 7, 0);
    assert_int_equal(h_conn_state(h), TT_STATE_SYN_RECEIVED);
    h_send(h, TCP_ACK, IRS + 1, ISS + 1, NULL, 0);
    h_expect_nothing(h);
    assert_int_equal(h->connection_calls, 1);
}

/* RFC 9293 3.10.7.4: the ACK that completes the handshake may carry data;
 * it is delivered and ACKed. */
static void handshake_ack_carrying_data(void **state)
{
    struct harness *h = *state;

    h_reach_syn_received(h);
    h_send(h, TCP_ACK | TCP_PSH, IRS + 1, ISS + 1, "GET", 3);
    h_expect(h, TCP_ACK, ISS + 1, IRS + 4);
    assert_int_equal(h->connection_calls, 1);
    assert_int_equal(h->rx_len, 3);
    assert_memory_equal(h->rx, "GET", 3);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(passive_open_three_way_handshake, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(accept_waits_for_the_final_ack, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(active_open_three_way_handshake, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(syn_offers_ws_sack_ts_when_enabled, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(synack_omits_options_the_peer_did_not_offer, h_setup,
                                        h_teardown),
        cmocka_unit_test_setup_teardown(synack_answers_offered_options, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(simultaneous_open_through_syn_received, h_setup,
                                        h_teardown),
        cmocka_unit_test_setup_teardown(simultaneous_open_synack_window_unscaled, h_setup,
                                        h_teardown),
        cmocka_unit_test_setup_teardown(simultaneous_open_completed_by_peer_synack, h_setup,
                                        h_teardown),
        cmocka_unit_test_setup_teardown(rst_ack_to_syn_refuses_connect, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(syn_sent_bad_ack_gets_rst, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(syn_sent_ignores_rst_not_acking_syn, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(syn_retransmitted_with_backoff_then_etimedout, h_setup,
                                        h_teardown),
        cmocka_unit_test_setup_teardown(synack_retransmitted_after_1s_then_2s, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(synack_retries_exhausted_drop_silently, h_setup,
                                        h_teardown),
        cmocka_unit_test_setup_teardown(ack_to_listener_gets_rst, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(rst_to_listener_ignored, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(listener_drops_syn_fin, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(active_open_fixture_then_data, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(listener_close_resets_unaccepted_connection, h_setup,
                                        h_teardown),
        cmocka_unit_test_setup_teardown(dup_syn_in_syn_received_resends_synack, h_setup,
                                        h_teardown),
        cmocka_unit_test_setup_teardown(backlog_counts_only_established_connections, h_setup,
                                        h_teardown),
        cmocka_unit_test_setup_teardown(bad_ack_in_syn_received_gets_rst, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(handshake_ack_carrying_data, h_setup, h_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
