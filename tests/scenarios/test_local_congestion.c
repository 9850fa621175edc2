/*
 * Scenarios: local congestion, the device refusing what the engine sends
 * (tt_engine_set_local_congestion(); in Linux a qdisc that drops, e.g.
 * `tc qdisc replace dev tun0 root pfifo limit 0`, and tcp_transmit_skb()
 * returning NET_XMIT_DROP; docs/contract.md §2.6 item 14). Unlike a loss
 * on the wire the engine knows the segment did not leave:
 *
 * - new data stays unsent (Linux tcp_write_xmit() stops at the refused
 *   skb) and the probe timer runs (tcp_check_probe_timer());
 * - the probe timer retries every 500 ms (TCP_RESOURCE_PROBE_INTERVAL)
 *   without backoff, counting tcpi_probes, within TCP_USER_TIMEOUT
 *   (tcp_send_probe0(), tcp_clamp_probe0_to_user_timeout(),
 *   tcp_probe_timer());
 * - a refused retransmission is not counted (tcp_retransmit_skb()), an RTO
 *   whose retransmission is refused retries after 500 ms without doubling
 *   (tcp_retransmit_timer()), and RACK's retransmission after the reorder
 *   timer stays owed (packetdrill
 *   cubic-rack-reo-timeout-retrans-failed-incoming-data);
 * - a keep-alive probe the device refuses is not counted and is tried
 *   again after 500 ms instead of the interval (tcp_keepalive_timer()).
 */
#include <errno.h>

#include "harness.h"

#define PROBE_INTERVAL (500 * MS) /* Linux TCP_RESOURCE_PROBE_INTERVAL */
#define RTO (200 * MS)            /* after h_prime_rtt() */

static tt_conn_info_t info_of(const struct harness *h)
{
    tt_conn_info_t i;
    tt_conn_get_info(h->conn, &i);
    return i;
}

/* ESTABLISHED, RTO 200 ms, SND.NXT = ISS + 2; then the device refuses. */
static void established_refusing(struct harness *h)
{
    h_reach_established_passive(h);
    h_prime_rtt(h);
    tt_engine_set_local_congestion(h->eng, true);
    assert_true(tt_engine_local_congestion(h->eng));
}

/*
 * A write while the device refuses: nothing leaves and nothing counts as
 * sent (SND.NXT stays, no bytes in flight); the probe timer starts at the
 * RTO as for a closed window. It then retries every 500 ms with no backoff,
 * tcpi_probes counting, and TCP_USER_TIMEOUT (3 s from the first probe)
 * ends the connection with ETIMEDOUT: 6 probes by then, as Linux
 * (packetdrill user_timeout/user-timeout-probe).
 */
static void refused_data_probes_every_500ms_until_user_timeout(void **state)
{
    struct harness *h = *state;
    established_refusing(h);
    assert_int_equal(tt_conn_set_user_timeout(h->conn, 3000), 0);
    assert_int_equal(h_write_pattern(h, 1, 24), 24);
    h_expect_nothing(h);
    tt_conn_info_t i = info_of(h);
    assert_int_equal(i.unacked, 0);
    assert_int_equal(i.snd_nxt, ISS + 2);
    h_advance(h, RTO - 1);
    assert_int_equal(info_of(h).probes, 0);
    h_advance(h, 1);
    uint64_t first = h->now;
    assert_int_equal(info_of(h).probes, 1);
    for (uint8_t k = 2; k <= 6; k++) {
        h_advance(h, PROBE_INTERVAL - 1);
        assert_int_equal(info_of(h).probes, k - 1);
        h_advance(h, 1);
        assert_int_equal(info_of(h).probes, k);
        assert_int_equal(info_of(h).backoff, 0);
    }
    h_expect_nothing(h);
    h_advance(h, first + 3 * SEC - 1 - h->now);
    assert_int_equal(h_conn_state(h), TT_STATE_ESTABLISHED);
    h_advance(h, 1);
    h_expect_nothing(h); /* no RST: Linux tcp_write_err() */
    assert_int_equal(h->read_err, -ETIMEDOUT);
    h_expect_closed(h, TT_WHY_TIMEOUT, first + 3 * SEC);
}

