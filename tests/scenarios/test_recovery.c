/*
 * Scenarios: loss recovery and the sender's rules as Linux has them
 * (docs/contract.md §2.6): the RTO's 200 ms variance floor (Linux
 * tcp_rtt_estimator), byte counting in slow start (RFC 3465, Linux
 * tcp_slow_start), duplicate ACKs counted across a shrinking window,
 * Limited Transmit (RFC 3042), the fast retransmit of Proportional Rate
 * Reduction (RFC 6937) with ssthresh at half of cwnd (Reno), PSH at the end of a
 * burst (Linux's GSO packets), and EFAULT for a NULL buffer.
 *
 * The peer offers no SACK here (the harness's SYN carries only an MSS);
 * the SACK paths are exercised by packetdrill's upstream scripts
 * (tests/packetdrill/RESULTS.md).
 */
#include "harness.h"

#include <errno.h>
#include <string.h>

#define SEG1 H_MSS
#define INIT_CWND (10u * H_MSS) /* RFC 6928 */

static tt_conn_info_t info_of(const struct harness *h)
{
    tt_conn_info_t i;
    tt_conn_get_info(h->conn, &i);
    return i;
}

/* One byte of the pattern at stream offset 0, ACKed after rtt. */
static void one_sample(struct harness *h, uint64_t rtt)
{
    assert_int_equal(h_write_pattern(h, 0, 1), 1);
    h_expect_pattern(h, TCP_ACK, ISS + 1, IRS + 1, 0, 1);
    h_advance(h, rtt);
    h_send(h, TCP_ACK, IRS + 1, ISS + 2, NULL, 0);
}

/*
 * Linux tcp_rtt_estimator()/__tcp_set_rto(): RTO = SRTT + max(4 * RTTVAR,
 * 200 ms). The first sample of 100 ms gives 300 ms; one of 1 ms gives
 * 201 ms (RFC 6298's formula with a 200 ms lower bound would give 200 ms),
 * and the retransmission comes then.
 */
static void rto_is_srtt_plus_floored_variance(void **state)
{
    struct harness *h = *state;

    h_reach_established_passive(h); /* handshake RTT 0: SRTT 0 is no estimate */
    one_sample(h, 100 * MS);
    assert_int_equal(info_of(h).rto_us, 300 * MS);
    assert_int_equal(info_of(h).srtt_us, 100 * MS);
}

static void rto_after_1ms_rtt_is_201ms(void **state)
{
    struct harness *h = *state;

    h_reach_established_passive(h);
    one_sample(h, 1 * MS);
    assert_int_equal(info_of(h).rto_us, 201 * MS);
    assert_int_equal(h_write_pattern(h, 1, 1), 1);
    h_expect_pattern(h, TCP_ACK, ISS + 2, IRS + 1, 1, 1);
    h_advance(h, 201 * MS - 1);
    h_expect_nothing(h);
    h_advance(h, 1);
    h_expect_pattern(h, TCP_ACK, ISS + 2, IRS + 1, 1, 1);
}

/*
 * RFC 3465 byte counting, as Linux's tcp_slow_start(): one ACK for the
 * whole initial window of 10 segments opens cwnd to 20 (one SMSS per ACK,
 * RFC 5681's rule, would give 11), and 20 segments go out.
 */
static void slow_start_counts_every_segment_an_ack_covers(void **state)
{
    struct harness *h = *state;

    h_reach_established_passive(h);
    assert_int_equal(h_write_pattern(h, 0, 40 * SEG1), 40 * SEG1);
    for (uint32_t k = 0; k < 10; k++)
        h_expect_pattern(h, TCP_ACK, ISS + 1 + k * SEG1, IRS + 1, k * SEG1, SEG1);
    h_expect_nothing(h);
    h_advance(h, 10 * MS);
    h_send(h, TCP_ACK, IRS + 1, ISS + 1 + 10 * SEG1, NULL, 0);
    assert_int_equal(info_of(h).cwnd, 2 * INIT_CWND);
    for (uint32_t k = 10; k < 30; k++)
        h_expect_pattern(h, TCP_ACK, ISS + 1 + k * SEG1, IRS + 1, k * SEG1, SEG1);
    h_expect_nothing(h);
}

