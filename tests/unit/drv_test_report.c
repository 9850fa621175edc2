/*
 * stack/report.c: the `ss -tan`-like connection lines of the statistics
 * report, with the time left for TIME_WAIT and FIN_WAIT_2.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "report.h"

static tt_conn_info_t info(tt_state_t st, uint64_t expires_us)
{
    tt_conn_info_t i = {st, 0x0a070002, 0x0a070001, 7, 41234, expires_us, 0, 0};

    return i;
}

static void expect(const tt_conn_info_t *i, uint64_t now, const char *want)
{
    char buf[160];

    report_conn_line(buf, sizeof(buf), i, now);
    assert_string_equal(buf, want);
}

static void timewait_shows_time_left(void **state)
{
    tt_conn_info_t i = info(TT_STATE_TIME_WAIT, 60000000);

    expect(&i, 1500,
           "TIME_WAIT    0      0      10.7.0.2:7            10.7.0.1:41234        "
           "timer:(timewait,59.998s)\n");
    expect(&i, 70000000,
           "TIME_WAIT    0      0      10.7.0.2:7            10.7.0.1:41234        "
           "timer:(timewait,0.000s)\n");
}

static void fin_wait_2_shows_time_left(void **state)
{
    tt_conn_info_t i = info(TT_STATE_FIN_WAIT_2, 61000000);

    expect(&i, 1000000,
           "FIN_WAIT_2   0      0      10.7.0.2:7            10.7.0.1:41234        "
           "timer:(fin_wait_2,60.000s)\n");
    i.expires_us = TT_TIME_NEVER; /* not an orphan: no timer */
    expect(&i, 0, "FIN_WAIT_2   0      0      10.7.0.2:7            10.7.0.1:41234\n");
}

static void other_states_have_no_timer(void **state)
{
    tt_conn_info_t i = info(TT_STATE_ESTABLISHED, 5000000);

    i.recv_q = 12;
    i.send_q = 3400;
    expect(&i, 0, "ESTABLISHED  12     3400   10.7.0.2:7            10.7.0.1:41234\n");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(timewait_shows_time_left),
        cmocka_unit_test(fin_wait_2_shows_time_left),
        cmocka_unit_test(other_states_have_no_timer),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
