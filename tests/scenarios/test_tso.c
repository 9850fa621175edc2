/*
 * Scenarios: runs of new data as one GSO datagram (tt_engine_set_gso_out(),
 * tcp_tso.c). Linux's TCP hands its device one TSO skb per packet of new
 * data and the segmentation (tcp_gso_segment(), inet_gso_segment()) makes
 * the wire segments: the header copied, SEQ advanced, the IP ID counting
 * up, PSH and FIN on the last segment only. With the engine's fast path
 * on, the wire after that cut (the harness cuts as the kernel does) and
 * the engine's state must be what they are with it off, segment by
 * segment and byte for byte: each scenario runs twice and compares every
 * datagram (checksums completed as the device completes them), the
 * connection's tt_conn_info_t and the engine's counters, and that the
 * fast path was taken (GSO datagrams were sent). The full segments in the
 * middle of a packet are decided together when they join the run
 * (tcp_output.c, send_new_run()): the scenarios after the first five
 * end runs at skbs, records, cwnd, the peer's window and pacing, and send
 * them around loss recovery (RACK's records, PRR's count, the tail loss
 * probe), ECN's CWR and a device that refuses datagrams, with a FIN.
 */
#include <stdlib.h>
#include <string.h>

#include "harness.h"

#define SEG1 H_MSS
#define WIRE_MAX (1u << 21)
#define SEQ(n) (ISS + 1 + (uint32_t)(n)*SEG1) /* where segment n starts */

/* What one run left: the wire, byte for byte, and the state. */
struct outcome {
    struct h_wire w; /* the wire, byte for byte */
    tt_conn_info_t info;
    tt_stats_t stats;
    size_t gso;
};

typedef void (*scenario_fn)(struct harness *h, struct outcome *o);

/* How a scenario's connection is set up: the handshake's RTT, and what
 * the peer's SYN asks for and the engine's configuration allows. */
struct setup {
    uint64_t rtt;
    bool sack, ecn, wscale, ts;
    int pacing;
};

/* The passive open with what st asks for (SACK, ECN: RFC 2018, RFC 3168 6.1.1). */
static void establish(struct harness *h, const struct setup *st)
{
    h_default_config(&h->cfg);
    h->cfg.tcp_sack = st->sack;
    h->cfg.tcp_ecn = st->ecn ? 2 : 0;
    h->cfg.tcp_pacing = st->pacing;
    h->cfg.tcp_window_scaling = st->wscale;
    h->cfg.tcp_timestamps = st->ts;
    h_reinit(h);
    h->conn = NULL;
    h->lport = H_LISTEN_PORT;
    h->rport = H_PEER_PORT;
    h_listen(h, H_LISTEN_PORT);
    struct tcp_opts o = {.mss_ok = true,
                         .mss = H_MSS,
                         .sack_ok = st->sack,
                         .ws_ok = st->wscale,
                         .ws = 7,
                         .ts_ok = st->ts,
                         .ts_val = 1};
    h_send_opts(h, TCP_SYN | (st->ecn ? TCP_ECE | TCP_CWR : 0), IRS, 0, &o, NULL, 0);
    const struct h_seg *sa = h_pop_any(h);
    assert_int_equal(sa->seg.flags & (TCP_SYN | TCP_ACK), TCP_SYN | TCP_ACK);
    h->iss = sa->seg.seq;
    h_advance(h, st->rtt);
    h_send(h, TCP_ACK, IRS + 1, ISS + 1, NULL, 0);
    assert_non_null(h->conn);
}

static void run(struct harness *h, bool gso, const struct setup *st, scenario_fn fn,
                struct outcome *o)
{
    memset(o, 0, sizeof(*o));
    h->now = H_T0;
    h->peer_wnd = H_PEER_WND; /* as the fixture left it: a scenario may change it */
    establish(h, st);
    tt_engine_set_csum_partial(h->eng, true); /* as the driver with offloads */
    tt_engine_set_gso_out(h->eng, gso);
    h->gso_dgrams = 0;
    h_wire_init(&o->w, WIRE_MAX, ISS + 1);
    fn(h, o);
    h_wire_drain(h, &o->w);
    tt_conn_get_info(h->conn, &o->info);
    tt_engine_stats(h->eng, &o->stats);
    o->gso = h->gso_dgrams;
}

