/*
 * Scenarios: the Tail Loss Probe (RFC 8985 section 7) as Linux sends it
 * (tcp_early_retrans 3, its default; Linux tcp_schedule_loss_probe() and
 * tcp_send_loss_probe()). When the last segments of a flight are lost,
 * nothing comes back to start fast recovery; instead of waiting for the
 * RTO (200 ms at least), the sender probes after PTO = 2 SRTT + 2 ms, or
 * 2 SRTT + 200 ms when one segment is in flight (the peer's delayed ACK,
 * 7.2), never later than the RTO. The probe is new data when some is
 * queued and the peer's window takes it, else the highest segment again
 * (7.3); its SACK starts fast recovery (what RACK, 6.2, concludes from
 * it), and cwnd comes down as after a fast retransmit.
 *
 * Linux probes only for a peer that SACKs: every test here agrees SACK in
 * the handshake, but one.
 */
#include "harness.h"

#include <string.h>

#define SEG1 H_MSS
#define INIT_CWND (10u * H_MSS) /* RFC 6928 */
#define SLACK (2 * MS)          /* Linux TCP_TIMEOUT_MIN_US */
#define DELACK_ALLOWANCE (200 * MS)

static tt_conn_info_t info_of(const struct harness *h)
{
    tt_conn_info_t i;
    tt_conn_get_info(h->conn, &i);
    return i;
}

/* Passive open, SACK agreed or not (no timestamps); the peer's ACK of our
 * SYN-ACK comes after hs_rtt, the first RTT sample. */
static void reach_established_after(struct harness *h, bool sack, uint64_t hs_rtt)
{
    h->cfg.tcp_sack = 1;
    h_reinit(h);
    h_listen(h, H_LISTEN_PORT);
    h->lport = H_LISTEN_PORT;
    h->rport = H_PEER_PORT;
    struct tcp_opts o = {.mss_ok = true, .mss = H_MSS, .sack_ok = sack};
    h_send_opts(h, TCP_SYN, IRS, 0, &o, NULL, 0);
    h_expect_synack(h);
    if (hs_rtt)
        h_advance(h, hs_rtt);
    h_send(h, TCP_ACK, IRS + 1, ISS + 1, NULL, 0);
    h_expect_nothing(h);
}

static void reach_established(struct harness *h, bool sack)
{
    reach_established_after(h, sack, 0);
}

/* One byte ACKed after rtt: SRTT = rtt; SND.NXT is ISS+2 afterwards. The
 * RTO is then SRTT + max(2 rtt, 200 ms) (Linux tcp_rtt_estimator). */
static void sample_rtt(struct harness *h, uint64_t rtt)
{
    assert_int_equal(h_write_pattern(h, 0, 1), 1);
    h_expect_pattern(h, TCP_ACK, ISS + 1, IRS + 1, 0, 1);
    h_advance(h, rtt);
    h_send(h, TCP_ACK, IRS + 1, ISS + 2, NULL, 0);
    h_expect_nothing(h);
    assert_int_equal(info_of(h).srtt_us, rtt);
}

/* Segment k of a write that started at stream offset 1 (after sample_rtt). */
#define SEQ_OF(k) (ISS + 2 + (uint32_t)(k)*SEG1)

static const struct h_seg *expect_seg(struct harness *h, uint32_t k)
{
    return h_expect_pattern(h, TCP_ACK, SEQ_OF(k), IRS + 1, 1 + (size_t)k * SEG1, SEG1);
}

/* Nothing for delay - 1 µs, then segment k exactly at delay. */
static void expect_seg_after(struct harness *h, uint64_t delay, uint32_t k)
{
    h_advance(h, delay - 1);
    h_expect_nothing(h);
    h_advance(h, 1);
    const struct h_seg *s = expect_seg(h, k);
    assert_int_equal(s->at_us, h->now);
}

/* The peer SACKs [SEQ_OF(from), SEQ_OF(to)) with SND.UNA at SEQ_OF(una). */
static void send_sack(struct harness *h, uint32_t una, uint32_t from, uint32_t to)
{
    struct tcp_opts o = {.sack_count = 1};
    o.sack[0].left = SEQ_OF(from);
    o.sack[0].right = SEQ_OF(to);
    h_send_opts(h, TCP_ACK, IRS + 1, SEQ_OF(una), &o, NULL, 0);
}

/* Four segments out; the peer ACKs the first two after 10 ms; the last two are lost. */
static void lose_two_tail_segments(struct harness *h)
{
    reach_established(h, true);
    sample_rtt(h, 10 * MS);
    assert_int_equal(h_write_pattern(h, 1, 4 * SEG1), 4 * SEG1);
    for (uint32_t k = 0; k < 4; k++)
        expect_seg(h, k);
    h_advance(h, 10 * MS);
    h_send(h, TCP_ACK, IRS + 1, SEQ_OF(2), NULL, 0);
    h_expect_nothing(h);
}

