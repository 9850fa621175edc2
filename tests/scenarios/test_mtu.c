/*
 * Scenarios: the MTU bounds every datagram. The stack sets DF and never
 * fragments, so no datagram it sends may be longer than --mtu (68..65535;
 * 68 is the IPv4 minimum, RFC 791), whatever the options (timestamps, RFC
 * 7323; SACK blocks, RFC 2018), and every data segment still carries at
 * least one byte. The peer's MSS option lowers our segments, with Linux's
 * floor of 48 bytes (tcp_min_snd_mss) for an absurdly small one; an MSS
 * option of 0 is ignored, as Linux does, and means the default 536.
 */
#include "harness.h"

#include <string.h>

#define PEER_TSVAL 1000u
#define BULK 3000u /* bytes of a bulk transfer */

/* Whether the peer's segments carry timestamps (agreed in the handshake). */
static bool peer_ts;

static struct tcp_opts peer_opts(bool syn, uint16_t mss, bool sack)
{
    struct tcp_opts o;

    memset(&o, 0, sizeof(o));
    o.mss_ok = syn && mss != 0xffff;
    o.mss = mss;
    o.sack_ok = syn && sack;
    o.ts_ok = peer_ts;
    o.ts_val = PEER_TSVAL;
    return o;
}

static void peer_send(struct harness *h, uint32_t seq, uint32_t ack, const void *data, size_t len)
{
    struct tcp_opts o = peer_opts(false, 0, false);

    h_send_opts(h, TCP_ACK, seq, ack, &o, data, len);
}

/* Passive open on an engine with this MTU, timestamps and SACK; the peer's
 * SYN offers both, with MSS peer_mss (0xffff: no MSS option). */
static void open_mtu(struct harness *h, uint32_t mtu, bool ts, bool sack, uint16_t peer_mss)
{
    h->cfg.mtu = mtu;
    h->cfg.tcp_timestamps = ts;
    h->cfg.tcp_sack = sack;
    h_reinit(h);
    peer_ts = ts;
    h_listen(h, H_LISTEN_PORT);
    h->lport = H_LISTEN_PORT;
    h->rport = H_PEER_PORT;
    struct tcp_opts o = peer_opts(true, peer_mss, sack);
    h_send_opts(h, TCP_SYN, IRS, 0, &o, NULL, 0);
    const struct h_seg *sa = h_expect_synack(h);
    assert_true(sa->len <= mtu);
    assert_int_equal(sa->seg.opt.ts_ok, ts);
    assert_int_equal(sa->seg.opt.sack_ok, sack);
    peer_send(h, IRS + 1, ISS + 1, NULL, 0);
    h_expect_nothing(h);
    assert_non_null(h->conn);
}

/*
 * Writes BULK bytes and plays a peer that ACKs everything it got, round
 * after round, until all is acknowledged. Every datagram must fit the MTU
 * and carry the pattern, at least one byte and at most max_len bytes; at
 * least one segment carries exactly max_len (the segment size is what it
 * should be, not just small enough). Returns the number of data segments.
 */
static unsigned bulk_flows(struct harness *h, uint32_t max_len)
{
    uint32_t acked = 0;
    unsigned segs = 0, full = 0;
    uint8_t want[1500];

    assert_int_equal(h_write_pattern(h, 0, BULK), BULK);
    for (int round = 0; acked < BULK; round++) {
        assert_true(round < 1000);
        assert_true(h_pending(h) > 0);
        while (h_pending(h)) {
            const struct h_seg *s = h_pop_any(h);
            uint32_t off = s->seg.seq - (ISS + 1);
            assert_true(s->len <= h->cfg.mtu);
            assert_true(s->seg.len >= 1);
            assert_true(s->seg.len <= max_len);
            assert_int_equal(off, acked); /* in order: nothing is lost here */
            h_pattern_fill(want, off, s->seg.len);
            assert_memory_equal(s->seg.data, want, s->seg.len);
            acked = off + s->seg.len;
            segs++;
            full += s->seg.len == max_len;
        }
        peer_send(h, IRS + 1, ISS + 1 + acked, NULL, 0);
    }
    h_expect_nothing(h);
    assert_true(full > 0);
    return segs;
}

