/*
 * Scenarios: every close must end. How long a connection lives when the peer
 * stops answering or keeps its window shut, as Linux bounds it:
 *
 * - Zero-window probes (RFC 9293 3.8.6.1, RFC 1122 4.2.2.17; Linux
 *   tcp_probe_timer): a connection whose app holds the handle is probed as
 *   long as the peer answers, and aborted with ETIMEDOUT after tcp_retries2
 *   probes in a row left unanswered. An orphan is held to tcp_orphan_retries
 *   instead, and is dropped once its probe interval has reached TCP_RTO_MAX
 *   even if the peer answers every probe with a zero window.
 * - Retransmissions of an orphan in FIN_WAIT_1, CLOSING or LAST_ACK (Linux
 *   tcp_write_timeout): tcp_orphan_retries, not tcp_retries2, bounds them, by
 *   time as Linux's retransmits_timed_out() does.
 *
 * Linux drops the connection with tcp_write_err() in both cases: no RST.
 * Each deadline is checked one microsecond early too. The RTO is 200 ms
 * (Linux TCP_RTO_MIN) unless a test says otherwise.
 */
#include "harness.h"

#include <errno.h>
#include <string.h>

#define RTO_MIN (200 * MS)
#define RTO_MAX (120 * SEC)

static void advance_to(struct harness *h, uint64_t t)
{
    assert_true(t >= h->now);
    h_advance(h, t - h->now);
}

/* The k-th timeout (k >= 1) of a timer that starts at `rto` and doubles up to
 * 120 s comes this long after the timer was first armed. */
static uint64_t backoff_sum(uint64_t rto, int k)
{
    uint64_t t = 0;
    for (int i = 0; i < k; i++) {
        t += rto;
        rto = rto * 2 > RTO_MAX ? RTO_MAX : rto * 2;
    }
    return t;
}

/*
 * ESTABLISHED with a 200 ms RTO, the peer's window shut (<ACK=ISS+2><WND=0>
 * after our first byte) and 100 more bytes written, held back. Returns the
 * time of the write, when the persist timer starts.
 */
static uint64_t data_behind_zero_window(struct harness *h)
{
    h_reach_established_passive(h);
    h_prime_rtt(h);
    h->peer_wnd = 0;
    h_send(h, TCP_ACK, IRS + 1, ISS + 2, NULL, 0);
    h_expect_nothing(h);
    assert_int_equal(h_write_pattern(h, 1, 100), 100);
    h_expect_nothing(h);
    return h->now;
}

/* Linux's zero-window probe <SEQ=SND.UNA-1><ACK=RCV.NXT><CTL=ACK> at `at`
 * exactly; answered 1 ms later with a zero window when `answer`. */
static void expect_probe_at(struct harness *h, uint64_t at, bool answer)
{
    advance_to(h, at - 1);
    h_expect_nothing(h);
    h_advance(h, 1);
    h_expect(h, TCP_ACK, ISS + 1, IRS + 1);
    if (answer) {
        h_advance(h, 1 * MS);
        h_send(h, TCP_ACK, IRS + 1, ISS + 2, NULL, 0);
        h_expect_nothing(h);
    }
}

/* Probes number `from` to `to` of the persist timer started at t0. */
static void expect_probes(struct harness *h, uint64_t t0, int from, int to, bool answer)
{
    for (int k = from; k <= to; k++)
        expect_probe_at(h, t0 + backoff_sum(RTO_MIN, k), answer);
}

/* Still in `state` 1 µs before `at`; at `at` CLOSED why "timeout", silently
 * (Linux tcp_write_err(): no RST), counted as TcpExtTCPAbortOnTimeout. */
static void expect_timeout_at(struct harness *h, uint64_t at, tt_state_t state)
{
    advance_to(h, at - 1);
    h_expect_nothing(h);
    assert_int_equal(h_conn_state(h), state);
    assert_int_equal(h_closed_why(h), -1);
    h_advance(h, 1);
    h_expect_nothing(h);
    assert_int_equal(h_conn_state(h), TT_STATE_CLOSED);
    assert_int_equal(tt_engine_conn_count(h->eng), 0);
    assert_int_equal(tt_engine_timewait_count(h->eng), 0);
    h_expect_closed(h, TT_WHY_TIMEOUT, at);
    assert_int_equal(h_stats(h).TcpExtTCPAbortOnTimeout, 1);
}

/* ---- zero-window probes ---- */

/*
 * Linux tcp_probe_timer(), orphan: tcp_orphan_retries (0: 8 while the probe
 * interval is below TCP_RTO_MAX) unanswered probes, then the orphan is
 * dropped at the next expiry: 8 probes at +0.2, +0.6, ... +51 s, gone at
 * +102.2 s = 200 ms * (2^9 - 1). Its FIN never left: FIN_WAIT_1 to CLOSED.
 */