/*
 * RFC 8985 7.2, 7.3: two segments lost at the tail. The PTO starts with
 * the ACK of new data: 2 SRTT + 2 ms = 22 ms later (the RTO would be
 * 210 ms), the highest segment goes out again as the probe, counted in
 * TcpExtTCPLossProbes, and the RTO runs from the probe on.
 */
static void tail_loss_probed_after_two_srtt(void **state)
{
    struct harness *h = *state;

    lose_two_tail_segments(h);
    assert_int_equal(info_of(h).rto_us, 210 * MS);
    expect_seg_after(h, 2 * 10 * MS + SLACK, 3);
    assert_int_equal(h_stats(h).TcpExtTCPLossProbes, 1);
    assert_int_equal(h_stats(h).TcpRetransSegs, 1);
    assert_int_equal(h_stats(h).TcpExtTCPTimeouts, 0);
    assert_int_equal(info_of(h).cwnd, INIT_CWND); /* a probe is no loss yet */
    /* RFC 8985 7.3: one probe; then the RTO, a full RTO after the probe */
    expect_seg_after(h, 210 * MS, 2);
    assert_int_equal(h_stats(h).TcpExtTCPLossProbes, 1);
    assert_int_equal(h_stats(h).TcpExtTCPTimeouts, 1);
}

/*
 * RFC 8985 7.4 and 6.2: the peer SACKs the probe. Segment 2, sent a PTO
 * before it, is lost by RACK's rule at once: fast recovery retransmits it,
 * ssthresh is half of cwnd (Reno), and when all is acknowledged cwnd is
 * ssthresh, as after a fast retransmit (test_recovery.c).
 */
static void probe_sack_starts_fast_recovery(void **state)
{
    struct harness *h = *state;

    h->cfg.tcp_congestion_control = TT_CC_RENO; /* ssthresh half of cwnd */
    lose_two_tail_segments(h);
    expect_seg_after(h, 2 * 10 * MS + SLACK, 3);
    h_advance(h, 10 * MS);
    send_sack(h, 2, 3, 4);
    expect_seg(h, 2);
    h_expect_nothing(h);
    assert_int_equal(info_of(h).ca_state, TT_CA_RECOVERY);
    assert_int_equal(info_of(h).ssthresh, INIT_CWND / 2);
    assert_int_equal(h_stats(h).TcpExtTCPTimeouts, 0);
    h_advance(h, 10 * MS);
    h_send(h, TCP_ACK, IRS + 1, SEQ_OF(4), NULL, 0);
    h_expect_nothing(h);
    assert_int_equal(info_of(h).ca_state, TT_CA_OPEN);
    assert_int_equal(info_of(h).cwnd, INIT_CWND / 2);
    assert_int_equal(h_stats(h).TcpRetransSegs, 2);
    /* nothing outstanding: no probe, no RTO */
    h_advance(h, 2 * SEC);
    h_expect_nothing(h);
}

/*
 * RFC 8985 7.3: with data queued behind a full cwnd and the peer's window
 * open, the probe is the next new segment (Linux sends it whatever cwnd
 * says); nothing comes back, and the RTO follows a full RTO after it.
 */
static void probe_carries_new_data(void **state)
{
    struct harness *h = *state;

    reach_established(h, true);
    sample_rtt(h, 10 * MS);
    assert_int_equal(h_write_pattern(h, 1, 11 * SEG1), 11 * SEG1);
    for (uint32_t k = 0; k < 10; k++)
        expect_seg(h, k);
    h_expect_nothing(h);
    expect_seg_after(h, 2 * 10 * MS + SLACK, 10);
    assert_int_equal(h_stats(h).TcpExtTCPLossProbes, 1);
    assert_int_equal(h_stats(h).TcpRetransSegs, 0);
    expect_seg_after(h, 210 * MS, 0);
    assert_int_equal(h_stats(h).TcpExtTCPTimeouts, 1);
}

/*
 * RFC 8985 7.2: with a single segment in flight the PTO adds the peer's
 * worst-case delayed ACK (Linux: TCP_RTO_MIN, 200 ms). SRTT 300 ms: the
 * RTO is 900 ms, the PTO 2 * 300 + 200 = 800 ms (two segments: 602 ms).
 */
