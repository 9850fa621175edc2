/*
 * Scenarios: TIME_WAIT (RFC 9293 3.6 and 3.10.7.4, docs/contract.md §2.2). Its length to
 * the microsecond for several MSL values, the 2MSL restart by a
 * retransmitted FIN, the ACK (without restart, rate-limited as Linux's
 * tt_tcp_oow_rate_limited) of any other unacceptable segment, RST handling
 * with and without RFC 1337, a new incarnation by SYN (RFC 1122 4.2.2.13)
 * but never by SYN|FIN, the tcp_max_tw_buckets overflow, and the RST for
 * the 4-tuple once the entry is gone.
 */
#include "harness.h"

#include <errno.h>
#include <string.h>

static void advance_to(struct harness *h, uint64_t t)
{
    assert_true(t >= h->now);
    h_advance(h, t - h->now);
}

/* Both sides of the expiry: still there at `at` - 1 µs, gone at `at`, with a
 * CLOSED event why "timewait_expired" at exactly `at`, and nothing sent. */
static void expect_expiry_at(struct harness *h, uint64_t at)
{
    advance_to(h, at - 1);
    h_expect_nothing(h);
    assert_int_equal(tt_engine_timewait_count(h->eng), 1);
    assert_int_equal(h_conn_state(h), TT_STATE_TIME_WAIT);
    assert_int_equal(h_closed_why(h), -1);
    h_advance(h, 1);
    h_expect_nothing(h);
    assert_int_equal(tt_engine_timewait_count(h->eng), 0);
    assert_int_equal(h_conn_state(h), TT_STATE_CLOSED);
    h_expect_closed(h, TT_WHY_TIMEWAIT_EXPIRED, at);
    h_expect_state_event(h, TT_STATE_TIME_WAIT, TT_STATE_CLOSED);
}

/* Issue 12 item 7: the TIME_WAIT gauge follows the entry in and out, and
 * its bytes are what the table has allocated: 1024 four-byte buckets from
 * the start, then a first slab chunk of 4096 56-byte entries and a 16-slot
 * chunk index. The chunk stays when the entry leaves, kept for reuse. */
static void timewait_gauge_follows_entries(void **state)
{
    struct harness *h = *state;
    const size_t buckets = 1024 * 4, chunk = 4096 * 56 + 16 * sizeof(void *);

    assert_int_equal(tt_engine_timewait_count(h->eng), 0);
    assert_int_equal(tt_engine_timewait_bytes(h->eng), buckets);
    h_reach_time_wait(h);
    assert_int_equal(tt_engine_timewait_count(h->eng), 1);
    assert_int_equal(tt_engine_timewait_bytes(h->eng), buckets + chunk);
    expect_expiry_at(h, h->tw_start + 2 * SEC);
    assert_int_equal(tt_engine_timewait_count(h->eng), 0);
    assert_int_equal(tt_engine_timewait_bytes(h->eng), buckets + chunk);
}

/* RFC 9293 3.6 and docs/contract.md §2.2: TIME_WAIT lasts 2*MSL from our final ACK; with
 * MSL = 1 s, 2 s exactly. */
static void timewait_lasts_2msl_with_msl_1s(void **state)
{
    struct harness *h = *state;

    h_reach_time_wait(h);
    expect_expiry_at(h, h->tw_start + 2 * SEC);
}

/* docs/contract.md §2.2: the MSL is set at run time with millisecond resolution; 2.5 s
 * gives a 5 s TIME_WAIT, to the microsecond. */
static void timewait_lasts_2msl_with_msl_2500ms(void **state)
{
    struct harness *h = *state;

    h->cfg.msl_us = 2500 * MS;
    h_reinit(h);
    h_reach_time_wait(h);
    expect_expiry_at(h, h->tw_start + 5 * SEC);
}

/* docs/contract.md §2.2: the default MSL is 30 s, so TIME_WAIT is 60 s, as Linux. */
static void timewait_default_msl_lasts_60s(void **state)
{
    struct harness *h = *state;
    tt_config_t def;

    tt_config_init(&def);
    assert_int_equal(def.msl_us, 30 * SEC);
    h->cfg.msl_us = def.msl_us;
    h_reinit(h);
    h_reach_time_wait(h);
    expect_expiry_at(h, h->tw_start + 60 * SEC);
}

/* docs/contract.md §2.2: 2*MSL is timed from the final ACK, not from our FIN: here the
 * peer's FIN comes 700 ms after our FIN was acked. */
static void timewait_timed_from_final_ack(void **state)
{
    struct harness *h = *state;

    h_reach_fin_wait_2(h, H_ORPHAN);
    h_advance(h, 700 * MS);
    h_send(h, TCP_FIN | TCP_ACK, IRS + 1, ISS + 2, NULL, 0);
    h_expect(h, TCP_ACK, ISS + 2, IRS + 2);
    expect_expiry_at(h, h->now + 2 * SEC);
}

