/*
 * SYN cookies (RFC 4987 3.6; Linux tcp_syncookies=1): when a listener's
 * half-open queue is full its SYN-ACK carries the handshake in the ISN and
 * no TCB is kept; the ACK that returns a valid cookie builds the
 * connection. Without cookies, tcp_max_syn_backlog bounds the queue.
 */
#include "harness.h"

/* The listener (backlog 1) holds one half-open connection from port 41234;
 * the next peer, from 41235, finds the SYN queue full. */
static void fill_syn_queue(struct harness *h)
{
    h->auto_accept = true;
    h_listen_backlog(h, H_LISTEN_PORT, 1);
    h->lport = H_LISTEN_PORT;
    h->rport = H_PEER_PORT;
    h_send_syn(h);
    h_expect_synack(h);
    assert_int_equal(tt_engine_conn_count(h->eng), 1);
    h->rport = H_PEER_PORT + 1;
    h->irs += 77777;
}

/* RFC 4987 3.6: a full SYN queue answers with a cookie and keeps nothing. */
static void syncookie_sent_when_syn_queue_full(void **state)
{
    struct harness *h = *state;

    fill_syn_queue(h);
    h_send_syn(h);
    h_expect_synack(h);
    assert_int_equal(tt_engine_conn_count(h->eng), 1);
    assert_int_equal(h_stats(h).TcpExtSyncookiesSent, 1);
}

/* The ACK of the cookie SYN-ACK makes an established, accepted connection
 * that carries data both ways. */
static void syncookie_ack_completes_handshake(void **state)
{
    struct harness *h = *state;

    fill_syn_queue(h);
    h_send_syn(h);
    h_expect_synack(h);
    h_send(h, TCP_ACK, IRS + 1, ISS + 1, NULL, 0);
    h_expect_nothing(h);
    assert_int_equal(h->connection_calls, 1);
    assert_int_equal(tt_conn_state(h->conn), TT_STATE_ESTABLISHED);
    assert_int_equal(h_stats(h).TcpExtSyncookiesRecv, 1);
    h_send(h, TCP_ACK | TCP_PSH, IRS + 1, ISS + 1, "ping", 4);
    h_expect(h, TCP_ACK, ISS + 1, IRS + 5);
    assert_int_equal(h->rx_len, 4);
    h_write(h, "pong", 4);
    h_expect_data(h, TCP_ACK, ISS + 1, IRS + 5, "pong", 4);
}

/* The MSS the cookie encodes bounds our segments: a peer MSS of 1460 maps
 * to 1460, never above what the peer said. */
static void syncookie_keeps_peer_mss(void **state)
{
    struct harness *h = *state;

    fill_syn_queue(h);
    h_send_syn(h);
    h_expect_synack(h);
    h_send(h, TCP_ACK, IRS + 1, ISS + 1, NULL, 0);
    h_expect_nothing(h);
    h_write_pattern(h, 0, 3000);
    h_expect_len(h, TCP_ACK, ISS + 1, IRS + 1, H_MSS);
    h_expect_len(h, TCP_ACK, ISS + 1 + H_MSS, IRS + 1, H_MSS);
    h_expect_len(h, TCP_ACK, ISS + 1 + 2 * H_MSS, IRS + 1, 3000 - 2 * H_MSS);
}

/* A forged or stale ACK is not a cookie: RFC 9293 3.10.7.2, <SEQ=SEG.ACK><RST>. */
static void syncookie_wrong_ack_gets_rst(void **state)
{
    struct harness *h = *state;

    fill_syn_queue(h);
    h_send_syn(h);
    h_expect_synack(h);
    h_send(h, TCP_ACK, IRS + 1, ISS + 2, NULL, 0);
    h_expect(h, TCP_RST, ISS + 2, 0);
    assert_int_equal(h_stats(h).TcpExtSyncookiesFailed, 1);
    assert_int_equal(tt_engine_conn_count(h->eng), 1);
}

/* A cookie lives two 64-second periods at most. */
static void syncookie_too_old_gets_rst(void **state)
{
    struct harness *h = *state;

    fill_syn_queue(h);
    h_send_syn(h);
    h_expect_synack(h);
    h_advance(h, 129 * SEC);
    uint16_t cookie_port = h->rport;
    h->rport = H_PEER_PORT; /* the first connection's SYN-ACK retries, then it gives up */
    while (h_pending(h))
        assert_int_equal(h_pop_any(h)->seg.flags, TCP_SYN | TCP_ACK);
    h->rport = cookie_port;
    h_send(h, TCP_ACK, IRS + 1, ISS + 1, NULL, 0);
    h_expect(h, TCP_RST, ISS + 1, 0);
}

/*
 * With timestamps, window scale and SACK-permitted survive the cookie in
 * TSval's low bits: a peer window of 100 << 7 lets 11584 of 12800 bytes go,
 * where an unscaled 100 would let 100. 11584: Linux's skbs hold four
 * segments here (size_goal, half the window), and the third skb's first
 * segment does not fit the 1216 bytes left (tcp_snd_wnd_test()).
 */