static void persist_gives_up_after_orphan_retries_with_silent_peer(void **state)
{
    struct harness *h = *state;

    uint64_t t0 = data_behind_zero_window(h);
    h_close(h);
    h_expect_nothing(h);
    assert_int_equal(h_conn_state(h), TT_STATE_FIN_WAIT_1);
    expect_probes(h, t0, 1, 8, false);
    expect_timeout_at(h, t0 + 102200 * MS, TT_STATE_FIN_WAIT_1);
    assert_int_equal(t0 + backoff_sum(RTO_MIN, 9), t0 + 102200 * MS);
    h_send(h, TCP_ACK, IRS + 1, ISS + 2, NULL, 0); /* the peer wakes up too late */
    h_expect(h, TCP_RST, ISS + 2, 0);
}

/*
 * Linux tcp_probe_timer(), orphan: once the backed-off probe interval has
 * reached TCP_RTO_MAX ("not alive") and as many probes went out as
 * tcp_orphan_retries (0 then), the orphan is dropped even though the peer
 * answered every probe: 10 probes (the last 102.4 s after the ninth), then
 * after 120 s more, at +324.6 s, the end. RFC 1122 4.2.2.17 keeps a
 * connection open while the peer answers; an orphan has no one to keep it
 * for, and would pin its memory for ever (a denial of service).
 */
static void orphan_killed_even_when_peer_answers_every_probe_with_zero_window(void **state)
{
    struct harness *h = *state;

    uint64_t t0 = data_behind_zero_window(h);
    h_close(h);
    h_expect_nothing(h);
    expect_probes(h, t0, 1, 10, true);
    expect_timeout_at(h, t0 + 324600 * MS, TT_STATE_FIN_WAIT_1);
    assert_int_equal(backoff_sum(RTO_MIN, 11), 324600 * MS);
}

/*
 * Linux tcp_probe_timer(), the app holding the handle: tcp_retries2 (15)
 * probes left unanswered, and the next expiry aborts the connection:
 * read_cb(-ETIMEDOUT), CLOSED why "timeout", at +924.6 s (the RTO's own
 * give-up time for tcp_retries2, Linux's figure).
 */
static void non_orphan_gets_etimedout_after_retries2_unanswered_probes(void **state)
{
    struct harness *h = *state;

    uint64_t t0 = data_behind_zero_window(h);
    expect_probes(h, t0, 1, 15, false);
    assert_int_equal(h->read_err, 0);
    expect_timeout_at(h, t0 + 924600 * MS, TT_STATE_ESTABLISHED);
    assert_int_equal(h->read_err, -ETIMEDOUT);
    assert_int_equal(tt_conn_write(h->conn, "x", 1), -EPIPE);
}

/*
 * RFC 1122 4.2.2.17 (Linux resets icsk_probes_out on every ACK): while the
 * app holds the handle, a peer that answers every probe with a zero window
 * keeps the connection open indefinitely; here 40 probes over more than an
 * hour, after which the window opens and the data goes at once.
 */
static void non_orphan_with_peer_answering_zero_windows_stays(void **state)
{
    struct harness *h = *state;

    uint64_t t0 = data_behind_zero_window(h);
    expect_probes(h, t0, 1, 40, true);
    assert_true(h->now - t0 > 3600 * SEC);
    assert_int_equal(tt_conn_state(h->conn), TT_STATE_ESTABLISHED);
    assert_int_equal(h->read_err, 0);
    assert_int_equal(h_closed_why(h), -1);
    h->peer_wnd = H_PEER_WND;
    h_send(h, TCP_ACK, IRS + 1, ISS + 2, NULL, 0);
    h_expect_pattern(h, TCP_ACK, ISS + 2, IRS + 1, 1, 100);
}

/*
 * Linux counts the probes left unanswered since the peer's last ACK
 * (icsk_probes_out, reset by any ACK at or above SND.UNA): with
 * tcp_retries2 = 3, two unanswered probes, one answered, then three more
 * unanswered before the abort; the answer does not restart the backoff.
 */
static void answered_probe_resets_unanswered_count(void **state)
{
    struct harness *h = *state;

    h->cfg.retries2 = 3;
    h_reinit(h);
    uint64_t t0 = data_behind_zero_window(h);
    expect_probes(h, t0, 1, 2, false);
    expect_probes(h, t0, 3, 3, true);
    expect_probes(h, t0, 4, 6, false);
    expect_timeout_at(h, t0 + backoff_sum(RTO_MIN, 7), TT_STATE_ESTABLISHED);
    assert_int_equal(h->read_err, -ETIMEDOUT);
}

/* An old ACK (below SND.UNA) is no answer: Linux's tcp_ack() leaves through
 * its old_ack path before it resets icsk_probes_out. */
