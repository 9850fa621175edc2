/*
 * Scenarios: the peer's window as our sender meets it. Sender silly window
 * syndrome avoidance (RFC 9293 3.8.6.2.1) as Linux's tcp_write_xmit() has
 * it: a segment goes only when the window takes it whole
 * (tcp_snd_wnd_test()), except the last of a burst, which the window may cut
 * short unless Nagle holds it (tcp_mss_split_point(), tcp_nagle_check()).
 * What a too small window holds, the persist timer sends as far as the
 * window goes (tcp_write_wakeup()). And TCP_INFO's chronographs
 * (tcpi_busy_time, tcpi_rwnd_limited; Linux tcp_chrono_start/stop), as
 * packetdrill's tcp_info/tcp-info-rwnd-limited.pkt reads them. Against a
 * small window segments are half of it (Linux tcp_bound_to_half_wnd()).
 */
#include "harness.h"

/* Established, one byte sent and ACKed (RTO 200 ms); then the peer
 * announces a window of wnd bytes. SND.UNA = SND.NXT = ISS + 2. */
static void reach_window(struct harness *h, uint16_t wnd)
{
    h_reach_established_passive(h);
    h_prime_rtt(h);
    h->peer_wnd = wnd;
    h_send(h, TCP_ACK, IRS + 1, ISS + 2, NULL, 0);
    h_expect_nothing(h);
}

/* A write of 1000 bytes into a 10-byte window sends nothing: the segment
 * does not fit whole (Linux tcp_snd_wnd_test()). When the window opens to
 * 2000 bytes the whole write goes as one segment. */
static void segment_waits_for_a_window_that_takes_it_whole(void **state)
{
    struct harness *h = *state;

    reach_window(h, 10);
    assert_int_equal(h_write_pattern(h, 1, 1000), 1000);
    h_expect_nothing(h);
    h_advance(h, 100 * MS);
    h->peer_wnd = 2000;
    h_send(h, TCP_ACK, IRS + 1, ISS + 2, NULL, 0);
    h_expect_pattern(h, TCP_ACK, ISS + 2, IRS + 1, 1, 1000);
    h_expect_nothing(h);
}

/* What fits in the window is not held for ever: the persist timer (RTO,
 * 200 ms) sends the window's 10 bytes with PSH (Linux tcp_write_wakeup():
 * "must have been a result SWS avoidance (sender)"); they are then timed
 * by the RTO as any data. */
static void persist_timer_sends_what_the_small_window_takes(void **state)
{
    struct harness *h = *state;

    reach_window(h, 10);
    assert_int_equal(h_write_pattern(h, 1, 1000), 1000);
    h_expect_nothing(h);
    h_advance(h, 200 * MS - 1);
    h_expect_nothing(h);
    h_advance(h, 1);
    const struct h_seg *s = h_expect_pattern(h, TCP_ACK, ISS + 2, IRS + 1, 1, 10);
    assert_true(s->seg.flags & TCP_PSH);
    h->peer_wnd = 2000;
    h_send(h, TCP_ACK, IRS + 1, ISS + 12, NULL, 0);
    h_expect_pattern(h, TCP_ACK, ISS + 12, IRS + 1, 11, 990);
}

/* A zero window is probed as before: no data, SEQ = SND.UNA - 1 (RFC 9293
 * 3.8.6.1); the small window is not. */
static void zero_window_still_probed_without_data(void **state)
{
    struct harness *h = *state;

    reach_window(h, 0);
    assert_int_equal(h_write_pattern(h, 1, 1000), 1000);
    h_expect_nothing(h);
    h_expect_after(h, 200 * MS, TCP_ACK, ISS + 1, IRS + 1);
    h->peer_wnd = 10;
    h_send(h, TCP_ACK, IRS + 1, ISS + 2, NULL, 0);
    h_expect_nothing(h); /* 10 bytes of window: still no room for the segment */
}

/* In a burst, the window may cut the last segment short (Linux's split at
 * the window's end, tcp_mss_split_point()): a window of one MSS and 500
 * bytes lets 1460 + 500 bytes of a 3000-byte write go; the rest waits. */
static void window_cuts_the_last_segment_of_a_burst(void **state)
{
    struct harness *h = *state;

    reach_window(h, H_MSS + 500);
    assert_int_equal(h_write_pattern(h, 1, 3000), 3000);
    h_expect_pattern(h, TCP_ACK, ISS + 2, IRS + 1, 1, H_MSS);
    h_expect_pattern(h, TCP_ACK, ISS + 2 + H_MSS, IRS + 1, 1 + H_MSS, 500);
    h_expect_nothing(h);
}

/* ... unless Nagle holds that partial segment (Linux tcp_nagle_check():
 * a partial segment of ours is unacknowledged): only the full one goes. */
static void nagle_holds_the_partial_segment_a_window_cuts(void **state)
{
    struct harness *h = *state;

    reach_window(h, 10 + H_MSS + 500);
    assert_int_equal(h_write_pattern(h, 1, 10), 10);
    h_expect_pattern(h, TCP_ACK, ISS + 2, IRS + 1, 1, 10);
    assert_int_equal(h_write_pattern(h, 11, 3000), 3000);
    h_expect_pattern(h, TCP_ACK, ISS + 12, IRS + 1, 11, H_MSS);
    h_expect_nothing(h);
}

/* A FIN that follows data the window holds waits with it, and goes with
 * the last segment once the window opens. */