static void syncookie_with_timestamps_keeps_window_scale(void **state)
{
    struct harness *h = *state;

    h->cfg.tcp_timestamps = 1;
    h->cfg.tcp_window_scaling = 1;
    h->cfg.tcp_sack = 1;
    h_reinit(h);
    fill_syn_queue(h);
    struct tcp_opts o = {.mss_ok = true,
                         .mss = H_MSS,
                         .ws_ok = true,
                         .ws = 7,
                         .sack_ok = true,
                         .ts_ok = true,
                         .ts_val = 5000};
    h_send_opts(h, TCP_SYN, IRS, 0, &o, NULL, 0);
    const struct h_seg *sa = h_expect_synack(h);
    assert_true(sa->seg.opt.ts_ok);
    assert_true(sa->seg.opt.ws_ok);
    struct tcp_opts a = {.ts_ok = true, .ts_val = 5001, .ts_ecr = sa->seg.opt.ts_val};
    h->peer_wnd = 100;
    h_send_opts(h, TCP_ACK, IRS + 1, ISS + 1, &a, NULL, 0);
    h_expect_nothing(h);
    assert_int_equal(h->connection_calls, 1);
    h_write_pattern(h, 0, 20000);
    size_t sent = 0;
    while (h_pending(h)) {
        const struct h_seg *s = h_expect_len(h, TCP_ACK, ISS + 1 + sent, IRS + 1, 1448);
        sent += s->seg.len;
    }
    /* 100 << 7: the whole segments that fit in 12800; the next starts one
     * of Linux's skbs (4 segments, half the window) and waits to fit whole
     * (tcp_snd_wnd_test()) */
    assert_int_equal(sent, 8 * 1448);
}

/*
 * ECN through the cookie (RFC 3168 6.1.1; Linux's TS_OPT_ECN and
 * cookie_ecn_ok()): with timestamps an ECN-setup SYN gets ECE in the
 * cookie SYN-ACK, TSval's bit 5 brings the agreement back, and the
 * connection's data goes ECT(0). Without timestamps no ECE (Linux clears
 * ecn_ok for a cookie without them).
 */
static void syncookie_carries_ecn_in_timestamp(void **state)
{
    struct harness *h = *state;

    h->cfg.tcp_timestamps = 1;
    h_reinit(h);
    fill_syn_queue(h);
    struct tcp_opts o = {.mss_ok = true, .mss = H_MSS, .ts_ok = true, .ts_val = 5000};
    h_send_opts(h, TCP_SYN | TCP_ECE | TCP_CWR, IRS, 0, &o, NULL, 0);
    const struct h_seg *sa = h_pop_any(h);
    assert_int_equal(sa->seg.flags, TCP_SYN | TCP_ACK | TCP_ECE);
    h->iss = sa->seg.seq;
    struct tcp_opts a = {.ts_ok = true, .ts_val = 5001, .ts_ecr = sa->seg.opt.ts_val};
    h_send_opts(h, TCP_ACK, IRS + 1, ISS + 1, &a, NULL, 0);
    h_expect_nothing(h);
    assert_int_equal(h->connection_calls, 1);
    tt_conn_info_t i;
    tt_conn_get_info(h->conn, &i);
    assert_true(i.ecn_on);
    h_write_pattern(h, 0, 100);
    const struct h_seg *d = h_expect_len(h, TCP_ACK | TCP_PSH, ISS + 1, IRS + 1, 100);
    assert_int_equal(d->bytes[1] & 3, 2); /* ECT(0) */
}

static void syncookie_without_timestamps_refuses_ecn(void **state)
{
    struct harness *h = *state;

    fill_syn_queue(h);
    struct tcp_opts o = {.mss_ok = true, .mss = H_MSS};
    h_send_opts(h, TCP_SYN | TCP_ECE | TCP_CWR, IRS, 0, &o, NULL, 0);
    h_expect_synack(h); /* SYN|ACK alone */
}

/* tcp_syncookies=0: the queue holds tcp_max_syn_backlog, then SYNs are dropped. */
static void no_syncookies_drop_past_max_syn_backlog(void **state)
{
    struct harness *h = *state;

    h->cfg.tcp_syncookies = 0;
    h->cfg.tcp_max_syn_backlog = 1;
    h_reinit(h);
    fill_syn_queue(h);
    h_send_syn(h);
    h_expect_nothing(h);
    assert_int_equal(h_stats(h).TcpExtListenDrops, 1);
    assert_int_equal(h_stats(h).TcpExtSyncookiesSent, 0);
}

/*
 * Linux tcp_v4_syn_recv_sock() (sk_acceptq_is_full -> exit_overflow): a
 * valid cookie ACK that finds the accept queue full is dropped without a
 * word and counted (TcpExtListenOverflows, TcpExtListenDrops), as for an
 * ordinary handshake; a RST would kill a client that believes it is
 * connected. Its next segment, once the app has accepted, makes the
 * connection. Here: the half-open connection from 41234 fills the SYN queue
 * (backlog 1), 41235 gets a cookie, 41234 completes and fills the accept
 * queue, then 41235's ACK arrives.
 */
