/*
 * Scenarios: round-trip time samples (RFC 6298), here Karn's rule on the
 * handshake: a SYN or SYN-ACK that went out more than once gives no
 * sample, however it came to be sent again.
 */
#include "harness.h"

/*
 * RFC 6298 section 3 (Karn): the peer's duplicate SYN makes us send the
 * SYN-ACK again (RFC 9293 3.10.7.4), so the ACK that completes the
 * handshake may answer either copy and is no RTT sample. Linux counts that
 * SYN-ACK as a retransmission (inet_rtx_syn_ack: num_retrans and
 * TcpRetransSegs) and takes no sample from the handshake then. The RTO
 * stays RFC 6298 2.1's initial 1 s. Before: the timing restarted with the
 * second SYN-ACK, the ACK 1 ms later gave a 1 ms sample, and the first data
 * segment was resent after 200 ms.
 */
static void resent_synack_gives_no_rtt_sample(void **state)
{
    struct harness *h = *state;

    h_listen(h, H_LISTEN_PORT);
    h->lport = H_LISTEN_PORT;
    h->rport = H_PEER_PORT;
    h_send_syn(h);
    h_expect_synack(h);
    h_advance(h, 500 * MS);
    h_send_syn(h);
    h_expect(h, TCP_SYN | TCP_ACK, ISS, IRS + 1);
    h_advance(h, 1 * MS);
    h_send(h, TCP_ACK, IRS + 1, ISS + 1, NULL, 0);
    h_expect_nothing(h);
    assert_non_null(h->conn);
    assert_int_equal(tt_conn_state(h->conn), TT_STATE_ESTABLISHED);

    assert_int_equal(h_write_pattern(h, 0, 10), 10);
    h_expect_pattern(h, TCP_ACK, ISS + 1, IRS + 1, 0, 10);
    h_advance(h, 1 * SEC - 1);
    h_expect_nothing(h);
    h_advance(h, 1);
    h_expect_pattern(h, TCP_ACK, ISS + 1, IRS + 1, 0, 10);
    assert_int_equal(h_stats(h).TcpRetransSegs, 2); /* the SYN-ACK, the data */
}

/*
 * The same rule for the active side's SYN resent by its timer: the SYN-ACK
 * that answers it gives no sample, and the RTO for data is the backed-off
 * one (RFC 6298 5.5: 1 s doubled once).
 */
static void resent_syn_gives_no_rtt_sample(void **state)
{
    struct harness *h = *state;

    h_connect(h, H_SERVICE_PORT);
    h_expect_syn(h);
    h_expect_after(h, 1 * SEC, TCP_SYN, ISS, 0);
    h_advance(h, 1 * MS);
    h_send(h, TCP_SYN | TCP_ACK, IRS, ISS + 1, NULL, 0);
    h_expect(h, TCP_ACK, ISS + 1, IRS + 1);
    assert_int_equal(h->connect_status, 0);

    assert_int_equal(h_write_pattern(h, 0, 10), 10);
    h_expect_pattern(h, TCP_ACK, ISS + 1, IRS + 1, 0, 10);
    h_advance(h, 2 * SEC - 1);
    h_expect_nothing(h);
    h_advance(h, 1);
    h_expect_pattern(h, TCP_ACK, ISS + 1, IRS + 1, 0, 10);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(resent_synack_gives_no_rtt_sample, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(resent_syn_gives_no_rtt_sample, h_setup, h_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
