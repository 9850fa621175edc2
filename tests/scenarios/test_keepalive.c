/*
 * Scenarios: SO_KEEPALIVE and TCP_USER_TIMEOUT as Linux has them
 * (docs/contract.md §2.6 items 11 and 12): tcp_keepalive_timer(),
 * tcp_clamp_rto_to_user_timeout(), tcp_probe_timer().
 */
#include "harness.h"

#include <errno.h>

#define IDLE 10
#define INTVL 2
#define CNT 3

/* <SEQ=SND.UNA-1><ACK=RCV.NXT><CTL=ACK>: RFC 1122 4.2.3.6's probe. */
static void expect_probe(struct harness *h)
{
    h_expect(h, TCP_ACK, ISS, IRS + 1);
}

static void keepalive_established(struct harness *h)
{
    h_reach_established_passive(h);
    assert_int_equal(tt_conn_set_keepalive(h->conn, 1, IDLE, INTVL, CNT), 0);
}

/* Off by default: three hours of silence send nothing. */
static void keepalive_off_by_default(void **state)
{
    struct harness *h = *state;

    h_reach_established_passive(h);
    h_advance(h, 3 * 3600 * SEC);
    h_expect_nothing(h);
    assert_int_equal(h_conn_state(h), TT_STATE_ESTABLISHED);
}

/* The first probe after exactly the idle time; an answer resets the count
 * and the next probe waits a whole idle time from that answer. */
static void keepalive_probes_after_idle_and_answer_resets(void **state)
{
    struct harness *h = *state;

    keepalive_established(h);
    h_advance(h, IDLE * SEC - 1);
    h_expect_nothing(h);
    h_advance(h, 1);
    expect_probe(h);
    assert_int_equal(h_stats(h).TcpExtTCPKeepAlive, 1);
    h_advance(h, 500 * MS);
    h_send(h, TCP_ACK, IRS + 1, ISS + 1, NULL, 0); /* the peer is alive */
    h_expect_nothing(h);
    h_advance(h, IDLE * SEC - 1);
    h_expect_nothing(h);
    h_advance(h, 1);
    expect_probe(h);
    assert_int_equal(h_conn_state(h), TT_STATE_ESTABLISHED);
}

/* Linux: after TCP_KEEPCNT unanswered probes, one interval after the last,
 * a RST and ETIMEDOUT; counted as TcpExtTCPAbortOnTimeout. */
static void keepalive_resets_after_cnt_unanswered_probes(void **state)
{
    struct harness *h = *state;

    keepalive_established(h);
    uint64_t t0 = h->now;
    h_advance(h, IDLE * SEC);
    expect_probe(h);
    for (int i = 1; i < CNT; i++) {
        h_advance(h, INTVL * SEC);
        expect_probe(h);
    }
    h_advance(h, INTVL * SEC - 1);
    h_expect_nothing(h);
    h_advance(h, 1);
    h_expect(h, TCP_RST | TCP_ACK, ISS + 1, IRS + 1);
    assert_int_equal(h->now - t0, (IDLE + CNT * INTVL) * SEC);
    assert_int_equal(h->read_err, -ETIMEDOUT);
    h_expect_closed(h, TT_WHY_TIMEOUT, h->now);
    tt_stats_t st = h_stats(h);
    assert_int_equal(st.TcpExtTCPKeepAlive, CNT);
    assert_int_equal(st.TcpExtTCPAbortOnTimeout, 1);
    assert_int_equal(st.TcpEstabResets, 1);
}

/* Traffic that arrives is what counts: the timer measures the silence
 * since the last ACK and sleeps the rest (Linux keepalive_time_elapsed). */
static void keepalive_counts_silence_from_last_ack(void **state)
{
    struct harness *h = *state;

    keepalive_established(h);
    h_advance(h, 7 * SEC);
    h_send(h, TCP_ACK, IRS + 1, ISS + 1, NULL, 0);
    h_advance(h, IDLE * SEC - 1); /* the timer fired at 10 s and slept 7 s more */
    h_expect_nothing(h);
    h_advance(h, 1);
    expect_probe(h);
}

/* Data in flight: the retransmission timer watches the peer, not keep-alive. */
static void keepalive_waits_while_data_is_outstanding(void **state)
{
    struct harness *h = *state;

    keepalive_established(h);
    h->cfg.retries2 = 15;
    assert_int_equal(h_write_pattern(h, 0, 100), 100);
    h_expect_pattern(h, TCP_ACK | TCP_PSH, ISS + 1, IRS + 1, 0, 100);
    h_advance(h, IDLE * SEC + 1);
    while (h_pending(h)) /* retransmissions only, never a probe */
        h_expect_pattern(h, TCP_ACK | TCP_PSH, ISS + 1, IRS + 1, 0, 100);
    assert_int_equal(h_stats(h).TcpExtTCPKeepAlive, 0);
}

/* Asked for before the connection is up: it counts from ESTABLISHED
 * (Linux tcp_finish_connect). 0s take the engine's sysctls. */
static void keepalive_set_in_syn_sent_uses_sysctls(void **state)
{
    struct harness *h = *state;

    h->cfg.keepalive_time_us = 30 * SEC;
    h->cfg.keepalive_intvl_us = 5 * SEC;
    h->cfg.keepalive_probes = 1;
    h_reinit(h);
    h_connect(h, H_SERVICE_PORT);
    h_expect_syn(h);
    assert_int_equal(tt_conn_set_keepalive(h->conn, 1, 0, 0, 0), 0);
    h_advance(h, 100 * MS);
    h_send(h, TCP_SYN | TCP_ACK, IRS, ISS + 1, NULL, 0);
    h_expect(h, TCP_ACK, ISS + 1, IRS + 1);
    h_advance(h, 30 * SEC);
    expect_probe(h);
    h_advance(h, 5 * SEC);
    h_expect(h, TCP_RST | TCP_ACK, ISS + 1, IRS + 1);
    h_expect_closed(h, TT_WHY_TIMEOUT, h->now);
}