static void fin_waits_behind_held_data(void **state)
{
    struct harness *h = *state;

    reach_window(h, 10);
    assert_int_equal(h_write_pattern(h, 1, 100), 100);
    h_shutdown(h);
    h_expect_nothing(h);
    h->peer_wnd = 2000;
    h_send(h, TCP_ACK, IRS + 1, ISS + 2, NULL, 0);
    h_expect_pattern(h, TCP_ACK | TCP_FIN, ISS + 2, IRS + 1, 1, 100);
}

/* A peer whose largest window is below two MSS gets segments of half of
 * it (Linux tcp_bound_to_half_wnd()), which its window takes whole: an
 * active open to a peer offering 1000 bytes sends 500-byte segments, two
 * at a time, rather than waiting for the persist timer each time. */
static void small_peer_window_halves_the_segments(void **state)
{
    struct harness *h = *state;

    h->peer_wnd = 1000;
    h_reach_established_active(h);
    assert_int_equal(h_write_pattern(h, 0, 2000), 2000);
    h_expect_pattern(h, TCP_ACK, ISS + 1, IRS + 1, 0, 500);
    h_expect_pattern(h, TCP_ACK, ISS + 501, IRS + 1, 500, 500);
    h_expect_nothing(h);
    h_send(h, TCP_ACK, IRS + 1, ISS + 1001, NULL, 0);
    h_expect_pattern(h, TCP_ACK, ISS + 1001, IRS + 1, 1000, 500);
    h_expect_pattern(h, TCP_ACK, ISS + 1501, IRS + 1, 1500, 500);
    h_expect_nothing(h);
}

/* ... and a peer window of 536 bytes or less is one segment, the floor
 * being 68 bytes less the TCP header (48 without timestamps): a window of
 * 30 bytes holds a 48-byte segment back, one of 100 takes 100 bytes. */
static void tiny_peer_window_is_one_segment(void **state)
{
    struct harness *h = *state;

    h->peer_wnd = 30;
    h_reach_established_active(h);
    assert_int_equal(h_write_pattern(h, 0, 300), 300);
    h_expect_nothing(h);
    h->peer_wnd = 100;
    h_send(h, TCP_ACK, IRS + 1, ISS + 1, NULL, 0);
    h_expect_pattern(h, TCP_ACK, ISS + 1, IRS + 1, 0, 100);
    h_expect_nothing(h);
}

static void chronos(struct harness *h, uint64_t *busy, uint64_t *rwnd)
{
    tt_conn_info_t info;

    tt_conn_get_info(h->conn, &info);
    *busy = info.busy_time_us;
    *rwnd = info.rwnd_limited_us;
}

/*
 * Linux's chronographs, as tcp-info-rwnd-limited.pkt reads them: busy runs
 * from the write until the flight is acknowledged with nothing left to
 * send; rwnd-limited while the peer's window holds data back (here 100 ms
 * at a zero window, then 50 ms at a 10-byte one), and busy counts that
 * time too.
 */
static void busy_and_rwnd_limited_times(void **state)
{
    struct harness *h = *state;
    uint64_t busy, rwnd;

    reach_window(h, 0);
    h_advance(h, 1 * SEC); /* idle: counts in neither */
    assert_int_equal(h_write_pattern(h, 1, 1000), 1000);
    h_advance(h, 100 * MS);
    chronos(h, &busy, &rwnd);
    assert_int_equal(rwnd, 100 * MS);
    assert_int_equal(busy, 100 * MS);
    h->peer_wnd = 2000;
    h_send(h, TCP_ACK, IRS + 1, ISS + 2, NULL, 0);
    h_expect_pattern(h, TCP_ACK, ISS + 2, IRS + 1, 1, 1000);
    h_advance(h, 30 * MS);
    h->peer_wnd = 10;
    h_send(h, TCP_ACK, IRS + 1, ISS + 1002, NULL, 0); /* all acknowledged: busy stops */
    h_advance(h, 20 * MS);
    chronos(h, &busy, &rwnd);
    assert_int_equal(rwnd, 100 * MS);
    assert_int_equal(busy, 130 * MS);
    assert_int_equal(h_write_pattern(h, 1001, 1000), 1000); /* held by the 10 bytes */
    h_expect_nothing(h);
    h_advance(h, 50 * MS);
    h->peer_wnd = 2000;
    h_send(h, TCP_ACK, IRS + 1, ISS + 1002, NULL, 0);
    h_expect_pattern(h, TCP_ACK, ISS + 1002, IRS + 1, 1001, 1000);
    chronos(h, &busy, &rwnd);
    assert_int_equal(rwnd, 150 * MS);
    assert_int_equal(busy, 180 * MS);
    h_advance(h, 10 * MS);
    h_send(h, TCP_ACK, IRS + 1, ISS + 2002, NULL, 0);
    h_advance(h, 1 * SEC);
    chronos(h, &busy, &rwnd);
    assert_int_equal(rwnd, 150 * MS);
    assert_int_equal(busy, 190 * MS);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(segment_waits_for_a_window_that_takes_it_whole, h_setup,
                                        h_teardown),
        cmocka_unit_test_setup_teardown(persist_timer_sends_what_the_small_window_takes, h_setup,
                                        h_teardown),
        cmocka_unit_test_setup_teardown(zero_window_still_probed_without_data, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(window_cuts_the_last_segment_of_a_burst, h_setup,
                                        h_teardown),
        cmocka_unit_test_setup_teardown(nagle_holds_the_partial_segment_a_window_cuts, h_setup,
                                        h_teardown),
        cmocka_unit_test_setup_teardown(fin_waits_behind_held_data, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(small_peer_window_halves_the_segments, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(tiny_peer_window_is_one_segment, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(busy_and_rwnd_limited_times, h_setup, h_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
