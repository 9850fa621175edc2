/*
 * Scenarios: TCP_NOTSENT_LOWAT and net.ipv4.tcp_notsent_lowat as Linux
 * has them (tcp_notsent_lowat(), tcp_stream_memory_free(),
 * tcp_sendmsg_locked(), tcp_poll()). The mark bounds the bytes queued but
 * not yet sent (SND.NXT to the end of the queue):
 *   - a write queues in chunks of Linux's size goal (whole segments, half
 *     the peer's largest window) and starts a new chunk only while the
 *     unsent bytes are below the mark, so it may end above it;
 *   - the connection is writable (poll, the writable callback) only while
 *     twice the unsent bytes are below the mark;
 *   - the socket's own value wins; 0 means the sysctl's; the sysctl's
 *     default, UINT32_MAX, is off.
 *
 * The numbers: MSS 1460, the peer's window 65535 (no scaling), so the
 * size goal is 15 segments (21900 bytes, below 32767) and the initial
 * window 10 segments (14600, RFC 6928).
 */
#include "harness.h"

#include <string.h>

#define GOAL (22u * H_MSS)
#define INIT_CWND (10u * H_MSS)

static tt_conn_info_t info_of(const struct harness *h)
{
    tt_conn_info_t i;
    tt_conn_get_info(h->conn, &i);
    return i;
}

/* Bytes queued but not sent. */
static uint32_t unsent(const struct harness *h)
{
    tt_conn_info_t i = info_of(h);
    return i.send_q - i.unacked;
}

/* The segments of the initial window, then nothing. */
static void expect_initial_window(struct harness *h)
{
    for (uint32_t k = 0; k < 10; k++)
        h_expect_pattern(h, TCP_ACK, ISS + 1 + k * H_MSS, IRS + 1, (size_t)k * H_MSS, H_MSS);
    h_expect_nothing(h);
}

/* The sysctl is off by default (Linux: UINT_MAX) and a socket has no
 * value of its own: a large write is limited by the send buffer alone. */
static void off_by_default(void **state)
{
    struct harness *h = *state;
    h_reach_established_passive(h);
    assert_int_equal(tt_engine_config(h->eng)->tcp_notsent_lowat, UINT32_MAX);
    assert_int_equal(tt_conn_get_notsent_lowat(h->conn), 0);
    assert_int_equal(h_write_pattern(h, 0, 100000), 100000);
    expect_initial_window(h);
    assert_true(tt_conn_notsent_writable(h->conn));
}

/*
 * A write under a mark of 4000 (Linux tcp_sendmsg_locked()): the first
 * chunk of GOAL bytes is pushed when full and the initial window leaves
 * at once (tcp_push_one()); its rest is refilled to GOAL; then a new chunk
 * would start with GOAL bytes unsent, above the mark: the write stops at
 * INIT_CWND + GOAL, past the mark, as Linux's does
 * (packetdrill's notsent-lowat-setsockopt.pkt: 26000 of 59000).
 */
static void write_stops_at_the_chunk_past_the_mark(void **state)
{
    struct harness *h = *state;
    h_reach_established_passive(h);
    assert_int_equal(tt_conn_set_notsent_lowat(h->conn, 4000), 0);
    assert_int_equal(tt_conn_get_notsent_lowat(h->conn), 4000);
    assert_int_equal(h_write_pattern(h, 0, 100000), INIT_CWND + GOAL);
    expect_initial_window(h);
    assert_int_equal(unsent(h), GOAL);
    assert_false(tt_conn_notsent_writable(h->conn));
    /* a second write starts a new chunk: refused while above the mark */
    assert_int_equal(h_write_pattern(h, INIT_CWND + GOAL, 1000), 0);
}

/* The sysctl (here 4000) applies to a socket without its own value, which
 * reads 0; the socket's UINT32_MAX turns the mark off for it alone. */
