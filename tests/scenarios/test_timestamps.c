/*
 * Scenarios: RFC 7323 timestamps. TS.Recent does not move on a segment
 * whose ACK is refused (packetdrill ts_recent/invalid_ack). TIME_WAIT with
 * timestamps on: a SYN that is newer by its timestamp reopens the 4-tuple
 * even with an old sequence number (RFC 6191); --tcp-tw-reuse lets an
 * active open take over a TIME_WAIT 4-tuple more than 1 s old (Linux
 * tcp_twsk_unique, docs/contract.md §2.2), and only then.
 */
#include "harness.h"

#include <errno.h>
#include <string.h>

#define PEER_TS0 5000u
#define ONE_PORT 40000

/* The timestamps each side sent last. */
static uint32_t peer_ts, our_ts;

static struct tcp_opts ts_opts(bool syn)
{
    struct tcp_opts o;

    memset(&o, 0, sizeof(o));
    o.mss_ok = syn;
    o.mss = H_MSS;
    o.ts_ok = true;
    o.ts_val = peer_ts;
    o.ts_ecr = our_ts;
    return o;
}

/* A peer segment carrying TSopt (RFC 7323 3.2: every segment once agreed). */
static void send_ts(struct harness *h, uint8_t flags, uint32_t seq, uint32_t ack)
{
    struct tcp_opts o = ts_opts((flags & TCP_SYN) != 0);

    h_send_opts(h, flags, seq, ack, &o, NULL, 0);
}

/* Our segment carries TSopt and echoes the peer's last TSval. */
static void note_ts(const struct h_seg *s)
{
    assert_true(s->seg.opt.ts_ok);
    our_ts = s->seg.opt.ts_val;
}

static void ts_config(struct harness *h, int tw_reuse)
{
    peer_ts = PEER_TS0;
    our_ts = 0;
    h->cfg.tcp_timestamps = 1;
    h->cfg.tcp_tw_reuse = tw_reuse;
    h->cfg.port_lo = h->cfg.port_hi = ONE_PORT; /* one ephemeral port: reuse or fail */
    h_reinit(h);
}

/* Active open with timestamps, active close, TIME_WAIT on our one port. */
static void active_time_wait_with_ts(struct harness *h)
{
    h_connect(h, H_SERVICE_PORT);
    note_ts(h_expect_syn(h));
    assert_int_equal(h->lport, ONE_PORT);
    send_ts(h, TCP_SYN | TCP_ACK, IRS, ISS + 1);
    const struct h_seg *s = h_expect(h, TCP_ACK, ISS + 1, IRS + 1);
    assert_int_equal(s->seg.opt.ts_ecr, peer_ts);
    note_ts(s);
    h_close(h);
    note_ts(h_expect(h, TCP_FIN | TCP_ACK, ISS + 1, IRS + 1));
    h_advance(h, 10 * MS);
    peer_ts += 10;
    send_ts(h, TCP_FIN | TCP_ACK, IRS + 1, ISS + 2);
    note_ts(h_expect(h, TCP_ACK, ISS + 2, IRS + 2));
    assert_int_equal(h_conn_state(h), TT_STATE_TIME_WAIT);
}

static int try_connect(struct harness *h)
{
    return h_try_connect(h, H_SERVICE_PORT);
}

/* docs/contract.md §2.2: without --tcp-tw-reuse a 4-tuple in TIME_WAIT is not free: with
 * one ephemeral port, connect fails with -EADDRNOTAVAIL until 2*MSL is over. */
static void connect_refused_while_port_in_time_wait(void **state)
{
    struct harness *h = *state;

    ts_config(h, 0);
    active_time_wait_with_ts(h);
    h_advance(h, 1500 * MS);
    assert_int_equal(try_connect(h), -EADDRNOTAVAIL);
    h_expect_nothing(h);
    h_advance(h, 600 * MS); /* past 2*MSL */
    assert_int_equal(tt_engine_timewait_count(h->eng), 0);
    assert_int_equal(try_connect(h), 0);
    h_expect_syn(h);
    assert_int_equal(h->lport, ONE_PORT);
}

/*
 * docs/contract.md §2.2, Linux tcp_tw_reuse = 1 (tcp_twsk_unique): an active open may take
 * a TIME_WAIT 4-tuple whose last timestamp is more than 1 s old; the entry
 * goes (why "timewait_reused") and the new ISS lies beyond the old SND.NXT.
 */