static void old_ack_does_not_answer_a_probe(void **state)
{
    struct harness *h = *state;

    h->cfg.retries2 = 2;
    h_reinit(h);
    uint64_t t0 = data_behind_zero_window(h);
    expect_probe_at(h, t0 + backoff_sum(RTO_MIN, 1), false);
    h_send(h, TCP_ACK, IRS + 1, ISS + 1, NULL, 0); /* SEG.ACK < SND.UNA */
    h_expect_nothing(h);
    expect_probe_at(h, t0 + backoff_sum(RTO_MIN, 2), false);
    expect_timeout_at(h, t0 + backoff_sum(RTO_MIN, 3), TT_STATE_ESTABLISHED);
}

/* tcp_orphan_retries = 3: the orphan behind a zero window gives up after 3
 * unanswered probes, at +3 s = 200 ms * (2^4 - 1). */
static void persist_orphan_follows_tcp_orphan_retries(void **state)
{
    struct harness *h = *state;

    h->cfg.tcp_orphan_retries = 3;
    h_reinit(h);
    uint64_t t0 = data_behind_zero_window(h);
    h_close(h);
    h_expect_nothing(h);
    expect_probes(h, t0, 1, 3, false);
    expect_timeout_at(h, t0 + 3000 * MS, TT_STATE_FIN_WAIT_1);
}

/*
 * tcp_orphan_retries = 12 with a peer answering every probe: Linux drops the
 * orphan once the interval has reached TCP_RTO_MAX and 12 probes went out:
 * probes 11 and 12 at +324.6 s and +444.6 s, the end at +564.6 s.
 */
static void persist_orphan_answered_ends_after_tcp_orphan_retries_probes(void **state)
{
    struct harness *h = *state;

    h->cfg.tcp_orphan_retries = 12;
    h_reinit(h);
    uint64_t t0 = data_behind_zero_window(h);
    h_close(h);
    h_expect_nothing(h);
    expect_probes(h, t0, 1, 12, true);
    expect_timeout_at(h, t0 + 564600 * MS, TT_STATE_FIN_WAIT_1);
}

/* ---- retransmissions of an orphan ---- */

/* Our FIN goes again at each expiry of the RTO from `t_fin`, 8 times, and
 * the orphan is gone at +102.2 s (Linux: tcp_orphan_retries 0 means 8 while
 * the RTO is below TCP_RTO_MAX; retransmits_timed_out() after
 * 200 ms * (2^9 - 1)). */
static void expect_fin_given_up_at_102s(struct harness *h, uint64_t t_fin, uint32_t ack,
                                        tt_state_t state)
{
    for (int k = 1; k <= 8; k++) {
        advance_to(h, t_fin + backoff_sum(RTO_MIN, k) - 1);
        h_expect_nothing(h);
        h_advance(h, 1);
        h_expect(h, TCP_FIN | TCP_ACK, ISS + 1, ack);
    }
    expect_timeout_at(h, t_fin + 102200 * MS, state);
    assert_int_equal(h_stats(h).TcpRetransSegs, 8);
}

/* Linux tcp_write_timeout(): an orphan in LAST_ACK whose peer is silent
 * gives up after tcp_orphan_retries, at +102.2 s, not tcp_retries2's
 * +924.6 s. */
static void last_ack_orphan_gives_up_after_orphan_retries(void **state)
{
    struct harness *h = *state;

    h_reach_last_ack(h);
    expect_fin_given_up_at_102s(h, h->now, IRS + 2, TT_STATE_LAST_ACK);
}

/* The same in FIN_WAIT_1. */
static void fin_wait_1_orphan_gives_up_after_orphan_retries(void **state)
{
    struct harness *h = *state;

    h_reach_fin_wait_1(h, H_ORPHAN);
    expect_fin_given_up_at_102s(h, h->now, IRS + 1, TT_STATE_FIN_WAIT_1);
}

/* The same in CLOSING (FINs crossed, ours never acknowledged). */
static void closing_orphan_gives_up_after_orphan_retries(void **state)
{
    struct harness *h = *state;

    h_reach_closing(h, H_ORPHAN);
    expect_fin_given_up_at_102s(h, h->now, IRS + 2, TT_STATE_CLOSING);
}

/*
 * A FIN_WAIT_1 whose app still holds the handle (shutdown) is no orphan:
 * tcp_retries2, 15 retransmissions, ETIMEDOUT at +924.6 s.
 */