/* The same wire and state with the fast path off and on; it was taken. */
static void same_both_ways_with(struct harness *h, const struct setup *st, scenario_fn fn)
{
    struct outcome off, on;

    run(h, false, st, fn, &off);
    run(h, true, st, fn, &on);
    assert_int_equal(off.gso, 0);
    assert_true(on.gso > 0);
    h_wire_assert_same(&on.w, &off.w);
    assert_memory_equal(&on.info, &off.info, sizeof(off.info));
    assert_memory_equal(&on.stats, &off.stats, sizeof(off.stats));
    h_wire_free(&off.w);
    h_wire_free(&on.w);
}

static void same_both_ways(struct harness *h, uint64_t rtt, scenario_fn fn)
{
    same_both_ways_with(h, &(struct setup){.rtt = rtt}, fn);
}

/* Three writes (three skbs, PSH at each one's end) acknowledged round by round. */
static void bulk(struct harness *h, struct outcome *o)
{
    h_wire_bulk(h, &o->w);
}

static void bulk_over_several_skbs(void **state)
{
    same_both_ways(*state, 10, bulk);
}

/* RFC 7323: with timestamps every segment of a run carries the same
 * TSval and TSecr (one engine call, one clock reading), SACK beside. */
static void bulk_with_timestamps(void **state)
{
    same_both_ways_with(*state, &(struct setup){.rtt = 10, .sack = true, .ts = true}, bulk);
}

/* More than cwnd: the flight stops at cwnd, ACKs of two segments open it bit by bit. */
static void cwnd_bound(struct harness *h, struct outcome *o)
{
    assert_int_equal(h_write_pattern(h, 0, 60 * SEG1), 60 * SEG1);
    h_wire_drain(h, &o->w);
    uint32_t acked = ISS + 1;
    for (int r = 0; r < 12; r++) {
        h_advance(h, 100);
        acked += 2 * SEG1;
        h_send(h, TCP_ACK, IRS + 1, acked, NULL, 0);
        h_wire_drain(h, &o->w);
    }
    h_wire_ack_all(h, &o->w, 100);
}

static void cwnd_limited(void **state)
{
    struct harness *h = *state;
    same_both_ways(h, 100, cwnd_bound);
}

/* The peer's window, not a multiple of the MSS, holds the flow. */
static void rwnd_bound(struct harness *h, struct outcome *o)
{
    h->peer_wnd = 7000;
    h_send(h, TCP_ACK, IRS + 1, ISS + 1, NULL, 0); /* the window shrinks before any data */
    assert_int_equal(h_write_pattern(h, 0, 40 * SEG1), 40 * SEG1);
    h_wire_drain(h, &o->w);
    assert_true(o->w.snd_max - (ISS + 1) < 40 * SEG1);
    for (int r = 0; r < 8; r++)
        h_wire_ack_all(h, &o->w, 50);
}

static void rwnd_limited(void **state)
{
    same_both_ways(*state, 50, rwnd_bound);
}

/* A write ending mid-segment: the last, short, carries PSH. */
static void short_tail(struct harness *h, struct outcome *o)
{
    assert_int_equal(h_write_pattern(h, 0, 5 * SEG1 + 700), 5 * SEG1 + 700);
    h_wire_ack_all(h, &o->w, 10);
    assert_int_equal(h_write_pattern(h, 5 * SEG1 + 700, 3 * SEG1 + 1), 3 * SEG1 + 1);
    h_wire_ack_all(h, &o->w, 10);
}

static void write_ending_mid_segment(void **state)
{
    same_both_ways(*state, 10, short_tail);
}

/* Records (one skb each, MSG_EOR) a few bytes longer than whole segments
 * queued behind a full flight, then ACKs of one segment at a time:
 * packets of two end where cwnd's quota ends, on a record's short last
 * segment too (it is never taken as a full one), and the stream ends
 * with the FIN on its last segment, a full one (RFC 9293 3.10.4). */
