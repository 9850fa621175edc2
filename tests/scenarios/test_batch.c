/*
 * Scenarios: several datagrams as one engine call (tt_engine_batch_begin()
 * and _end(), docs/contract.md §3.8). With offloads the kernel hands the
 * driver a super-segment that stands for many wire segments, as a NIC's GRO
 * hands Linux's TCP one packet for many. Linux works on a GRO packet as a
 * whole: one ACK for it (__tcp_ack_snd_check(): more than one full segment
 * unacknowledged), and the reader wakes once and finds its whole payload in
 * one read. The driver puts the wire segments of one super-segment in one
 * batch; these tests hold the engine to what Linux does with the GRO packet.
 * The same segments carry a checksum the kernel vouched for
 * (tt_engine_input_rx(), csum_known), and what the engine sends may leave its
 * checksum for the kernel to complete (tt_engine_set_csum_partial()).
 */
#include <string.h>

#include "checksum.h"
#include "harness.h"

#define SEGS 4

static int read_calls;
static bool echo;

/* Counts read callbacks; with echo, writes what it read back at once. */
static void count_reads(struct harness *h, const uint8_t *buf, ssize_t nread)
{
    if (nread <= 0)
        return;
    read_calls++;
    if (echo)
        assert_int_equal(tt_conn_write(h->conn, buf, (size_t)nread), nread);
}

static void setup_reads(struct harness *h, bool echo_back)
{
    read_calls = 0;
    echo = echo_back;
    h->on_read = count_reads;
    h_reach_established_passive(h);
}

/* SEGS full segments of the peer's pattern, in order, in one batch. */
static void peer_sends_batch(struct harness *h)
{
    static uint8_t data[SEGS * H_MSS];

    h_pattern_fill(data, 0, sizeof(data));
    tt_engine_batch_begin(h->eng);
    for (uint32_t i = 0; i < SEGS; i++)
        h_send(h, TCP_ACK, IRS + 1 + i * H_MSS, ISS + 1, data + i * H_MSS, H_MSS);
    tt_engine_batch_end(h->eng);
}

/*
 * One batch of four segments: one read callback with all their bytes, and
 * one ACK for all of them, even with delayed ACKs off (delack 0, the
 * harness's default), as Linux ACKs a GRO packet once.
 */
static void batch_reads_once_acks_once(void **state)
{
    struct harness *h = *state;

    setup_reads(h, false);
    peer_sends_batch(h);
    assert_int_equal(read_calls, 1);
    assert_int_equal(h->rx_len, SEGS * H_MSS);
    for (size_t i = 0; i < h->rx_len; i++)
        assert_int_equal(h->rx[i], h_pattern(i));
    h_expect(h, TCP_ACK, ISS + 1, IRS + 1 + SEGS * H_MSS);
    h_expect_nothing(h);
}

/* The same segments one engine call each: a read callback and an ACK each (delack 0). */
static void separate_calls_read_and_ack_each(void **state)
{
    struct harness *h = *state;

    static uint8_t data[SEGS * H_MSS];

    setup_reads(h, false);
    h_pattern_fill(data, 0, sizeof(data));
    for (uint32_t i = 0; i < SEGS; i++) {
        h_send(h, TCP_ACK, IRS + 1 + i * H_MSS, ISS + 1, data + i * H_MSS, H_MSS);
        h_expect(h, TCP_ACK, ISS + 1, IRS + 1 + (i + 1) * H_MSS);
    }
    assert_int_equal(read_calls, SEGS);
    h_expect_nothing(h);
}

/*
 * An echo written from the read callback of a batch is one write: its
 * segments carry the ACK of the whole batch, and PSH only on the last
 * (Linux tcp_push() marks a write's end; cwnd 10 lets the four go as one
 * GSO packet, test_gso_psh.c). The driver joins such a run into one
 * super-segment for the device (stack/driver/offload.c).
 */
static void batch_echo_is_one_run(void **state)
{
    struct harness *h = *state;

    setup_reads(h, true);
    peer_sends_batch(h);
    assert_int_equal(read_calls, 1);
    for (uint32_t i = 0; i < SEGS; i++) {
        const struct h_seg *s = h_expect_pattern(h, TCP_ACK, ISS + 1 + i * H_MSS,
                                                 IRS + 1 + SEGS * H_MSS, i * H_MSS, H_MSS);
        assert_int_equal((s->seg.flags & TCP_PSH) != 0, i == SEGS - 1);
    }
    h_expect_nothing(h);
}

/* Batches nest: only the outermost end delivers. */
static void nested_batch_ends_at_outermost(void **state)
{
    struct harness *h = *state;

    setup_reads(h, false);
    tt_engine_batch_begin(h->eng);
    peer_sends_batch(h);
    assert_int_equal(read_calls, 0);
    assert_int_equal(h_pending(h), 0);
    tt_engine_batch_end(h->eng);
    assert_int_equal(read_calls, 1);
    h_expect(h, TCP_ACK, ISS + 1, IRS + 1 + SEGS * H_MSS);
    h_expect_nothing(h);
}

