/*
 * Scenarios: round-trip time samples (RFC 6298), here Karn's rule on the
 * handshake: a SYN or SYN-ACK that went out more than once gives no
 * sample, however it came to be sent again. And Linux's sampling of data:
 * every ACK of new data gives the estimator a sample (tcp_ack_update_rtt()),
 * from the oldest segment it acknowledged, or from its TSecr when that
 * segment was retransmitted (docs/contract.md §2.6).
 */
#include "harness.h"

#include <string.h>

#define SEG1 H_MSS

static tt_conn_info_t info_of(const struct harness *h)
{
    tt_conn_info_t i;
    tt_conn_get_info(h->conn, &i);
    return i;
}

/* n full segments of the pattern from stream offset 0, all sent at once. */
static void send_flight(struct harness *h, uint32_t n)
{
    assert_int_equal(h_write_pattern(h, 0, n * SEG1), n * SEG1);
    for (uint32_t k = 0; k < n; k++)
        h_expect_pattern(h, TCP_ACK, ISS + 1 + k * SEG1, IRS + 1, k * SEG1, SEG1);
}

/* After dt, the peer acknowledges the first k segments. */
static void ack_segments_after(struct harness *h, uint64_t dt, uint32_t k)
{
    h_advance(h, dt);
    h_send(h, TCP_ACK, IRS + 1, ISS + 1 + k * SEG1, NULL, 0);
}

/*
 * Linux tcp_clean_rtx_queue() and tcp_ack_update_rtt(): each ACK of one
 * flight is a sample, the time since the oldest segment it acknowledged
 * went out, here 10, 20 and 30 ms; tcp_rtt_estimator() gives SRTT 10,
 * 11.25 and 13.593 ms (gain 1/8, in Linux's integer arithmetic), mdev 20,
 * 25 and 37.5 ms (4 x the deviation: tcpi_rttvar is a quarter), and
 * tcp_set_rto() an RTO of SRTT + 200 ms after each (the variance's floor).
 * Before: one timed segment per round trip (RFC 6298 allows it), and SRTT
 * stayed at 10 ms; Linux's pacing rate and GSO sizes follow the larger
 * SRTT (packetdrill notsent_lowat/notsent-lowat-sysctl).
 */
static void srtt_sampled_on_every_ack(void **state)
{
    struct harness *h = *state;

    h_reach_established_passive(h);
    send_flight(h, 4);
    ack_segments_after(h, 10 * MS, 1);
    assert_int_equal(info_of(h).srtt_us, 10000);
    assert_int_equal(info_of(h).rttvar_us, 5000);
    assert_int_equal(info_of(h).rto_us, 210000);
    ack_segments_after(h, 10 * MS, 2);
    assert_int_equal(info_of(h).srtt_us, 11250);
    assert_int_equal(info_of(h).rttvar_us, 6250);
    assert_int_equal(info_of(h).rto_us, 211250);
    ack_segments_after(h, 10 * MS, 3);
    assert_int_equal(info_of(h).srtt_us, 13593);
    assert_int_equal(info_of(h).rttvar_us, 9375);
    assert_int_equal(info_of(h).rto_us, 213593);
}

/*
 * Linux tcp_rtt_estimator(): the RTO's variance term (rttvar) rises at
 * once with mdev past its floor, within the round trip, and falls back a
 * quarter of the way per round trip only (mdev_max restarts at the floor
 * when SND.UNA passes the SND.NXT of the round's start). Samples of 100
 * and 200 ms in one flight: mdev 200 then 250 ms, RTO 300 then 362.5 ms
 * (before: the second ACK gave no sample, 300 ms). Two more rounds of
 * 100 ms samples: rttvar 250 ms until the round of the 250 ms ends, then
 * 250 - 50/4 = 237.5 ms.
 */
static void rttvar_follows_mdev_max_per_round(void **state)
{
    struct harness *h = *state;

    h_reach_established_passive(h);
    send_flight(h, 2);
    ack_segments_after(h, 100 * MS, 1);
    assert_int_equal(info_of(h).rto_us, 300 * MS);
    ack_segments_after(h, 100 * MS, 2);
    assert_int_equal(info_of(h).srtt_us, 112500);
    assert_int_equal(info_of(h).rto_us, 362500);

    /* Round two: its first ACK closes round one (mdev_max 250 ms). */
    assert_int_equal(h_write_pattern(h, 2 * SEG1, SEG1), SEG1);
    h_expect_pattern(h, TCP_ACK, ISS + 1 + 2 * SEG1, IRS + 1, 2 * SEG1, SEG1);
    ack_segments_after(h, 100 * MS, 3);
    uint64_t srtt = info_of(h).srtt_us;
    assert_int_equal(info_of(h).rto_us, srtt + 250 * MS);

    /* Round three: round two's mdev_max stayed at the 200 ms floor. */
    assert_int_equal(h_write_pattern(h, 3 * SEG1, SEG1), SEG1);
    h_expect_pattern(h, TCP_ACK, ISS + 1 + 3 * SEG1, IRS + 1, 3 * SEG1, SEG1);
    ack_segments_after(h, 100 * MS, 4);
    srtt = info_of(h).srtt_us;
    assert_int_equal(info_of(h).rto_us, srtt + 237500);
}

/*
 * RFC 6298 section 3 (Karn), as Linux's FLAG_RETRANS_DATA_ACKED: an ACK
 * that acknowledges a segment sent twice gives no sample from send times,
 * and without timestamps none at all. SRTT stays 100 ms; the RTO leaves
 * its backoff (300 ms again). The next ACK of data sent once is a sample.
 */