static void tw_reuse_takes_time_wait_older_than_1s(void **state)
{
    struct harness *h = *state;

    ts_config(h, 1);
    active_time_wait_with_ts(h);
    uint32_t old_snd_nxt = ISS + 2;
    h_advance(h, 1001 * MS);
    assert_int_equal(try_connect(h), 0);
    h_expect_closed(h, TT_WHY_TIMEWAIT_REUSED, h->now);
    assert_int_equal(tt_engine_timewait_count(h->eng), 0);
    h_expect_syn(h);
    assert_int_equal(h->lport, ONE_PORT);
    assert_true(seq_gt(ISS, old_snd_nxt));
    assert_int_equal(h_stats(h).TcpExtTWRecycled, 1);
}

/* docs/contract.md §2.2: "more than 1 s": at 1 s exactly, and before, the entry is kept. */
static void tw_reuse_refused_until_more_than_1s(void **state)
{
    struct harness *h = *state;

    ts_config(h, 1);
    active_time_wait_with_ts(h);
    h_advance(h, 500 * MS);
    assert_int_equal(try_connect(h), -EADDRNOTAVAIL);
    h_advance(h, 500 * MS);
    assert_int_equal(try_connect(h), -EADDRNOTAVAIL);
    h_expect_nothing(h);
    assert_int_equal(tt_engine_timewait_count(h->eng), 1);
}

/* docs/contract.md §2.2 item 13: 2, Linux's default, reuses only when an
 * address is a loopback one; 10.7.0.x is not, so the port stays busy. */
static void tw_reuse_2_is_loopback_only(void **state)
{
    struct harness *h = *state;

    ts_config(h, 2);
    active_time_wait_with_ts(h);
    h_advance(h, 1500 * MS); /* older than the delay, inside 2*MSL (2 s) */
    assert_int_equal(try_connect(h), -EADDRNOTAVAIL);
    h_expect_nothing(h);
    assert_int_equal(tt_engine_timewait_count(h->eng), 1);
}

/* Linux tcp_tw_reuse_delay: the age an entry's last timestamp must pass. */
static void tw_reuse_delay_sets_the_age(void **state)
{
    struct harness *h = *state;

    h->cfg.tw_reuse_delay_us = 3 * SEC;
    h->cfg.msl_us = 5 * SEC;
    ts_config(h, 1);
    active_time_wait_with_ts(h);
    h_advance(h, 3 * SEC);
    assert_int_equal(try_connect(h), -EADDRNOTAVAIL);
    h_advance(h, 1 * MS);
    assert_int_equal(try_connect(h), 0);
    h_expect_closed(h, TT_WHY_TIMEWAIT_REUSED, h->now);
    h_expect_syn(h);
}

/* docs/contract.md §2.2: tcp_tw_reuse needs timestamps (they protect the new incarnation
 * from the old one's duplicates); without them the port stays busy. */
static void tw_reuse_needs_timestamps(void **state)
{
    struct harness *h = *state;

    h->cfg.tcp_tw_reuse = 1;
    h->cfg.port_lo = h->cfg.port_hi = ONE_PORT;
    h_reinit(h);
    h_reach_established_active(h);
    h_close(h);
    h_expect(h, TCP_FIN | TCP_ACK, ISS + 1, IRS + 1);
    h_send(h, TCP_FIN | TCP_ACK, IRS + 1, ISS + 2, NULL, 0);
    h_expect(h, TCP_ACK, ISS + 2, IRS + 2);
    h_advance(h, 1500 * MS);
    assert_int_equal(try_connect(h), -EADDRNOTAVAIL);
    h_expect_nothing(h);
}

/* Passive open with timestamps, active close by us, TIME_WAIT. */
static void passive_time_wait_with_ts(struct harness *h)
{
    peer_ts = PEER_TS0;
    our_ts = 0;
    h->cfg.tcp_timestamps = 1;
    h_reinit(h);
    h_listen(h, H_LISTEN_PORT);
    h->lport = H_LISTEN_PORT;
    h->rport = H_PEER_PORT;
    send_ts(h, TCP_SYN, IRS, 0);
    const struct h_seg *s = h_expect_synack(h);
    assert_int_equal(s->seg.opt.ts_ecr, PEER_TS0);
    note_ts(s);
    send_ts(h, TCP_ACK, IRS + 1, ISS + 1);
    h_expect_nothing(h);
    h_close(h);
    note_ts(h_expect(h, TCP_FIN | TCP_ACK, ISS + 1, IRS + 1));
    peer_ts += 10;
    send_ts(h, TCP_FIN | TCP_ACK, IRS + 1, ISS + 2);
    note_ts(h_expect(h, TCP_ACK, ISS + 2, IRS + 2));
    assert_int_equal(h_conn_state(h), TT_STATE_TIME_WAIT);
}