/*
 * RFC 9293 3.10.7.4, TIME-WAIT, eighth step: the peer's FIN again (SEG.SEQ =
 * RCV.NXT - 1) is ACKed again, <SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK>, and
 * restarts 2*MSL from that moment; a TIMEWAIT_RESTART event tells when.
 */
static void timewait_dup_fin_restarts_2msl(void **state)
{
    struct harness *h = *state;

    h_reach_time_wait(h);
    h_advance(h, 1500 * MS);
    h_send(h, TCP_FIN | TCP_ACK, IRS + 1, ISS + 2, NULL, 0);
    h_expect(h, TCP_ACK, ISS + 2, IRS + 2);
    uint64_t restart = h->now;
    const tt_event_t *ev = h_last_event(h, TT_EV_TIMEWAIT_RESTART);
    assert_non_null(ev);
    assert_int_equal(ev->now_us, restart);
    assert_int_equal(ev->expires_us, restart + 2 * SEC);
    expect_expiry_at(h, restart + 2 * SEC);
}

/* docs/contract.md §2.2: the ACK of a retransmitted FIN is never rate-limited; each FIN is
 * ACKed and restarts 2*MSL again. */
static void timewait_dup_fin_ack_not_rate_limited(void **state)
{
    struct harness *h = *state;

    h_reach_time_wait(h);
    h_advance(h, 100 * MS);
    h_send(h, TCP_FIN | TCP_ACK, IRS + 1, ISS + 2, NULL, 0);
    h_expect(h, TCP_ACK, ISS + 2, IRS + 2);
    h_advance(h, 1 * MS);
    h_send(h, TCP_FIN | TCP_ACK, IRS + 1, ISS + 2, NULL, 0);
    h_expect(h, TCP_ACK, ISS + 2, IRS + 2);
    assert_int_equal(h_count_events(h, TT_EV_TIMEWAIT_RESTART), 2);
    expect_expiry_at(h, h->now + 2 * SEC);
}

/*
 * RFC 9293 3.10.7.4 first check and docs/contract.md §2.2: an unacceptable segment that is
 * not the FIN again (here data far beyond the window) is answered with
 * <SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK> and does not restart 2*MSL.
 */
static void timewait_out_of_window_segment_acked_without_restart(void **state)
{
    struct harness *h = *state;

    h_reach_time_wait(h);
    h_advance(h, 500 * MS);
    h_send(h, TCP_ACK, IRS + 2 + 100000, ISS + 2, "junk", 4);
    h_expect(h, TCP_ACK, ISS + 2, IRS + 2);
    assert_int_equal(h_count_events(h, TT_EV_TIMEWAIT_RESTART), 0);
    expect_expiry_at(h, h->tw_start + 2 * SEC);
}

/* RFC 9293 3.10.7.4 first check: an old segment (data before RCV.NXT) is
 * unacceptable too: ACKed, no restart. */
static void timewait_old_data_acked_without_restart(void **state)
{
    struct harness *h = *state;

    h_reach_time_wait(h);
    h_advance(h, 300 * MS);
    h_send(h, TCP_ACK, IRS - 9, ISS + 2, "0123456789", 10);
    h_expect(h, TCP_ACK, ISS + 2, IRS + 2);
    assert_int_equal(h_count_events(h, TT_EV_TIMEWAIT_RESTART), 0);
    expect_expiry_at(h, h->tw_start + 2 * SEC);
}

/*
 * docs/contract.md §2.2, Linux tcp_invalid_ratelimit (500 ms): ACKs to unacceptable
 * segments that occupy no sequence space (here a bare ACK beyond the window)
 * are rate-limited per connection: a second one within 500 ms of the last
 * gets nothing (also at 500 ms - 1 µs); at 500 ms it is answered again.
 */
static void timewait_invalid_acks_rate_limited(void **state)
{
    struct harness *h = *state;

    h_reach_time_wait(h);
    h_advance(h, 100 * MS);
    h_send(h, TCP_ACK, IRS + 2 + 100000, ISS + 2, NULL, 0);
    h_expect(h, TCP_ACK, ISS + 2, IRS + 2);
    uint64_t first = h->now;
    h_advance(h, 1 * MS);
    h_send(h, TCP_ACK, IRS + 2 + 100000, ISS + 2, NULL, 0);
    h_expect_nothing(h);
    advance_to(h, first + 500 * MS - 1);
    h_send(h, TCP_ACK, IRS + 2 + 100000, ISS + 2, NULL, 0);
    h_expect_nothing(h);
    h_advance(h, 1);
    h_send(h, TCP_ACK, IRS + 2 + 100000, ISS + 2, NULL, 0);
    h_expect(h, TCP_ACK, ISS + 2, IRS + 2);
    assert_int_equal(h_count_events(h, TT_EV_TIMEWAIT_RESTART), 0);
    expect_expiry_at(h, h->tw_start + 2 * SEC);
}

/* Linux tcp_oow_rate_limited(): a segment carrying data is not part of an
 * ACK loop, so its ACK is never rate-limited, in TIME_WAIT as elsewhere. */
