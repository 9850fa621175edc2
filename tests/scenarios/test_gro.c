/*
 * Scenarios: a super-segment taken whole (tt_engine_input_super(),
 * stack/engine/tcp_gro.c, docs/contract.md §3.8 item 1). With offloads the
 * kernel hands the driver one TSO packet for many wire segments; Linux's
 * TCP takes the GRO packet a NIC hands it as one skb (one tcp_ack(), one
 * queueing of the payload). The engine does the same when the packet
 * continues an ESTABLISHED stream in order with nothing odd, and counts
 * its wire segments; anything else it leaves untouched (-EAGAIN) for the
 * driver to cut into wire segments as before.
 */
#include <errno.h>
#include <string.h>

#include "harness.h"

#define SEGS 4

static int read_calls;
static const uint8_t *read_at; /* where the last read callback's bytes were */
/* the datagram send_super_opts() hands the engine */
static uint8_t super_buf[IPV4_HDR_LEN + 60 + SEGS * H_MSS + 100];

static void count_reads(struct harness *h, const uint8_t *buf, ssize_t nread)
{
    (void)h;
    if (nread > 0) {
        read_calls++;
        read_at = buf;
    }
}

static void setup_reads(struct harness *h)
{
    read_calls = 0;
    h->on_read = count_reads;
    h_reach_established_passive(h);
}

/* The peer's super-segment of len pattern bytes (from offset off) at seq, as the kernel's TSO
 * makes it: one header, gso_size H_MSS. Returns tt_engine_input_super()'s answer. */
static int send_super_opts(struct harness *h, uint8_t flags, uint32_t seq, size_t off, size_t len,
                           const struct tcp_opts *opts, bool vouched)
{
    static uint8_t data[SEGS * H_MSS + 100];
    uint8_t *buf = super_buf;
    const tt_rx_info_t rx = {.gso_size = H_MSS, .csum_known = vouched};
    struct seg s;
    size_t n;

    assert_true(len <= sizeof(data));
    h_pattern_fill(data, off, len);
    h_peer_seg(h, &s, flags, seq, ISS + 1, opts, data, len);
    n = tt_tcp_build(buf, sizeof(super_buf), &s, h->ip_id++);
    assert_true(n > 0);
    return tt_engine_input_super(h->eng, buf, n, &rx, h->now);
}

static int send_super(struct harness *h, uint8_t flags, uint32_t seq, size_t off, size_t len)
{
    return send_super_opts(h, flags, seq, off, len, NULL, true);
}

/*
 * In order on an ESTABLISHED connection: taken whole, one read callback
 * with all the bytes and one ACK (as a batch of its segments would give,
 * test_batch.c), and IpInReceives and TcpInSegs count its four wire
 * segments (contract §3.8 item 5).
 */
static void in_order_super_segment_is_taken_whole(void **state)
{
    struct harness *h = *state;
    tt_stats_t before;

    setup_reads(h);
    before = h_stats(h);
    assert_int_equal(send_super(h, TCP_ACK | TCP_PSH, IRS + 1, 0, SEGS * H_MSS), 0);
    assert_int_equal(read_calls, 1);
    assert_int_equal(h->rx_len, SEGS * H_MSS);
    for (size_t i = 0; i < h->rx_len; i++)
        assert_int_equal(h->rx[i], h_pattern(i));
    h_expect(h, TCP_ACK, ISS + 1, IRS + 1 + SEGS * H_MSS);
    h_expect_nothing(h);
    assert_int_equal(h_stats(h).TcpInSegs - before.TcpInSegs, SEGS);
    assert_int_equal(h_stats(h).IpInReceives - before.IpInReceives, SEGS);
    /* the last segment shorter: still counted as one */
    assert_int_equal(send_super(h, TCP_ACK, IRS + 1 + SEGS * H_MSS, SEGS * H_MSS, H_MSS + 7), 0);
    assert_int_equal(h_stats(h).TcpInSegs - before.TcpInSegs, SEGS + 2);
    h_expect(h, TCP_ACK, ISS + 1, IRS + 1 + (SEGS + 1) * H_MSS + 7);
}

/*
 * The read callback is handed the payload where it lies in the datagram:
 * the callback runs before tt_engine_input_super() returns, while the
 * caller's datagram is still as it was, so the bytes need no staging copy.
 */
static void the_reader_gets_the_bytes_where_they_lie(void **state)
{
    struct harness *h = *state;

    setup_reads(h);
    assert_int_equal(send_super(h, TCP_ACK | TCP_PSH, IRS + 1, 0, SEGS * H_MSS), 0);
    assert_int_equal(read_calls, 1);
    assert_ptr_equal(read_at, super_buf + IPV4_HDR_LEN + TCP_HDR_LEN);
    h_expect(h, TCP_ACK, ISS + 1, IRS + 1 + SEGS * H_MSS);
}

static uint8_t got[2 * H_MSS];
static size_t got_len;

static void grab(tt_conn_t *c, const uint8_t *buf, ssize_t nread)
{
    (void)c;
    if (nread <= 0)
        return;
    assert_true(got_len + (size_t)nread <= sizeof(got));
    memcpy(got + got_len, buf, (size_t)nread);
    got_len += (size_t)nread;
}