/* The peer's data segment "abc" at IRS + 1, its TCP checksum spoiled; the IP header's stays good.
 */
static size_t bad_csum_segment(struct harness *h, uint8_t *buf, size_t cap)
{
    struct seg s;

    memset(&s, 0, sizeof(s));
    s.saddr = H_PEER_ADDR;
    s.daddr = H_ENGINE_ADDR;
    s.sport = h->rport;
    s.dport = h->lport;
    s.seq = IRS + 1;
    s.ack = ISS + 1;
    s.flags = TCP_ACK;
    s.wnd = h->peer_wnd;
    s.data = (const uint8_t *)"abc";
    s.len = 3;
    size_t n = tt_tcp_build(buf, cap, &s, h->ip_id++);
    assert_true(n > IPV4_HDR_LEN + 17);
    buf[IPV4_HDR_LEN + 16] ^= 0x5a;
    return n;
}

/* RFC 9293 3.1: a TCP checksum that does not add up drops the segment. */
static void bad_checksum_dropped(void **state)
{
    struct harness *h = *state;
    uint8_t buf[128];

    setup_reads(h, false);
    size_t n = bad_csum_segment(h, buf, sizeof(buf));
    tt_engine_input(h->eng, buf, n, h->now);
    h_expect_nothing(h);
    assert_int_equal(h->rx_len, 0);
    assert_int_equal(h_stats(h).TcpInCsumErrors, 1);
}

/*
 * The same bytes through tt_engine_input_rx() with csum_known: the device vouched
 * for them (Linux CHECKSUM_UNNECESSARY skips tcp_checksum_complete()), so
 * the checksum field is not summed and the data is taken.
 */
static void checksum_known_not_summed(void **state)
{
    struct harness *h = *state;
    uint8_t buf[128];

    setup_reads(h, false);
    size_t n = bad_csum_segment(h, buf, sizeof(buf));
    const tt_rx_info_t rx = {.csum_known = true};
    tt_engine_input_rx(h->eng, buf, n, &rx, h->now);
    h_expect(h, TCP_ACK, ISS + 1, IRS + 4);
    h_expect_nothing(h);
    assert_int_equal(h->rx_len, 3);
    assert_memory_equal(h->rx, "abc", 3);
    assert_int_equal(h_stats(h).TcpInCsumErrors, 0);
    /* and the next ordinary input is summed again */
    n = bad_csum_segment(h, buf, sizeof(buf));
    tt_engine_input(h->eng, buf, n, h->now);
    assert_int_equal(h_stats(h).TcpInCsumErrors, 1);
}

/*
 * tt_engine_set_csum_partial(): a TCP segment leaves with the
 * pseudo-header's sum alone in its checksum field (Linux CHECKSUM_PARTIAL,
 * for a device with checksum offload), which summing the segment from its
 * TCP header on completes. Off again, the checksum is complete.
 */
static void partial_checksum_is_the_pseudo_header_sum(void **state)
{
    struct harness *h = *state;
    struct ipv4_hdr ip;
    struct seg seg;

    setup_reads(h, false);
    tt_engine_set_csum_partial(h->eng, true);
    assert_int_equal(h_write(h, "xyz", 3), 3);
    assert_int_equal(h_pending(h), 1);
    struct h_seg *out = &h->out[h->out_head++];
    assert_int_equal(tt_ipv4_parse(out->bytes, out->len, &ip), IPV4_OK); /* IP's is complete */
    uint8_t *t = out->bytes + IPV4_HDR_LEN;
    size_t tlen = out->len - IPV4_HDR_LEN;
    uint32_t pseudo = tt_csum_pseudo(H_ENGINE_ADDR, H_PEER_ADDR, IP_PROTO_TCP, (uint16_t)tlen);
    assert_int_equal(t[16] << 8 | t[17], (uint16_t)~tt_csum_fold(pseudo));
    assert_int_equal(tt_tcp_parse(t, tlen, ip.src, ip.dst, &seg), TCP_ERR_CSUM);
    uint16_t done = tt_csum_fold(tt_csum_add(0, t, tlen)); /* what the device writes */
    t[16] = (uint8_t)(done >> 8);
    t[17] = (uint8_t)done;
    assert_int_equal(tt_tcp_parse(t, tlen, ip.src, ip.dst, &seg), TCP_OK);
    assert_int_equal(seg.len, 3);
    assert_memory_equal(seg.data, "xyz", 3);

    tt_engine_set_csum_partial(h->eng, false);
    h_send(h, TCP_ACK, IRS + 1, ISS + 4, NULL, 0);
    assert_int_equal(h_write(h, "uvw", 3), 3);
    h_expect_data(h, TCP_ACK, ISS + 4, IRS + 1, "uvw", 3); /* the harness checks the sum */
    h_expect_nothing(h);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(batch_reads_once_acks_once, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(separate_calls_read_and_ack_each, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(batch_echo_is_one_run, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(nested_batch_ends_at_outermost, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(bad_checksum_dropped, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(checksum_known_not_summed, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(partial_checksum_is_the_pseudo_header_sum, h_setup,
                                        h_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