static void timewait_data_segments_acked_without_rate_limit(void **state)
{
    struct harness *h = *state;

    h_reach_time_wait(h);
    for (int i = 0; i < 3; i++) {
        h_advance(h, 1 * MS);
        h_send(h, TCP_ACK, IRS + 2 + 100000, ISS + 2, "d", 1);
        h_expect(h, TCP_ACK, ISS + 2, IRS + 2);
    }
    expect_expiry_at(h, h->tw_start + 2 * SEC);
}

/*
 * Linux tcp_timewait_state_process() ends with tcp_oow_rate_limited(), which
 * exempts only segments that carry data or FIN and no SYN: a SYN|ACK is
 * rate-limited in TIME_WAIT as in ESTABLISHED. Five stray SYN|ACKs 1 ms
 * apart draw one ACK; the other four are counted in
 * TcpExtTCPACKSkippedTimeWait. None restarts 2*MSL.
 */
static void timewait_synack_acks_rate_limited(void **state)
{
    struct harness *h = *state;

    h_reach_time_wait(h);
    h_advance(h, 100 * MS);
    for (int i = 0; i < 5; i++) {
        h_send(h, TCP_SYN | TCP_ACK, IRS + 2 + 100000, ISS + 2, NULL, 0);
        if (i == 0)
            h_expect(h, TCP_ACK, ISS + 2, IRS + 2);
        h_expect_nothing(h);
        h_advance(h, 1 * MS);
    }
    assert_int_equal(h_stats(h).TcpExtTCPACKSkippedTimeWait, 4);
    assert_int_equal(h_count_events(h, TT_EV_TIMEWAIT_RESTART), 0);
    expect_expiry_at(h, h->tw_start + 2 * SEC);
}

/* One kind of invalid segment, and whether its ACK is rate-limited. */
struct oow_case {
    uint8_t flags;
    const char *data;
    bool limited;
};

/* Linux tcp_oow_rate_limited(): a segment is exempt when it occupies
 * sequence space (data or FIN) and carries no SYN; everything else is
 * limited, a SYN with data included. */
static const struct oow_case oow_cases[] = {
    {TCP_ACK, NULL, true},                     /* no sequence space */
    {TCP_SYN | TCP_ACK, NULL, true},           /* SYN */
    {TCP_SYN | TCP_ACK, "d", true},            /* SYN, even with data */
    {TCP_SYN | TCP_FIN | TCP_ACK, NULL, true}, /* SYN, even with FIN */
    {TCP_ACK, "d", false},                     /* data */
    {TCP_FIN | TCP_ACK, NULL, false},          /* FIN */
    {TCP_FIN | TCP_ACK, "d", false},           /* data and FIN */
};
#define N_OOW_CASES (sizeof(oow_cases) / sizeof(oow_cases[0]))

/* Three copies of an invalid segment 1 ms apart at seq: each one is
 * answered with <SEQ=snd><ACK=rcv><CTL=ACK>, or only the first when the
 * case is limited. Then 600 ms pass, past --tcp-invalid-ratelimit (500 ms),
 * so that the next case starts afresh. Returns the ACKs skipped. */
static int send_invalid_thrice(struct harness *h, const struct oow_case *c, uint32_t seq,
                               uint32_t snd, uint32_t rcv)
{
    size_t len = c->data ? strlen(c->data) : 0;
    for (int i = 0; i < 3; i++) {
        h_send(h, c->flags, seq, snd, c->data, len);
        if (i == 0 || !c->limited)
            h_expect(h, TCP_ACK, snd, rcv);
        h_expect_nothing(h);
        h_advance(h, 1 * MS);
    }
    h_advance(h, 600 * MS);
    return c->limited ? 2 : 0;
}

/*
 * The rule is Linux's tcp_oow_rate_limited(), and TIME_WAIT and a
 * connection (the ACK to a segment outside the window, RFC 9293 3.10.7.4
 * first step) apply it alike: the same segments are limited in both.
 */
static void timewait_and_established_rate_limit_the_same_segments(void **state)
{
    struct harness *h = *state;
    int skipped = 0;

    h->cfg.msl_us = 60 * SEC; /* TIME_WAIT outlasts every case */
    h_reinit(h);
    h_reach_time_wait(h);
    for (size_t i = 0; i < N_OOW_CASES; i++)
        skipped += send_invalid_thrice(h, &oow_cases[i], IRS + 2 + 100000, ISS + 2, IRS + 2);
    assert_int_equal(h_stats(h).TcpExtTCPACKSkippedTimeWait, skipped);
    assert_int_equal(h_count_events(h, TT_EV_TIMEWAIT_RESTART), 0);
    assert_int_equal(h_conn_state(h), TT_STATE_TIME_WAIT);

    h->rport = H_PEER_PORT + 1;
    h->irs = H_IRS_DEFAULT + 0x1000000;
    h_peer_connects(h);
    skipped = 0;
    for (size_t i = 0; i < N_OOW_CASES; i++)
        skipped += send_invalid_thrice(h, &oow_cases[i], IRS + 1 + 200000, ISS + 1, IRS + 1);
    assert_int_equal(h_stats(h).TcpExtTCPACKSkippedSeq, skipped);
    assert_int_equal(h_conn_state(h), TT_STATE_ESTABLISHED);
    assert_int_equal(h->rx_len, 0);
}