static void ack_of_retransmitted_data_gives_no_sample(void **state)
{
    struct harness *h = *state;

    h_reach_established_passive(h);
    send_flight(h, 1);
    ack_segments_after(h, 100 * MS, 1);
    assert_int_equal(h_write_pattern(h, SEG1, SEG1), SEG1);
    h_expect_pattern(h, TCP_ACK, ISS + 1 + SEG1, IRS + 1, SEG1, SEG1);
    h_advance(h, 300 * MS - 1);
    h_expect_nothing(h);
    h_advance(h, 1);
    h_expect_pattern(h, TCP_ACK, ISS + 1 + SEG1, IRS + 1, SEG1, SEG1);
    ack_segments_after(h, 10 * MS, 2);
    assert_int_equal(info_of(h).srtt_us, 100 * MS);
    assert_int_equal(info_of(h).rto_us, 300 * MS);
    assert_int_equal(h_write_pattern(h, 2 * SEG1, SEG1), SEG1);
    h_expect_pattern(h, TCP_ACK, ISS + 1 + 2 * SEG1, IRS + 1, 2 * SEG1, SEG1);
    ack_segments_after(h, 20 * MS, 3);
    assert_int_equal(info_of(h).srtt_us, 90 * MS); /* 100 + (20 - 100) / 8 */
}

/*
 * Linux tcp_ack_update_rtt() with tcp_sacktag_one()'s first_sackt: an ACK
 * that moves nothing but newly SACKs data sent once is a sample, from the
 * lowest such segment. Handshake 100 ms; four segments, the third SACKed
 * 60 ms later: SRTT 100 + (60 - 100) / 8 = 95 ms. A SACK of it again
 * (nothing new) is no sample. Before: no sample, 100 ms.
 */
static void sack_of_data_sent_once_is_a_sample(void **state)
{
    struct harness *h = *state;

    h_reach_established_sack(h, 100 * MS);
    assert_int_equal(info_of(h).srtt_us, 100 * MS);
    send_flight(h, 4);
    h_advance(h, 60 * MS);
    struct tcp_opts o = {.sack_count = 1};
    o.sack[0] = (struct tcp_sack_block){ISS + 1 + 2 * SEG1, ISS + 1 + 3 * SEG1};
    h_send_opts(h, TCP_ACK, IRS + 1, ISS + 1, &o, NULL, 0);
    assert_int_equal(info_of(h).srtt_us, 95 * MS);
    h_advance(h, 10 * MS);
    h_send_opts(h, TCP_ACK, IRS + 1, ISS + 1, &o, NULL, 0);
    assert_int_equal(info_of(h).srtt_us, 95 * MS);
}

/* A peer segment with TSopt echoing ecr. */
static void send_ts_ack(struct harness *h, uint8_t flags, uint32_t seq, uint32_t ack, uint32_t ecr)
{
    struct tcp_opts o;
    memset(&o, 0, sizeof(o));
    o.mss_ok = (flags & TCP_SYN) != 0;
    o.mss = H_MSS;
    o.ts_ok = true;
    o.ts_val = 7000;
    o.ts_ecr = ecr;
    h_send_opts(h, flags, seq, ack, &o, NULL, 0);
}

/*
 * Linux tcp_ack_update_rtt(): when Karn's rule leaves no send time, an ACK
 * of new data with a TSecr is a sample (RFC 7323 4.1; the echo names the
 * copy that arrived), in milliseconds. Handshake 100 ms (SRTT 100, RTO
 * 300 ms); the data's RTO retransmission is acknowledged 40 ms later
 * echoing its TSval: SRTT 100 + (40 - 100) / 8 = 92.5 ms. Before: no
 * sample, 100 ms.
 */
static void ack_of_retransmitted_data_samples_tsecr(void **state)
{
    struct harness *h = *state;

    h->cfg.tcp_timestamps = 1;
    h_reinit(h);
    h_connect(h, H_SERVICE_PORT);
    const struct h_seg *s = h_expect_syn(h);
    h_advance(h, 100 * MS);
    send_ts_ack(h, TCP_SYN | TCP_ACK, IRS, ISS + 1, s->seg.opt.ts_val);
    h_expect(h, TCP_ACK, ISS + 1, IRS + 1);
    assert_int_equal(info_of(h).srtt_us, 100 * MS);

    assert_int_equal(h_write_pattern(h, 0, 10), 10);
    h_expect_pattern(h, TCP_ACK, ISS + 1, IRS + 1, 0, 10);
    h_advance(h, 300 * MS);
    s = h_expect_pattern(h, TCP_ACK, ISS + 1, IRS + 1, 0, 10);
    uint32_t tsval = s->seg.opt.ts_val;
    h_advance(h, 40 * MS);
    send_ts_ack(h, TCP_ACK, IRS + 1, ISS + 11, tsval);
    assert_int_equal(info_of(h).srtt_us, 92500);
}

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

    h_reach_syn_received(h);
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
        cmocka_unit_test_setup_teardown(srtt_sampled_on_every_ack, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(rttvar_follows_mdev_max_per_round, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(ack_of_retransmitted_data_gives_no_sample, h_setup,
                                        h_teardown),
        cmocka_unit_test_setup_teardown(ack_of_retransmitted_data_samples_tsecr, h_setup,
                                        h_teardown),
        cmocka_unit_test_setup_teardown(sack_of_data_sent_once_is_a_sample, h_setup, h_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