static void short_skb_ends(struct harness *h, struct outcome *o)
{
    assert_int_equal(h_write_pattern(h, 0, 10 * SEG1), 10 * SEG1);
    h_wire_drain(h, &o->w);
    size_t off = 10 * SEG1;
    static uint8_t buf[7 * SEG1];
    for (size_t k = 1; k <= 6; k++) {
        size_t len = k * SEG1 + 300;
        h_pattern_fill(buf, off, len);
        assert_int_equal(tt_conn_write_flags(h->conn, buf, len, TT_WRITE_EOR), (ssize_t)len);
        off += len;
        h_wire_drain(h, &o->w);
    }
    assert_int_equal(h_write_pattern(h, off, 4 * SEG1 + 1120), 4 * SEG1 + 1120); /* to SEQ(37) */
    h_wire_drain(h, &o->w);
    tt_conn_shutdown(h->conn); /* the FIN waits behind the data */
    h_wire_drain(h, &o->w);
    for (uint32_t n = 1; n <= 40; n++) {
        h_advance(h, 20);
        uint32_t ack = SEQ(n);
        h_send(h, TCP_ACK, IRS + 1, seq_lt(ack, o->w.snd_max) ? ack : o->w.snd_max, NULL, 0);
        h_wire_drain(h, &o->w);
    }
    for (int r = 0; r < 6; r++)
        h_wire_ack_all(h, &o->w, 20);
}

static void quota_ends_on_short_segments(void **state)
{
    same_both_ways(*state, 20, short_skb_ends);
}

/* A shutdown behind queued data: the FIN rides on the last full segment
 * of a packet (RFC 9293 3.10.4; Linux tcp_send_fin() on the tail skb). */
static void fin_tail(struct harness *h, struct outcome *o)
{
    assert_int_equal(h_write_pattern(h, 0, 10 * SEG1), 10 * SEG1);
    h_wire_drain(h, &o->w);
    assert_int_equal(h_write_pattern(h, 10 * SEG1, 6 * SEG1), 6 * SEG1);
    tt_conn_shutdown(h->conn);
    h_wire_drain(h, &o->w);
    for (int r = 0; r < 3; r++)
        h_wire_ack_all(h, &o->w, 20);
}

static void fin_on_a_run_s_last_segment(void **state)
{
    same_both_ways(*state, 20, fin_tail);
}

/* MSG_EOR records (tt_conn_write_flags()): no segment crosses a record's
 * end, whose segment carries PSH (Linux tcp_skb_can_collapse_to()). */
static void records(struct harness *h, struct outcome *o)
{
    static uint8_t buf[8 * SEG1];
    size_t off = 0;
    for (uint32_t len = 6 * SEG1 + 100; len < 8 * SEG1; len += SEG1 / 2) {
        h_pattern_fill(buf, off, len);
        assert_int_equal(tt_conn_write_flags(h->conn, buf, len, TT_WRITE_EOR), (ssize_t)len);
        off += len;
        h_wire_drain(h, &o->w);
    }
    for (int r = 0; r < 8; r++)
        h_wire_ack_all(h, &o->w, 10);
}

static void runs_end_at_record_ends(void **state)
{
    same_both_ways(*state, 10, records);
}

/* RFC 1122 4.2.3.4 (Linux tcp_nagle_check()): with a partial segment of
 * ours unacknowledged, the full segments of the next write go, its
 * partial tail waits for the ACK. */
static void nagle_tail(struct harness *h, struct outcome *o)
{
    assert_int_equal(h_write_pattern(h, 0, 100), 100);
    h_wire_drain(h, &o->w);
    assert_int_equal(h_write_pattern(h, 100, 4 * SEG1 + 300), 4 * SEG1 + 300);
    h_wire_drain(h, &o->w);
    assert_int_equal(o->w.snd_max, ISS + 1 + 100 + 4 * SEG1); /* the tail waits */
    h_wire_ack_all(h, &o->w, 10);
    h_wire_ack_all(h, &o->w, 10);
}

static void nagle_holds_the_tail(void **state)
{
    same_both_ways(*state, 10, nagle_tail);
}

/* Writes of whole segments (skbs ending on a segment's end, PSH there)
 * and one a few bytes over: runs decided together stop before each skb's
 * end, whose segment carries the skb's mark (Linux tcp_write_xmit() sends
 * each skb on its own). */