/* The payload a full segment carries: MTU - 40, less 12 with timestamps. */
static uint32_t full_payload(uint32_t mtu, bool ts)
{
    return mtu - 40 - (ts ? 12 : 0);
}

static void check_mtu(void **state, uint32_t mtu, bool ts, bool sack)
{
    struct harness *h = *state;

    open_mtu(h, mtu, ts, sack, H_MSS);
    bulk_flows(h, full_payload(mtu, ts));
}

/* RFC 791, RFC 9293 3.7.1: SND.MSS never exceeds MTU - 40, even below 104. */
static void mtu_68_bounds_every_datagram(void **state)
{
    check_mtu(state, 68, false, false);
}

static void mtu_68_with_timestamps_bounds_every_datagram(void **state)
{
    check_mtu(state, 68, true, true);
}

static void mtu_100_bounds_every_datagram(void **state)
{
    check_mtu(state, 100, false, false);
}

static void mtu_100_with_timestamps_bounds_every_datagram(void **state)
{
    check_mtu(state, 100, true, true);
}

static void mtu_103_bounds_every_datagram(void **state)
{
    check_mtu(state, 103, false, true);
}

static void mtu_103_with_timestamps_bounds_every_datagram(void **state)
{
    check_mtu(state, 103, true, false);
}

static void mtu_104_bounds_every_datagram(void **state)
{
    check_mtu(state, 104, false, false);
}

static void mtu_104_with_timestamps_bounds_every_datagram(void **state)
{
    check_mtu(state, 104, true, true);
}

/*
 * RFC 2018 3, Linux tcp_current_mss: with out-of-order data held, SACK
 * blocks ride on every ACK and data segment. At a small MTU only as many
 * blocks as leave room for one byte of data go (newest first, RFC 2018 4),
 * and the data shrinks by what they take; no datagram outgrows the MTU.
 */
static void check_sack_at_mtu(void **state, uint32_t mtu, bool ts, uint8_t blocks, uint32_t payload)
{
    struct harness *h = *state;

    open_mtu(h, mtu, ts, true, H_MSS);
    for (uint32_t k = 0; k < 4; k++) { /* four separate runs held */
        peer_send(h, IRS + 101 + 20 * k, ISS + 1, "0123456789", 10);
        const struct h_seg *a = h_expect(h, TCP_ACK, ISS + 1, IRS + 1);
        assert_true(a->len <= mtu);
        assert_int_equal(a->seg.opt.sack_count, k < blocks ? k + 1 : blocks);
        assert_int_equal(a->seg.opt.sack[0].left, IRS + 101 + 20 * k); /* newest first */
    }
    h_write_pattern(h, 0, 20 * payload); /* within the initial window */
    uint32_t sent = 0;
    while (h_pending(h)) {
        const struct h_seg *d = h_pop_any(h);
        assert_true(d->len <= mtu);
        assert_int_equal(d->seg.len, payload);
        assert_int_equal(d->seg.opt.sack_count, blocks);
        assert_int_equal(d->seg.seq, ISS + 1 + sent);
        sent += d->seg.len;
    }
    assert_int_equal(sent, 20 * payload);
}

/* 28 bytes under the MTU: two blocks (20 bytes) and 8 of data. */
static void sack_blocks_fit_mtu_68(void **state)
{
    check_sack_at_mtu(state, 68, false, 2, 8);
}

/* 28 bytes: the timestamp (12), one block (12) and 4 of data. */
static void sack_blocks_fit_mtu_68_with_timestamps(void **state)
{
    check_sack_at_mtu(state, 68, true, 1, 4);
}

/* 60 bytes: the timestamp, three blocks (28: the 40 bytes of options are
 * full) and 20 of data. */
static void sack_blocks_fit_mtu_100_with_timestamps(void **state)
{
    check_sack_at_mtu(state, 100, true, 3, 20);
}

