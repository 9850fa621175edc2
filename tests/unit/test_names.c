/*
 * Names the trace and the statistics print (docs/contract.md §8, §4): state spellings,
 * close reasons, error texts, and the counter table, which must list every
 * counter of tt_stats_t exactly once.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "tuntcp/tuntcp.h"

static void state_names_match_the_trace_spelling(void **state)
{
    (void)state;
    assert_string_equal(tt_state_name(TT_STATE_CLOSED), "CLOSED");
    assert_string_equal(tt_state_name(TT_STATE_SYN_RECEIVED), "SYN_RECEIVED");
    assert_string_equal(tt_state_name(TT_STATE_FIN_WAIT_1), "FIN_WAIT_1");
    assert_string_equal(tt_state_name(TT_STATE_FIN_WAIT_2), "FIN_WAIT_2");
    assert_string_equal(tt_state_name(TT_STATE_TIME_WAIT), "TIME_WAIT");
    assert_string_equal(tt_state_name((tt_state_t)99), "UNKNOWN");
}

static void close_reasons_match_spec_section_4(void **state)
{
    (void)state;
    static const char *const want[] = {
        "last_ack",        "timewait_expired", "timewait_rst", "timewait_syn",
        "timewait_reused", "tw_overflow",      "fin_timeout",  "rst_in",
        "rst_out",         "timeout",          "refused",
    };
    for (int i = 0; i < (int)(sizeof(want) / sizeof(want[0])); i++)
        assert_string_equal(tt_close_reason_name((tt_close_reason_t)(TT_WHY_LAST_ACK + i)),
                            want[i]);
}

static void strerror_covers_eof_and_errno(void **state)
{
    (void)state;
    assert_string_equal(tt_strerror(TT_EOF), "end of file");
    assert_string_equal(tt_strerror(-EADDRNOTAVAIL), "Cannot assign requested address");
    assert_string_equal(tt_strerror(-ECONNRESET), "Connection reset by peer");
}

/* Every uint64_t of tt_stats_t is in the table once, so no counter is
 * silently missing from the statistics the apps print. */
static void stats_table_lists_every_counter_once(void **state)
{
    (void)state;
    size_t n;
    const tt_stat_desc_t *t = tt_stats_table(&n);
    assert_int_equal(n, sizeof(tt_stats_t) / sizeof(uint64_t));
    uint8_t seen[sizeof(tt_stats_t) / sizeof(uint64_t)] = {0};
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(t[i].offset % sizeof(uint64_t), 0);
        assert_true(t[i].offset < sizeof(tt_stats_t));
        assert_int_equal(seen[t[i].offset / sizeof(uint64_t)]++, 0);
        assert_true(strlen(t[i].name) > 0);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(state_names_match_the_trace_spelling),
        cmocka_unit_test(close_reasons_match_spec_section_4),
        cmocka_unit_test(strerror_covers_eof_and_errno),
        cmocka_unit_test(stats_table_lists_every_counter_once),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