static void keepalive_limits_as_linux(void **state)
{
    struct harness *h = *state;

    h_reach_established_passive(h);
    assert_int_equal(tt_conn_set_keepalive(h->conn, 1, 32768, 1, 1), -EINVAL);
    assert_int_equal(tt_conn_set_keepalive(h->conn, 1, 1, 32768, 1), -EINVAL);
    assert_int_equal(tt_conn_set_keepalive(h->conn, 1, 1, 1, 128), -EINVAL);
    assert_int_equal(tt_conn_set_keepalive(h->conn, 0, 0, 0, 0), 0);
}

/*
 * TCP_USER_TIMEOUT 2.5 s with data unacknowledged: retransmissions at 0.2,
 * 0.6 and 1.4 s, then the timer is clamped to fire at 2.5 s (not 3.0 s)
 * and the connection gives up there, without a RST (Linux tcp_write_err).
 */
static void user_timeout_ends_retransmission_on_time(void **state)
{
    struct harness *h = *state;

    h_reach_established_passive(h);
    assert_int_equal(tt_conn_set_user_timeout(h->conn, 2500), 0);
    uint64_t t0 = h->now;
    assert_int_equal(h_write_pattern(h, 0, 100), 100);
    h_expect_pattern(h, TCP_ACK | TCP_PSH, ISS + 1, IRS + 1, 0, 100);
    h_advance(h, 2500 * MS - 1);
    int resent = 0;
    while (h_pending(h)) {
        h_expect_pattern(h, TCP_ACK | TCP_PSH, ISS + 1, IRS + 1, 0, 100);
        resent++;
    }
    assert_true(resent >= 2);
    assert_int_equal(h_conn_state(h), TT_STATE_ESTABLISHED);
    h_advance(h, 1);
    h_expect_nothing(h);
    assert_int_equal(h->read_err, -ETIMEDOUT);
    h_expect_closed(h, TT_WHY_TIMEOUT, t0 + 2500 * MS);
}

/* With TCP_USER_TIMEOUT, keep-alive gives up by time, not by count: once a
 * probe is out and the silence has lasted the user timeout (Linux). */
static void user_timeout_bounds_keepalive(void **state)
{
    struct harness *h = *state;

    keepalive_established(h); /* idle 10 s, every 2 s, 3 probes */
    assert_int_equal(tt_conn_set_user_timeout(h->conn, 15000), 0);
    h_advance(h, IDLE * SEC);
    expect_probe(h);
    h_advance(h, INTVL * SEC);
    expect_probe(h);
    h_advance(h, INTVL * SEC);
    expect_probe(h);
    h_advance(h, INTVL * SEC); /* 16 s of silence: past 15 s, a probe out */
    h_expect(h, TCP_RST | TCP_ACK, ISS + 1, IRS + 1);
    h_expect_closed(h, TT_WHY_TIMEOUT, h->now);
}

/* Zero-window probing with TCP_USER_TIMEOUT: given up at the first probe
 * timer at or after the user timeout from the first unanswered probe, not
 * after tcp_retries2 probes (Linux tcp_probe_timer). */
static void user_timeout_bounds_zero_window_probing(void **state)
{
    struct harness *h = *state;

    h_reach_established_passive(h);
    h->peer_wnd = 0;
    h_send(h, TCP_ACK, IRS + 1, ISS + 1, NULL, 0);
    assert_int_equal(tt_conn_set_user_timeout(h->conn, 3000), 0);
    assert_int_equal(h_write_pattern(h, 0, 100), 100);
    uint64_t first = 0, last = 0;
    for (int i = 0; i < 200 && h_conn_state(h) == TT_STATE_ESTABLISHED; i++) {
        h_advance(h, 100 * MS);
        while (h_pending(h)) {
            const struct h_seg *p = h_pop_any(h);
            first = first ? first : p->at_us;
            last = p->at_us;
        }
    }
    const tt_event_t *closed = h_closed_event(h);
    assert_non_null(closed);
    assert_int_equal(closed->why, TT_WHY_TIMEOUT);
    assert_true(first != 0 && last < first + 3 * SEC); /* no probe after the user timeout */
    assert_true(closed->now_us >= first + 3 * SEC);    /* and none given up before */
    assert_int_equal(h->read_err, -ETIMEDOUT);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(keepalive_off_by_default, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(keepalive_probes_after_idle_and_answer_resets, h_setup,
                                        h_teardown),
        cmocka_unit_test_setup_teardown(keepalive_resets_after_cnt_unanswered_probes, h_setup,
                                        h_teardown),
        cmocka_unit_test_setup_teardown(keepalive_counts_silence_from_last_ack, h_setup,
                                        h_teardown),
        cmocka_unit_test_setup_teardown(keepalive_waits_while_data_is_outstanding, h_setup,
                                        h_teardown),
        cmocka_unit_test_setup_teardown(keepalive_set_in_syn_sent_uses_sysctls, h_setup,
                                        h_teardown),
        cmocka_unit_test_setup_teardown(keepalive_limits_as_linux, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(user_timeout_ends_retransmission_on_time, h_setup,
                                        h_teardown),
        cmocka_unit_test_setup_teardown(user_timeout_bounds_keepalive, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(user_timeout_bounds_zero_window_probing, h_setup,
                                        h_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