static void sysctl_is_the_default_and_the_socket_wins(void **state)
{
    struct harness *h = *state;
    h->cfg.tcp_notsent_lowat = 4000;
    h_reinit(h);
    h_reach_established_passive(h);
    assert_int_equal(tt_conn_get_notsent_lowat(h->conn), 0);
    assert_int_equal(h_write_pattern(h, 0, 100000), INIT_CWND + GOAL);
    expect_initial_window(h);
    assert_int_equal(tt_conn_set_notsent_lowat(h->conn, UINT32_MAX), 0);
    assert_int_equal(tt_conn_get_notsent_lowat(h->conn), UINT32_MAX);
    assert_true(tt_conn_notsent_writable(h->conn));
    assert_int_equal(h_write_pattern(h, INIT_CWND + GOAL, 50000), 50000);
    h_expect_nothing(h); /* the initial window is in flight */
}

/*
 * Writable means twice the unsent bytes below the mark (tcp_poll() and
 * sk_stream_write_space() pass wake = 1): with GOAL unsent a mark of
 * 2 * GOAL is not enough, 2 * GOAL + 1 is; raising the mark wakes the
 * writer that was refused (do_tcp_setsockopt(): sk_write_space()).
 */
static void writable_below_half_the_mark_and_setsockopt_wakes(void **state)
{
    struct harness *h = *state;
    h_reach_established_passive(h);
    tt_conn_set_notsent_lowat(h->conn, 4000);
    assert_int_equal(h_write_pattern(h, 0, 100000), INIT_CWND + GOAL);
    expect_initial_window(h);
    tt_conn_set_notsent_lowat(h->conn, 2 * GOAL);
    assert_false(tt_conn_notsent_writable(h->conn));
    assert_int_equal(h->writable_calls, 0);
    tt_conn_set_notsent_lowat(h->conn, 2 * GOAL + 1);
    assert_true(tt_conn_notsent_writable(h->conn));
    assert_int_equal(h->writable_calls, 1);
}

/*
 * An ACK that frees send space wakes the writer only if, after what the
 * same ACK let go, the unsent bytes are below half the mark (Linux
 * tcp_check_space() runs after tcp_data_snd_check()). Two segments ACKed:
 * slow start lets four more go, 22 - 4 = 18 segments stay unsent, no
 * wake-up. The rest ACKed: the remaining 18 go, nothing is unsent, one
 * wake-up.
 */
static void ack_wakes_only_below_the_mark(void **state)
{
    struct harness *h = *state;
    h_reach_established_passive(h);
    tt_conn_set_notsent_lowat(h->conn, 4000);
    assert_int_equal(h_write_pattern(h, 0, 100000), INIT_CWND + GOAL);
    expect_initial_window(h);
    h_send(h, TCP_ACK, IRS + 1, ISS + 1 + 2 * H_MSS, NULL, 0);
    for (uint32_t k = 10; k < 14; k++)
        h_expect_pattern(h, TCP_ACK, ISS + 1 + k * H_MSS, IRS + 1, (size_t)k * H_MSS, H_MSS);
    h_expect_nothing(h);
    assert_int_equal(unsent(h), 18 * H_MSS);
    assert_int_equal(h->writable_calls, 0);
    h_send(h, TCP_ACK, IRS + 1, ISS + 1 + 14 * H_MSS, NULL, 0);
    for (uint32_t k = 14; k < 32; k++)
        h_expect_pattern(h, TCP_ACK, ISS + 1 + k * H_MSS, IRS + 1, (size_t)k * H_MSS, H_MSS);
    h_expect_nothing(h);
    assert_int_equal(unsent(h), 0);
    assert_int_equal(h->writable_calls, 1);
    assert_true(tt_conn_notsent_writable(h->conn));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(off_by_default, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(write_stops_at_the_chunk_past_the_mark, h_setup,
                                        h_teardown),
        cmocka_unit_test_setup_teardown(sysctl_is_the_default_and_the_socket_wins, h_setup,
                                        h_teardown),
        cmocka_unit_test_setup_teardown(writable_below_half_the_mark_and_setsockopt_wakes, h_setup,
                                        h_teardown),
        cmocka_unit_test_setup_teardown(ack_wakes_only_below_the_mark, h_setup, h_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