/* docs/contract.md §2.2: with --tcp-invalid-ratelimit 0 every unacceptable segment is ACKed. */
static void timewait_ratelimit_zero_acks_every_segment(void **state)
{
    struct harness *h = *state;

    h->cfg.invalid_ratelimit_us = 0;
    h_reinit(h);
    h_reach_time_wait(h);
    for (int i = 0; i < 3; i++) {
        h_advance(h, 1 * MS);
        h_send(h, TCP_ACK, IRS + 2 + 100000, ISS + 2, NULL, 0);
        h_expect(h, TCP_ACK, ISS + 2, IRS + 2);
    }
}

/* docs/contract.md §2.2: an acceptable segment without FIN (a bare duplicate ACK) is
 * ignored: no ACK, no restart. */
static void timewait_bare_duplicate_ack_ignored(void **state)
{
    struct harness *h = *state;

    h_reach_time_wait(h);
    h_advance(h, 1 * SEC);
    h_send(h, TCP_ACK, IRS + 2, ISS + 2, NULL, 0);
    h_expect_nothing(h);
    assert_int_equal(h_count_events(h, TT_EV_TIMEWAIT_RESTART), 0);
    expect_expiry_at(h, h->tw_start + 2 * SEC);
}

/* Linux default tcp_rfc1337 = 0 (docs/contract.md §2.2): an in-window RST ends TIME_WAIT at
 * once, why "timewait_rst"; nothing is sent. */
static void timewait_rst_ends_it(void **state)
{
    struct harness *h = *state;

    h_reach_time_wait(h);
    h_advance(h, 200 * MS);
    h_send(h, TCP_RST, IRS + 2, 0, NULL, 0);
    h_expect_nothing(h);
    assert_int_equal(tt_engine_timewait_count(h->eng), 0);
    h_expect_closed(h, TT_WHY_TIMEWAIT_RST, h->now);
    h_advance(h, 5 * SEC);
    h_expect_nothing(h);
}

/* docs/contract.md §4 rst_in ("an acceptable RST arrived; state: the state it hit"):
 * the RST that ends TIME_WAIT is one, so the trace says rst_in, state
 * TIME_WAIT, for the entry's 4-tuple (there is no TCB, only the entry),
 * and then TIME_WAIT -> CLOSED why "timewait_rst". */
static void timewait_rst_reports_rst_in_before_closed(void **state)
{
    struct harness *h = *state;

    h_reach_time_wait(h);
    h_advance(h, 200 * MS);
    h_send(h, TCP_RST, IRS + 2, 0, NULL, 0);
    h_expect_nothing(h);
    const tt_event_t *in = h_last_event(h, TT_EV_RST_IN);
    assert_non_null(in);
    assert_int_equal(in->state, TT_STATE_TIME_WAIT);
    assert_int_equal(in->now_us, h->now);
    assert_int_equal(in->laddr, H_ENGINE_ADDR);
    assert_int_equal(in->raddr, H_PEER_ADDR);
    assert_int_equal(h_count_events(h, TT_EV_RST_IN), 1);
    const tt_event_t *closed = h_closed_event(h);
    assert_non_null(closed);
    assert_true(in < closed);
    h_expect_closed(h, TT_WHY_TIMEWAIT_RST, h->now);
}

/* RFC 1337 (TIME-WAIT assassination), --tcp-rfc1337 1: the RST is ignored
 * and TIME_WAIT runs its full 2*MSL. */
static void timewait_rst_ignored_with_rfc1337(void **state)
{
    struct harness *h = *state;

    h->cfg.tcp_rfc1337 = 1;
    h_reinit(h);
    h_reach_time_wait(h);
    h_advance(h, 200 * MS);
    h_send(h, TCP_RST, IRS + 2, 0, NULL, 0);
    h_expect_nothing(h);
    assert_int_equal(tt_engine_timewait_count(h->eng), 1);
    assert_null(h_last_event(h, TT_EV_RST_IN)); /* ignored: not acceptable */
    expect_expiry_at(h, h->tw_start + 2 * SEC);
}

/* RFC 9293 3.10.7.1 and docs/contract.md §2.2: after 2*MSL the 4-tuple is free; a segment
 * for it is answered as for a closed port: <SEQ=SEG.ACK><CTL=RST>. */
static void segment_after_timewait_gets_rst(void **state)
{
    struct harness *h = *state;

    h_reach_time_wait(h);
    expect_expiry_at(h, h->tw_start + 2 * SEC);
    h_send(h, TCP_FIN | TCP_ACK, IRS + 1, ISS + 2, NULL, 0);
    h_expect(h, TCP_RST, ISS + 2, 0);
}

