/*
 * Scenarios: PSH on new data as Linux's GSO packets carry it (docs/contract.md
 * §2.5 item 7). Linux sends new data in GSO packets (one skb each) and
 * forces PSH on every packet of two segments or more (__tcp_transmit_skb());
 * after segmentation that is the packet's last segment. tcp_write_xmit()
 * sizes each packet:
 *
 * - at most half of cwnd, and what cwnd has left (tcp_cwnd_test(): two
 *   packets in flight at least);
 * - at most tcp_tso_segs() (tcp_tso_autosize(): a millisecond at the
 *   pacing rate, 200 % of cwnd / SRTT in slow start, and more at RTTs of a
 *   few hundred microseconds; at least tcp_min_tso_segs, 2).
 *
 * A lone segment carries PSH only at a write's end (test_nagle.c). The
 * engine sends segments; their PSH bits are those of Linux's segmented
 * packets (packetdrill's fast_recovery/prr-ss-30pkt-lost1_4.pkt,
 * cubic-rto-ss-ca-cwnd-bump.pkt's first bursts).
 */
#include "harness.h"

#define SEG1 H_MSS
#define DATA0 (ISS + 1)

static tt_conn_info_t info_of(const struct harness *h)
{
    tt_conn_info_t i;
    tt_conn_get_info(h->conn, &i);
    return i;
}

/* The next n segments of data from segment first on: PSH exactly on those
 * whose bit is set in psh_mask (bit k: segment first + k). */
static void expect_psh(struct harness *h, uint32_t first, uint32_t n, uint32_t psh_mask)
{
    for (uint32_t k = 0; k < n; k++) {
        uint32_t i = first + k;
        const struct h_seg *s =
            h_expect_pattern(h, TCP_ACK, DATA0 + i * SEG1, IRS + 1, i * SEG1, SEG1);
        /* h_expect leaves PSH of data segments unchecked: here it is the point */
        assert_int_equal((s->seg.flags & TCP_PSH) != 0, (psh_mask >> k) & 1);
    }
}

/*
 * RTT 100 ms, cwnd 10: the pacing rate is 2 x 10 x 1460 B / 100 ms, 285
 * bytes a millisecond, less than a segment: GSO packets of
 * tcp_min_tso_segs, two. PSH on every second segment.
 */
static void long_rtt_packets_of_two(void **state)
{
    struct harness *h = *state;

    h_reach_established_rtt(h, 100 * MS);
    assert_int_equal(h_write_pattern(h, 0, 20 * SEG1), 20 * SEG1);
    expect_psh(h, 0, 10, 0x2aa); /* segments 1, 3, 5, 7, 9 */
    h_expect_nothing(h);
}

/*
 * RTT 10 us: tcp_tso_autosize() allows 64 KB packets, so half of cwnd is the
 * limit: two packets of five (PSH on segments 4 and 9).
 */
static void short_rtt_packets_of_half_cwnd(void **state)
{
    struct harness *h = *state;

    h_reach_established_rtt(h, 10);
    assert_int_equal(h_write_pattern(h, 0, 20 * SEG1), 20 * SEG1);
    expect_psh(h, 0, 10, 0x210);
    h_expect_nothing(h);
}

/*
 * fast_recovery/prr-ss-30pkt-lost1_4.pkt: after a recovery cwnd is 7 with
 * nothing in flight, and ten segments are written. Packets of three (half
 * of 7), three, then the one segment cwnd has left: PSH on segments 2 and
 * 5; the seventh, alone and not at the write's end, has none.
 */
static void after_recovery_last_lone_segment_unmarked(void **state)
{
    struct harness *h = *state;

    h_reach_established_rtt(h, 10);
    assert_int_equal(h_write_pattern(h, 0, 12 * SEG1), 12 * SEG1);
    expect_psh(h, 0, 10, 0x210);
    h_advance(h, 1 * MS);
    for (uint32_t k = 10; k < 12; k++) { /* Limited Transmit */
        h_send(h, TCP_ACK, IRS + 1, DATA0, NULL, 0);
        h_pop_any(h);
    }
    h_send(h, TCP_ACK, IRS + 1, DATA0, NULL, 0);
    h_pop_any(h); /* the fast retransmit */
    h_send(h, TCP_ACK, IRS + 1, DATA0 + 12 * SEG1, NULL, 0);
    h_expect_nothing(h);
    assert_int_equal(info_of(h).cwnd, 7 * SEG1);
    assert_int_equal(h_write_pattern(h, 12 * SEG1, 10 * SEG1), 10 * SEG1);
    expect_psh(h, 12, 7, 0x24);
    h_expect_nothing(h);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(long_rtt_packets_of_two, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(short_rtt_packets_of_half_cwnd, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(after_recovery_last_lone_segment_unmarked, h_setup,
                                        h_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