static void skb_bound(struct harness *h, struct outcome *o)
{
    static const size_t sizes[] = {7 * SEG1, 5 * SEG1, 12 * SEG1, 3 * SEG1 + 3, 20 * SEG1};
    size_t off = 0;
    for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
        assert_int_equal(h_write_pattern(h, off, sizes[i]), (ssize_t)sizes[i]);
        off += sizes[i];
        h_wire_drain(h, &o->w);
    }
    for (int r = 0; r < 8; r++)
        h_wire_ack_all(h, &o->w, 10);
}

static void runs_end_at_skb_boundaries(void **state)
{
    same_both_ways(*state, 10, skb_bound);
}

/* RFC 5681 3.1: ACKs of a segment and a half at a time; cwnd lets a part
 * of one long skb go, its packet cut where cwnd ends (tso_fragment()). */
static void cwnd_fraction(struct harness *h, struct outcome *o)
{
    assert_int_equal(h_write_pattern(h, 0, 90 * SEG1), 90 * SEG1);
    h_wire_drain(h, &o->w);
    uint32_t acked = ISS + 1;
    for (int r = 0; r < 30; r++) {
        h_advance(h, 30);
        acked += SEG1 + SEG1 / 2;
        if (seq_gt(acked, o->w.snd_max))
            acked = o->w.snd_max;
        h_send(h, TCP_ACK, IRS + 1, acked, NULL, 0);
        h_wire_drain(h, &o->w);
    }
    for (int r = 0; r < 4; r++)
        h_wire_ack_all(h, &o->w, 100);
}

static void cwnd_allows_part_of_an_skb(void **state)
{
    same_both_ways(*state, 100, cwnd_fraction);
}

/* The peer's window opens by amounts that are no multiple of the MSS
 * while half of the flight is acknowledged: each ACK lets part of a run go
 * (RFC 9293 3.8.6.2.1, Linux tcp_snd_wnd_test()). */
static void rwnd_opening(struct harness *h, struct outcome *o)
{
    static const uint16_t wnds[] = {9000, 15000, 23456, 40000, 52001, 65535};
    h->peer_wnd = 5000;
    h_send(h, TCP_ACK, IRS + 1, ISS + 1, NULL, 0);
    assert_int_equal(h_write_pattern(h, 0, 100 * SEG1), 100 * SEG1);
    h_wire_drain(h, &o->w);
    uint32_t acked = ISS + 1;
    for (size_t i = 0; i < sizeof(wnds) / sizeof(wnds[0]); i++) {
        h_advance(h, 20);
        h->peer_wnd = wnds[i];
        acked += (o->w.snd_max - acked) / 2;
        h_send(h, TCP_ACK, IRS + 1, acked, NULL, 0);
        h_wire_drain(h, &o->w);
    }
    for (int r = 0; r < 10; r++)
        h_wire_ack_all(h, &o->w, 20);
}

static void rwnd_opens_mid_run(void **state)
{
    same_both_ways(*state, 20, rwnd_opening);
}

/* --tcp-pacing 1 (Linux under fq): each GSO packet waits for its
 * departure time, the pacing timer sends the next one; runs end with
 * their packet. */
static void paced(struct harness *h, struct outcome *o)
{
    assert_int_equal(h_write_pattern(h, 0, 120 * SEG1), 120 * SEG1);
    h_wire_drain(h, &o->w);
    for (int r = 0; r < 40; r++) {
        h_advance(h, 1 * MS);
        h_wire_drain(h, &o->w);
        if (r % 5 == 4) {
            h_send(h, TCP_ACK, IRS + 1, o->w.snd_max, NULL, 0);
            h_wire_drain(h, &o->w);
        }
    }
    for (int r = 0; r < 6; r++)
        h_wire_ack_all(h, &o->w, 5 * MS);
}

static void pacing_limits_runs(void **state)
{
    same_both_ways_with(*state, &(struct setup){.rtt = 10 * MS, .pacing = 1}, paced);
}

