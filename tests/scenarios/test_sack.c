/*
 * SACK (RFC 2018): with SACK-permitted agreed in the handshake, every ACK
 * sent while out-of-order data is held carries SACK blocks: maximal runs of
 * the reassembly queue, the run holding the newest segment first (RFC 2018
 * 4). Without the agreement, no block is ever sent.
 */
#include <string.h>

#include "harness.h"

/* Passive open where both sides offer SACK-permitted (no timestamps). */
static void reach_established_with_sack(struct harness *h)
{
    h_reach_established_sack(h, 0);
}

static void expect_block(const struct h_seg *s, int i, uint32_t left, uint32_t right)
{
    assert_true(s->seg.opt.sack_count > i);
    assert_int_equal(s->seg.opt.sack[i].left, left);
    assert_int_equal(s->seg.opt.sack[i].right, right);
}

/* RFC 2018 4: a segment past a hole is acknowledged at once with RCV.NXT
 * and a block that covers it. */
static void out_of_order_segment_reported_in_sack_block(void **state)
{
    struct harness *h = *state;
    reach_established_with_sack(h);
    h_send(h, TCP_ACK, IRS + 101, ISS + 1, "0123456789", 10);
    const struct h_seg *a = h_expect(h, TCP_ACK, ISS + 1, IRS + 1);
    assert_int_equal(a->seg.opt.sack_count, 1);
    expect_block(a, 0, IRS + 101, IRS + 111);
}

/* Adjacent segments merge into one block; the newest run comes first. */
static void sack_blocks_merge_runs_newest_first(void **state)
{
    struct harness *h = *state;
    reach_established_with_sack(h);
    h_send(h, TCP_ACK, IRS + 101, ISS + 1, "aaaaaaaaaa", 10);
    h_expect(h, TCP_ACK, ISS + 1, IRS + 1);
    h_send(h, TCP_ACK, IRS + 111, ISS + 1, "bbbbbbbbbb", 10);
    const struct h_seg *a = h_expect(h, TCP_ACK, ISS + 1, IRS + 1);
    assert_int_equal(a->seg.opt.sack_count, 1);
    expect_block(a, 0, IRS + 101, IRS + 121);
    h_send(h, TCP_ACK, IRS + 201, ISS + 1, "cccccccccc", 10);
    a = h_expect(h, TCP_ACK, ISS + 1, IRS + 1);
    assert_int_equal(a->seg.opt.sack_count, 2);
    expect_block(a, 0, IRS + 201, IRS + 211);
    expect_block(a, 1, IRS + 101, IRS + 121);
}

/* When the hole fills, the cumulative ACK covers everything and no block remains. */
static void filled_hole_ends_sack_blocks(void **state)
{
    struct harness *h = *state;
    reach_established_with_sack(h);
    char hole[100];
    memset(hole, 'h', sizeof(hole));
    h_send(h, TCP_ACK, IRS + 101, ISS + 1, "0123456789", 10);
    h_expect(h, TCP_ACK, ISS + 1, IRS + 1);
    h_send(h, TCP_ACK, IRS + 1, ISS + 1, hole, sizeof(hole));
    const struct h_seg *a = h_expect(h, TCP_ACK, ISS + 1, IRS + 111);
    assert_int_equal(a->seg.opt.sack_count, 0);
    assert_int_equal(h->rx_len, 110);
}

/* RFC 2018 2: no SACK-permitted from the peer, no SACK blocks from us. */
static void no_sack_blocks_without_agreement(void **state)
{
    struct harness *h = *state;
    h->cfg.tcp_sack = 1;
    h_reinit(h);
    h_reach_established_passive(h); /* the peer's SYN offers MSS only */
    h_send(h, TCP_ACK, IRS + 101, ISS + 1, "0123456789", 10);
    const struct h_seg *a = h_expect(h, TCP_ACK, ISS + 1, IRS + 1);
    assert_int_equal(a->seg.opt.sack_count, 0);
}

/* Linux tcp_current_mss: SACK blocks ride on data segments too, so a data
 * segment carries that much less payload and never outgrows the MTU. */
static void data_segment_leaves_room_for_sack_blocks(void **state)
{
    struct harness *h = *state;
    reach_established_with_sack(h);
    for (uint32_t k = 0; k < 4; k++) { /* four separate runs held */
        h_send(h, TCP_ACK, IRS + 101 + 20 * k, ISS + 1, "0123456789", 10);
        h_expect(h, TCP_ACK, ISS + 1, IRS + 1);
    }
    h_write_pattern(h, 0, H_MSS);
    const struct h_seg *d = h_expect_len(h, TCP_ACK, ISS + 1, IRS + 1, H_MSS - 36);
    assert_int_equal(d->seg.opt.sack_count, 4);
    assert_true(d->len <= 1500);
    h_expect_len(h, TCP_ACK, ISS + 1 + H_MSS - 36, IRS + 1, 36);
}

