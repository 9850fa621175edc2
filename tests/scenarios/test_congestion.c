/*
 * Scenarios: congestion control. The congestion window grows only while the
 * flow uses it (RFC 7661, Linux tcp_is_cwnd_limited()), whatever holds the
 * flow back otherwise (the application, the peer's window), and NewReno's
 * `recover` is the highest sequence number sent (RFC 6582 3.2), so that a
 * loss right after a recovery is repaired by fast retransmit too.
 *
 * cwnd is read as the application can read it: tt_conn_info_t, through
 * tt_engine_foreach_conn() (the SIGUSR1 listing's source).
 */
#include "harness.h"

#include <string.h>

#define SEG1 H_MSS
#define INIT_CWND (10u * H_MSS) /* RFC 6928 */
#define SMALL 100u              /* a write smaller than a segment goes out alone */

struct info_ctx {
    const struct harness *h;
    tt_conn_info_t info;
    bool found;
};

static void find_info(void *ctx, const tt_conn_info_t *info)
{
    struct info_ctx *f = ctx;

    if (info->raddr == H_PEER_ADDR && info->lport == f->h->lport && info->rport == f->h->rport) {
        f->info = *info;
        f->found = true;
    }
}

/* The connection under test as tt_engine_foreach_conn() lists it. */
static tt_conn_info_t conn_info(const struct harness *h)
{
    struct info_ctx f = {.h = h};

    tt_engine_foreach_conn(h->eng, find_info, &f);
    assert_true(f.found);
    return f.info;
}

static uint32_t cwnd_of(const struct harness *h)
{
    return conn_info(h).cwnd;
}

/* tt_conn_info_t carries the sender's state, the same through the handle and
 * through the listing: RFC 6928's initial window, no ssthresh before a loss,
 * what is in flight, and the RTO. */
static void conn_info_shows_sender_state(void **state)
{
    struct harness *h = *state;

    h_reach_established_passive(h);
    tt_conn_info_t i = conn_info(h);
    assert_int_equal(i.mss, H_MSS);
    assert_int_equal(i.cwnd, INIT_CWND);
    assert_int_equal(i.ssthresh, UINT32_MAX);
    assert_int_equal(i.unacked, 0);
    assert_int_equal(i.rto_us, 200 * MS); /* handshake RTT 0: RFC 6298 2.4's floor */
    assert_int_equal(h_write_pattern(h, 0, 3 * SEG1), 3 * SEG1);
    for (uint32_t k = 0; k < 3; k++)
        h_expect_pattern(h, TCP_ACK, ISS + 1 + k * SEG1, IRS + 1, k * SEG1, SEG1);
    tt_conn_info_t j, k = conn_info(h);
    tt_conn_get_info(h->conn, &j);
    assert_int_equal(j.unacked, 3 * SEG1);
    assert_int_equal(k.unacked, 3 * SEG1);
    assert_int_equal(j.cwnd, k.cwnd);
    assert_int_equal(j.ssthresh, k.ssthresh);
    assert_int_equal(j.mss, k.mss);
    assert_int_equal(j.rto_us, k.rto_us);
}

/*
 * RFC 7661 and Linux (tcp_is_cwnd_limited: in slow start, cwnd grows only
 * while it is below twice the largest flight of the last window): a flow
 * the application holds to one segment in flight gains nothing from its
 * ACKs. Before: one MSS per ACK, 14,600 -> 2,934,601 bytes after 2,000 ACKs.
 */
static void app_limited_flow_keeps_cwnd_bounded(void **state)
{
    struct harness *h = *state;

    h_reach_established_passive(h);
    h_prime_rtt(h);
    uint32_t seq = ISS + 2;
    size_t off = 1;
    for (int k = 0; k < 2000; k++) {
        assert_int_equal(h_write_pattern(h, off, SEG1), SEG1);
        h_expect_pattern(h, TCP_ACK, seq, IRS + 1, off, SEG1);
        seq += SEG1;
        off += SEG1;
        h_send(h, TCP_ACK, IRS + 1, seq, NULL, 0);
    }
    h_expect_nothing(h);
    assert_int_equal(cwnd_of(h), INIT_CWND);
}