/* An ACK of SEQ(una) that SACKs segments [from, to) (RFC 2018). */
static void sack_ack(struct harness *h, struct outcome *o, uint32_t una, uint32_t from, uint32_t to)
{
    struct tcp_opts sk = {.sack_count = 1};
    sk.sack[0] = (struct tcp_sack_block){SEQ(from), SEQ(to)};
    h_send_opts(h, TCP_ACK, IRS + 1, SEQ(una), &sk, NULL, 0);
    h_wire_drain(h, &o->w);
}

/* Segment 2 lost: SACKs mark it (RFC 8985, RFC 6675), it is sent again,
 * new data goes during recovery as PRR allows (RFC 6937), then the
 * cumulative ACK ends recovery and runs follow; a tail with no ACK ends
 * with the tail loss probe and the RTO resending it. */
static void recovery(struct harness *h, struct outcome *o)
{
    assert_int_equal(h_write_pattern(h, 0, 150 * SEG1), 150 * SEG1);
    h_wire_drain(h, &o->w);
    h_advance(h, 10 * MS);
    h_wire_drain(h, &o->w);
    for (uint32_t to = 4; to < 10; to++) {
        sack_ack(h, o, 2, 3, to);
        h_advance(h, 100);
        h_wire_drain(h, &o->w);
    }
    h_advance(h, 10 * MS);
    h_wire_drain(h, &o->w);
    for (uint32_t to = 10; to < 24; to += 2)
        sack_ack(h, o, 2, 3, to);
    sack_ack(h, o, 2, 3, 60); /* PRR lets a packet of several segments go */
    h_advance(h, 5 * MS);
    h_wire_drain(h, &o->w);
    for (int r = 0; r < 3; r++)
        h_wire_ack_all(h, &o->w, 10 * MS);
    assert_int_equal(h_write_pattern(h, 150 * SEG1, 30 * SEG1), 30 * SEG1);
    h_wire_drain(h, &o->w);
    h_advance(h, 1 * SEC); /* no ACK: the probe, then the RTO */
    h_wire_drain(h, &o->w);
    for (int r = 0; r < 4; r++)
        h_wire_ack_all(h, &o->w, 10 * MS);
}

static void runs_around_sack_recovery(void **state)
{
    same_both_ways_with(*state, &(struct setup){.rtt = 10 * MS, .sack = true}, recovery);
}

/* RFC 6937: in fast recovery each ACK lets go what PRR counts; runs
 * decided together add their bytes to what the reduction sent (prr_out)
 * as the segments one by one do. The flight's first segment is lost, the
 * SACKs grow by many segments at a time. */
static void prr_runs(struct harness *h, struct outcome *o)
{
    assert_int_equal(h_write_pattern(h, 0, 60 * SEG1), 60 * SEG1);
    h_wire_drain(h, &o->w);
    uint32_t una = ISS + 1;
    for (int r = 0; r < 2; r++) { /* slow start: cwnd 40, the 30 left go */
        h_advance(h, 100);
        una = o->w.snd_max;
        h_send(h, TCP_ACK, IRS + 1, una, NULL, 0);
        h_wire_drain(h, &o->w);
    }
    assert_int_equal(o->w.snd_max, SEQ(60));
    assert_int_equal(h_write_pattern(h, 60 * SEG1, 40 * SEG1), 40 * SEG1);
    h_wire_drain(h, &o->w);
    static const uint32_t rights[] = {4, 10, 12, 14, 16};
    for (size_t i = 0; i < sizeof(rights) / sizeof(rights[0]); i++) {
        h_advance(h, 20);
        struct tcp_opts sk = {.sack_count = 1};
        sk.sack[0] = (struct tcp_sack_block){una + SEG1, una + rights[i] * SEG1};
        h_send_opts(h, TCP_ACK, IRS + 1, una, &sk, NULL, 0);
        h_wire_drain(h, &o->w);
    }
    for (int r = 0; r < 6; r++)
        h_wire_ack_all(h, &o->w, 100);
}

static void prr_counts_runs(void **state)
{
    same_both_ways_with(*state, &(struct setup){.rtt = 100, .sack = true, .wscale = true},
                        prr_runs);
}

/* RFC 8985 6.2: segments in the middle of a run SACKed alone, the first
 * not: RACK marks it lost by its send time (one record for the segments
 * sent at one instant), the reordering window after the SACK. */
