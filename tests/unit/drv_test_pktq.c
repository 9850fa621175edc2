/*
 * stack/driver/pktq.c: the delay pool (earliest first, equal times in arrival
 * order). The ring of what waits for the device is tested in drv_test_pump.c.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "pktq.h"

static void delays_come_out_earliest_first(void **state)
{
    struct delayq q;
    const uint8_t *p;
    size_t len;
    uint8_t dir;
    int idx;

    assert_int_equal(tt_delayq_init(&q, 4, 64), 0);
    assert_true(tt_delayq_next(&q) == UINT64_MAX);
    assert_true(tt_delayq_add(&q, 300, 1, (uint8_t[]){'c'}, 1));
    assert_true(tt_delayq_add(&q, 100, 0, (uint8_t[]){'a'}, 1));
    assert_true(tt_delayq_add(&q, 200, 0, (uint8_t[]){'b'}, 1));
    assert_true(tt_delayq_add(&q, 200, 1, (uint8_t[]){'B'}, 1));
    assert_false(tt_delayq_add(&q, 50, 0, (uint8_t[]){'x'}, 1)); /* full */
    assert_int_equal(tt_delayq_next(&q), 100);
    assert_int_equal(tt_delayq_take(&q, 99, &p, &len, &dir), -1); /* not due: never early */
    idx = tt_delayq_take(&q, 100, &p, &len, &dir);
    assert_true(idx >= 0);
    assert_int_equal(p[0], 'a');
    assert_int_equal(dir, 0);
    assert_true(tt_delayq_add(&q, 1000, 0, (uint8_t[]){'y'}, 1) == false); /* 'a' still held */
    tt_delayq_release(&q, idx);
    idx = tt_delayq_take(&q, 250, &p, &len, &dir);
    assert_int_equal(p[0], 'b'); /* same due time: order of arrival */
    tt_delayq_release(&q, idx);
    idx = tt_delayq_take(&q, 250, &p, &len, &dir);
    assert_int_equal(p[0], 'B');
    assert_int_equal(dir, 1);
    tt_delayq_release(&q, idx);
    assert_int_equal(tt_delayq_take(&q, 250, &p, &len, &dir), -1);
    assert_int_equal(tt_delayq_next(&q), 300);
    tt_delayq_free(&q);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(delays_come_out_earliest_first),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