/* Once the device takes packets again, the next probe sends the waiting
 * data (Linux tcp_write_wakeup()), and its ACK ends the probing. */
static void data_leaves_at_the_probe_after_congestion_ends(void **state)
{
    struct harness *h = *state;
    established_refusing(h);
    assert_int_equal(h_write_pattern(h, 1, 24), 24);
    h_advance(h, RTO + PROBE_INTERVAL);
    assert_int_equal(info_of(h).probes, 2);
    tt_engine_set_local_congestion(h->eng, false);
    h_expect_nothing(h); /* nothing until the timer */
    h_advance(h, PROBE_INTERVAL - 1);
    h_expect_nothing(h);
    h_advance(h, 1);
    h_expect_pattern(h, TCP_ACK | TCP_PSH, ISS + 2, IRS + 1, 1, 24);
    h_send(h, TCP_ACK, IRS + 1, ISS + 26, NULL, 0);
    tt_conn_info_t i = info_of(h);
    assert_int_equal(i.probes, 0);
    assert_int_equal(i.unacked, 0);
    assert_int_equal(i.total_retrans, 0);
}

/*
 * An RTO whose retransmission the device refuses: not counted (Linux
 * tcp_retransmit_skb() counts retrans_out and total_retrans only for
 * what left), and tried again after 500 ms, the RTO not doubled (Linux
 * tcp_retransmit_timer()), tcpi_backoff staying 0 (Linux raises
 * icsk_backoff only past the refusal). Once the device takes it, it
 * counts once and backs the RTO off once.
 */
static void refused_retransmission_is_not_counted(void **state)
{
    struct harness *h = *state;
    h_reach_established_passive(h);
    h_prime_rtt(h);
    assert_int_equal(h_write_pattern(h, 1, 100), 100);
    h_expect_pattern(h, TCP_ACK | TCP_PSH, ISS + 2, IRS + 1, 1, 100);
    tt_engine_set_local_congestion(h->eng, true);
    h_advance(h, RTO);
    h_expect_nothing(h);
    tt_conn_info_t i = info_of(h);
    assert_int_equal(i.total_retrans, 0);
    assert_int_equal(i.retrans_segs, 0);
    assert_int_equal(i.rto_us, RTO); /* not backed off */
    assert_int_equal(i.backoff, 0);  /* Linux icsk_backoff: not for a refusal */
    h_advance(h, PROBE_INTERVAL);
    assert_int_equal(info_of(h).total_retrans, 0);
    assert_int_equal(info_of(h).backoff, 0);
    tt_engine_set_local_congestion(h->eng, false);
    h_advance(h, PROBE_INTERVAL - 1);
    h_expect_nothing(h);
    h_advance(h, 1);
    h_expect_pattern(h, TCP_ACK | TCP_PSH, ISS + 2, IRS + 1, 1, 100);
    i = info_of(h);
    assert_int_equal(i.total_retrans, 1);
    assert_int_equal(i.retrans_segs, 1);
    assert_int_equal(i.backoff, 1); /* the one that left doubled the RTO */
    assert_int_equal(i.rto_us, 2 * RTO);
}

#define RTT (100 * MS)
#define SEQ(k) (ISS + 1 + (uint32_t)(k)*H_MSS)

/* An ACK of SEQ(una) that SACKs segment k, with the peer's data at seq. */
static void sack_one(struct harness *h, uint32_t seq, uint32_t una, uint32_t k, const void *data,
                     size_t len)
{
    struct tcp_opts o = {.sack_count = 1};
    o.sack[0].left = SEQ(k);
    o.sack[0].right = SEQ(k + 1);
    h_send_opts(h, TCP_ACK, seq, SEQ(una), &o, data, len);
}

/*
 * RACK's reorder timer finds the first of two segments lost while the
 * device refuses (packetdrill cubic-rack-reo-timeout-retrans-failed-
 * incoming-data): recovery starts and PRR's first step gives cwnd 1
 * segment, but the retransmission does not leave: lost 1, retrans 0,
 * nothing in flight. Data from the peer then, with nothing newly
 * delivered, leaves cwnd at 1 (Linux tcp_cwnd_reduction() returns at
 * once without newly delivered data); the lost segment goes out as soon
 * as the device takes packets again and an ACK lets the output run.
 */
