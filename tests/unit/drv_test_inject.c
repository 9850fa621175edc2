/*
 * stack/driver/inject.c: the --inject grammar of docs/contract.md §3.7 (and
 * its refusals), the clock of each spec, and the crafted segment, checked
 * byte by byte and through the engine's own parser and checksums.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "inject.h"
#include "ipv4.h"
#include "tcp_wire.h"

#define US 0x0a070002u
#define KERNEL 0x0a070001u

static struct inject_spec parsed(const char *spec)
{
    struct inject_spec s;
    char err[160] = "";

    if (tt_inject_parse(spec, &s, err, sizeof(err)) != 0)
        fail_msg("'%s' refused: %s", spec, err);
    return s;
}

static void parses_when_kind_and_fields(void **state)
{
    struct inject_spec s = parsed("time_wait+200ms:rst");

    assert_int_equal(s.state, TT_STATE_TIME_WAIT);
    assert_int_equal(s.after_us, 200000);
    assert_int_equal(s.flags, TCP_RST);
    assert_int_equal(s.seq.base, INJECT_RCV);
    assert_int_equal(s.seq.n, 0);
    assert_int_equal(s.ack.base, INJECT_SND);
    assert_int_equal(s.len, 0);
    assert_int_equal(s.port, 0);
    assert_int_equal(s.win, 65535);
    s = parsed("2s:data:seq=rcv-100:ack=snd+5:len=10:port=7:win=0");
    assert_int_equal(s.state, -1);
    assert_int_equal(s.after_us, 2000000);
    assert_int_equal(s.flags, TCP_ACK | TCP_PSH);
    assert_int_equal(s.seq.base, INJECT_RCV);
    assert_int_equal(s.seq.n, -100);
    assert_int_equal(s.ack.base, INJECT_SND);
    assert_int_equal(s.ack.n, 5);
    assert_int_equal(s.len, 10);
    assert_int_equal(s.port, 7);
    assert_int_equal(s.win, 0);
    s = parsed("Fin-Wait-2+0ms:fin:seq=4294967295:ack=rcv");
    assert_int_equal(s.state, TT_STATE_FIN_WAIT_2);
    assert_int_equal(s.flags, TCP_FIN | TCP_ACK);
    assert_int_equal(s.seq.base, INJECT_ABS);
    assert_int_equal(s.seq.n, 4294967295LL);
    assert_int_equal(s.ack.base, INJECT_RCV);
    assert_int_equal(parsed("1s:data").len, 1);
    assert_int_equal(parsed("1s:rstack").flags, TCP_RST | TCP_ACK);
    assert_int_equal(parsed("1s:ack").flags, TCP_ACK);
}

static void refuses_bad_specs_with_a_reason(void **state)
{
    static const char *const bad[][2] = {
        {"", "expected WHEN:KIND"},
        {"1s", "expected WHEN:KIND"},
        {"1x:rst", "bad time '1x'"},
        {"time_wait:rst", "bad time"},
        {"time_wiat+1s:rst", "unknown state 'time_wiat'"},
        {"listen+1s:rst", "unknown state 'listen'"},
        {"closed+1s:rst", "unknown state"},
        {"1s:syn", "unknown kind 'syn'"},
        {"1s:rst:seq=", "bad seq ''"},
        {"1s:rst:seq=rcv*2", "bad seq"},
        {"1s:rst:seq=4294967296", "bad seq"},
        {"1s:rst:seq=-1", "bad seq"},
        {"1s:rst:ack=snd+", "bad ack"},
        {"1s:data:len=65496", "bad len"},
        {"1s:rst:port=0", "bad port '0'"},
        {"1s:rst:port=65536", "bad port"},
        {"1s:rst:win=70000", "bad win"},
        {"1s:rst:seq=1:seq=2", "given twice"},
        {"1s:rst:flags=R", "unknown field 'flags=R'"},
        {"1s:rst:nth=2", "nth= needs WHEN as STATE+DURATION"},
        {"established+1s:rst:nth=0", "bad nth '0'"},
        {"1s:rst:", "unknown field"},
    };
    struct inject_spec s;
    char err[200];

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        err[0] = '\0';
        if (tt_inject_parse(bad[i][0], &s, err, sizeof(err)) != -EINVAL ||
            strstr(err, bad[i][1]) == NULL)
            fail_msg("'%s': expected an error with '%s', got '%s'", bad[i][0], bad[i][1], err);
    }
    assert_int_equal(tt_inject_check("1s:rst", err, sizeof(err)), 0);
    assert_int_equal(tt_inject_check("1s:rst:", err, sizeof(err)), -EINVAL);
}

static tt_event_t state_event(tt_state_t to, uint16_t lport, uint16_t rport, uint64_t now)
{
    tt_event_t ev;

    memset(&ev, 0, sizeof(ev));
    ev.type = TT_EV_STATE;
    ev.to = to;
    ev.now_us = now;
    ev.laddr = US;
    ev.raddr = KERNEL;
    ev.lport = lport;
    ev.rport = rport;
    return ev;
}

/* A bare DURATION counts from the start; STATE+ from the first entry into STATE that port= accepts.
 */