static void lone_segment_waits_for_delayed_ack(void **state)
{
    struct harness *h = *state;

    reach_established_after(h, true, 300 * MS);
    sample_rtt(h, 300 * MS);
    assert_int_equal(info_of(h).rto_us, 900 * MS);
    assert_int_equal(h_write_pattern(h, 1, 100), 100);
    h_expect_pattern(h, TCP_ACK, SEQ_OF(0), IRS + 1, 1, 100);
    h_advance(h, 2 * 300 * MS + DELACK_ALLOWANCE - 1);
    h_expect_nothing(h);
    h_advance(h, 1);
    h_expect_pattern(h, TCP_ACK, SEQ_OF(0), IRS + 1, 1, 100);
    assert_int_equal(h_stats(h).TcpExtTCPLossProbes, 1);
}

/*
 * RFC 8985 7.2: the PTO is never later than the RTO. SRTT 10 ms and one
 * segment: 2 * 10 + 200 = 220 ms, past the RTO of 210 ms, so the probe
 * goes out at 210 ms in the RTO's place, and the RTO runs after it.
 */
static void pto_never_later_than_rto(void **state)
{
    struct harness *h = *state;

    reach_established(h, true);
    sample_rtt(h, 10 * MS);
    assert_int_equal(h_write_pattern(h, 1, 100), 100);
    h_expect_pattern(h, TCP_ACK, SEQ_OF(0), IRS + 1, 1, 100);
    h_advance(h, 210 * MS - 1);
    h_expect_nothing(h);
    h_advance(h, 1);
    h_expect_pattern(h, TCP_ACK, SEQ_OF(0), IRS + 1, 1, 100);
    assert_int_equal(h_stats(h).TcpExtTCPLossProbes, 1);
    assert_int_equal(h_stats(h).TcpExtTCPTimeouts, 0);
    h_advance(h, 210 * MS - 1);
    h_expect_nothing(h);
    h_advance(h, 1);
    h_expect_pattern(h, TCP_ACK, SEQ_OF(0), IRS + 1, 1, 100);
    assert_int_equal(h_stats(h).TcpExtTCPTimeouts, 1);
}

/*
 * RFC 8985 7.2 (Linux: only in CA_Open): no probe during fast recovery.
 * Three segments SACKed start it; then nothing more comes back, and the
 * RTO, not a probe, sends the next segment, 210 ms after the flight began.
 */
static void no_probe_in_recovery(void **state)
{
    struct harness *h = *state;

    reach_established(h, true);
    sample_rtt(h, 10 * MS);
    assert_int_equal(h_write_pattern(h, 1, 6 * SEG1), 6 * SEG1);
    for (uint32_t k = 0; k < 6; k++)
        expect_seg(h, k);
    h_advance(h, 10 * MS);
    send_sack(h, 0, 1, 4);
    expect_seg(h, 0); /* the fast retransmit */
    assert_int_equal(info_of(h).ca_state, TT_CA_RECOVERY);
    h_advance(h, 200 * MS - 1);
    h_expect_nothing(h);
    h_advance(h, 1);
    expect_seg(h, 0); /* the RTO */
    assert_int_equal(h_stats(h).TcpExtTCPLossProbes, 0);
    assert_int_equal(h_stats(h).TcpExtTCPTimeouts, 1);
}

/*
 * Linux (packetdrill's fr-4pkt-fack-last-byte): a SACK block of the last
 * byte covers no whole segment, so nothing counts as SACKed, the
 * connection stays in CA_Open and the probe goes out as armed, 2 SRTT +
 * 2 ms after the flight left; less than three segments' worth SACKed, and
 * not the probe whole: no recovery yet.
 */
static void sack_of_last_byte_keeps_probe(void **state)
{
    struct harness *h = *state;

    reach_established(h, true);
    sample_rtt(h, 10 * MS);
    assert_int_equal(h_write_pattern(h, 1, 4 * SEG1), 4 * SEG1);
    for (uint32_t k = 0; k < 4; k++)
        expect_seg(h, k);
    h_advance(h, 10 * MS);
    struct tcp_opts o = {.sack_count = 1};
    o.sack[0].left = SEQ_OF(4) - 1;
    o.sack[0].right = SEQ_OF(4);
    h_send_opts(h, TCP_ACK, IRS + 1, SEQ_OF(0), &o, NULL, 0);
    h_expect_nothing(h);
    expect_seg_after(h, 10 * MS + SLACK, 3);
    assert_int_equal(h_stats(h).TcpExtTCPLossProbes, 1);
    assert_int_not_equal(info_of(h).ca_state, TT_CA_RECOVERY);
}

/* Linux probes only with SACK agreed (tcp_is_sack()): without it, a tail
 * loss waits for the RTO. */
