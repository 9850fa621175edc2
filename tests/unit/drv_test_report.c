/*
 * stack/driver/report.c: the `ss -tan`-like connection lines of the statistics
 * report, with the time left for TIME_WAIT and FIN_WAIT_2, and the TIME_WAIT
 * gauge's sockstat line between the counters and the listing.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "report.h"

static tt_conn_info_t info(tt_state_t st, uint64_t expires_us)
{
    tt_conn_info_t i = {.state = st,
                        .laddr = 0x0a070002,
                        .raddr = 0x0a070001,
                        .lport = 7,
                        .rport = 41234,
                        .expires_us = expires_us};

    return i;
}

static void expect(const tt_conn_info_t *i, uint64_t now, const char *want)
{
    char buf[256];

    tt_report_conn_line(buf, sizeof(buf), i, now);
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

/* A connection's sender state, in `ss -ti`'s units, before any timer: rto
 * in ms, cwnd and ssthresh in whole segments, no ssthresh before a loss. */
static void sender_state_shown_like_ss_ti(void **state)
{
    tt_conn_info_t i = info(TT_STATE_ESTABLISHED, TT_TIME_NEVER);

    i.mss = 1460;
    i.cwnd = 14600;
    i.ssthresh = UINT32_MAX;
    i.rto_us = 1000000;
    expect(&i, 0,
           "ESTABLISHED  0      0      10.7.0.2:7            10.7.0.1:41234        "
           "rto:1000 mss:1460 cwnd:10\n");
    i.cwnd = 5000; /* 3.4 segments */
    i.ssthresh = 4380;
    i.rto_us = 204000;
    expect(&i, 0,
           "ESTABLISHED  0      0      10.7.0.2:7            10.7.0.1:41234        "
           "rto:204 mss:1460 cwnd:3 ssthresh:3\n");
    i.state = TT_STATE_FIN_WAIT_2;
    i.expires_us = 61000000;
    expect(&i, 1000000,
           "FIN_WAIT_2   0      0      10.7.0.2:7            10.7.0.1:41234        "
           "rto:204 mss:1460 cwnd:3 ssthresh:3 timer:(fin_wait_2,60.000s)\n");
}

static void no_output(void *ctx, const uint8_t *pkt, size_t len)
{
    (void)ctx;
    (void)pkt;
    (void)len;
}

static tt_engine_t *new_engine(void)
{
    tt_config_t cfg;
    tt_engine_t *eng = NULL;

    tt_config_init(&cfg);
    cfg.addr = 0x0a070002;
    assert_int_equal(tt_engine_new(&eng, &cfg, no_output, NULL, 1000), 0);
    return eng;
}

/* Issue 12 item 7: entries and allocated bytes (a fresh table holds its
 * 1024 four-byte buckets), in the words of /proc/net/sockstat. */
static void sockstat_line_shows_timewait_gauge(void **state)
{
    tt_engine_t *eng = new_engine();
    char buf[96];

    (void)state;
    tt_report_sockstat_line(buf, sizeof(buf), eng);
    assert_string_equal(buf, "TCP: tw 0 tw_bytes 4096\n");
    tt_engine_free(eng);
}

/* The gauge comes after the last counter and before the listing's header,
 * where a reader of `Name value` lines (ttinterop.parse_stats) skips it. */
static void report_prints_gauge_between_counters_and_listing(void **state)
{
    tt_engine_t *eng = new_engine();
    struct drv_counters c = {.pcap_records = 3};
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);

    (void)state;
    assert_non_null(f);
    tt_report_print(f, eng, &c, 1000);
    fclose(f);
    assert_non_null(strstr(text, "TtPcapRecords 3\n"));
    assert_non_null(strstr(text, "TtQueueUnowned 0\nTCP: tw 0 tw_bytes 4096\nState "));
    free(text);
    tt_engine_free(eng);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(timewait_shows_time_left),
        cmocka_unit_test(fin_wait_2_shows_time_left),
        cmocka_unit_test(other_states_have_no_timer),
        cmocka_unit_test(sender_state_shown_like_ss_ti),
        cmocka_unit_test(sockstat_line_shows_timewait_gauge),
        cmocka_unit_test(report_prints_gauge_between_counters_and_listing),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
