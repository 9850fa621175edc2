/*
 * Scenarios: MSG_EOR records once sent. A record's end is kept until the
 * peer acknowledges it, so a segment sent again (by the RTO, after it, or
 * in fast recovery) never carries bytes of two records, as Linux keeps the
 * EOR mark on its skb and never collapses across it
 * (tcp_skb_can_collapse(); packetdrill eor/no-coalesce-retrans.pkt).
 * docs/contract.md §2.5 item 7.
 */
#include "harness.h"

static ssize_t write_record(struct harness *h, size_t off, size_t len)
{
    uint8_t buf[2048];
    assert_true(len <= sizeof(buf));
    h_pattern_fill(buf, off, len);
    return tt_conn_write_flags(h->conn, buf, len, TT_WRITE_EOR);
}

static bool has_psh(const struct h_seg *s)
{
    return (s->seg.flags & TCP_PSH) != 0;
}

/* Two records of 400 bytes in flight; the RTO resends the first alone,
 * with its PSH, and the ACK of it lets the second go again on its own. */
static void rto_resends_one_record_at_a_time(void **state)
{
    struct harness *h = *state;

    h_reach_established_passive(h);
    h_prime_rtt(h); /* RTO 200 ms; SND.NXT = ISS + 2 */
    tt_conn_set_nodelay(h->conn, 1);
    assert_int_equal(write_record(h, 1, 400), 400);
    assert_int_equal(write_record(h, 401, 400), 400);
    h_expect_pattern(h, TCP_ACK, ISS + 2, IRS + 1, 1, 400);
    h_expect_pattern(h, TCP_ACK, ISS + 402, IRS + 1, 401, 400);
    h_advance(h, 200 * MS - 1);
    h_expect_nothing(h);
    h_advance(h, 1);
    assert_true(has_psh(h_expect_pattern(h, TCP_ACK, ISS + 2, IRS + 1, 1, 400)));
    h_expect_nothing(h);
    h_send(h, TCP_ACK, IRS + 1, ISS + 402, NULL, 0);
    assert_true(has_psh(h_expect_pattern(h, TCP_ACK, ISS + 402, IRS + 1, 401, 400)));
    h_expect_nothing(h);
}

/* Passive open with SACK agreed (no timestamps). */
static void reach_established_with_sack(struct harness *h)
{
    h_reach_established_sack(h, 0);
}

#define REC 1000u
#define REC_AT(k) (ISS + 1 + (uint32_t)(k)*REC) /* start of record k, from 0 */

/* Six records of 1000 bytes; the peer SACKs the last three (fast recovery,
 * RFC 6675): the fast retransmit resends the first record alone, 1000
 * bytes, not a full MSS that would take 460 bytes of the second. */
static void fast_retransmit_resends_one_record(void **state)
{
    struct harness *h = *state;

    reach_established_with_sack(h);
    tt_conn_set_nodelay(h->conn, 1);
    for (uint32_t k = 0; k < 6; k++) {
        assert_int_equal(write_record(h, k * REC, REC), REC);
        h_expect_pattern(h, TCP_ACK, REC_AT(k), IRS + 1, k * REC, REC);
    }
    struct tcp_opts o = {.sack_count = 1};
    o.sack[0].left = REC_AT(3);
    o.sack[0].right = REC_AT(6);
    h_send_opts(h, TCP_ACK, IRS + 1, ISS + 1, &o, NULL, 0);
    assert_true(has_psh(h_expect_pattern(h, TCP_ACK, REC_AT(0), IRS + 1, 0, REC)));
    while (h_pending(h) > 0) { /* what PRR lets go besides: whole records only */
        const struct h_seg *s = h_pop_any(h);
        assert_int_equal(s->seg.len, REC);
        assert_int_equal((s->seg.seq - REC_AT(0)) % REC, 0);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(rto_resends_one_record_at_a_time, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(fast_retransmit_resends_one_record, h_setup, h_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