/*
 * Linux's PSH: besides the segment that ends the queued data, the last
 * segment of every GSO packet of two or more (__tcp_transmit_skb forces
 * PSH on it); a lone segment in the middle of the data carries none. A GSO
 * packet holds at most half of cwnd (tcp_cwnd_test()), so the first ten
 * segments are two packets of five; after an ACK of one, cwnd 11 with nine
 * in flight lets one packet of two go.
 */
static void psh_ends_each_gso_packet(void **state)
{
    struct harness *h = *state;

    h_reach_established_passive(h);
    assert_int_equal(h_write_pattern(h, 0, 30 * SEG1), 30 * SEG1);
    for (uint32_t k = 0; k < 10; k++) {
        const struct h_seg *s =
            h_expect_pattern(h, TCP_ACK, ISS + 1 + k * SEG1, IRS + 1, k * SEG1, SEG1);
        assert_int_equal((s->seg.flags & TCP_PSH) != 0, k == 4 || k == 9);
    }
    /* cwnd is full: an ACK of one segment lets two go out (slow start) */
    h_send(h, TCP_ACK, IRS + 1, ISS + 1 + SEG1, NULL, 0);
    const struct h_seg *a =
        h_expect_pattern(h, TCP_ACK, ISS + 1 + 10 * SEG1, IRS + 1, 10 * SEG1, SEG1);
    assert_false(a->seg.flags & TCP_PSH);
    const struct h_seg *b =
        h_expect_pattern(h, TCP_ACK, ISS + 1 + 11 * SEG1, IRS + 1, 11 * SEG1, SEG1);
    assert_true(b->seg.flags & TCP_PSH);
}

/* Ten full segments in flight (cwnd full) and two more queued. */
static void fill_cwnd_with_more_queued(struct harness *h)
{
    h_prime_rtt(h);
    assert_int_equal(h_write_pattern(h, 1, 12 * SEG1), 12 * SEG1);
    for (uint32_t k = 0; k < 10; k++)
        h_expect_pattern(h, TCP_ACK, ISS + 2 + k * SEG1, IRS + 1, 1 + k * SEG1, SEG1);
    h_expect_nothing(h);
    h_advance(h, 1 * MS);
}

/*
 * RFC 3042 Limited Transmit: each of the first two duplicate ACKs sends
 * one new segment, cwnd unchanged (Linux: a duplicate ACK stands for a
 * segment that left the network, so the flight is below cwnd again).
 */
static void limited_transmit_one_new_segment_per_dupack(void **state)
{
    struct harness *h = *state;

    h_reach_established_passive(h);
    fill_cwnd_with_more_queued(h);
    for (uint32_t k = 10; k < 12; k++) {
        h_send(h, TCP_ACK, IRS + 1, ISS + 2, NULL, 0);
        h_expect_pattern(h, TCP_ACK, ISS + 2 + k * SEG1, IRS + 1, 1 + k * SEG1, SEG1);
        h_expect_nothing(h);
        assert_int_equal(info_of(h).cwnd, INIT_CWND);
        assert_int_equal(info_of(h).ca_state, TT_CA_DISORDER);
    }
}

/*
 * The third duplicate ACK: fast retransmit of the first segment, and
 * recovery by RFC 6937 (Linux tcp_cwnd_reduction): ssthresh is half of cwnd
 * (Linux tcp_reno_ssthresh; RFC 5681's FlightSize / 2 would count the
 * Limited Transmit segments too), cwnd is what is in flight plus the one
 * segment PRR lets out. A flood of further duplicate ACKs (forged ones,
 * Savage et al. 1999) never opens cwnd beyond ssthresh; the full ACK ends
 * recovery with cwnd = ssthresh. Reno's numbers: CUBIC's 0.7 is
 * test_cubic.c's.
 */
