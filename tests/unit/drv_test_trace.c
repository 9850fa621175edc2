/*
 * stack/driver/trace.c: the exact JSON line of docs/contract.md §4 for every event type and
 * every reason a connection reaches CLOSED, the start line, both clocks (`t`
 * and `ts`), and per-line flushing.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "fault.h"
#include "trace.h"

#define START 5000000000ULL            /* the stack's start, in monotonic µs */
#define WALL_START 1733448000000000ULL /* the same moment, Unix µs */

static const struct trace_clock clk = {START, WALL_START};

static tt_event_t ev_at(tt_event_type_t type, uint64_t since_start_us)
{
    tt_event_t ev;

    memset(&ev, 0, sizeof(ev));
    ev.type = type;
    ev.now_us = START + since_start_us;
    ev.laddr = 0x0a070002;
    ev.lport = 7;
    ev.raddr = 0x0a070001;
    ev.rport = 41234;
    ev.expires_us = TT_TIME_NEVER;
    return ev;
}

static void expect_line(const tt_event_t *ev, const char *want)
{
    char buf[TRACE_LINE_MAX];
    size_t n = tt_trace_format(buf, sizeof(buf), ev, &clk);

    assert_int_equal(n, strlen(want));
    assert_string_equal(buf, want);
}

static void state_change(void **state)
{
    tt_event_t ev = ev_at(TT_EV_STATE, 12345);

    ev.from = TT_STATE_ESTABLISHED;
    ev.to = TT_STATE_FIN_WAIT_1;
    expect_line(&ev, "{\"t\":0.012345,\"ts\":1733448000.012345,"
                     "\"ev\":\"state\",\"conn\":\"10.7.0.2:7>10.7.0.1:41234\","
                     "\"from\":\"ESTABLISHED\",\"to\":\"FIN_WAIT_1\"}\n");
}

static void every_state_is_spelled_as_the_spec(void **state)
{
    static const char *const names[] = {"CLOSED",      "LISTEN",     "SYN_SENT",   "SYN_RECEIVED",
                                        "ESTABLISHED", "FIN_WAIT_1", "FIN_WAIT_2", "CLOSE_WAIT",
                                        "CLOSING",     "LAST_ACK",   "TIME_WAIT"};
    char want[TRACE_LINE_MAX];

    for (int s = TT_STATE_LISTEN; s <= TT_STATE_TIME_WAIT; s++) {
        tt_event_t ev = ev_at(TT_EV_STATE, 1);
        ev.from = TT_STATE_CLOSED;
        ev.to = (tt_state_t)s;
        snprintf(want, sizeof(want),
                 "{\"t\":0.000001,\"ts\":1733448000.000001,"
                 "\"ev\":\"state\",\"conn\":\"10.7.0.2:7>10.7.0.1:41234\","
                 "\"from\":\"CLOSED\",\"to\":\"%s\"}\n",
                 names[s]);
        expect_line(&ev, want);
    }
}

static void closed_carries_why(void **state)
{
    static const char *const why[] = {
        [TT_WHY_LAST_ACK] = "last_ack",
        [TT_WHY_TIMEWAIT_EXPIRED] = "timewait_expired",
        [TT_WHY_TIMEWAIT_RST] = "timewait_rst",
        [TT_WHY_TIMEWAIT_SYN] = "timewait_syn",
        [TT_WHY_TIMEWAIT_REUSED] = "timewait_reused",
        [TT_WHY_TW_OVERFLOW] = "tw_overflow",
        [TT_WHY_FIN_TIMEOUT] = "fin_timeout",
        [TT_WHY_RST_IN] = "rst_in",
        [TT_WHY_RST_OUT] = "rst_out",
        [TT_WHY_TIMEOUT] = "timeout",
        [TT_WHY_REFUSED] = "refused",
    };
    char want[TRACE_LINE_MAX];

    for (int w = TT_WHY_LAST_ACK; w <= TT_WHY_REFUSED; w++) {
        tt_event_t ev = ev_at(TT_EV_STATE, 60000000);
        ev.from = TT_STATE_TIME_WAIT;
        ev.to = TT_STATE_CLOSED;
        ev.why = (tt_close_reason_t)w;
        snprintf(want, sizeof(want),
                 "{\"t\":60.000000,\"ts\":1733448060.000000,"
                 "\"ev\":\"state\",\"conn\":\"10.7.0.2:7>10.7.0.1:41234\","
                 "\"from\":\"TIME_WAIT\",\"to\":\"CLOSED\",\"why\":\"%s\"}\n",
                 why[w]);
        expect_line(&ev, want);
    }
}

