/*
 * Scenarios: when the application hears of things (docs/architecture.md §5).
 * Callbacks run at the end of the engine call that caused them, after the
 * whole segment (or timer, or application call) was worked on, so a
 * callback sees the connection as the segment left it, as a Linux
 * application does after its wake-up; what the callback sends follows what
 * the segment itself called for. The ACK a segment's data calls for waits
 * for the callbacks, so that a reply from the read callback carries it.
 */
#include "harness.h"

#include <string.h>

static void echo(struct harness *h, const uint8_t *buf, ssize_t nread)
{
    if (nread > 0)
        assert_int_equal(tt_conn_write(h->conn, buf, (size_t)nread), nread);
}

static void close_on_data(struct harness *h, const uint8_t *buf, ssize_t nread)
{
    (void)buf;
    if (nread > 0 && h->conn) {
        assert_int_equal(tt_conn_close(h->conn, NULL), 0);
        h->conn = NULL;
    }
}

static int state_seen; /* the connection's state as read_cb saw it */

static void state_on_read(struct harness *h, const uint8_t *buf, ssize_t nread)
{
    (void)buf;
    if (nread > 0)
        state_seen = (int)tt_conn_state(h->conn);
}

/* The read callback of data that came with the peer's FIN sees CLOSE_WAIT,
 * and its reply carries the FIN's ACK: the ACK waits for the application
 * (Linux tcp_fin() only schedules it; the application reads once the
 * segment, FIN included, is processed). */
static void reply_to_data_with_fin_carries_the_fin_ack(void **state)
{
    struct harness *h = *state;

    h_reach_established_passive(h);
    h->on_read = echo;
    h_send(h, TCP_ACK | TCP_PSH | TCP_FIN, IRS + 1, ISS + 1, "ping", 4);
    h_expect_data(h, TCP_ACK, ISS + 1, IRS + 6, "ping", 4);
    h_expect_nothing(h);
    assert_int_equal(h->eof_calls, 1);
    assert_int_equal(h_conn_state(h), TT_STATE_CLOSE_WAIT);
}

static void read_cb_sees_the_state_the_segment_left(void **state)
{
    struct harness *h = *state;

    h_reach_established_passive(h);
    h->on_read = state_on_read;
    h_send(h, TCP_ACK | TCP_PSH | TCP_FIN, IRS + 1, ISS + 1, "ping", 4);
    h_expect(h, TCP_ACK, ISS + 1, IRS + 6);
    assert_int_equal(state_seen, TT_STATE_CLOSE_WAIT);
}

/* A close from the read callback of data that came with the FIN is a
 * passive close: CLOSE_WAIT -> LAST_ACK, our FIN carrying the FIN's ACK
 * (Linux tcp_fin(): the ACK was only scheduled). */
static void close_from_read_cb_after_data_with_fin_is_passive(void **state)
{
    struct harness *h = *state;

    h_reach_established_passive(h);
    h->on_read = close_on_data;
    h_send(h, TCP_ACK | TCP_PSH | TCP_FIN, IRS + 1, ISS + 1, "ping", 4);
    h_expect(h, TCP_FIN | TCP_ACK, ISS + 1, IRS + 6);
    h_send(h, TCP_ACK, IRS + 6, ISS + 2, NULL, 0);
    h_expect_nothing(h);
    h_expect_states(h, TT_STATE_ESTABLISHED, TT_STATE_CLOSE_WAIT, TT_STATE_LAST_ACK,
                    TT_STATE_CLOSED, -1);
    h_expect_closed(h, TT_WHY_LAST_ACK, 0);
}

/* Reassembly hands the application both pieces; a close after the first
 * finds the second unread (RFC 2525 2.17): RST, acknowledging both. */
static void close_with_reassembled_bytes_unread_resets(void **state)
{
    struct harness *h = *state;

    h_reach_established_passive(h);
    h_send(h, TCP_ACK, IRS + 4, ISS + 1, "def", 3);
    h_expect(h, TCP_ACK, ISS + 1, IRS + 1); /* the duplicate ACK of the hole */
    h->on_read = close_on_data;
    h_send(h, TCP_ACK, IRS + 1, ISS + 1, "abc", 3);
    h_expect(h, TCP_RST | TCP_ACK, ISS + 1, IRS + 7);
    h_expect_nothing(h);
    assert_int_equal(h->rx_len, 3);
    assert_int_equal(h_stats(h).TcpExtTCPAbortOnClose, 1);
    h_expect_closed(h, TT_WHY_RST_OUT, 0);
}

static void stop_on_data(struct harness *h, const uint8_t *buf, ssize_t nread)
{
    (void)buf;
    if (nread > 0)
        tt_conn_read_stop(h->conn);
}

/* What the application stops reading waits in the receive buffer, and
 * comes with the next read_start. */
