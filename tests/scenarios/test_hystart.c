/*
 * Scenarios: HyStart, CUBIC's end of slow start before any loss, as Linux's
 * tcp_cubic.c does it (hystart_update(), hystart_detect 3; docs/contract.md
 * §2.5). From a cwnd of 16 segments (hystart_low_window) on, each round of
 * slow start (until SND.UNA passes the SND.NXT of its start) watches:
 *
 * - delay: the least RTT of the round's first samples; at the ninth, more
 *   than delay_min + clamp(delay_min / 8, 4 ms, 16 ms) ends slow start
 *   (packetdrill's cubic-hystart-delay-rtt-jumps-upward.pkt);
 * - ACK train: ACKs each within 2 ms of the one before, for more than half
 *   of delay_min (plus a GSO cushion of at most 1 ms) since the round began.
 *
 * Slow start ends with ssthresh = cwnd. Each ACK has its RTT sample: the
 * time since the newest segment it acknowledged went out (Linux
 * ack_sample.rtt_us), none for retransmitted data (Karn).
 */
#include "harness.h"

#define SEG1 H_MSS
#define DATA0 (ISS + 1) /* our first byte of data */

static tt_conn_info_t info_of(const struct harness *h)
{
    tt_conn_info_t i;
    tt_conn_get_info(h->conn, &i);
    return i;
}

static uint32_t cwnd_segs(const struct harness *h)
{
    return info_of(h).cwnd / SEG1;
}

/* Pops what the engine sent; returns how many segments of data. */
static uint32_t drain_data(struct harness *h)
{
    uint32_t n = 0;
    while (h_pending(h) > 0)
        if (h_pop_any(h)->seg.len > 0)
            n++;
    return n;
}

/* The peer ACKs up to segment k of our data. */
static void ack_segs(struct harness *h, uint32_t k)
{
    h_send(h, TCP_ACK, IRS + 1, DATA0 + k * SEG1, NULL, 0);
}

/*
 * Established, 60 segments written; the first ten go out (RFC 6928) and are
 * ACKed together one rtt later: delay_min = rtt, cwnd 20, twenty more out.
 * Slow start's first round (cwnd 10) is below hystart_low_window.
 */
static void to_cwnd_20(struct harness *h, uint64_t rtt)
{
    h_reach_established_passive(h);
    assert_int_equal(h_write_pattern(h, 0, 60 * SEG1), 60 * SEG1);
    assert_int_equal(drain_data(h), 10);
    h_advance(h, rtt);
    ack_segs(h, 10);
    assert_int_equal(cwnd_segs(h), 20);
    assert_int_equal(drain_data(h), 20);
    assert_int_equal(info_of(h).ssthresh, UINT32_MAX);
}

/*
 * As packetdrill's cubic-hystart-delay-rtt-jumps-upward.pkt (there 200 ms
 * and 240 ms): delay_min 100 ms, then the round's samples are 120 ms and
 * more, past 100 + 12.5 ms. ACKs of two segments 1 ms apart: cwnd 22, 24,
 * ... 36; the ninth ACK of the round ends slow start at 36 (ssthresh 36),
 * and cwnd then stays there.
 */
static void delay_increase_ends_slow_start(void **state)
{
    struct harness *h = *state;

    to_cwnd_20(h, 100 * MS);
    h_advance(h, 120 * MS);
    for (uint32_t a = 1; a <= 8; a++) {
        ack_segs(h, 10 + 2 * a);
        drain_data(h);
        assert_int_equal(cwnd_segs(h), 20 + 2 * a);
        assert_int_equal(info_of(h).ssthresh, UINT32_MAX);
        h_advance(h, 1 * MS);
    }
    ack_segs(h, 28); /* the ninth sample: the delay test */
    drain_data(h);
    assert_int_equal(cwnd_segs(h), 36);
    assert_int_equal(info_of(h).ssthresh, 36 * SEG1);
    h_advance(h, 1 * MS);
    ack_segs(h, 30);
    assert_int_equal(cwnd_segs(h), 36);
    assert_int_equal(info_of(h).ssthresh, 36 * SEG1);
}

