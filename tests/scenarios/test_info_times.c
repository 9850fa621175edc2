/*
 * Scenarios: the "time since" fields of tt_conn_get_info(), as Linux's
 * tcp_info reports them: tcpi_last_data_recv counts from the last data
 * segment taken, or from the end of the handshake before any (Linux sets
 * lrcvtime in tcp_finish_connect() and tcp_create_openreq_child());
 * tcpi_last_data_sent from the last new data sent (lsndtime);
 * tcpi_last_ack_recv from the last acceptable ACK (rcv_tstamp).
 */
#include "harness.h"

static tt_conn_info_t info_of(const struct harness *h)
{
    tt_conn_info_t info;
    tt_conn_get_info(h->conn, &info);
    return info;
}

static void active_open_starts_last_data_recv(void **state)
{
    struct harness *h = *state;

    h_advance(h, 5 * MS);
    h_reach_established_active(h);
    uint64_t up = h->now;
    h_advance(h, 1 * SEC);
    tt_conn_info_t info = info_of(h);
    assert_int_equal(info.last_data_recv_us, up);
    assert_int_equal(info.last_ack_recv_us, up);
    assert_int_equal(info.last_data_sent_us, 0);
}

static void passive_open_starts_last_data_recv(void **state)
{
    struct harness *h = *state;

    h_advance(h, 5 * MS);
    h_reach_established_passive(h);
    assert_int_equal(info_of(h).last_data_recv_us, h->now);
}

static void data_moves_last_data_recv(void **state)
{
    struct harness *h = *state;

    h_reach_established_passive(h);
    h_advance(h, 300 * MS);
    h_send(h, TCP_ACK, IRS + 1, ISS + 1, "abc", 3);
    h_expect(h, TCP_ACK, ISS + 1, IRS + 4);
    uint64_t at = h->now;
    h_advance(h, 100 * MS);
    assert_int_equal(info_of(h).last_data_recv_us, at);
}

static void sending_and_acks_move_their_times(void **state)
{
    struct harness *h = *state;

    h_reach_established_passive(h);
    h_advance(h, 200 * MS);
    h_write(h, "x", 1);
    h_expect_len(h, TCP_ACK, ISS + 1, IRS + 1, 1);
    uint64_t sent = h->now;
    h_advance(h, 10 * MS);
    h_send(h, TCP_ACK, IRS + 1, ISS + 2, NULL, 0);
    uint64_t acked = h->now;
    h_advance(h, 50 * MS);
    tt_conn_info_t info = info_of(h);
    assert_int_equal(info.last_data_sent_us, sent);
    assert_int_equal(info.last_ack_recv_us, acked);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(active_open_starts_last_data_recv, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(passive_open_starts_last_data_recv, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(data_moves_last_data_recv, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(sending_and_acks_move_their_times, h_setup, h_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
