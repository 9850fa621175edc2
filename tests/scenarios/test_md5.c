/*
 * Scenarios: segments signed with the TCP MD5 option (RFC 2385). tuntcp
 * has no keys, so, as Linux without a key for the peer (tcp_inbound_hash,
 * TcpExtTCPMD5Unexpected), a signed segment that reaches a connection or
 * a listener is dropped without an answer; the reset for an unknown
 * 4-tuple does not look at the option. packetdrill's
 * md5/md5-only-on-client-ack.pkt is the upstream case: a handshake whose
 * final ACK comes first signed, then plain.
 */
#include "harness.h"

#include <string.h>

static struct tcp_opts md5_only(void)
{
    struct tcp_opts o;

    memset(&o, 0, sizeof(o));
    o.md5 = true;
    return o;
}

/* The handshake's ACK signed: dropped, the connection stays in
 * SYN_RECEIVED and is not reported; the same ACK unsigned completes it. */
static void signed_handshake_ack_dropped(void **state)
{
    struct harness *h = *state;
    struct tcp_opts md5 = md5_only();

    h_reach_syn_received(h);
    h_send_opts(h, TCP_ACK, IRS + 1, ISS + 1, &md5, NULL, 0);
    h_expect_nothing(h);
    h_send_opts(h, TCP_ACK, IRS + 1, ISS + 1, &md5, NULL, 0);
    h_expect_nothing(h);
    assert_int_equal(h_conn_state(h), TT_STATE_SYN_RECEIVED);
    assert_int_equal(h->connection_calls, 0);
    assert_int_equal(h_stats(h).TcpExtTCPMD5Unexpected, 2);

    h_send(h, TCP_ACK, IRS + 1, ISS + 1, NULL, 0);
    h_expect_nothing(h);
    assert_int_equal(h->connection_calls, 1);
    assert_int_equal(h_conn_state(h), TT_STATE_ESTABLISHED);
}

/* A signed SYN to a listener: no SYN-ACK, no connection. */
static void signed_syn_to_listener_dropped(void **state)
{
    struct harness *h = *state;
    struct tcp_opts o = md5_only();

    h_listen(h, H_LISTEN_PORT);
    h->lport = H_LISTEN_PORT;
    h->rport = H_PEER_PORT;
    o.mss_ok = true;
    o.mss = H_MSS;
    h_send_opts(h, TCP_SYN, IRS, 0, &o, NULL, 0);
    h_expect_nothing(h);
    assert_int_equal(h_stats(h).TcpExtTCPMD5Unexpected, 1);
    assert_int_equal(h_stats(h).TcpPassiveOpens, 0);
}

/* Signed data on an established connection: neither taken nor ACKed; the
 * same bytes unsigned are. */
static void signed_data_dropped(void **state)
{
    struct harness *h = *state;
    struct tcp_opts md5 = md5_only();

    h_reach_established_passive(h);
    h_send_opts(h, TCP_ACK | TCP_PSH, IRS + 1, ISS + 1, &md5, "abcd", 4);
    h_expect_nothing(h);
    h_advance(h, SEC);
    h_expect_nothing(h);
    assert_int_equal(h->rx_len, 0);
    assert_int_equal(h_stats(h).TcpExtTCPMD5Unexpected, 1);

    h_send(h, TCP_ACK | TCP_PSH, IRS + 1, ISS + 1, "abcd", 4);
    h_expect(h, TCP_ACK, ISS + 1, IRS + 5); /* quick ACK, early in the connection */
    assert_int_equal(h->rx_len, 4);
}

/* Nothing listens: the signed SYN gets the reset any SYN gets (Linux's
 * no-socket path does not check signatures). */
static void signed_syn_without_listener_reset(void **state)
{
    struct harness *h = *state;
    struct tcp_opts md5 = md5_only();

    h->lport = H_LISTEN_PORT;
    h->rport = H_PEER_PORT;
    h_send_opts(h, TCP_SYN, IRS, 0, &md5, NULL, 0);
    h_expect(h, TCP_RST | TCP_ACK, 0, IRS + 1);
    assert_int_equal(h_stats(h).TcpExtTCPMD5Unexpected, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(signed_handshake_ack_dropped, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(signed_syn_to_listener_dropped, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(signed_data_dropped, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(signed_syn_without_listener_reset, h_setup, h_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