/* RFC 6191: a SYN whose timestamp is newer than the last one seen reopens
 * the 4-tuple although its sequence number is not beyond RCV.NXT. */
static void timewait_syn_newer_by_timestamp_reopens(void **state)
{
    struct harness *h = *state;

    passive_time_wait_with_ts(h);
    h_advance(h, 300 * MS);
    peer_ts += 300;
    our_ts = 0;
    send_ts(h, TCP_SYN, IRS - 1000, 0); /* old sequence number, new timestamp */
    h->irs -= 1000;
    h_expect_synack(h);
    h_expect_closed(h, TT_WHY_TIMEWAIT_SYN, h->now);
}

/* RFC 6191 and RFC 1122 4.2.2.13: a SYN old by both its sequence number and
 * its timestamp only gets the TIME_WAIT ACK. */
static void timewait_syn_old_by_seq_and_timestamp_gets_ack(void **state)
{
    struct harness *h = *state;

    passive_time_wait_with_ts(h);
    h_advance(h, 300 * MS);
    uint32_t last = peer_ts;
    peer_ts = last - 100;
    our_ts = 0;
    send_ts(h, TCP_SYN, IRS - 1000, 0);
    h_expect(h, TCP_ACK, ISS + 2, IRS + 2);
    assert_int_equal(tt_engine_timewait_count(h->eng), 1);
}

/*
 * packetdrill ts_recent/invalid_ack.pkt: a FIN whose ACK is beyond SND.NXT
 * and whose TSval is far ahead is dropped without a word in ESTABLISHED
 * (Linux tcp_rcv_established(): tcp_ack() refuses it; docs/contract.md
 * §2.4 item 5) and its TSval does not become TS.Recent (RFC 7323 4.3, Linux
 * tcp_ack() takes TS.Recent after its ACK checks): the peer's next segment,
 * with its true older TSval, passes PAWS and is ACKed with that TSval echoed.
 */
static void invalid_ack_dropped_and_ts_recent_kept(void **state)
{
    struct harness *h = *state;

    peer_ts = PEER_TS0;
    h->cfg.tcp_timestamps = 1;
    h_reinit(h);
    h_listen(h, H_LISTEN_PORT);
    h->lport = H_LISTEN_PORT;
    h->rport = H_PEER_PORT;
    send_ts(h, TCP_SYN, IRS, 0);
    note_ts(h_expect_synack(h));
    send_ts(h, TCP_ACK, IRS + 1, ISS + 1);
    h_expect_nothing(h);
    peer_ts = PEER_TS0 + 200000;
    send_ts(h, TCP_FIN | TCP_ACK, IRS + 1, ISS + 9999);
    h_expect_nothing(h);
    assert_int_equal(h->eof_calls, 0);
    peer_ts = PEER_TS0 + 1;
    struct tcp_opts o = ts_opts(false);
    h_send_opts(h, TCP_ACK, IRS + 1, ISS + 1, &o, "data", 4);
    const struct h_seg *s = h_expect(h, TCP_ACK, ISS + 1, IRS + 5);
    assert_int_equal(s->seg.opt.ts_ecr, PEER_TS0 + 1);
    assert_int_equal(h_stats(h).TcpExtPAWSEstab, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(connect_refused_while_port_in_time_wait, h_setup,
                                        h_teardown),
        cmocka_unit_test_setup_teardown(tw_reuse_takes_time_wait_older_than_1s, h_setup,
                                        h_teardown),
        cmocka_unit_test_setup_teardown(tw_reuse_refused_until_more_than_1s, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(tw_reuse_needs_timestamps, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(tw_reuse_2_is_loopback_only, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(tw_reuse_delay_sets_the_age, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(timewait_syn_newer_by_timestamp_reopens, h_setup,
                                        h_teardown),
        cmocka_unit_test_setup_teardown(timewait_syn_old_by_seq_and_timestamp_gets_ack, h_setup,
                                        h_teardown),
        cmocka_unit_test_setup_teardown(invalid_ack_dropped_and_ts_recent_kept, h_setup,
                                        h_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