static void clocks_start_at_start_or_at_the_state(void **state)
{
    struct inject_spec a = parsed("1500ms:rst");
    struct inject_spec b = parsed("time_wait+200ms:rst:port=7");
    tt_event_t other_port = state_event(TT_STATE_TIME_WAIT, 8, 40000, 10);
    tt_event_t other_state = state_event(TT_STATE_FIN_WAIT_2, 7, 40000, 20);
    tt_event_t tw = state_event(TT_STATE_TIME_WAIT, 40001, 7, 30);
    tt_event_t later = state_event(TT_STATE_TIME_WAIT, 7, 40002, 40);

    tt_inject_start(&a, 1000);
    assert_true(a.armed);
    assert_int_equal(a.due, 1501000);
    assert_false(tt_inject_on_event(&a, &tw)); /* not a STATE+ spec */
    tt_inject_start(&b, 1000);
    assert_false(b.armed);
    other_port.type = TT_EV_STATE;
    assert_false(tt_inject_on_event(&b, &other_port));
    assert_false(tt_inject_on_event(&b, &other_state));
    assert_true(tt_inject_on_event(&b, &tw)); /* port= is ours or the peer's */
    assert_true(b.armed);
    assert_int_equal(b.due, 200030);
    assert_true(b.have_tuple);
    assert_int_equal(b.lport, 40001);
    assert_int_equal(b.rport, 7);
    assert_false(tt_inject_on_event(&b, &later)); /* the first one only */
    assert_int_equal(b.lport, 40001);
    assert_true(tt_inject_port_ok(&b, 7, 1));
    assert_false(tt_inject_port_ok(&b, 8, 1));
}

/* nth=2: the second connection to enter the state, e.g. a new incarnation of the 4-tuple. */
static void nth_waits_for_that_entry(void **state)
{
    struct inject_spec s = parsed("established+300ms:data:nth=2:port=7");
    tt_event_t first = state_event(TT_STATE_ESTABLISHED, 7, 40000, 100);
    tt_event_t second = state_event(TT_STATE_ESTABLISHED, 7, 40000, 5000);

    assert_int_equal(s.nth, 2);
    tt_inject_start(&s, 0);
    assert_false(tt_inject_on_event(&s, &first));
    assert_false(s.armed);
    assert_true(tt_inject_on_event(&s, &second));
    assert_int_equal(s.due, 305000);
}

static uint32_t rd32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* Through the engine's parsers: both checksums must hold. */
static void parse_both(const uint8_t *buf, size_t n, struct seg *seg)
{
    struct ipv4_hdr h;

    assert_int_equal(tt_ipv4_parse(buf, n, &h), IPV4_OK);
    assert_int_equal(h.proto, 6);
    assert_int_equal(tt_tcp_parse(h.payload, h.payload_len, h.src, h.dst, seg), TCP_OK);
}

/* The segment: from the peer to us, numbers from the connection, checksums the engine accepts. */
static void builds_a_segment_the_engine_parses(void **state)
{
    struct inject_spec s = parsed("1s:data:seq=rcv-10:ack=snd+1:len=5:win=1000");
    struct inject_conn c = {US, KERNEL, 7, 40000, true, 0xfffffff0u, 1000};
    uint8_t buf[128];
    struct seg seg;
    int n = tt_inject_build(&s, &c, buf, sizeof(buf));

    assert_int_equal(n, 45);
    parse_both(buf, (size_t)n, &seg);
    assert_int_equal(seg.saddr, KERNEL);
    assert_int_equal(seg.daddr, US);
    assert_int_equal(seg.sport, 40000);
    assert_int_equal(seg.dport, 7);
    assert_int_equal(seg.seq, 0xffffffe6u);
    assert_int_equal(seg.ack, 1001);
    assert_int_equal(seg.flags, TCP_ACK | TCP_PSH);
    assert_int_equal(seg.len, 5);
    assert_int_equal(seg.wnd, 1000);
    assert_memory_equal(buf + 40, "xxxxx", 5);
    /* sequence numbers wrap */
    s = parsed("1s:rst:seq=rcv+20");
    n = tt_inject_build(&s, &c, buf, sizeof(buf));
    assert_int_equal(n, 40);
    assert_int_equal(rd32(buf + 24), 4);
    assert_int_equal(rd32(buf + 28), 0); /* no ACK flag: no ACK number */
    assert_int_equal(buf[33], TCP_RST);
    assert_int_equal(tt_inject_build(&s, &c, buf, 39), -ENOSPC);
}

/* Relative numbers need a connection; absolute ones go to a 4-tuple that has none. */
static void relative_numbers_need_a_connection(void **state)
{
    struct inject_spec rel = parsed("1s:rst");
    struct inject_spec abs = parsed("1s:rstack:seq=5:ack=9");
    struct inject_conn gone = {US, KERNEL, 7, 40000, false, 0, 0};
    uint8_t buf[64];
    struct seg seg;

    assert_true(tt_inject_needs_conn(&rel));
    assert_false(tt_inject_needs_conn(&abs));
    assert_int_equal(tt_inject_build(&rel, &gone, buf, sizeof(buf)), -EINVAL);
    assert_int_equal(tt_inject_build(&abs, &gone, buf, sizeof(buf)), 40);
    parse_both(buf, 40, &seg);
    assert_int_equal(seg.seq, 5);
    assert_int_equal(seg.ack, 9);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(parses_when_kind_and_fields),
        cmocka_unit_test(refuses_bad_specs_with_a_reason),
        cmocka_unit_test(clocks_start_at_start_or_at_the_state),
        cmocka_unit_test(nth_waits_for_that_entry),
        cmocka_unit_test(builds_a_segment_the_engine_parses),
        cmocka_unit_test(relative_numbers_need_a_connection),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