/* docs/architecture.md §9, docs/contract.md §2.2: the TIME_WAIT entry is not a full connection: the
 * TCB is freed when TIME_WAIT begins. */
static void timewait_entry_is_not_a_tcb(void **state)
{
    struct harness *h = *state;

    h_reach_time_wait(h);
    assert_int_equal(tt_engine_conn_count(h->eng), 0);
    assert_int_equal(tt_engine_timewait_count(h->eng), 1);
}

/*
 * RFC 1122 4.2.2.13 and docs/contract.md §2.2: a SYN for the same 4-tuple with a sequence
 * number beyond the old connection's starts a new incarnation: the entry
 * goes (why "timewait_syn") and the listener answers with a SYN-ACK whose
 * ISS lies beyond the old SND.NXT.
 */
static void timewait_new_syn_beyond_old_seq_starts_new_incarnation(void **state)
{
    struct harness *h = *state;

    h_reach_time_wait(h);
    uint32_t old_snd_nxt = ISS + 2;
    h_advance(h, 500 * MS);
    h->irs = IRS + 100000;
    h_send_syn(h);
    h_expect_synack(h);
    assert_true(seq_gt(ISS, old_snd_nxt));
    h_expect_closed(h, TT_WHY_TIMEWAIT_SYN, h->now);
    assert_int_equal(tt_engine_timewait_count(h->eng), 0);
    h_send(h, TCP_ACK, IRS + 1, ISS + 1, NULL, 0);
    h_expect_nothing(h);
    assert_int_equal(h->connection_calls, 2);
    assert_int_equal(tt_conn_state(h->conn), TT_STATE_ESTABLISHED);
}

/*
 * A SYN|FIN is no new incarnation: the listener would discard it (as Linux's
 * LISTEN state does), so one beyond the old sequence space must open
 * nothing in TIME_WAIT either: no SYN-ACK, no half-open connection, and the
 * entry stays, its 2*MSL untouched. (Linux frees its TIME_WAIT socket before
 * handing the segment to the listener that discards it; tuntcp keeps the
 * entry, so the peer's retransmitted FIN still gets its ACK.)
 */
static void timewait_syn_fin_opens_nothing(void **state)
{
    struct harness *h = *state;

    h_reach_time_wait(h);
    h_advance(h, 500 * MS);
    h_send(h, TCP_SYN | TCP_FIN, IRS + 100000, 0, NULL, 0);
    h_expect_nothing(h);
    h_send(h, TCP_SYN | TCP_FIN, IRS + 200000, 0, "data", 4);
    h_expect_nothing(h);
    assert_int_equal(tt_engine_timewait_count(h->eng), 1);
    assert_int_equal(tt_engine_conn_count(h->eng), 0);
    assert_int_equal(h->connection_calls, 1);
    assert_int_equal(h_closed_why(h), -1);
    assert_int_equal(h_conn_state(h), TT_STATE_TIME_WAIT);
    h_advance(h, 1 * MS);
    h_send(h, TCP_FIN | TCP_ACK, IRS + 1, ISS + 2, NULL, 0); /* the entry still answers */
    h_expect(h, TCP_ACK, ISS + 2, IRS + 2);
    expect_expiry_at(h, h->now + 2 * SEC);
}

/* docs/contract.md §2.2: a SYN whose sequence number is not beyond the old connection's
 * is answered with the TIME_WAIT ACK; the entry stays. */
static void timewait_old_syn_gets_ack(void **state)
{
    struct harness *h = *state;

    h_reach_time_wait(h);
    h_advance(h, 500 * MS);
    h_send_syn(h); /* seq IRS, the old connection's own SYN */
    h_expect(h, TCP_ACK, ISS + 2, IRS + 2);
    assert_int_equal(tt_engine_timewait_count(h->eng), 1);
    assert_int_equal(h->connection_calls, 1);
}

/* docs/contract.md §2.2: TIME_WAIT of an active open (our ephemeral port) behaves the same. */
static void timewait_after_active_open(void **state)
{
    struct harness *h = *state;

    h_reach_established_active(h);
    h_close(h);
    h_expect(h, TCP_FIN | TCP_ACK, ISS + 1, IRS + 1);
    h_send(h, TCP_ACK, IRS + 1, ISS + 2, NULL, 0);
    h_expect_nothing(h);
    h_send(h, TCP_FIN | TCP_ACK, IRS + 1, ISS + 2, NULL, 0);
    h_expect(h, TCP_ACK, ISS + 2, IRS + 2);
    uint64_t start = h->now;
    h_advance(h, 1 * SEC);
    h_send(h, TCP_FIN | TCP_ACK, IRS + 1, ISS + 2, NULL, 0);
    h_expect(h, TCP_ACK, ISS + 2, IRS + 2);
    assert_true(h->now == start + 1 * SEC);
    expect_expiry_at(h, h->now + 2 * SEC);
}

/* RFC 9293 3.4: the peer's FIN sits at sequence 0 after a wrap (IRS =
 * 2^32 - 1); its retransmission is still recognised as RCV.NXT - 1 and
 * restarts 2*MSL. */