static void third_dupack_fast_retransmit_with_prr(void **state)
{
    struct harness *h = *state;

    h->cfg.tcp_congestion_control = TT_CC_RENO;
    h_reinit(h);
    h_reach_established_passive(h);
    fill_cwnd_with_more_queued(h);
    for (uint32_t k = 10; k < 12; k++) {
        h_send(h, TCP_ACK, IRS + 1, ISS + 2, NULL, 0);
        h_expect_pattern(h, TCP_ACK, ISS + 2 + k * SEG1, IRS + 1, 1 + k * SEG1, SEG1);
    }
    h_send(h, TCP_ACK, IRS + 1, ISS + 2, NULL, 0);
    h_expect_pattern(h, TCP_ACK, ISS + 2, IRS + 1, 1, SEG1);
    h_expect_nothing(h);
    tt_conn_info_t i = info_of(h);
    assert_int_equal(i.ca_state, TT_CA_RECOVERY);
    assert_int_equal(i.ssthresh, INIT_CWND / 2);
    /* in flight: 12 sent, 3 gone (duplicate ACKs), 1 lost, 1 resent: 9 */
    assert_int_equal(i.cwnd, 9 * SEG1);
    for (int k = 0; k < 1000; k++)
        h_send(h, TCP_ACK, IRS + 1, ISS + 2, NULL, 0);
    h_expect_nothing(h); /* nothing new to send, the lost segment already resent */
    assert_true(info_of(h).cwnd <= INIT_CWND / 2);
    h_send(h, TCP_ACK, IRS + 1, ISS + 2 + 12 * SEG1, NULL, 0);
    i = info_of(h);
    assert_int_equal(i.ca_state, TT_CA_OPEN);
    assert_int_equal(i.cwnd, INIT_CWND / 2);
}

/*
 * A duplicate ACK whose window shrank is still one (Linux counts what is not
 * a window update in tcp_may_update_window(): a larger or a zero window);
 * the third starts fast retransmit though the receiver's window moved.
 */
static void dupacks_count_when_window_shrinks(void **state)
{
    struct harness *h = *state;

    h_reach_established_passive(h);
    fill_cwnd_with_more_queued(h);
    /* each ACK announces a smaller window than the one before */
    uint16_t wnd[3] = {14 * SEG1, 13 * SEG1, 12 * SEG1};
    for (int k = 0; k < 3; k++) {
        struct seg s;
        memset(&s, 0, sizeof(s));
        s.saddr = H_PEER_ADDR;
        s.daddr = H_ENGINE_ADDR;
        s.sport = h->rport;
        s.dport = h->lport;
        s.seq = IRS + 1;
        s.ack = ISS + 2;
        s.flags = TCP_ACK;
        s.wnd = wnd[k];
        h_send_seg(h, &s);
        if (k < 2)
            h_pop_any(h); /* Limited Transmit's new segment */
    }
    h_expect_pattern(h, TCP_ACK, ISS + 2, IRS + 1, 1, SEG1);
    assert_int_equal(info_of(h).ca_state, TT_CA_RECOVERY);
}

/* docs/contract.md §3: a NULL buffer with a length is refused, nothing queued. */
static void write_null_buffer_is_efault(void **state)
{
    struct harness *h = *state;

    h_reach_established_passive(h);
    assert_int_equal(tt_conn_write(h->conn, NULL, 1000), -EFAULT);
    h_expect_nothing(h);
    assert_int_equal(info_of(h).send_q, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(rto_is_srtt_plus_floored_variance, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(rto_after_1ms_rtt_is_201ms, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(slow_start_counts_every_segment_an_ack_covers, h_setup,
                                        h_teardown),
        cmocka_unit_test_setup_teardown(psh_ends_each_gso_packet, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(limited_transmit_one_new_segment_per_dupack, h_setup,
                                        h_teardown),
        cmocka_unit_test_setup_teardown(third_dupack_fast_retransmit_with_prr, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(dupacks_count_when_window_shrinks, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(write_null_buffer_is_efault, h_setup, h_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