/* Linux tcp_min_snd_mss (48): a peer's MSS of 1 is raised to 48 ... */
static void peer_mss_1_raised_to_48(void **state)
{
    struct harness *h = *state;

    open_mtu(h, 1500, false, false, 1);
    bulk_flows(h, 48);
}

/* ... less the timestamp option that rides on every segment ... */
static void peer_mss_1_with_timestamps_carries_36(void **state)
{
    struct harness *h = *state;

    open_mtu(h, 1500, true, false, 1);
    bulk_flows(h, 36);
}

/* ... but our own MTU still bounds our datagrams below that floor. */
static void peer_mss_1_still_bounded_by_mtu_68(void **state)
{
    struct harness *h = *state;

    open_mtu(h, 68, true, false, 1);
    bulk_flows(h, 16);
}

/* Linux tcp_parse_mss_option: an MSS option of 0 is ignored, so the peer
 * gets the default 536 (RFC 9293 3.7.1), not a segment of no data. */
static void peer_mss_0_means_default_536(void **state)
{
    struct harness *h = *state;

    open_mtu(h, 1500, false, false, 0);
    bulk_flows(h, 536);
}

/* The MSS we announce in a SYN-ACK is MTU - 40, checked by the harness. */
static void mss_option_is_mtu_minus_40_at_mtu_68(void **state)
{
    struct harness *h = *state;

    open_mtu(h, 68, true, true, H_MSS);
    h_close(h);
    const struct h_seg *f = h_expect(h, TCP_FIN | TCP_ACK, ISS + 1, IRS + 1);
    assert_true(f->len <= 68);
}

/* The same through a SYN cookie: the table's 1460 is bounded by our MTU. */
static void syncookie_connection_bounded_by_mtu(void **state)
{
    struct harness *h = *state;

    h->cfg.mtu = 100;
    h_reinit(h);
    peer_ts = false;
    h_listen_backlog(h, H_LISTEN_PORT, 1);
    h->lport = H_LISTEN_PORT;
    h->rport = H_PEER_PORT;
    h_send_syn(h);
    h_expect_synack(h); /* fills the half-open queue */
    h->rport = H_PEER_PORT + 1;
    h->irs += 77777;
    h_send_syn(h);
    const struct h_seg *sa = h_expect_synack(h);
    assert_true(sa->len <= 100);
    assert_int_equal(h_stats(h).TcpExtSyncookiesSent, 1);
    h_send(h, TCP_ACK, IRS + 1, ISS + 1, NULL, 0);
    h_expect_nothing(h);
    assert_int_equal(h_stats(h).TcpExtSyncookiesRecv, 1);
    bulk_flows(h, 60);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(mtu_68_bounds_every_datagram, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(mtu_68_with_timestamps_bounds_every_datagram, h_setup,
                                        h_teardown),
        cmocka_unit_test_setup_teardown(mtu_100_bounds_every_datagram, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(mtu_100_with_timestamps_bounds_every_datagram, h_setup,
                                        h_teardown),
        cmocka_unit_test_setup_teardown(mtu_103_bounds_every_datagram, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(mtu_103_with_timestamps_bounds_every_datagram, h_setup,
                                        h_teardown),
        cmocka_unit_test_setup_teardown(mtu_104_bounds_every_datagram, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(mtu_104_with_timestamps_bounds_every_datagram, h_setup,
                                        h_teardown),
        cmocka_unit_test_setup_teardown(sack_blocks_fit_mtu_68, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(sack_blocks_fit_mtu_68_with_timestamps, h_setup,
                                        h_teardown),
        cmocka_unit_test_setup_teardown(sack_blocks_fit_mtu_100_with_timestamps, h_setup,
                                        h_teardown),
        cmocka_unit_test_setup_teardown(peer_mss_1_raised_to_48, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(peer_mss_1_with_timestamps_carries_36, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(peer_mss_1_still_bounded_by_mtu_68, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(peer_mss_0_means_default_536, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(mss_option_is_mtu_minus_40_at_mtu_68, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(syncookie_connection_bounded_by_mtu, h_setup, h_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