/*
 * A reader that is not reading: the bytes wait in the receive buffer, a
 * copy, so the caller may reuse its datagram at once; they are read intact
 * later.
 */
static void bytes_not_read_now_outlive_the_datagram(void **state)
{
    struct harness *h = *state;

    setup_reads(h);
    assert_int_equal(tt_conn_read_stop(h->conn), 0);
    assert_int_equal(send_super(h, TCP_ACK, IRS + 1, 0, 2 * H_MSS), 0);
    h_expect(h, TCP_ACK, ISS + 1, IRS + 1 + 2 * H_MSS);
    assert_int_equal(read_calls, 0);
    memset(super_buf, 0xee, sizeof(super_buf)); /* the caller's next read */
    got_len = 0;
    assert_int_equal(tt_conn_read_start(h->conn, grab), 0);
    assert_int_equal(got_len, 2 * H_MSS);
    for (size_t i = 0; i < got_len; i++)
        assert_int_equal(got[i], h_pattern(i));
}

/* Left untouched, nothing counted nor sent: the caller cuts it into wire segments. */
static void expect_left(struct harness *h, int rc, const tt_stats_t *before)
{
    assert_int_equal(rc, -EAGAIN);
    assert_int_equal(h_stats(h).TcpInSegs, before->TcpInSegs);
    assert_int_equal(h_stats(h).IpInReceives, before->IpInReceives);
    assert_int_equal(h->rx_len, 0);
    h_expect_nothing(h);
}

/*
 * Out of order (a hole before it), with a FIN, URG or RST, or not vouched
 * for by the device: every wire segment must meet the rules on its own
 * (reassembly, the FIN on the last segment alone, the checksum), so the
 * engine leaves it.
 */
static void anything_odd_is_left_to_be_cut(void **state)
{
    struct harness *h = *state;
    tt_stats_t before;

    setup_reads(h);
    before = h_stats(h);
    expect_left(h, send_super(h, TCP_ACK, IRS + 1 + H_MSS, 0, SEGS * H_MSS), &before);
    expect_left(h, send_super(h, TCP_ACK | TCP_FIN, IRS + 1, 0, SEGS * H_MSS), &before);
    expect_left(h, send_super(h, TCP_ACK | TCP_URG, IRS + 1, 0, SEGS * H_MSS), &before);
    expect_left(h, send_super(h, TCP_ACK | TCP_CWR, IRS + 1, 0, SEGS * H_MSS), &before);
    expect_left(h, send_super_opts(h, TCP_ACK, IRS + 1, 0, SEGS * H_MSS, NULL, false), &before);
    /* one segment's worth is a wire segment already */
    expect_left(h, send_super(h, TCP_ACK, IRS + 1, 0, H_MSS), &before);
}

/* With a hole in the stream: reassembly must see each segment, so the next in-order one is cut
 * too. */
static void held_out_of_order_data_leaves_it(void **state)
{
    struct harness *h = *state;
    static uint8_t d[H_MSS];
    tt_stats_t before;

    setup_reads(h);
    h_pattern_fill(d, 2 * H_MSS, H_MSS);
    h_send(h, TCP_ACK, IRS + 1 + 2 * H_MSS, ISS + 1, d, H_MSS); /* held out of order */
    h_expect(h, TCP_ACK, ISS + 1, IRS + 1);                     /* the duplicate ACK */
    before = h_stats(h);
    expect_left(h, send_super(h, TCP_ACK, IRS + 1, 0, 2 * H_MSS), &before);
}

/* SACK blocks (RFC 2018) go to the scoreboard per segment in Linux's order: cut. */
static void sack_blocks_leave_it(void **state)
{
    struct harness *h = *state;
    struct tcp_opts o;
    tt_stats_t before;

    h->cfg.tcp_sack = 1;
    h_reinit(h);
    h_reach_established_sack(h, 10000);
    h->on_read = count_reads;
    memset(&o, 0, sizeof(o));
    o.sack_count = 1;
    o.sack[0].left = ISS + 1000;
    o.sack[0].right = ISS + 2000;
    before = h_stats(h);
    expect_left(h, send_super_opts(h, TCP_ACK, IRS + 1, 0, SEGS * H_MSS, &o, true), &before);
}

/* Beyond the window we offer, or more than the application has room for: cut, so that what fits
 * is taken and the rest dropped as for wire segments (RFC 9293 3.10.7.4). */
static void more_than_the_window_leaves_it(void **state)
{
    struct harness *h = *state;
    tt_stats_t before;

    h->cfg.rcvbuf = 2 * H_MSS;
    h_reinit(h);
    setup_reads(h);
    before = h_stats(h);
    expect_left(h, send_super(h, TCP_ACK, IRS + 1, 0, SEGS * H_MSS), &before);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(in_order_super_segment_is_taken_whole, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(the_reader_gets_the_bytes_where_they_lie, h_setup,
                                        h_teardown),
        cmocka_unit_test_setup_teardown(bytes_not_read_now_outlive_the_datagram, h_setup,
                                        h_teardown),
        cmocka_unit_test_setup_teardown(anything_odd_is_left_to_be_cut, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(held_out_of_order_data_leaves_it, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(sack_blocks_leave_it, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(more_than_the_window_leaves_it, h_setup, h_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