static void timewait_restart(void **state)
{
    tt_event_t ev = ev_at(TT_EV_TIMEWAIT_RESTART, 1020001);

    ev.expires_us = START + 3020001;
    expect_line(&ev, "{\"t\":1.020001,\"ts\":1733448001.020001,"
                     "\"ev\":\"timewait_restart\","
                     "\"conn\":\"10.7.0.2:7>10.7.0.1:41234\",\"expires\":3.020001}\n");
}

static void rst_out_and_rst_in(void **state)
{
    tt_event_t out = ev_at(TT_EV_RST_OUT, 500000);
    tt_event_t in = ev_at(TT_EV_RST_IN, 500000);

    out.rst_why = "linger0";
    expect_line(&out, "{\"t\":0.500000,\"ts\":1733448000.500000,"
                      "\"ev\":\"rst_out\",\"conn\":\"10.7.0.2:7>10.7.0.1:41234\","
                      "\"why\":\"linger0\"}\n");
    out.rst_why = NULL;
    expect_line(&out, "{\"t\":0.500000,\"ts\":1733448000.500000,"
                      "\"ev\":\"rst_out\",\"conn\":\"10.7.0.2:7>10.7.0.1:41234\","
                      "\"why\":\"abort\"}\n");
    in.state = TT_STATE_ESTABLISHED;
    expect_line(&in, "{\"t\":0.500000,\"ts\":1733448000.500000,"
                     "\"ev\":\"rst_in\",\"conn\":\"10.7.0.2:7>10.7.0.1:41234\","
                     "\"state\":\"ESTABLISHED\"}\n");
}

static void linger_expired(void **state)
{
    tt_event_t ev = ev_at(TT_EV_LINGER_EXPIRED, 2000000);

    (void)state;
    ev.state = TT_STATE_FIN_WAIT_1;
    expect_line(&ev, "{\"t\":2.000000,\"ts\":1733448002.000000,"
                     "\"ev\":\"linger_expired\",\"conn\":\"10.7.0.2:7>10.7.0.1:41234\","
                     "\"state\":\"FIN_WAIT_1\"}\n");
}

/* A RST that ends TIME_WAIT: the engine reports it for the entry's 4-tuple
 * (no TCB exists then), rst_in with state TIME_WAIT, then the CLOSED line. */
static void rst_in_on_a_time_wait_entry(void **state)
{
    tt_event_t in = ev_at(TT_EV_RST_IN, 2200000);
    tt_event_t closed = ev_at(TT_EV_STATE, 2200000);

    in.state = TT_STATE_TIME_WAIT;
    expect_line(&in, "{\"t\":2.200000,\"ts\":1733448002.200000,"
                     "\"ev\":\"rst_in\",\"conn\":\"10.7.0.2:7>10.7.0.1:41234\","
                     "\"state\":\"TIME_WAIT\"}\n");
    closed.from = TT_STATE_TIME_WAIT;
    closed.to = TT_STATE_CLOSED;
    closed.why = TT_WHY_TIMEWAIT_RST;
    expect_line(&closed, "{\"t\":2.200000,\"ts\":1733448002.200000,"
                         "\"ev\":\"state\",\"conn\":\"10.7.0.2:7>10.7.0.1:41234\","
                         "\"from\":\"TIME_WAIT\",\"to\":\"CLOSED\",\"why\":\"timewait_rst\"}\n");
}

static void times_are_exact_and_never_negative(void **state)
{
    tt_event_t ev = ev_at(TT_EV_RST_OUT, 3723000001ULL);

    ev.rst_why = "abort";
    expect_line(&ev, "{\"t\":3723.000001,\"ts\":1733451723.000001,"
                     "\"ev\":\"rst_out\","
                     "\"conn\":\"10.7.0.2:7>10.7.0.1:41234\",\"why\":\"abort\"}\n");
    ev.now_us = START - 5;
    expect_line(&ev, "{\"t\":0.000000,\"ts\":1733448000.000000,"
                     "\"ev\":\"rst_out\","
                     "\"conn\":\"10.7.0.2:7>10.7.0.1:41234\",\"why\":\"abort\"}\n");
}

static void strings_are_escaped(void **state)
{
    tt_event_t ev = ev_at(TT_EV_RST_OUT, 0);

    ev.laddr = 0xfffffffe;
    ev.lport = 65535;
    ev.rst_why = "a\"b\\c\n";
    expect_line(&ev, "{\"t\":0.000000,\"ts\":1733448000.000000,"
                     "\"ev\":\"rst_out\","
                     "\"conn\":\"255.255.255.254:65535>10.7.0.1:41234\","
                     "\"why\":\"a\\\"b\\\\c\\u000a\"}\n");
}

/* Issue 12 item 6: the trace opens with the start on both clocks, so `ts`
 * needs no other line to be read, and a reader can tell where a run began. */