static void rack_retransmission_refused_stays_lost(void **state)
{
    struct harness *h = *state;
    h_reach_established_sack(h, RTT);
    assert_int_equal(h_write_pattern(h, 0, 2 * H_MSS), 2 * H_MSS);
    h_expect_pattern(h, TCP_ACK, SEQ(0), IRS + 1, 0, H_MSS);
    h_expect_pattern(h, TCP_ACK | TCP_PSH, SEQ(1), IRS + 1, H_MSS, H_MSS);
    tt_engine_set_local_congestion(h->eng, true);
    h_advance(h, RTT);
    sack_one(h, IRS + 1, 0, 1, NULL, 0);
    assert_int_equal(info_of(h).ca_state, TT_CA_DISORDER);
    h_advance(h, 30 * MS); /* past the reordering window (25 ms) + 2 ms */
    h_expect_nothing(h);
    tt_conn_info_t i = info_of(h);
    assert_int_equal(i.ca_state, TT_CA_RECOVERY);
    assert_int_equal(i.sacked_segs, 1);
    assert_int_equal(i.lost_segs, 1);
    assert_int_equal(i.retrans_segs, 0);
    assert_int_equal(i.total_retrans, 0);
    assert_int_equal(i.cwnd, H_MSS);
    static const uint8_t data[100];
    sack_one(h, IRS + 1, 0, 1, data, sizeof(data));
    h_expect_nothing(h); /* its ACK is refused too */
    assert_int_equal(info_of(h).cwnd, H_MSS);
    tt_engine_set_local_congestion(h->eng, false);
    h_advance(h, 10 * MS);
    sack_one(h, IRS + 101, 0, 1, NULL, 0);
    const struct h_seg *s = h_pop_any(h);
    assert_int_equal(s->seg.seq, SEQ(0));
    assert_int_equal(s->seg.len, H_MSS);
    assert_int_equal(info_of(h).total_retrans, 1);
}

/*
 * Keep-alive (idle 10 s, interval 2 s, 3 probes) while the device
 * refuses: each refused probe is not counted and is tried again 500 ms
 * later (Linux tcp_keepalive_timer(): "try harder"), so no RST at
 * 10 + 3 * 2 s; once the device takes packets the next try is the first
 * probe, and the count starts from there.
 */
static void refused_keepalive_is_retried_uncounted(void **state)
{
    struct harness *h = *state;
    h_reach_established_passive(h);
    assert_int_equal(tt_conn_set_keepalive(h->conn, 1, 10, 2, 3), 0);
    tt_engine_set_local_congestion(h->eng, true);
    h_advance(h, 10 * SEC);
    h_advance(h, 20 * PROBE_INTERVAL); /* 20 refused tries */
    assert_int_equal(info_of(h).probes, 0);
    assert_int_equal(h_stats(h).TcpExtTCPKeepAlive, 0);
    assert_int_equal(h_conn_state(h), TT_STATE_ESTABLISHED);
    tt_engine_set_local_congestion(h->eng, false);
    h_advance(h, PROBE_INTERVAL - 1);
    h_expect_nothing(h);
    h_advance(h, 1);
    h_expect(h, TCP_ACK, ISS, IRS + 1); /* the probe: SEQ = SND.UNA - 1 */
    assert_int_equal(info_of(h).probes, 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(refused_data_probes_every_500ms_until_user_timeout, h_setup,
                                        h_teardown),
        cmocka_unit_test_setup_teardown(data_leaves_at_the_probe_after_congestion_ends, h_setup,
                                        h_teardown),
        cmocka_unit_test_setup_teardown(refused_retransmission_is_not_counted, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(rack_retransmission_refused_stays_lost, h_setup,
                                        h_teardown),
        cmocka_unit_test_setup_teardown(refused_keepalive_is_retried_uncounted, h_setup,
                                        h_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