static void timewait_dup_fin_across_sequence_wrap(void **state)
{
    struct harness *h = *state;

    h->irs = 0xffffffffu;
    h_reach_time_wait(h);
    assert_int_equal(IRS + 2, 1);
    h_advance(h, 1 * SEC);
    h_send(h, TCP_FIN | TCP_ACK, IRS + 1, ISS + 2, NULL, 0);
    h_expect(h, TCP_ACK, ISS + 2, IRS + 2);
    assert_int_equal(h_count_events(h, TT_EV_TIMEWAIT_RESTART), 1);
    expect_expiry_at(h, h->now + 2 * SEC);
}

/*
 * docs/contract.md §2.2, Linux tcp_max_tw_buckets: with room for one TIME_WAIT entry, a
 * second active close skips TIME_WAIT: CLOSED why "tw_overflow", counted in
 * TcpExtTCPTimeWaitOverflow; the first entry is untouched.
 */
static void timewait_overflow_skips_time_wait(void **state)
{
    struct harness *h = *state;

    h->cfg.tcp_max_tw_buckets = 1;
    h_reinit(h);
    h_reach_time_wait(h);
    uint16_t first_port = h->rport;
    h->rport = H_PEER_PORT + 1;
    h->irs = H_IRS_DEFAULT + 0x1000000;
    h_peer_connects(h);
    h_close(h);
    h_expect(h, TCP_FIN | TCP_ACK, ISS + 1, IRS + 1);
    h_send(h, TCP_FIN | TCP_ACK, IRS + 1, ISS + 2, NULL, 0);
    h_expect(h, TCP_ACK, ISS + 2, IRS + 2);
    h_expect_closed(h, TT_WHY_TW_OVERFLOW, h->now);
    h_expect_states(h, TT_STATE_ESTABLISHED, TT_STATE_FIN_WAIT_1, TT_STATE_CLOSED, -1);
    assert_int_equal(h_conn_state(h), TT_STATE_CLOSED);
    assert_int_equal(tt_engine_timewait_count(h->eng), 1);
    assert_int_equal(h_stats(h).TcpExtTCPTimeWaitOverflow, 1);
    h->rport = first_port;
    assert_int_equal(h_conn_state(h), TT_STATE_TIME_WAIT);
}

/* The counters of a close that found no room for TIME_WAIT: the overflow,
 * and nothing else that a TIME_WAIT entry or a reset would count. */
static void expect_overflow_counters(const struct harness *h)
{
    tt_stats_t st = h_stats(h);
    assert_int_equal(st.TcpExtTCPTimeWaitOverflow, 1);
    assert_int_equal(st.TcpExtTW, 0);
    assert_int_equal(st.TcpExtTWKilled, 0);
    assert_int_equal(st.TcpEstabResets, 0);
    assert_int_equal(st.TcpOutRsts, 0);
    assert_int_equal(tt_engine_timewait_count(h->eng), 0);
    assert_int_equal(tt_engine_conn_count(h->eng), 0);
}

/*
 * Linux tcp_time_wait(): with tcp_max_tw_buckets reached the socket goes
 * straight to CLOSE. The trace must say so: FIN_WAIT_2 -> CLOSED why
 * "tw_overflow", with no TIME_WAIT in between. The final ACK still goes out
 * (in FIN_WAIT_2, as in Linux), and the application that still holds the
 * handle gets its EOF, no error, and sees CLOSED. The peer's FIN again
 * meets no connection: a RST.
 */
static void tw_overflow_goes_straight_to_closed_from_fin_wait_2(void **state)
{
    struct harness *h = *state;

    h->cfg.tcp_max_tw_buckets = 0;
    h_reinit(h);
    h_reach_fin_wait_2(h, H_SHUTDOWN);
    h_send(h, TCP_FIN | TCP_ACK, IRS + 1, ISS + 2, NULL, 0);
    h_expect(h, TCP_ACK, ISS + 2, IRS + 2);
    h_expect_states(h, TT_STATE_FIN_WAIT_2, TT_STATE_CLOSED, -1);
    h_expect_closed(h, TT_WHY_TW_OVERFLOW, h->now);
    assert_int_equal(h->eof_calls, 1);
    assert_int_equal(h->read_err, 0);
    assert_non_null(h->conn);
    assert_int_equal(tt_conn_state(h->conn), TT_STATE_CLOSED);
    expect_overflow_counters(h);
    h_send(h, TCP_FIN | TCP_ACK, IRS + 1, ISS + 2, NULL, 0);
    h_expect(h, TCP_RST, ISS + 2, 0);
}

/*
 * The same from CLOSING (simultaneous close): the ACK of our FIN ends it,
 * CLOSING -> CLOSED why "tw_overflow". A lingering close is told of its
 * success first (close_cb(0)), as on the way into TIME_WAIT.
 */