static void no_probe_without_sack(void **state)
{
    struct harness *h = *state;

    reach_established(h, false);
    sample_rtt(h, 10 * MS);
    assert_int_equal(h_write_pattern(h, 1, 4 * SEG1), 4 * SEG1);
    for (uint32_t k = 0; k < 4; k++)
        expect_seg(h, k);
    h_advance(h, 10 * MS);
    h_send(h, TCP_ACK, IRS + 1, SEQ_OF(2), NULL, 0);
    expect_seg_after(h, 210 * MS, 2);
    assert_int_equal(h_stats(h).TcpExtTCPLossProbes, 0);
    assert_int_equal(h_stats(h).TcpExtTCPTimeouts, 1);
}

/* tcp_early_retrans 0 (Linux: TLP off): the RTO again. */
static void no_probe_when_turned_off(void **state)
{
    struct harness *h = *state;

    h->cfg.tcp_early_retrans = 0;
    lose_two_tail_segments(h);
    expect_seg_after(h, 210 * MS, 2);
    assert_int_equal(h_stats(h).TcpExtTCPLossProbes, 0);
}

/*
 * RFC 8985 7.4 (Linux tcp_process_tlp_ack()): the probe repaired the only
 * loss. Its ACK covers the probe but says nothing beyond it; the next ACK
 * that goes past TLP.end_seq without a DSACK shows the loss was real:
 * cwnd comes down to the module's ssthresh (want_cwnd), and
 * TcpExtTCPLossProbeRecovery counts it.
 */
static void probe_repairs_loss(struct harness *h, int cc, uint32_t want_cwnd)
{
    h->cfg.tcp_congestion_control = cc;
    lose_two_tail_segments(h);
    h_send(h, TCP_ACK, IRS + 1, SEQ_OF(3), NULL, 0); /* only the last is lost */
    h_expect_nothing(h);
    expect_seg_after(h, 210 * MS, 3); /* 2 SRTT + 200 ms, bounded by the RTO */
    h_advance(h, 10 * MS);
    h_send(h, TCP_ACK, IRS + 1, SEQ_OF(4), NULL, 0);
    h_expect_nothing(h);
    assert_int_equal(info_of(h).cwnd, INIT_CWND);
    assert_int_equal(h_write_pattern(h, 1 + 4 * SEG1, SEG1), SEG1);
    expect_seg(h, 4);
    h_advance(h, 10 * MS);
    h_send(h, TCP_ACK, IRS + 1, SEQ_OF(5), NULL, 0);
    h_expect_nothing(h);
    assert_int_equal(info_of(h).cwnd, want_cwnd);
    assert_int_equal(info_of(h).ssthresh, want_cwnd);
    assert_int_equal(h_stats(h).TcpExtTCPLossProbeRecovery, 1);
}

/* Reno: half of cwnd. */
static void probe_repairing_loss_halves_cwnd_reno(void **state)
{
    probe_repairs_loss(*state, TT_CC_RENO, INIT_CWND / 2);
}

/* CUBIC (the default): 0.7 of cwnd in whole segments, 7 of 10 (RFC 9438
 * 4.6, Linux beta 717/1024). */
static void probe_repairing_loss_cubic_keeps_0_7(void **state)
{
    probe_repairs_loss(*state, TT_CC_CUBIC, 7 * (INIT_CWND / 10));
}

/* A DSACK of the probe: the original arrived too; no loss, cwnd untouched. */
static void probe_dsack_means_no_loss(void **state)
{
    struct harness *h = *state;

    lose_two_tail_segments(h);
    h_send(h, TCP_ACK, IRS + 1, SEQ_OF(3), NULL, 0);
    expect_seg_after(h, 210 * MS, 3);
    h_advance(h, 10 * MS);
    send_sack(h, 4, 3, 4); /* RFC 2883: a block below the cumulative ACK */
    h_expect_nothing(h);
    assert_int_equal(h_write_pattern(h, 1 + 4 * SEG1, SEG1), SEG1);
    expect_seg(h, 4);
    h_advance(h, 10 * MS);
    h_send(h, TCP_ACK, IRS + 1, SEQ_OF(5), NULL, 0);
    h_expect_nothing(h);
    assert_int_equal(info_of(h).cwnd, INIT_CWND);
    assert_int_equal(h_stats(h).TcpExtTCPLossProbeRecovery, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(tail_loss_probed_after_two_srtt, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(probe_sack_starts_fast_recovery, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(probe_carries_new_data, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(lone_segment_waits_for_delayed_ack, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(pto_never_later_than_rto, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(no_probe_in_recovery, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(sack_of_last_byte_keeps_probe, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(no_probe_without_sack, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(no_probe_when_turned_off, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(probe_repairing_loss_halves_cwnd_reno, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(probe_repairing_loss_cubic_keeps_0_7, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(probe_dsack_means_no_loss, h_setup, h_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