/*
 * The same when the peer's window holds the flow back: four segments in
 * flight, the application always has more. Twice the flight (8 segments)
 * is below the initial window, so cwnd stays where it started.
 */
static void rwnd_limited_flow_keeps_cwnd_bounded(void **state)
{
    struct harness *h = *state;

    h->peer_wnd = 4 * SEG1;
    h_reach_established_passive(h);
    h_prime_rtt(h);
    uint32_t base = ISS + 2;
    size_t written = 40;
    assert_int_equal(h_write_pattern(h, 1, written * SEG1), written * SEG1);
    for (uint32_t k = 0; k < 4; k++)
        h_expect_pattern(h, TCP_ACK, base + k * SEG1, IRS + 1, 1 + k * SEG1, SEG1);
    for (uint32_t k = 0; k < 2000; k++) {
        h_send(h, TCP_ACK, IRS + 1, base + (k + 1) * SEG1, NULL, 0);
        h_expect_pattern(h, TCP_ACK, base + (k + 4) * SEG1, IRS + 1, 1 + (k + 4) * SEG1, SEG1);
        assert_int_equal(h_write_pattern(h, 1 + written * SEG1, SEG1), SEG1);
        written++;
    }
    h_expect_nothing(h);
    tt_conn_info_t i = conn_info(h);
    assert_int_equal(i.unacked, 4 * SEG1);
    assert_int_equal(i.cwnd, INIT_CWND);
}

/*
 * RFC 5681 3.1: a flow that fills its window (the application has plenty,
 * the peer's window is larger) still doubles cwnd every round trip in slow
 * start: each ACK of one segment lets two go out.
 */
static void cwnd_limited_flow_doubles_per_rtt_in_slow_start(void **state)
{
    struct harness *h = *state;

    h_reach_established_passive(h);
    assert_int_equal(h_write_pattern(h, 0, 40 * SEG1), 40 * SEG1);
    uint32_t sent = 0, acked = 0;
    for (; sent < 10; sent++)
        h_expect_pattern(h, TCP_ACK, ISS + 1 + sent * SEG1, IRS + 1, sent * SEG1, SEG1);
    h_expect_nothing(h);
    for (uint32_t round_len = 10; round_len <= 20; round_len *= 2) {
        for (uint32_t k = 0; k < round_len; k++) {
            acked++;
            h_send(h, TCP_ACK, IRS + 1, ISS + 1 + acked * SEG1, NULL, 0);
            for (int n = 0; n < 2 && sent < 40; n++, sent++)
                h_expect_pattern(h, TCP_ACK, ISS + 1 + sent * SEG1, IRS + 1, sent * SEG1, SEG1);
            h_expect_nothing(h);
        }
        assert_int_equal(cwnd_of(h), 2 * round_len * SEG1);
        assert_int_equal(sent - acked, 2 * round_len < 40 - acked ? 2 * round_len : 40 - acked);
    }
    assert_int_equal(sent, 40);
}

/* Five SMALL-byte segments of the pattern from stream offset off, at seq,
 * each at once: TCP_NODELAY, since Nagle (RFC 1122 4.2.3.4) would hold all
 * but the first while it is unacknowledged. */
static void send_five_small(struct harness *h, uint32_t seq, size_t off)
{
    assert_int_equal(tt_conn_set_nodelay(h->conn, 1), 0);
    for (uint32_t k = 0; k < 5; k++) {
        assert_int_equal(h_write_pattern(h, off + k * SMALL, SMALL), SMALL);
        h_expect_pattern(h, TCP_ACK, seq + k * SMALL, IRS + 1, off + k * SMALL, SMALL);
    }
}

/* Three duplicate ACKs of seq; the third retransmits from seq: the five
 * small segments as one, a resend taking up to an MSS from SND.UNA. */