static void bytes_not_read_wait_in_the_buffer(void **state)
{
    struct harness *h = *state;
    tt_conn_info_t info;

    h_reach_established_passive(h);
    h_send(h, TCP_ACK, IRS + 4, ISS + 1, "def", 3);
    h_expect(h, TCP_ACK, ISS + 1, IRS + 1);
    h->on_read = stop_on_data;
    h_send(h, TCP_ACK, IRS + 1, ISS + 1, "abc", 3);
    h_expect(h, TCP_ACK, ISS + 1, IRS + 7);
    h_expect_nothing(h);
    assert_int_equal(h->rx_len, 3);
    tt_conn_get_info(h->conn, &info);
    assert_int_equal(info.recv_q, 3);
    h->on_read = NULL;
    h_adopt(h, h->conn); /* read_start again */
    h_expect_nothing(h);
    assert_int_equal(h->rx_len, 6);
    assert_memory_equal(h->rx, "abcdef", 6);
}

static void write_when_writable(tt_conn_t *c)
{
    struct harness *h = tt_conn_get_data(c);
    static uint8_t more[3000];

    h->writable_calls++;
    memset(more, 'w', sizeof(more));
    assert_int_equal(tt_conn_write(c, more, sizeof(more)), 2920);
}

/* The writable callback runs after the whole ACK: its data carries the ACK
 * of the bytes the same segment brought, and no pure ACK is needed. The
 * send buffer (SO_SNDBUF 8192; the peer's window of 4 segments makes skbs
 * of 2) takes two skbs, 5840 bytes and 2 x 1280 of skb memory; the ACK of
 * the first frees room for one more (tcp_sndmem.c). */
static void writes_from_writable_cb_carry_the_segments_ack(void **state)
{
    struct harness *h = *state;
    static uint8_t big[16384];

    h->peer_wnd = 4 * 1460;
    h_reach_established_passive(h);
    tt_conn_set_sndbuf(h->conn, 8192);
    tt_conn_set_writable_cb(h->conn, write_when_writable);
    assert_int_equal(h_write(h, big, sizeof(big)), 5840);
    h_expect_len(h, TCP_ACK, ISS + 1, IRS + 1, 1460);
    h_expect_len(h, TCP_ACK, ISS + 1461, IRS + 1, 1460);
    h_expect_len(h, TCP_ACK, ISS + 2921, IRS + 1, 1460);
    h_expect_len(h, TCP_ACK, ISS + 4381, IRS + 1, 1460);
    h_send(h, TCP_ACK | TCP_PSH, IRS + 1, ISS + 2921, "data", 4);
    h_expect_len(h, TCP_ACK, ISS + 5841, IRS + 5, 1460);
    h_expect_len(h, TCP_ACK, ISS + 7301, IRS + 5, 1460);
    h_expect_nothing(h);
    assert_int_equal(h->writable_calls, 1);
    assert_int_equal(h->rx_len, 4);
}

static void accept_and_close_listener(tt_listener_t *l, int status)
{
    struct harness *h = tt_listener_get_data(l);
    tt_conn_t *c;

    h->connection_calls++;
    assert_int_equal(status, 0);
    assert_int_equal(tt_accept(l, &c), 0);
    h_adopt(h, c);
    tt_listener_close(l); /* as echo-server --max-conns does */
    h->listener = NULL;
}

/* A connection callback may close its own listener: it is freed when the
 * engine call ends, and later SYNs meet a RST. */
static void connection_cb_may_close_its_listener(void **state)
{
    struct harness *h = *state;
    tt_listener_t *l;

    assert_int_equal(tt_listen(h->eng, H_LISTEN_PORT, 8, accept_and_close_listener, &l), 0);
    tt_listener_set_data(l, h);
    h->lport = H_LISTEN_PORT;
    h->rport = H_PEER_PORT;
    h_send_syn(h);
    h_expect_synack(h);
    h_send(h, TCP_ACK | TCP_PSH, IRS + 1, ISS + 1, "hi", 2);
    h_expect(h, TCP_ACK, ISS + 1, IRS + 3);
    assert_int_equal(h->connection_calls, 1);
    assert_int_equal(h->rx_len, 2);
    h->rport = H_PEER_PORT + 1;
    h_send_syn(h);
    h_expect(h, TCP_RST | TCP_ACK, 0, IRS + 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(reply_to_data_with_fin_carries_the_fin_ack, h_setup,
                                        h_teardown),
        cmocka_unit_test_setup_teardown(read_cb_sees_the_state_the_segment_left, h_setup,
                                        h_teardown),
        cmocka_unit_test_setup_teardown(close_from_read_cb_after_data_with_fin_is_passive, h_setup,
                                        h_teardown),
        cmocka_unit_test_setup_teardown(close_with_reassembled_bytes_unread_resets, h_setup,
                                        h_teardown),
        cmocka_unit_test_setup_teardown(bytes_not_read_wait_in_the_buffer, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(writes_from_writable_cb_carry_the_segments_ack, h_setup,
                                        h_teardown),
        cmocka_unit_test_setup_teardown(connection_cb_may_close_its_listener, h_setup, h_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
