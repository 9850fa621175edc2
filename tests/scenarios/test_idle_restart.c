/*
 * Scenarios: the congestion window after an idle period (RFC 5681 4.1,
 * "restarting idle connections"), as Linux does it with
 * net.ipv4.tcp_slow_start_after_idle = 1, its default
 * (tcp_slow_start_after_idle_check(), tcp_cwnd_restart()): when the
 * application queues data with nothing in flight and more than an RTO has
 * passed since data last went out, cwnd is halved once per RTO of the idle
 * time, never below the initial window; ssthresh becomes at least three
 * quarters of the old cwnd (tcp_current_ssthresh(): before any loss it is
 * unbounded and stays so). The idle time runs from when data last went
 * out (Linux lsndtime). packetdrill's slow_start/slow-start-after-idle.pkt is the
 * upstream case.
 */
#include "harness.h"

#define SEG1 H_MSS
#define DATA0 (ISS + 1)
#define RTT (10 * MS)

static tt_conn_info_t info_of(const struct harness *h)
{
    tt_conn_info_t i;
    tt_conn_get_info(h->conn, &i);
    return i;
}

/* Established with a 10 ms handshake, then rounds of slow start, each
 * acknowledged whole after one RTT, until cwnd reaches at least `segs`
 * segments. Returns the sequence offset of the data sent so far. */
static uint32_t grow_cwnd(struct harness *h, uint32_t segs)
{
    uint32_t off = 0;

    h->cfg.tcp_congestion_control = TT_CC_RENO; /* no HyStart: a predictable climb */
    h_reinit(h);
    h_reach_established_rtt(h, RTT);
    while (info_of(h).cwnd < segs * SEG1) {
        uint32_t n = info_of(h).cwnd;
        assert_int_equal(h_write_pattern(h, off, n), n);
        while (h_pending(h))
            h_pop_any(h);
        off += n;
        h_advance(h, RTT);
        h_send(h, TCP_ACK, IRS + 1, DATA0 + off, NULL, 0);
        while (h_pending(h))
            h_pop_any(h);
    }
    return off;
}

/* Idle for `idle`, then a write of 40 segments: the segments that go at
 * once are what cwnd allows. */
static uint32_t segments_after_idle(struct harness *h, uint32_t off, uint64_t idle)
{
    uint32_t sent = 0;

    h_advance(h, idle);
    assert_int_equal(h_write_pattern(h, off, 40 * SEG1), 40 * SEG1);
    while (h_pending(h)) {
        const struct h_seg *s = h_pop_any(h);
        sent += s->seg.len;
    }
    return sent / SEG1;
}

/* Idle for three RTOs: cwnd 20 halves to 10 (the initial window) and
 * stops there; ssthresh, unbounded before any loss, stays so. Ten
 * segments leave. */
static void long_idle_restarts_at_initial_window(void **state)
{
    struct harness *h = *state;
    uint32_t off = grow_cwnd(h, 20);
    uint32_t cwnd = info_of(h).cwnd;
    uint64_t rto = info_of(h).rto_us;

    assert_int_equal(cwnd, 20 * SEG1);
    assert_int_equal(segments_after_idle(h, off, 3 * rto + MS), 10);
    assert_int_equal(info_of(h).cwnd, 10 * SEG1);
    assert_int_equal(info_of(h).ssthresh, UINT32_MAX);
}

/* Idle for more than one RTO but less than two: cwnd 40 is halved once. */
static void one_rto_of_idle_halves_once(void **state)
{
    struct harness *h = *state;
    uint32_t off = grow_cwnd(h, 40);
    uint64_t rto = info_of(h).rto_us;

    assert_int_equal(info_of(h).cwnd, 40 * SEG1);
    h_advance(h, rto + rto / 2);
    assert_int_equal(h_write_pattern(h, off, SEG1), SEG1);
    while (h_pending(h))
        h_pop_any(h);
    assert_int_equal(info_of(h).cwnd, 20 * SEG1);
}

/* Less than an RTO since data last went out (one RTT before the last
 * ACK): nothing changes. */
static void short_idle_keeps_cwnd(void **state)
{
    struct harness *h = *state;
    uint32_t off = grow_cwnd(h, 20);
    uint64_t rto = info_of(h).rto_us;

    assert_int_equal(segments_after_idle(h, off, rto - RTT - MS), 20);
    assert_int_equal(info_of(h).cwnd, 20 * SEG1);
}

/* tcp_slow_start_after_idle 0: the window survives any idle time. */
static void knob_off_keeps_cwnd(void **state)
{
    struct harness *h = *state;

    h->cfg.tcp_slow_start_after_idle = 0;
    uint32_t off = grow_cwnd(h, 20);
    uint64_t rto = info_of(h).rto_us;

    assert_int_equal(segments_after_idle(h, off, 10 * rto), 20);
    assert_int_equal(info_of(h).cwnd, 20 * SEG1);
}
/*
 * Linux restarts cwnd when a new window arrives with data waiting, too
 * (tcp_ack_update_window()): forty segments wait behind a zero window for
 * three seconds, the persist timer probing; the ACK that opens the window
 * lets ten go, not the twenty of the cwnd before the idle time
 * (packetdrill slow_start/slow-start-after-win-update.pkt).
 */
static void window_opening_after_idle_restarts(void **state)
{
    struct harness *h = *state;
    uint32_t off = grow_cwnd(h, 20);
    uint32_t sent = 0;

    assert_int_equal(info_of(h).cwnd, 20 * SEG1);
    h->peer_wnd = 0;
    h_send(h, TCP_ACK, IRS + 1, DATA0 + off, NULL, 0);
    assert_int_equal(h_write_pattern(h, off, 40 * SEG1), 40 * SEG1);
    h_expect_nothing(h);
    for (int k = 0; k < 30; k++) { /* the zero-window probes */
        h_advance(h, 100 * MS);
        while (h_pending(h))
            h_pop_any(h);
    }
    h->peer_wnd = H_PEER_WND;
    h_send(h, TCP_ACK, IRS + 1, DATA0 + off, NULL, 0);
    while (h_pending(h))
        sent += h_pop_any(h)->seg.len;
    assert_int_equal(sent, 10 * SEG1);
    assert_int_equal(info_of(h).cwnd, 10 * SEG1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(long_idle_restarts_at_initial_window, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(one_rto_of_idle_halves_once, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(short_idle_keeps_cwnd, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(knob_off_keeps_cwnd, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(window_opening_after_idle_restarts, h_setup, h_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