static void three_dupacks_retransmit(struct harness *h, uint32_t seq, size_t off)
{
    for (int k = 0; k < 2; k++) {
        h_send(h, TCP_ACK, IRS + 1, seq, NULL, 0);
        h_expect_nothing(h);
    }
    h_send(h, TCP_ACK, IRS + 1, seq, NULL, 0);
    h_expect_pattern(h, TCP_ACK, seq, IRS + 1, off, 5 * SMALL);
    h_expect_nothing(h);
}

/*
 * RFC 6582 3.2 steps 1 and 5: `recover` is the highest sequence number sent
 * (SND.NXT - 1), a full ACK covers it, and three duplicate ACKs start a new
 * fast retransmit when their ACK covers more than it. So when the first
 * segment sent after a recovery is lost, its duplicate ACKs (ACK = the old
 * SND.NXT = recover + 1) repair it at once. Before: recover was SND.NXT,
 * they did nothing, and the loss waited for the RTO.
 */
static void fast_retransmit_after_full_ack_when_first_new_segment_lost(void **state)
{
    struct harness *h = *state;

    h_reach_established_passive(h);
    h_prime_rtt(h);
    uint32_t seq = ISS + 2;
    send_five_small(h, seq, 1);
    h_advance(h, 1 * MS);
    three_dupacks_retransmit(h, seq, 1);
    h_send(h, TCP_ACK, IRS + 1, seq + 5 * SMALL, NULL, 0); /* full ACK: recovery over */
    h_expect_nothing(h);

    uint32_t seq2 = seq + 5 * SMALL;
    send_five_small(h, seq2, 1 + 5 * SMALL); /* the peer loses the first */
    h_advance(h, 1 * MS);
    three_dupacks_retransmit(h, seq2, 1 + 5 * SMALL);
    h_send(h, TCP_ACK, IRS + 1, seq2 + 5 * SMALL, NULL, 0);
    h_expect_nothing(h);
    h_advance(h, 5 * SEC);
    h_expect_nothing(h);
    assert_int_equal(h_stats(h).TcpRetransSegs, 2);
    assert_int_equal(h_stats(h).TcpExtTCPTimeouts, 0);
}

/*
 * RFC 6582 3.2 step 6: after an RTO, recover is the highest sequence number
 * sent; once it is acknowledged, a loss of the next new segment is again
 * repaired by fast retransmit, not by a second RTO.
 */
static void fast_retransmit_after_rto_recovery_when_first_new_segment_lost(void **state)
{
    struct harness *h = *state;

    h_reach_established_passive(h);
    h_prime_rtt(h);
    uint32_t seq = ISS + 2;
    send_five_small(h, seq, 1);
    h_advance(h, 200 * MS - 1);
    h_expect_nothing(h);
    h_advance(h, 1);
    h_expect_pattern(h, TCP_ACK, seq, IRS + 1, 1, 5 * SMALL); /* the RTO */
    h_send(h, TCP_ACK, IRS + 1, seq + 5 * SMALL, NULL, 0);
    h_expect_nothing(h);

    uint32_t seq2 = seq + 5 * SMALL;
    send_five_small(h, seq2, 1 + 5 * SMALL);
    h_advance(h, 1 * MS);
    three_dupacks_retransmit(h, seq2, 1 + 5 * SMALL);
    h_send(h, TCP_ACK, IRS + 1, seq2 + 5 * SMALL, NULL, 0);
    h_expect_nothing(h);
    h_advance(h, 5 * SEC);
    h_expect_nothing(h);
    assert_int_equal(h_stats(h).TcpRetransSegs, 2);
    assert_int_equal(h_stats(h).TcpExtTCPTimeouts, 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(conn_info_shows_sender_state, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(app_limited_flow_keeps_cwnd_bounded, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(rwnd_limited_flow_keeps_cwnd_bounded, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(cwnd_limited_flow_doubles_per_rtt_in_slow_start, h_setup,
                                        h_teardown),
        cmocka_unit_test_setup_teardown(fast_retransmit_after_full_ack_when_first_new_segment_lost,
                                        h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(
            fast_retransmit_after_rto_recovery_when_first_new_segment_lost, h_setup, h_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