static void rack_middle(struct harness *h, struct outcome *o)
{
    assert_int_equal(h_write_pattern(h, 0, 10 * SEG1), 10 * SEG1);
    h_wire_drain(h, &o->w);
    h_advance(h, 100);
    sack_ack(h, o, 0, 6, 8);
    h_advance(h, 2 * MS);
    h_wire_drain(h, &o->w);
    for (int r = 0; r < 4; r++)
        h_wire_ack_all(h, &o->w, 100);
}

static void rack_marks_by_a_run_s_record(void **state)
{
    same_both_ways_with(*state, &(struct setup){.rtt = 100, .sack = true}, rack_middle);
}

/* RFC 8985 7.3: with nothing new to send, the tail loss probe resends
 * the highest segment sent, the last of a run decided together. */
static void tail_probe(struct harness *h, struct outcome *o)
{
    assert_int_equal(h_write_pattern(h, 0, 10 * SEG1), 10 * SEG1);
    h_wire_drain(h, &o->w);
    h_advance(h, 100 * MS); /* no ACK: the probe, then the RTO */
    h_wire_drain(h, &o->w);
    for (int r = 0; r < 3; r++)
        h_wire_ack_all(h, &o->w, 100);
}

static void probe_resends_a_run_s_last(void **state)
{
    same_both_ways_with(*state, &(struct setup){.rtt = 100, .sack = true}, tail_probe);
}

/* RFC 3168 6.1.2: the peer's ECE reduces cwnd once and the next new data
 * segment carries CWR (tt_ecn_send()): it cannot join a run, and nothing
 * decided with the run before it may take its place. */
static void ecn_echo(struct harness *h, struct outcome *o)
{
    assert_int_equal(h_write_pattern(h, 0, 80 * SEG1), 80 * SEG1);
    h_wire_drain(h, &o->w);
    h_advance(h, 100);
    h_send(h, TCP_ACK | TCP_ECE, IRS + 1, SEQ(3), NULL, 0);
    h_wire_drain(h, &o->w);
    for (int r = 0; r < 8; r++)
        h_wire_ack_all(h, &o->w, 100);
}

static void cwr_segment_ends_a_run(void **state)
{
    same_both_ways_with(*state, &(struct setup){.rtt = 100, .ecn = true}, ecn_echo);
}

/* The device refuses datagrams for a while (tcp_localcong.c, Linux
 * NET_XMIT_DROP): nothing is decided for a refused segment, runs go
 * again once it takes them. */
static void local_cong(struct harness *h, struct outcome *o)
{
    assert_int_equal(h_write_pattern(h, 0, 20 * SEG1), 20 * SEG1);
    h_wire_drain(h, &o->w);
    tt_engine_set_local_congestion(h->eng, true);
    h_wire_ack_all(h, &o->w, 10 * MS);
    assert_int_equal(h_write_pattern(h, 20 * SEG1, 30 * SEG1), 30 * SEG1);
    h_wire_drain(h, &o->w);
    h_advance(h, 300 * MS);
    h_wire_drain(h, &o->w);
    tt_engine_set_local_congestion(h->eng, false);
    h_advance(h, 600 * MS);
    h_wire_drain(h, &o->w);
    for (int r = 0; r < 6; r++)
        h_wire_ack_all(h, &o->w, 10 * MS);
}

static void local_congestion_then_runs(void **state)
{
    same_both_ways_with(*state, &(struct setup){.rtt = 100}, local_cong);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(bulk_over_several_skbs, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(bulk_with_timestamps, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(cwnd_limited, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(rwnd_limited, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(write_ending_mid_segment, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(nagle_holds_the_tail, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(runs_end_at_skb_boundaries, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(runs_end_at_record_ends, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(quota_ends_on_short_segments, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(fin_on_a_run_s_last_segment, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(cwnd_allows_part_of_an_skb, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(rwnd_opens_mid_run, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(pacing_limits_runs, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(runs_around_sack_recovery, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(rack_marks_by_a_run_s_record, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(prr_counts_runs, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(probe_resends_a_run_s_last, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(cwr_segment_ends_a_run, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(local_congestion_then_runs, h_setup, h_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
