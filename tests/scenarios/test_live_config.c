/*
 * Scenarios: knobs changed on a running engine with tt_engine_config_update()
 * (docs/contract.md §10.4), what `tuntcp-ctl sysctl -w` does. A new MSL
 * re-times the TIME_WAIT entries that exist, to the microsecond; a new
 * tcp_rfc1337 applies to an entry made before the change; a lowered
 * tcp_max_tw_buckets leaves the entries that exist alone; a new
 * tcp_fin_timeout leaves an orphan already in FIN_WAIT_2 on its old deadline.
 */
#include "harness.h"

#include <errno.h>
#include <string.h>

static void advance_to(struct harness *h, uint64_t t)
{
    assert_true(t >= h->now);
    h_advance(h, t - h->now);
}

static void update(struct harness *h, void (*change)(tt_config_t *cfg, uint64_t v), uint64_t v)
{
    tt_config_t cfg = *tt_engine_config(h->eng);

    change(&cfg, v);
    assert_int_equal(tt_engine_config_update(h->eng, &cfg), 0);
}

static void set_msl(tt_config_t *cfg, uint64_t v)
{
    cfg->msl_us = v;
}

static void set_rfc1337(tt_config_t *cfg, uint64_t v)
{
    cfg->tcp_rfc1337 = (int)v;
}

static void set_buckets(tt_config_t *cfg, uint64_t v)
{
    cfg->tcp_max_tw_buckets = (uint32_t)v;
}

static void set_fin_timeout(tt_config_t *cfg, uint64_t v)
{
    cfg->fin_timeout_us = v;
}

/* Still in TIME_WAIT at `at` - 1 µs, CLOSED why "timewait_expired" at `at`. */
static void expect_expiry_at(struct harness *h, uint64_t at)
{
    advance_to(h, at - 1);
    assert_int_equal(tt_engine_timewait_count(h->eng), 1);
    assert_int_equal(tt_engine_next_deadline(h->eng), at);
    h_advance(h, 1);
    h_expect_nothing(h);
    assert_int_equal(tt_engine_timewait_count(h->eng), 0);
    h_expect_closed(h, TT_WHY_TIMEWAIT_EXPIRED, at);
}

/* MSL 1 s -> 700 ms, 500 ms into TIME_WAIT: the entry ends 1.4 s after it began. */
static void lower_msl_shortens_existing_entry(void **state)
{
    struct harness *h = *state;

    h_reach_time_wait(h);
    h_advance(h, 500 * MS);
    update(h, set_msl, 700 * MS);
    expect_expiry_at(h, h->tw_start + 1400 * MS);
}

/* MSL 1 s -> 200 ms, 500 ms into TIME_WAIT: its new deadline has passed; it ends at the
 * next timer run, which the engine asks for at once. */
static void lower_msl_past_deadline_ends_entry_at_next_timers(void **state)
{
    struct harness *h = *state;

    h_reach_time_wait(h);
    h_advance(h, 500 * MS);
    update(h, set_msl, 200 * MS);
    assert_int_equal(tt_engine_next_deadline(h->eng), h->tw_start + 400 * MS);
    uint64_t due = h->now; /* an overdue timer runs at the first chance: now */
    h_advance(h, 1);
    assert_int_equal(tt_engine_timewait_count(h->eng), 0);
    h_expect_closed(h, TT_WHY_TIMEWAIT_EXPIRED, due);
}

/* MSL 1 s -> 3 s, 1 s into TIME_WAIT: 6 s in all. (Entries made after a change live
 * the new 2*MSL: tt_timewait_enter reads it, interop test_ctl.py checks it.) */
static void raise_msl_extends_existing_entry(void **state)
{
    struct harness *h = *state;

    h_reach_time_wait(h);
    h_advance(h, SEC);
    update(h, set_msl, 3 * SEC);
    expect_expiry_at(h, h->tw_start + 6 * SEC);
}

/* tcp_rfc1337 0 -> 1 with an entry made before: an in-window RST at RCV.NXT is ignored. */
static void rfc1337_applies_to_existing_entry(void **state)
{
    struct harness *h = *state;

    h_reach_time_wait(h);
    update(h, set_rfc1337, 1);
    h_advance(h, 200 * MS);
    h_send(h, TCP_RST, IRS + 2, 0, NULL, 0);
    h_expect_nothing(h);
    assert_int_equal(tt_engine_timewait_count(h->eng), 1);
    update(h, set_rfc1337, 0); /* and back: the next RST ends it */
    h_send(h, TCP_RST, IRS + 2, 0, NULL, 0);
    assert_int_equal(tt_engine_timewait_count(h->eng), 0);
    h_expect_closed(h, TT_WHY_TIMEWAIT_RST, h->now);
}

/* tcp_max_tw_buckets lowered to 0 below the live count (1): as Linux, the entry stays
 * its full 2*MSL; only entries to come are refused. */
static void lowered_buckets_keep_existing_entry(void **state)
{
    struct harness *h = *state;

    h_reach_time_wait(h);
    update(h, set_buckets, 0);
    assert_int_equal(h_stats(h).TcpExtTCPTimeWaitOverflow, 0);
    expect_expiry_at(h, h->tw_start + 2 * SEC);
}

/* tcp_fin_timeout changed while an orphan waits in FIN_WAIT_2: it keeps the deadline it
 * was given on entry, 60 s (as Linux: the timer is armed then), however the value moves. */
static void fin_timeout_change_leaves_waiting_orphan(void **state)
{
    struct harness *h = *state;
    uint64_t entered;

    h_reach_fin_wait_1(h, H_ORPHAN);
    h_advance(h, 100 * MS);
    h_send(h, TCP_ACK, IRS + 1, ISS + 2, NULL, 0);
    entered = h->now;
    update(h, set_fin_timeout, 1 * SEC);
    advance_to(h, entered + 60 * SEC - 1);
    assert_int_equal(h_conn_state(h), TT_STATE_FIN_WAIT_2);
    update(h, set_fin_timeout, 100 * SEC);
    h_advance(h, 1);
    assert_int_equal(h_conn_state(h), TT_STATE_CLOSED);
    h_expect_closed(h, TT_WHY_FIN_TIMEOUT, entered + 60 * SEC);
}

/* A value out of range is refused whole and changes nothing: each knob is
 * checked on its own (an unknown congestion control used to pass unless
 * tcp_early_retrans was out of range too). */
static void out_of_range_knobs_refused(void **state)
{
    struct harness *h = *state;
    const tt_config_t before = *tt_engine_config(h->eng);
    tt_config_t cfg = before;

    cfg.tcp_congestion_control = 99;
    assert_int_equal(tt_engine_config_update(h->eng, &cfg), -EINVAL);
    cfg = before;
    cfg.tcp_early_retrans = 5;
    assert_int_equal(tt_engine_config_update(h->eng, &cfg), -EINVAL);
    cfg = before;
    cfg.tcp_recovery = 8;
    assert_int_equal(tt_engine_config_update(h->eng, &cfg), -EINVAL);
    assert_memory_equal(tt_engine_config(h->eng), &before, sizeof(before));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(lower_msl_shortens_existing_entry, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(lower_msl_past_deadline_ends_entry_at_next_timers, h_setup,
                                        h_teardown),
        cmocka_unit_test_setup_teardown(raise_msl_extends_existing_entry, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(rfc1337_applies_to_existing_entry, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(lowered_buckets_keep_existing_entry, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(out_of_range_knobs_refused, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(fin_timeout_change_leaves_waiting_orphan, h_setup,
                                        h_teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
