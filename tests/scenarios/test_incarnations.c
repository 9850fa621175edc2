/*
 * Scenarios: a new incarnation of a 4-tuple starts beyond the old one, by
 * its ISN and by its timestamps, as Linux's would (docs/contract.md §2.4
 * items 8 and 9). A peer still in TIME_WAIT accepts a SYN whose sequence
 * number or TSval is newer than the old connection's (RFC 6191); with
 * Linux's clocks both are newer after any realistic transfer, so a client
 * reopening a 4-tuple is answered with a SYN-ACK, not an ACK.
 */
#include "harness.h"

#include <string.h>

#define ONE_PORT 40000

static void one_port(struct harness *h, int timestamps)
{
    h->cfg.port_lo = h->cfg.port_hi = ONE_PORT;
    h->cfg.tcp_timestamps = timestamps;
    h_reinit(h);
}

/* Opens toward the service port and lets the peer refuse it: the 4-tuple
 * is free again at once (no TIME_WAIT). Returns our SYN. */
static struct h_seg refused_syn(struct harness *h)
{
    h_connect(h, H_SERVICE_PORT);
    struct h_seg syn = *h_expect_syn(h);
    h_send(h, TCP_RST | TCP_ACK, 0, ISS + 1, NULL, 0);
    h_expect_nothing(h);
    return syn;
}

/*
 * RFC 6528 section 3 with Linux's clock (secure_tcp_seq: 64 ns per tick): 300
 * µs after the first SYN, the second SYN of the same 4-tuple is 4687 higher,
 * beyond a 4000-byte transfer made in between. A 4 µs clock moved only 75.
 */
static void isn_clock_ticks_every_64ns(void **state)
{
    struct harness *h = *state;

    one_port(h, 0);
    uint32_t iss1 = refused_syn(h).seg.seq;
    h_advance(h, 300 * US);
    uint32_t iss2 = refused_syn(h).seg.seq;
    assert_int_equal(h->lport, ONE_PORT);
    uint32_t moved = iss2 - iss1;
    assert_in_range(moved, 4687, 4688); /* 300 µs * 15.625 ticks per µs */
    assert_true(seq_gt(iss2, iss1 + 1 + 4000));
}

/*
 * The ISN clock wraps as Linux's: 2^32 ticks of 64 ns, about 274.9 s; a
 * second later it has moved on by a second's worth (15,625,000), not
 * restarted.
 */
static void isn_clock_wraps_after_275s(void **state)
{
    struct harness *h = *state;

    one_port(h, 0);
    uint32_t iss1 = refused_syn(h).seg.seq;
    h_advance(h, 274877907 * US + 1 * SEC); /* one wrap (2^32 * 64 ns) plus 1 s */
    uint32_t iss2 = refused_syn(h).seg.seq;
    assert_in_range(iss2 - iss1, 15625000 - 2, 15625000 + 2);
}

/*
 * RFC 7323 5.4 and 7.1: TSval is a clock plus an offset keyed on the
 * 4-tuple. The clock is the engine's clock (the driver's is the system's
 * monotonic clock), not the engine's age, so an engine started later with
 * the same key goes on from where the first left off, as every process on
 * a Linux host shares one TCP timestamp clock.
 */
static void tsval_continues_across_engines(void **state)
{
    struct harness *h = *state;

    one_port(h, 1);
    struct h_seg first = refused_syn(h);
    assert_true(first.seg.opt.ts_ok);
    h_advance(h, 5 * SEC);
    h_reinit(h); /* a new engine, the same key, 5 s later */
    struct h_seg second = refused_syn(h);
    assert_int_equal(second.seg.opt.ts_val - first.seg.opt.ts_val, 5000);
}

/* The offset hides the clock: two 4-tuples do not share a TSval base. */
static void tsval_offset_differs_per_4tuple(void **state)
{
    struct harness *h = *state;

    one_port(h, 1);
    struct h_seg a = refused_syn(h);
    h_connect(h, H_SERVICE_PORT + 1);
    h->rport = H_SERVICE_PORT + 1;
    struct h_seg b = *h_expect_syn(h);
    h_send(h, TCP_RST | TCP_ACK, 0, ISS + 1, NULL, 0);
    h_expect_nothing(h);
    assert_int_not_equal(a.seg.opt.ts_val, b.seg.opt.ts_val);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(isn_clock_ticks_every_64ns, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(isn_clock_wraps_after_275s, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(tsval_continues_across_engines, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(tsval_offset_differs_per_4tuple, h_setup, h_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