/* HyStart is CUBIC's (Linux tcp_cubic.c): with Reno the same rising RTT
 * leaves slow start going. */
static void reno_has_no_hystart(void **state)
{
    struct harness *h = *state;

    h->cfg.tcp_congestion_control = TT_CC_RENO;
    h_reinit(h);
    to_cwnd_20(h, 100 * MS);
    h_advance(h, 120 * MS);
    for (uint32_t a = 1; a <= 10; a++) {
        ack_segs(h, 10 + 2 * a);
        drain_data(h);
        assert_int_equal(cwnd_segs(h), 20 + 2 * a);
        h_advance(h, 1 * MS);
    }
    assert_int_equal(info_of(h).ssthresh, UINT32_MAX);
}

/* The same ACKs 110 ms after the segments went out, below 100 + 12.5 ms:
 * slow start goes on. */
static void small_delay_keeps_slow_start(void **state)
{
    struct harness *h = *state;

    to_cwnd_20(h, 100 * MS);
    h_advance(h, 110 * MS);
    for (uint32_t a = 1; a <= 10; a++) {
        ack_segs(h, 10 + 2 * a);
        drain_data(h);
        assert_int_equal(cwnd_segs(h), 20 + 2 * a);
        h_advance(h, 1 * MS);
    }
    assert_int_equal(info_of(h).ssthresh, UINT32_MAX);
}

/*
 * ACK train: RTT 10 ms, so the train must last more than (10 ms + 1 ms) / 2
 * = 5.5 ms. ACKs 1 ms apart from the round's start: the seventh, 6 ms in,
 * ends slow start at the cwnd it found (20 + 2 x 6 = 32).
 */
static void ack_train_ends_slow_start(void **state)
{
    struct harness *h = *state;

    to_cwnd_20(h, 10 * MS);
    h_advance(h, 10 * MS);
    for (uint32_t a = 1; a <= 6; a++) {
        ack_segs(h, 10 + 2 * a);
        drain_data(h);
        assert_int_equal(info_of(h).ssthresh, UINT32_MAX);
        assert_int_equal(cwnd_segs(h), 20 + 2 * a);
        h_advance(h, 1 * MS);
    }
    ack_segs(h, 24);
    drain_data(h);
    assert_int_equal(info_of(h).ssthresh, 32 * SEG1);
    assert_int_equal(cwnd_segs(h), 32);
}

/* ACKs more than 2 ms apart are no train: slow start goes on. */
static void spaced_acks_are_no_train(void **state)
{
    struct harness *h = *state;

    to_cwnd_20(h, 10 * MS);
    h_advance(h, 10 * MS);
    for (uint32_t a = 1; a <= 8; a++) {
        ack_segs(h, 10 + 2 * a);
        drain_data(h);
        assert_int_equal(cwnd_segs(h), 20 + 2 * a);
        h_advance(h, 3 * MS);
    }
    assert_int_equal(info_of(h).ssthresh, UINT32_MAX);
}

/*
 * Below hystart_low_window (16 segments) neither test runs: with cwnd 10 a
 * round of ACKs 1 ms apart, each with an RTT far above delay_min, leaves
 * slow start going.
 */
static void no_hystart_below_16_segments(void **state)
{
    struct harness *h = *state;

    h_reach_established_passive(h);
    assert_int_equal(h_write_pattern(h, 0, 60 * SEG1), 60 * SEG1);
    assert_int_equal(drain_data(h), 10);
    h_advance(h, 10 * MS);
    ack_segs(h, 1); /* delay_min 10 ms; the round begins */
    drain_data(h);
    h_advance(h, 100 * MS);
    for (uint32_t a = 2; a <= 3; a++) {
        ack_segs(h, a);
        drain_data(h);
        h_advance(h, 1 * MS);
    }
    assert_int_equal(cwnd_segs(h), 13);
    assert_int_equal(info_of(h).ssthresh, UINT32_MAX);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(delay_increase_ends_slow_start, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(small_delay_keeps_slow_start, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(reno_has_no_hystart, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(ack_train_ends_slow_start, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(spaced_acks_are_no_train, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(no_hystart_below_16_segments, h_setup, h_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
