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
    h->cfg.tcp_sack = 1;
    h_reinit(h);
    h_listen(h, H_LISTEN_PORT);
    h->lport = H_LISTEN_PORT;
    h->rport = H_PEER_PORT;
    struct tcp_opts o = {.mss_ok = true, .mss = H_MSS, .sack_ok = true};
    h_send_opts(h, TCP_SYN, IRS, 0, &o, NULL, 0);
    const struct h_seg *sa = h_expect_synack(h);
    assert_true(sa->seg.opt.sack_ok);
    h_send(h, TCP_ACK, IRS + 1, ISS + 1, NULL, 0);
    h_expect_nothing(h);
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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(out_of_order_segment_reported_in_sack_block, h_setup,
                                        h_teardown),
        cmocka_unit_test_setup_teardown(sack_blocks_merge_runs_newest_first, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(filled_hole_ends_sack_blocks, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(no_sack_blocks_without_agreement, h_setup, h_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