static void tw_overflow_goes_straight_to_closed_from_closing(void **state)
{
    struct harness *h = *state;

    h->cfg.tcp_max_tw_buckets = 0;
    h_reinit(h);
    h_reach_established_passive(h);
    h_set_linger(h, 1, 5);
    h_close(h);
    h_expect(h, TCP_FIN | TCP_ACK, ISS + 1, IRS + 1);
    h_send(h, TCP_FIN | TCP_ACK, IRS + 1, ISS + 1, NULL, 0);
    h_expect(h, TCP_ACK, ISS + 2, IRS + 2);
    assert_int_equal(h_conn_state(h), TT_STATE_CLOSING);
    h_send(h, TCP_ACK, IRS + 2, ISS + 2, NULL, 0);
    h_expect_nothing(h);
    h_expect_states(h, TT_STATE_ESTABLISHED, TT_STATE_FIN_WAIT_1, TT_STATE_CLOSING, TT_STATE_CLOSED,
                    -1);
    h_expect_closed(h, TT_WHY_TW_OVERFLOW, h->now);
    assert_int_equal(h->close_calls, 1);
    assert_int_equal(h->close_status, 0);
    expect_overflow_counters(h);
}

/*
 * RFC 5961 3.2 (Linux too kills TIME_WAIT only for a RST at exactly RCV.NXT):
 * a RST in the window but not at RCV.NXT does not end TIME_WAIT and gets a
 * challenge ACK; one outside the window is ignored.
 */
static void timewait_rst_not_exact_does_not_end_it(void **state)
{
    struct harness *h = *state;

    h_reach_time_wait(h);
    h_advance(h, 200 * MS);
    h_send(h, TCP_RST, IRS + 102, 0, NULL, 0);
    h_expect(h, TCP_ACK, ISS + 2, IRS + 2);
    h_send(h, TCP_RST, IRS + 2 + 200000, 0, NULL, 0);
    h_expect_nothing(h);
    h_send(h, TCP_RST, IRS + 1, 0, NULL, 0);
    h_expect_nothing(h);
    assert_int_equal(tt_engine_timewait_count(h->eng), 1);
    assert_null(h_last_event(h, TT_EV_RST_IN));
    expect_expiry_at(h, h->tw_start + 2 * SEC);
}

/*
 * docs/contract.md §2.2: at most one ACK per --tcp-invalid-ratelimit, to the microsecond
 * like every other deadline: with the first ACK at a time that is not a whole
 * millisecond, 500 ms - 1 µs later is still too early, 500 ms is not.
 */
static void timewait_rate_limit_exact_to_the_microsecond(void **state)
{
    struct harness *h = *state;

    h_reach_time_wait(h);
    h_advance(h, 100 * MS + 700);
    h_send(h, TCP_ACK, IRS + 2 + 100000, ISS + 2, NULL, 0);
    h_expect(h, TCP_ACK, ISS + 2, IRS + 2);
    uint64_t first = h->now;
    advance_to(h, first + 500 * MS - 1);
    h_send(h, TCP_ACK, IRS + 2 + 100000, ISS + 2, NULL, 0);
    h_expect_nothing(h);
    h_advance(h, 1);
    h_send(h, TCP_ACK, IRS + 2 + 100000, ISS + 2, NULL, 0);
    h_expect(h, TCP_ACK, ISS + 2, IRS + 2);
}

/*
 * RFC 9293 3.10.7.4 (CLOSING: when our FIN is acked, enter TIME-WAIT and
 * start its timer), as Linux: after a simultaneous close, 2*MSL runs from
 * the ACK that takes us from CLOSING to TIME_WAIT.
 */
static void timewait_after_closing_timed_from_entry(void **state)
{
    struct harness *h = *state;

    h_reach_closing(h, H_ORPHAN);
    h_advance(h, 150 * MS); /* before our FIN's RTO (200 ms) */
    h_send(h, TCP_ACK, IRS + 2, ISS + 2, NULL, 0);
    h_expect_nothing(h);
    assert_int_equal(h_conn_state(h), TT_STATE_TIME_WAIT);
    expect_expiry_at(h, h->now + 2 * SEC);
}

/* One connection's sequence numbers, to switch the peer between two. */
struct peer_conn {
    uint32_t iss, irs;
    uint16_t rport;
};

static void save_conn(const struct harness *h, struct peer_conn *c)
{
    c->iss = h->iss;
    c->irs = h->irs;
    c->rport = h->rport;
}

static void use_conn(struct harness *h, const struct peer_conn *c)
{
    h->iss = c->iss;
    h->irs = c->irs;
    h->rport = c->rport;
}

/*
 * docs/architecture.md §9 (a FIFO: every entry lives 2*MSL, a restart moves it to the
 * tail): A enters TIME_WAIT at T, B at T + 0.3 s; A's duplicate FIN at T + 1 s
 * restarts it. B must expire at T + 2.3 s and A at T + 3 s, each exactly.
 */