/* A dupack from the peer: ACK of `ack` with the given SACK blocks. */
static void dupack_with_sack(struct harness *h, uint32_t ack, const struct tcp_sack_block *b, int n)
{
    struct tcp_opts o = {.sack_count = (uint8_t)n};
    for (int i = 0; i < n; i++)
        o.sack[i] = b[i];
    h_send_opts(h, TCP_ACK, IRS + 1, ack, &o, NULL, 0);
}

#define SEG(k) (ISS + 1 + (uint32_t)(k)*H_MSS) /* start of our k-th segment, from 0 */

/*
 * RFC 2018 with RFC 6675 4's hole search: segments 1 and 4 of ten are
 * lost. The third duplicate ACK retransmits the first hole (NewReno,
 * RFC 6582); the next one, whose SACK blocks show the second hole, sends
 * that hole at once instead of a round trip later. The partial ACK that
 * follows does not resend what was already resent. RACK is off
 * (tcp_recovery 0): with the harness's RTT of 0 its reordering window is
 * 0 and the first SACK would already mark segment 1 lost (test_rack.c).
 */
static void sack_recovery_repairs_two_holes_in_one_round_trip(void **state)
{
    struct harness *h = *state;
    h->cfg.tcp_recovery = 0;
    reach_established_with_sack(h);
    h_write_pattern(h, 0, 10 * H_MSS);
    for (int k = 0; k < 10; k++)
        h_expect_len(h, TCP_ACK, SEG(k), IRS + 1, H_MSS);
    h_send(h, TCP_ACK, IRS + 1, SEG(1), NULL, 0); /* segment 0 arrived */
    struct tcp_sack_block b1[] = {{SEG(2), SEG(3)}};
    dupack_with_sack(h, SEG(1), b1, 1);
    struct tcp_sack_block b2[] = {{SEG(2), SEG(4)}};
    dupack_with_sack(h, SEG(1), b2, 1);
    h_expect_nothing(h);
    struct tcp_sack_block b3[] = {{SEG(5), SEG(6)}, {SEG(2), SEG(4)}};
    dupack_with_sack(h, SEG(1), b3, 2);
    h_expect_len(h, TCP_ACK, SEG(1), IRS + 1, H_MSS); /* fast retransmit: first hole */
    struct tcp_sack_block b4[] = {{SEG(5), SEG(7)}, {SEG(2), SEG(4)}};
    dupack_with_sack(h, SEG(1), b4, 2);
    h_expect_len(h, TCP_ACK, SEG(4), IRS + 1, H_MSS); /* the second hole, at once */
    struct tcp_sack_block b5[] = {{SEG(5), SEG(8)}};
    dupack_with_sack(h, SEG(4), b5, 1); /* partial ACK: segment 1 arrived */
    h_expect_nothing(h);
    h_send(h, TCP_ACK, IRS + 1, SEG(10), NULL, 0); /* segment 4 arrived: all acked */
    h_expect_nothing(h);
    assert_int_equal(h_stats(h).TcpRetransSegs, 2);
}

/* Without SACK-permitted, SACK blocks in the peer's ACKs are not trusted:
 * NewReno sends only the first hole and waits for the partial ACK. */
static void sack_blocks_ignored_without_agreement(void **state)
{
    struct harness *h = *state;
    h_reach_established_passive(h);
    h_write_pattern(h, 0, 10 * H_MSS);
    for (int k = 0; k < 10; k++)
        h_expect_len(h, TCP_ACK, SEG(k), IRS + 1, H_MSS);
    h_send(h, TCP_ACK, IRS + 1, SEG(1), NULL, 0);
    struct tcp_sack_block b[] = {{SEG(5), SEG(7)}, {SEG(2), SEG(4)}};
    dupack_with_sack(h, SEG(1), b, 2);
    dupack_with_sack(h, SEG(1), b, 2);
    dupack_with_sack(h, SEG(1), b, 2);
    h_expect_len(h, TCP_ACK, SEG(1), IRS + 1, H_MSS);
    dupack_with_sack(h, SEG(1), b, 2);
    h_expect_nothing(h);
    h_send(h, TCP_ACK, IRS + 1, SEG(4), NULL, 0); /* partial ACK: NewReno resends the head */
    h_expect_len(h, TCP_ACK, SEG(4), IRS + 1, H_MSS);
    h_send(h, TCP_ACK, IRS + 1, SEG(10), NULL, 0);
    h_expect_nothing(h);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(out_of_order_segment_reported_in_sack_block, h_setup,
                                        h_teardown),
        cmocka_unit_test_setup_teardown(sack_blocks_merge_runs_newest_first, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(filled_hole_ends_sack_blocks, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(no_sack_blocks_without_agreement, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(data_segment_leaves_room_for_sack_blocks, h_setup,
                                        h_teardown),
        cmocka_unit_test_setup_teardown(sack_recovery_repairs_two_holes_in_one_round_trip, h_setup,
                                        h_teardown),
        cmocka_unit_test_setup_teardown(sack_blocks_ignored_without_agreement, h_setup, h_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