static void start_line_gives_both_clocks(void **state)
{
    char buf[TRACE_LINE_MAX];
    const char *want = "{\"t\":0.000000,\"ts\":1733448000.000000,\"ev\":\"start\"}\n";

    assert_int_equal(tt_trace_format_start(buf, sizeof(buf), &clk), strlen(want));
    assert_string_equal(buf, want);
    assert_int_equal(tt_trace_format_start(buf, 16, &clk), 0);
}

/* Issue 12 item 6: a RST that answers a segment of no connection says why and to what. */
static void rst_noconn_names_why_and_flags(void **state)
{
    tt_event_t ev = ev_at(TT_EV_RST_NOCONN, 250000);

    ev.rst_why = "no_connection";
    ev.seg_flags = 0x11; /* FIN|ACK: a peer's retransmitted FIN after TIME_WAIT was skipped */
    expect_line(&ev, "{\"t\":0.250000,\"ts\":1733448000.250000,"
                     "\"ev\":\"rst_noconn\",\"conn\":\"10.7.0.2:7>10.7.0.1:41234\","
                     "\"why\":\"no_connection\",\"flags\":\"AF\"}\n");
}

/* Issue 12: a failed connect leaves a line with the errno's name, known or not. */
static void connect_fail_names_errno(void **state)
{
    tt_event_t ev = ev_at(TT_EV_CONNECT_FAIL, 3);

    ev.lport = 0;
    ev.err = -EADDRNOTAVAIL;
    expect_line(&ev, "{\"t\":0.000003,\"ts\":1733448000.000003,"
                     "\"ev\":\"connect_fail\",\"conn\":\"10.7.0.2:0>10.7.0.1:41234\","
                     "\"err\":\"EADDRNOTAVAIL\"}\n");
    ev.err = -ECONNREFUSED;
    ev.lport = 40000;
    expect_line(&ev, "{\"t\":0.000003,\"ts\":1733448000.000003,"
                     "\"ev\":\"connect_fail\",\"conn\":\"10.7.0.2:40000>10.7.0.1:41234\","
                     "\"err\":\"ECONNREFUSED\"}\n");
    ev.err = -77;
    expect_line(&ev, "{\"t\":0.000003,\"ts\":1733448000.000003,"
                     "\"ev\":\"connect_fail\",\"conn\":\"10.7.0.2:40000>10.7.0.1:41234\","
                     "\"err\":\"E77\"}\n");
}

/* A fault line: the 4-tuple ours first whatever the direction, the rule, the segment. */
static void fault_lines_for_each_action(void **state)
{
    struct fault_pkt p = {.tcp = true,
                          .flags = 0x18,
                          .payload = 10,
                          .saddr = 0x0a070001,
                          .daddr = 0x0a070002,
                          .sport = 41234,
                          .dport = 7,
                          .seq = 1000,
                          .ack = 2000};
    struct trace_fault f = {.now_us = START + 1500000,
                            .action = "dup",
                            .rule = 2,
                            .dir_in = true,
                            .match = "data",
                            .pkt = &p,
                            .after_key = "copy_after",
                            .after_us = 2000000};
    char buf[TRACE_LINE_MAX];
    const char *dup = "{\"t\":1.500000,\"ts\":1733448001.500000,\"ev\":\"fault\","
                      "\"conn\":\"10.7.0.2:7>10.7.0.1:41234\",\"action\":\"dup\",\"rule\":2,"
                      "\"dir\":\"in\",\"match\":\"data\",\"flags\":\"AP\",\"seq\":1000,"
                      "\"ack\":2000,\"len\":10,\"copy_after\":2.000000}\n";
    const char *rel = "{\"t\":3.500000,\"ts\":1733448003.500000,\"ev\":\"fault\","
                      "\"conn\":\"10.7.0.2:7>10.7.0.1:41234\",\"action\":\"release\","
                      "\"rule\":2,\"dir\":\"in\",\"flags\":\"AP\",\"seq\":1000,"
                      "\"ack\":2000,\"len\":10,\"held\":2.000000,\"copy\":true}\n";
    const char *out = "{\"t\":1.500000,\"ts\":1733448001.500000,\"ev\":\"fault\","
                      "\"conn\":\"10.7.0.1:41234>10.7.0.2:7\",\"action\":\"delay\","
                      "\"rule\":0,\"dir\":\"out\",\"match\":\"any\",\"flags\":\"AP\","
                      "\"seq\":1000,\"ack\":2000,\"len\":10,\"hold\":2.000000,"
                      "\"note\":\"held_full\"}\n";

    assert_int_equal(tt_trace_format_fault(buf, sizeof(buf), &f, &clk), strlen(dup));
    assert_string_equal(buf, dup);
    f = (struct trace_fault){.now_us = START + 3500000,
                             .action = "release",
                             .rule = 2,
                             .dir_in = true,
                             .pkt = &p,
                             .after_key = "held",
                             .after_us = 2000000,
                             .copy = true};
    assert_int_equal(tt_trace_format_fault(buf, sizeof(buf), &f, &clk), strlen(rel));
    assert_string_equal(buf, rel);
    /* out: the stack is the source; a held packet that found no room says so */
    f = (struct trace_fault){.now_us = START + 1500000,
                             .action = "delay",
                             .rule = 0,
                             .dir_in = false,
                             .match = "any",
                             .pkt = &p,
                             .after_key = "hold",
                             .after_us = 2000000,
                             .note = "held_full"};
    assert_int_equal(tt_trace_format_fault(buf, sizeof(buf), &f, &clk), strlen(out));
    assert_string_equal(buf, out);
    assert_int_equal(tt_trace_format_fault(buf, 16, &f, &clk), 0);
}