static void syncookie_ack_with_accept_queue_full_dropped(void **state)
{
    struct harness *h = *state;

    fill_syn_queue(h);
    h->auto_accept = false;
    uint32_t iss_a = ISS, irs_a = IRS - 77777; /* fill_syn_queue() moved IRS on */
    h_send_syn(h);
    h_expect_synack(h);
    assert_int_equal(h_stats(h).TcpExtSyncookiesSent, 1);
    uint32_t iss_b = ISS, irs_b = IRS;
    h->rport = H_PEER_PORT; /* the half-open one completes: the accept queue is full */
    h->iss = iss_a;
    h->irs = irs_a;
    h_send(h, TCP_ACK, IRS + 1, ISS + 1, NULL, 0);
    h_expect_nothing(h);
    assert_int_equal(h->connection_calls, 1);
    h->rport = H_PEER_PORT + 1; /* the cookie ACK */
    h->iss = iss_b;
    h->irs = irs_b;
    h_send(h, TCP_ACK, IRS + 1, ISS + 1, NULL, 0);
    h_expect_nothing(h);
    assert_int_equal(h_stats(h).TcpExtListenOverflows, 1);
    assert_int_equal(h_stats(h).TcpExtListenDrops, 1);
    assert_int_equal(h_stats(h).TcpOutRsts, 0);
    assert_int_equal(tt_engine_conn_count(h->eng), 1);
    assert_int_equal(h->connection_calls, 1);
    tt_conn_t *a;
    assert_int_equal(tt_accept(h->listener, &a), 0);
    h_advance(h, 200 * MS); /* the client sends its request, still with the cookie */
    h_send(h, TCP_ACK | TCP_PSH, IRS + 1, ISS + 1, "hi", 2);
    h_expect(h, TCP_ACK, ISS + 1, IRS + 3);
    assert_int_equal(h->connection_calls, 2);
    assert_int_equal(tt_engine_conn_count(h->eng), 2);
    assert_int_equal(h_stats(h).TcpExtSyncookiesRecv, 2); /* Linux counts each valid one */
    tt_conn_t *b;
    assert_int_equal(tt_accept(h->listener, &b), 0);
    h_adopt(h, b);
    assert_int_equal(h->rx_len, 2);
    assert_memory_equal(h->rx, "hi", 2);
    h->rport = H_PEER_PORT; /* the first connection works too */
    h->iss = iss_a;
    h->irs = irs_a;
    tt_conn_close(a, NULL);
    h_expect(h, TCP_FIN | TCP_ACK, ISS + 1, IRS + 1);
}

/* The same without cookies (Linux tcp_check_req -> listen_overflow): the
 * ACK of a SYN-ACK that finds the accept queue full is forgotten and
 * counted in both counters; the SYN-ACK timer offers the handshake again. */
static void handshake_ack_with_accept_queue_full_dropped(void **state)
{
    struct harness *h = *state;

    h->cfg.tcp_syncookies = 0;
    h->cfg.tcp_max_syn_backlog = 2;
    h_reinit(h);
    fill_syn_queue(h);
    h->auto_accept = false;
    uint32_t iss_a = ISS, irs_a = IRS - 77777; /* fill_syn_queue() moved IRS on */
    h_send_syn(h);
    h_expect_synack(h);
    uint32_t iss_b = ISS, irs_b = IRS;
    h->rport = H_PEER_PORT;
    h->iss = iss_a;
    h->irs = irs_a;
    h_send(h, TCP_ACK, IRS + 1, ISS + 1, NULL, 0);
    h_expect_nothing(h);
    h->rport = H_PEER_PORT + 1;
    h->iss = iss_b;
    h->irs = irs_b;
    h_send(h, TCP_ACK, IRS + 1, ISS + 1, NULL, 0);
    h_expect_nothing(h);
    assert_int_equal(h_stats(h).TcpExtListenOverflows, 1);
    assert_int_equal(h_stats(h).TcpExtListenDrops, 1);
    assert_int_equal(h_conn_state(h), TT_STATE_SYN_RECEIVED);
    assert_int_equal(h->connection_calls, 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(syncookie_sent_when_syn_queue_full, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(syncookie_ack_completes_handshake, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(syncookie_keeps_peer_mss, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(syncookie_wrong_ack_gets_rst, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(syncookie_too_old_gets_rst, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(syncookie_with_timestamps_keeps_window_scale, h_setup,
                                        h_teardown),
        cmocka_unit_test_setup_teardown(syncookie_carries_ecn_in_timestamp, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(syncookie_without_timestamps_refuses_ecn, h_setup,
                                        h_teardown),
        cmocka_unit_test_setup_teardown(no_syncookies_drop_past_max_syn_backlog, h_setup,
                                        h_teardown),
        cmocka_unit_test_setup_teardown(syncookie_ack_with_accept_queue_full_dropped, h_setup,
                                        h_teardown),
        cmocka_unit_test_setup_teardown(handshake_ack_with_accept_queue_full_dropped, h_setup,
                                        h_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
