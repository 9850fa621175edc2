/*
 * Unit tests for stack/engine/seq.h: comparisons of sequence numbers modulo 2^32
 * (RFC 9293 3.4). Every helper is checked far from the wrap, across it (just
 * below 2^32 against just above 0), at equality, and at the largest distance
 * for which order is defined (2^31 - 1).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

/* cmocka hands every test a state pointer these tests do not use. */
#pragma GCC diagnostic ignored "-Wunused-parameter"

#include "seq.h"

#define NEAR_TOP 0xfffffff0u  /* 16 before the wrap */
#define PAST_WRAP 0x00000010u /* 16 after it: 32 ahead of NEAR_TOP */
#define HALF 0x7fffffffu      /* the farthest b may be ahead of a and still compare */

static void seq_lt_holds_across_wrap(void **state)
{
    assert_true(seq_lt(1, 2));
    assert_false(seq_lt(2, 1));
    assert_true(seq_lt(NEAR_TOP, PAST_WRAP));
    assert_false(seq_lt(PAST_WRAP, NEAR_TOP));
    assert_true(seq_lt(0xffffffffu, 0));
    assert_false(seq_lt(7, 7));
    assert_true(seq_lt(NEAR_TOP, NEAR_TOP + HALF));
    assert_false(seq_lt(NEAR_TOP + HALF, NEAR_TOP));
}

static void seq_leq_holds_across_wrap(void **state)
{
    assert_true(seq_leq(7, 7));
    assert_true(seq_leq(0xffffffffu, 0xffffffffu));
    assert_true(seq_leq(NEAR_TOP, PAST_WRAP));
    assert_false(seq_leq(PAST_WRAP, NEAR_TOP));
    assert_true(seq_leq(0xffffffffu, 0));
    assert_false(seq_leq(0, 0xffffffffu));
}

static void seq_gt_holds_across_wrap(void **state)
{
    assert_true(seq_gt(2, 1));
    assert_false(seq_gt(1, 2));
    assert_true(seq_gt(PAST_WRAP, NEAR_TOP));
    assert_false(seq_gt(NEAR_TOP, PAST_WRAP));
    assert_true(seq_gt(0, 0xffffffffu));
    assert_false(seq_gt(7, 7));
    assert_true(seq_gt(PAST_WRAP + HALF, PAST_WRAP));
}

static void seq_geq_holds_across_wrap(void **state)
{
    assert_true(seq_geq(7, 7));
    assert_true(seq_geq(0, 0));
    assert_true(seq_geq(PAST_WRAP, NEAR_TOP));
    assert_false(seq_geq(NEAR_TOP, PAST_WRAP));
    assert_true(seq_geq(0, 0xffffffffu));
    assert_false(seq_geq(0xffffffffu, 0));
}

/* seq_in is half-open: lo is inside, hi is not, across the wrap too. */
static void seq_in_is_half_open_across_wrap(void **state)
{
    assert_true(seq_in(NEAR_TOP, NEAR_TOP, PAST_WRAP));
    assert_true(seq_in(0xffffffffu, NEAR_TOP, PAST_WRAP));
    assert_true(seq_in(0, NEAR_TOP, PAST_WRAP));
    assert_true(seq_in(PAST_WRAP - 1, NEAR_TOP, PAST_WRAP));
    assert_false(seq_in(PAST_WRAP, NEAR_TOP, PAST_WRAP));
    assert_false(seq_in(NEAR_TOP - 1, NEAR_TOP, PAST_WRAP));
    assert_false(seq_in(0x80000000u, NEAR_TOP, PAST_WRAP));
}

/* An empty window (lo == hi) holds nothing, wherever it sits. */
static void seq_in_empty_window_holds_nothing(void **state)
{
    assert_false(seq_in(5, 5, 5));
    assert_false(seq_in(0, 0, 0));
    assert_false(seq_in(0xffffffffu, 0xffffffffu, 0xffffffffu));
    assert_false(seq_in(6, 5, 5));
}

static void seq_max_picks_later_across_wrap(void **state)
{
    assert_int_equal(seq_max(1, 2), 2);
    assert_int_equal(seq_max(NEAR_TOP, PAST_WRAP), PAST_WRAP);
    assert_int_equal(seq_max(PAST_WRAP, NEAR_TOP), PAST_WRAP);
    assert_int_equal(seq_max(0xffffffffu, 0), 0);
    assert_int_equal(seq_max(9, 9), 9);
}

static void seq_min_picks_earlier_across_wrap(void **state)
{
    assert_int_equal(seq_min(1, 2), 1);
    assert_int_equal(seq_min(NEAR_TOP, PAST_WRAP), NEAR_TOP);
    assert_int_equal(seq_min(PAST_WRAP, NEAR_TOP), NEAR_TOP);
    assert_int_equal(seq_min(0xffffffffu, 0), 0xffffffffu);
    assert_int_equal(seq_min(9, 9), 9);
}

/* Walking a window across the wrap one step at a time never flips the order. */
static void order_is_stable_while_stepping_over_wrap(void **state)
{
    for (uint32_t a = NEAR_TOP; a != PAST_WRAP; a++) {
        uint32_t b = a + 1000;
        assert_true(seq_lt(a, b));
        assert_true(seq_gt(b, a));
        assert_true(seq_in(a + 999, a, b));
        assert_false(seq_in(b, a, b));
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(seq_lt_holds_across_wrap),
        cmocka_unit_test(seq_leq_holds_across_wrap),
        cmocka_unit_test(seq_gt_holds_across_wrap),
        cmocka_unit_test(seq_geq_holds_across_wrap),
        cmocka_unit_test(seq_in_is_half_open_across_wrap),
        cmocka_unit_test(seq_in_empty_window_holds_nothing),
        cmocka_unit_test(seq_max_picks_later_across_wrap),
        cmocka_unit_test(seq_min_picks_earlier_across_wrap),
        cmocka_unit_test(order_is_stable_while_stepping_over_wrap),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