/* A packet that is not TCP: no segment fields, empty flags, ports 0. */
static void fault_line_for_a_non_tcp_packet(void **state)
{
    struct fault_pkt p = {.tcp = false};
    struct trace_fault f = {
        .now_us = START, .action = "drop", .rule = 0, .dir_in = true, .match = "any", .pkt = &p};
    char buf[TRACE_LINE_MAX];
    const char *want = "{\"t\":0.000000,\"ts\":1733448000.000000,\"ev\":\"fault\","
                       "\"conn\":\"0.0.0.0:0>0.0.0.0:0\",\"action\":\"drop\",\"rule\":0,"
                       "\"dir\":\"in\",\"match\":\"any\",\"flags\":\"\"}\n";

    assert_int_equal(tt_trace_format_fault(buf, sizeof(buf), &f, &clk), strlen(want));
    assert_string_equal(buf, want);
}

static void unknown_events_are_skipped(void **state)
{
    tt_event_t ev = ev_at((tt_event_type_t)99, 0);
    char buf[TRACE_LINE_MAX];

    assert_int_equal(tt_trace_format(buf, sizeof(buf), &ev, &clk), 0);
    assert_int_equal(tt_trace_format(buf, 16, &ev, &clk), 0);
}

static void lines_are_flushed_as_they_happen(void **state)
{
    char path[] = "/tmp/drv_test_trace.XXXXXX";
    char got[1024] = "";
    struct trace_writer *tw;
    tt_event_t ev = ev_at(TT_EV_RST_IN, 1);
    int fd = mkstemp(path);
    FILE *f;

    assert_true(fd >= 0);
    close(fd);
    ev.state = TT_STATE_SYN_SENT;
    assert_int_equal(tt_trace_open(&tw, path, &clk), 0);
    tt_trace_event(tw, &ev);
    tt_trace_event(tw, &ev);
    f = fopen(path, "r"); /* before close: what `tail -f` would see */
    assert_non_null(f);
    assert_int_equal(fread(got, 1, sizeof(got) - 1, f), 51 + 2 * 106);
    fclose(f);
    assert_int_equal(
        strncmp(got, "{\"t\":0.000000,\"ts\":1733448000.000000,\"ev\":\"start\"}\n", 51), 0);
    assert_non_null(strstr(got, "\"state\":\"SYN_SENT\"}\n{\"t\":0.000001"));
    assert_int_equal(tt_trace_close(tw), 0);
    unlink(path);
}

static void dash_is_stderr_and_bad_paths_fail(void **state)
{
    struct trace_writer *tw;

    assert_int_equal(tt_trace_open(&tw, "-", &clk), 0);
    assert_int_equal(tt_trace_close(tw), 0);
    assert_int_not_equal(fcntl(2, F_GETFD), -1); /* stderr is not closed */
    assert_int_equal(tt_trace_open(&tw, "/nonexistent-dir/t.jsonl", &clk), -ENOENT);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(state_change),
        cmocka_unit_test(every_state_is_spelled_as_the_spec),
        cmocka_unit_test(closed_carries_why),
        cmocka_unit_test(timewait_restart),
        cmocka_unit_test(rst_out_and_rst_in),
        cmocka_unit_test(linger_expired),
        cmocka_unit_test(rst_in_on_a_time_wait_entry),
        cmocka_unit_test(times_are_exact_and_never_negative),
        cmocka_unit_test(strings_are_escaped),
        cmocka_unit_test(start_line_gives_both_clocks),
        cmocka_unit_test(rst_noconn_names_why_and_flags),
        cmocka_unit_test(connect_fail_names_errno),
        cmocka_unit_test(fault_lines_for_each_action),
        cmocka_unit_test(fault_line_for_a_non_tcp_packet),
        cmocka_unit_test(unknown_events_are_skipped),
        cmocka_unit_test(lines_are_flushed_as_they_happen),
        cmocka_unit_test(dash_is_stderr_and_bad_paths_fail),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