static void fin_wait_1_after_shutdown_keeps_retries2(void **state)
{
    struct harness *h = *state;

    h_reach_fin_wait_1(h, H_SHUTDOWN);
    uint64_t t_fin = h->now;
    for (int k = 1; k <= 15; k++) {
        advance_to(h, t_fin + backoff_sum(RTO_MIN, k));
        h_expect(h, TCP_FIN | TCP_ACK, ISS + 1, IRS + 1);
    }
    expect_timeout_at(h, t_fin + 924600 * MS, TT_STATE_FIN_WAIT_1);
    assert_int_equal(h->read_err, -ETIMEDOUT);
}

/*
 * Linux's give-up is by time (retransmits_timed_out(): the time since the
 * first transmission against what tcp_orphan_retries retransmissions from a
 * 200 ms RTO would take, 102.2 s), not by count. With a 600 ms RTO (a
 * handshake RTT of 200 ms: SRTT 200, RTTVAR 100) the FIN goes at +0.6,
 * +1.8, ... +76.2 s (7 retransmissions) and the expiry at +153 s is past
 * 102.2 s: the end. Counting 8 retransmissions would take until +306.6 s.
 */
static void orphan_retransmission_limit_is_time_based_as_linux(void **state)
{
    struct harness *h = *state;
    uint64_t rto = 600 * MS;

    h_reach_syn_received(h);
    h_advance(h, 200 * MS);
    h_send(h, TCP_ACK, IRS + 1, ISS + 1, NULL, 0);
    h_expect_nothing(h);
    h_send(h, TCP_FIN | TCP_ACK, IRS + 1, ISS + 1, NULL, 0);
    h_expect(h, TCP_ACK, ISS + 1, IRS + 2);
    h_close(h);
    h_expect(h, TCP_FIN | TCP_ACK, ISS + 1, IRS + 2);
    uint64_t t_fin = h->now;
    for (int k = 1; k <= 7; k++) {
        advance_to(h, t_fin + backoff_sum(rto, k) - 1);
        h_expect_nothing(h);
        h_advance(h, 1);
        h_expect(h, TCP_FIN | TCP_ACK, ISS + 1, IRS + 2);
    }
    expect_timeout_at(h, t_fin + 153000 * MS, TT_STATE_LAST_ACK);
}

/* tcp_orphan_retries = 3: the LAST_ACK orphan retransmits its FIN 3 times
 * and is gone at +3 s = 200 ms * (2^4 - 1). */
static void last_ack_orphan_follows_tcp_orphan_retries(void **state)
{
    struct harness *h = *state;

    h->cfg.tcp_orphan_retries = 3;
    h_reinit(h);
    h_reach_last_ack(h);
    uint64_t t_fin = h->now;
    for (int k = 1; k <= 3; k++) {
        advance_to(h, t_fin + backoff_sum(RTO_MIN, k));
        h_expect(h, TCP_FIN | TCP_ACK, ISS + 1, IRS + 2);
    }
    expect_timeout_at(h, t_fin + 3000 * MS, TT_STATE_LAST_ACK);
}

/*
 * tcp_orphan_retries = 12: past what the 200 ms RTO can double to under
 * TCP_RTO_MAX, so the RTO reaches 120 s; Linux's time model then gives
 * (2^10 - 1) * 200 ms + 3 * 120 s = 564.6 s, at the 13th expiry.
 */
static void last_ack_orphan_large_tcp_orphan_retries(void **state)
{
    struct harness *h = *state;

    h->cfg.tcp_orphan_retries = 12;
    h_reinit(h);
    h_reach_last_ack(h);
    uint64_t t_fin = h->now;
    for (int k = 1; k <= 12; k++) {
        advance_to(h, t_fin + backoff_sum(RTO_MIN, k));
        h_expect(h, TCP_FIN | TCP_ACK, ISS + 1, IRS + 2);
    }
    expect_timeout_at(h, t_fin + 564600 * MS, TT_STATE_LAST_ACK);
}

#define T(f) cmocka_unit_test_setup_teardown(f, h_setup, h_teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(persist_gives_up_after_orphan_retries_with_silent_peer),
        T(orphan_killed_even_when_peer_answers_every_probe_with_zero_window),
        T(non_orphan_gets_etimedout_after_retries2_unanswered_probes),
        T(non_orphan_with_peer_answering_zero_windows_stays),
        T(answered_probe_resets_unanswered_count),
        T(old_ack_does_not_answer_a_probe),
        T(persist_orphan_follows_tcp_orphan_retries),
        T(persist_orphan_answered_ends_after_tcp_orphan_retries_probes),
        T(last_ack_orphan_gives_up_after_orphan_retries),
        T(fin_wait_1_orphan_gives_up_after_orphan_retries),
        T(closing_orphan_gives_up_after_orphan_retries),
        T(fin_wait_1_after_shutdown_keeps_retries2),
        T(orphan_retransmission_limit_is_time_based_as_linux),
        T(last_ack_orphan_follows_tcp_orphan_retries),
        T(last_ack_orphan_large_tcp_orphan_retries),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