static void timewait_restart_moves_entry_behind_later_ones(void **state)
{
    struct harness *h = *state;
    struct peer_conn a, b;

    h_reach_time_wait(h);
    uint64_t t = h->tw_start;
    save_conn(h, &a);
    h_advance(h, 300 * MS);
    h->rport = H_PEER_PORT + 1;
    h->irs = H_IRS_DEFAULT + 0x2000000;
    h_peer_connects(h);
    h_close(h);
    h_expect(h, TCP_FIN | TCP_ACK, ISS + 1, IRS + 1);
    h_send(h, TCP_FIN | TCP_ACK, IRS + 1, ISS + 2, NULL, 0);
    h_expect(h, TCP_ACK, ISS + 2, IRS + 2);
    save_conn(h, &b);
    assert_int_equal(tt_engine_timewait_count(h->eng), 2);

    advance_to(h, t + 1 * SEC);
    use_conn(h, &a);
    h_send(h, TCP_FIN | TCP_ACK, IRS + 1, ISS + 2, NULL, 0);
    h_expect(h, TCP_ACK, ISS + 2, IRS + 2);

    advance_to(h, t + 2300 * MS - 1);
    assert_int_equal(tt_engine_timewait_count(h->eng), 2);
    h_advance(h, 1);
    assert_int_equal(tt_engine_timewait_count(h->eng), 1);
    use_conn(h, &b);
    h_expect_closed(h, TT_WHY_TIMEWAIT_EXPIRED, t + 2300 * MS);
    use_conn(h, &a);
    assert_int_equal(h_conn_state(h), TT_STATE_TIME_WAIT);
    expect_expiry_at(h, t + 3 * SEC);
}

/*
 * docs/contract.md §2.2 (MSL is any run-time value): the rate limit must not wrap. With
 * MSL = 1 h, TIME_WAIT lasts 2 h, longer than 2^32 µs (71.6 min); an invalid
 * segment 2^32 µs + 100 ms after the last ACKed one is long past the limit
 * and must be ACKed.
 */
static void timewait_rate_limit_survives_32bit_microsecond_wrap(void **state)
{
    struct harness *h = *state;

    h->cfg.msl_us = 3600 * SEC;
    h_reinit(h);
    h_reach_time_wait(h);
    h_advance(h, 100 * MS);
    h_send(h, TCP_ACK, IRS + 2 + 100000, ISS + 2, NULL, 0);
    h_expect(h, TCP_ACK, ISS + 2, IRS + 2);
    h_advance(h, (1ULL << 32) + 100 * MS);
    h_send(h, TCP_ACK, IRS + 2 + 100000, ISS + 2, NULL, 0);
    h_expect(h, TCP_ACK, ISS + 2, IRS + 2);
    assert_int_equal(tt_engine_timewait_count(h->eng), 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(timewait_lasts_2msl_with_msl_1s, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(timewait_gauge_follows_entries, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(timewait_lasts_2msl_with_msl_2500ms, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(timewait_default_msl_lasts_60s, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(timewait_timed_from_final_ack, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(timewait_after_closing_timed_from_entry, h_setup,
                                        h_teardown),
        cmocka_unit_test_setup_teardown(timewait_dup_fin_restarts_2msl, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(timewait_dup_fin_ack_not_rate_limited, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(timewait_out_of_window_segment_acked_without_restart,
                                        h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(timewait_old_data_acked_without_restart, h_setup,
                                        h_teardown),
        cmocka_unit_test_setup_teardown(timewait_invalid_acks_rate_limited, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(timewait_rate_limit_exact_to_the_microsecond, h_setup,
                                        h_teardown),
        cmocka_unit_test_setup_teardown(timewait_rate_limit_survives_32bit_microsecond_wrap,
                                        h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(timewait_data_segments_acked_without_rate_limit, h_setup,
                                        h_teardown),
        cmocka_unit_test_setup_teardown(timewait_ratelimit_zero_acks_every_segment, h_setup,
                                        h_teardown),
        cmocka_unit_test_setup_teardown(timewait_synack_acks_rate_limited, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(timewait_and_established_rate_limit_the_same_segments,
                                        h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(timewait_bare_duplicate_ack_ignored, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(timewait_rst_ends_it, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(timewait_rst_reports_rst_in_before_closed, h_setup,
                                        h_teardown),
        cmocka_unit_test_setup_teardown(timewait_rst_ignored_with_rfc1337, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(timewait_rst_not_exact_does_not_end_it, h_setup,
                                        h_teardown),
        cmocka_unit_test_setup_teardown(segment_after_timewait_gets_rst, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(timewait_entry_is_not_a_tcb, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(timewait_new_syn_beyond_old_seq_starts_new_incarnation,
                                        h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(timewait_old_syn_gets_ack, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(timewait_syn_fin_opens_nothing, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(timewait_after_active_open, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(timewait_dup_fin_across_sequence_wrap, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(timewait_overflow_skips_time_wait, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(tw_overflow_goes_straight_to_closed_from_fin_wait_2,
                                        h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(tw_overflow_goes_straight_to_closed_from_closing, h_setup,
                                        h_teardown),
        cmocka_unit_test_setup_teardown(timewait_restart_moves_entry_behind_later_ones, h_setup,
                                        h_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
