/*
 * stack/driver/fault.c: --fault spec parsing (good and bad specs), packet classes,
 * direction, state=, and the nth/count/p selection of matches.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "fault.h"
#include "tcp_wire.h"

#define US 2u /* 10.7.0.2, the stack */
#define KERNEL 1u

struct pkt {
    uint8_t b[128];
    size_t len;
};

static void put16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

/* An IPv4+TCP datagram from 10.7.0.<src>:sport to 10.7.0.<dst>:dport; checksums left 0. */
static struct pkt tcp(uint8_t flags, size_t payload, uint8_t src, uint16_t sport, uint8_t dst,
                      uint16_t dport)
{
    struct pkt p;

    memset(&p, 0, sizeof(p));
    p.len = 20 + 20 + payload;
    p.b[0] = 0x45;
    put16(p.b + 2, (uint16_t)p.len);
    p.b[6] = 0x40; /* DF */
    p.b[8] = 64;
    p.b[9] = 6;
    p.b[12] = 10, p.b[13] = 7, p.b[15] = src;
    p.b[16] = 10, p.b[17] = 7, p.b[19] = dst;
    put16(p.b + 20, sport);
    put16(p.b + 22, dport);
    p.b[32] = 5 << 4;
    p.b[33] = flags;
    return p;
}

/* Kernel -> stack: what an "in" rule sees. */
static struct pkt in_seg(uint8_t flags, size_t payload)
{
    return tcp(flags, payload, KERNEL, 41234, US, 7);
}

static struct pkt out_seg(uint8_t flags, size_t payload)
{
    return tcp(flags, payload, US, 7, KERNEL, 41234);
}

static struct pkt icmp_echo(void)
{
    struct pkt p = tcp(0, 0, KERNEL, 0, US, 0);

    p.b[9] = 1;
    p.len = 28;
    put16(p.b + 2, 28);
    p.b[20] = 8;
    return p;
}

static enum fault_action decide(struct fault_set *fs, enum fault_dir dir, struct pkt p)
{
    struct fault_verdict v;

    return tt_fault_decide(fs, dir, p.b, p.len, &v);
}

static void one_rule(struct fault_set *fs, const char *spec)
{
    char err[128];

    tt_fault_set_init(fs, 1, NULL, NULL);
    if (tt_fault_set_add(fs, spec, err, sizeof(err)) != 0)
        fail_msg("'%s' refused: %s", spec, err);
}

static void parses_the_spec_examples(void **state)
{
    struct fault_rule r;
    char err[128];

    assert_int_equal(tt_fault_parse("drop:out:ack:state=TIME_WAIT:nth=1", &r, err, sizeof(err)), 0);
    assert_int_equal(r.action, FAULT_DROP);
    assert_int_equal(r.dir, FAULT_OUT);
    assert_int_equal(r.match, FAULT_M_ACK);
    assert_int_equal(r.state, TT_STATE_TIME_WAIT);
    assert_int_equal(r.nth, 1);
    assert_int_equal(r.count, 1);
    assert_int_equal(tt_fault_parse("dup:in:fin", &r, err, sizeof(err)), 0);
    assert_int_equal(r.action, FAULT_DUP);
    assert_int_equal(r.dir, FAULT_IN);
    assert_int_equal(r.match, FAULT_M_FIN);
    assert_int_equal(r.state, -1);
    assert_int_equal(r.count, 0);
    assert_int_equal(tt_fault_parse("drop:in:any:p=0.02", &r, err, sizeof(err)), 0);
    assert_true(r.p > 0.0199 && r.p < 0.0201);
    assert_int_equal(tt_fault_parse("delay=200ms:out:fin", &r, err, sizeof(err)), 0);
    assert_int_equal(r.action, FAULT_DELAY);
    assert_int_equal(r.delay_us, 200000);
}

static void parses_qualifiers(void **state)
{
    struct fault_rule r;
    char err[128];

    assert_int_equal(tt_fault_parse("drop:out:ack:count=3", &r, err, sizeof(err)), 0);
    assert_int_equal(r.nth, 1);
    assert_int_equal(r.count, 3);
    assert_int_equal(tt_fault_parse("drop:out:data:nth=2:count=3:p=1", &r, err, sizeof(err)), 0);
    assert_int_equal(r.nth, 2);
    assert_int_equal(r.count, 3);
    assert_int_equal(tt_fault_parse("drop:in:syn:state=time-wait", &r, err, sizeof(err)), 0);
    assert_int_equal(r.state, TT_STATE_TIME_WAIT);
    assert_int_equal(tt_fault_parse("drop:in:rst:state=fin_wait_2", &r, err, sizeof(err)), 0);
    assert_int_equal(r.state, TT_STATE_FIN_WAIT_2);
    assert_int_equal(tt_fault_parse("dup:in:synack:state=CLOSED", &r, err, sizeof(err)), 0);
    assert_int_equal(r.state, TT_STATE_CLOSED);
    assert_int_equal(r.match, FAULT_M_SYNACK);
}

static void refuses_bad_specs_with_a_reason(void **state)
{
    static const char *const bad[][2] = {
        {"", "expected ACTION:DIR:MATCH"},
        {"drop", "expected ACTION:DIR:MATCH"},
        {"drop:out", "expected ACTION:DIR:MATCH"},
        {"dorp:out:ack", "unknown action 'dorp'"},
        {"delay:out:ack", "unknown action"},
        {"delay=x:out:ack", "bad delay 'x'"},
        {"delay=1.5s:out:ack", "bad delay"},
        {"drop:up:ack", "unknown direction 'up'"},
        {"drop:out:ackk", "unknown match 'ackk'"},
        {"drop:out:ack:nth=0", "bad nth '0'"},
        {"drop:out:ack:nth=-1", "bad nth"},
        {"drop:out:ack:count=", "bad count"},
        {"drop:out:ack:p=1.5", "bad probability '1.5'"},
        {"drop:out:ack:p=-0.1", "bad probability"},
        {"drop:out:ack:p=nan", "bad probability"},
        {"drop:out:ack:p=", "bad probability"},
        {"drop:out:ack:state=FOO", "unknown state 'FOO'"},
        {"drop:out:ack:nth=1:nth=2", "given twice"},
        {"drop:out:ack:foo=1", "unknown qualifier 'foo=1'"},
        {"drop:out:ack:", "unknown qualifier"},
        {"DROP:out:ack", "unknown action"},
        {"dup=:in:data", "bad copy delay ''"},
        {"dup=2x:in:data", "bad copy delay '2x'"},
        {"dup2s:in:data", "unknown action 'dup2s'"},
    };
    struct fault_rule r;
    char err[160];

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        err[0] = '\0';
        if (tt_fault_parse(bad[i][0], &r, err, sizeof(err)) != -EINVAL ||
            strstr(err, bad[i][1]) == NULL)
            fail_msg("'%s': expected an error with '%s', got '%s'", bad[i][0], bad[i][1], err);
    }
    assert_int_equal(tt_fault_check("drop:out:fin", err, sizeof(err)), 0);
    assert_int_equal(tt_fault_check("drop:out:fin:", err, sizeof(err)), -EINVAL);
}

static void refuses_more_than_the_maximum_rules(void **state)
{
    struct fault_set fs;
    char err[128];

    tt_fault_set_init(&fs, 1, NULL, NULL);
    for (int i = 0; i < TT_FAULT_MAX; i++)
        assert_int_equal(tt_fault_set_add(&fs, "drop:in:syn", err, sizeof(err)), 0);
    assert_int_equal(tt_fault_set_add(&fs, "drop:in:syn", err, sizeof(err)), -ENOSPC);
    assert_int_equal(fs.n, TT_FAULT_MAX);
}

static void classes_match_their_segments(void **state)
{
    static const struct {
        const char *spec;
        uint8_t flags;
        size_t payload;
        bool hit;
    } cases[] = {
        {"drop:in:syn", TCP_SYN, 0, true},
        {"drop:in:syn", TCP_SYN | TCP_ACK, 0, false},
        {"drop:in:synack", TCP_SYN | TCP_ACK, 0, true},
        {"drop:in:synack", TCP_SYN, 0, false},
        {"drop:in:fin", TCP_FIN | TCP_ACK, 0, true},
        {"drop:in:fin", TCP_FIN | TCP_ACK | TCP_PSH, 10, true},
        {"drop:in:fin", TCP_ACK, 0, false},
        {"drop:in:rst", TCP_RST, 0, true},
        {"drop:in:rst", TCP_RST | TCP_ACK, 0, true},
        {"drop:in:rst", TCP_ACK, 0, false},
        {"drop:in:ack", TCP_ACK, 0, true},
        {"drop:in:ack", TCP_ACK | TCP_PSH, 0, true},
        {"drop:in:ack", TCP_ACK, 1, false},
        {"drop:in:ack", TCP_ACK | TCP_FIN, 0, false},
        {"drop:in:ack", TCP_ACK | TCP_SYN, 0, false},
        {"drop:in:ack", TCP_ACK | TCP_RST, 0, false},
        {"drop:in:ack", 0, 0, false},
        {"drop:in:data", TCP_ACK | TCP_PSH, 100, true},
        {"drop:in:data", TCP_ACK | TCP_FIN, 0, false},
        {"drop:in:any", TCP_ACK, 0, true},
        {"drop:in:any", TCP_RST, 0, true},
    };
    struct fault_set fs;

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        one_rule(&fs, cases[i].spec);
        enum fault_action a = decide(&fs, FAULT_IN, in_seg(cases[i].flags, cases[i].payload));
        if ((a == FAULT_DROP) != cases[i].hit)
            fail_msg("case %zu (%s, flags 0x%02x, %zu bytes): got %d", i, cases[i].spec,
                     cases[i].flags, cases[i].payload, a);
    }
}

static void only_any_matches_non_tcp_or_broken_packets(void **state)
{
    struct fault_set fs;
    struct pkt runt = in_seg(TCP_SYN, 0);

    runt.len = 30; /* the TCP header is cut */
    one_rule(&fs, "drop:in:any");
    assert_int_equal(decide(&fs, FAULT_IN, icmp_echo()), FAULT_DROP);
    assert_int_equal(decide(&fs, FAULT_IN, runt), FAULT_DROP);
    one_rule(&fs, "drop:in:syn");
    assert_int_equal(decide(&fs, FAULT_IN, icmp_echo()), FAULT_PASS);
    assert_int_equal(decide(&fs, FAULT_IN, runt), FAULT_PASS);
    assert_int_equal(tt_fault_decide(&fs, FAULT_IN, runt.b, 0, &(struct fault_verdict){0}),
                     FAULT_PASS);
}

static void direction_is_respected(void **state)
{
    struct fault_set fs;

    one_rule(&fs, "dup:out:fin");
    assert_int_equal(decide(&fs, FAULT_IN, in_seg(TCP_FIN | TCP_ACK, 0)), FAULT_PASS);
    assert_int_equal(decide(&fs, FAULT_OUT, out_seg(TCP_FIN | TCP_ACK, 0)), FAULT_DUP);
    assert_int_equal(fs.duplicated, 1);
}

static void nth_acts_on_one_match_only(void **state)
{
    struct fault_set fs;

    one_rule(&fs, "drop:out:ack:nth=2");
    assert_int_equal(decide(&fs, FAULT_OUT, out_seg(TCP_ACK, 0)), FAULT_PASS);
    assert_int_equal(decide(&fs, FAULT_OUT, out_seg(TCP_ACK, 5)), FAULT_PASS); /* not a match */
    assert_int_equal(decide(&fs, FAULT_OUT, out_seg(TCP_ACK, 0)), FAULT_DROP);
    assert_int_equal(decide(&fs, FAULT_OUT, out_seg(TCP_ACK, 0)), FAULT_PASS);
    assert_int_equal(decide(&fs, FAULT_OUT, out_seg(TCP_ACK, 0)), FAULT_PASS);
    assert_int_equal(fs.dropped, 1);
}

static void count_acts_on_the_first_matches(void **state)
{
    struct fault_set fs;

    one_rule(&fs, "drop:in:syn:count=2");
    assert_int_equal(decide(&fs, FAULT_IN, in_seg(TCP_SYN, 0)), FAULT_DROP);
    assert_int_equal(decide(&fs, FAULT_IN, in_seg(TCP_SYN, 0)), FAULT_DROP);
    assert_int_equal(decide(&fs, FAULT_IN, in_seg(TCP_SYN, 0)), FAULT_PASS);
    one_rule(&fs, "drop:in:syn:nth=2:count=2");
    assert_int_equal(decide(&fs, FAULT_IN, in_seg(TCP_SYN, 0)), FAULT_PASS);
    assert_int_equal(decide(&fs, FAULT_IN, in_seg(TCP_SYN, 0)), FAULT_DROP);
    assert_int_equal(decide(&fs, FAULT_IN, in_seg(TCP_SYN, 0)), FAULT_DROP);
    assert_int_equal(decide(&fs, FAULT_IN, in_seg(TCP_SYN, 0)), FAULT_PASS);
}

static unsigned count_drops(uint64_t seed, const char *spec, unsigned n)
{
    struct fault_set fs;
    char err[128];
    unsigned drops = 0;

    tt_fault_set_init(&fs, seed, NULL, NULL);
    assert_int_equal(tt_fault_set_add(&fs, spec, err, sizeof(err)), 0);
    for (unsigned i = 0; i < n; i++)
        drops += decide(&fs, FAULT_IN, in_seg(TCP_ACK, 0)) == FAULT_DROP;
    return drops;
}

static void probability_is_seeded_and_about_right(void **state)
{
    unsigned a = count_drops(7, "drop:in:any:p=0.02", 100000);
    unsigned b = count_drops(7, "drop:in:any:p=0.02", 100000);
    unsigned c = count_drops(8, "drop:in:any:p=0.02", 100000);

    assert_int_equal(a, b); /* same seed, same run */
    assert_in_range(a, 1700, 2300);
    assert_in_range(c, 1700, 2300);
    assert_int_equal(count_drops(7, "drop:in:any:p=0", 10000), 0);
    assert_int_equal(count_drops(7, "drop:in:any:p=1", 10000), 10000);
    assert_in_range(count_drops(0, "drop:in:any:p=0.5", 10000), 4700, 5300);
}

/* A fake engine: one connection, 10.7.0.2:7 <-> 10.7.0.1:41234, in TIME_WAIT. */
static int fake_state(void *ctx, uint32_t laddr, uint16_t lport, uint32_t raddr, uint16_t rport)
{
    int *calls = ctx;

    (*calls)++;
    if (laddr == 0x0a070002 && lport == 7 && raddr == 0x0a070001 && rport == 41234)
        return TT_STATE_TIME_WAIT;
    return -ENOENT;
}

static void state_is_looked_up_from_our_side(void **state)
{
    struct fault_set fs;
    char err[128];
    int calls = 0;

    tt_fault_set_init(&fs, 1, fake_state, &calls);
    assert_int_equal(tt_fault_set_add(&fs, "drop:out:ack:state=TIME_WAIT:nth=1", err, sizeof(err)),
                     0);
    assert_int_equal(tt_fault_set_add(&fs, "dup:in:fin:state=TIME_WAIT", err, sizeof(err)), 0);
    assert_int_equal(tt_fault_set_add(&fs, "delay=5ms:in:syn:state=CLOSED", err, sizeof(err)), 0);
    assert_int_equal(decide(&fs, FAULT_OUT, out_seg(TCP_ACK, 0)), FAULT_DROP);
    assert_int_equal(decide(&fs, FAULT_OUT, out_seg(TCP_ACK, 0)), FAULT_PASS); /* nth=1 spent */
    assert_int_equal(decide(&fs, FAULT_IN, in_seg(TCP_FIN | TCP_ACK, 0)), FAULT_DUP);
    assert_int_equal(decide(&fs, FAULT_IN, tcp(TCP_FIN | TCP_ACK, 0, KERNEL, 5555, US, 7)),
                     FAULT_PASS);
    assert_int_equal(decide(&fs, FAULT_IN, tcp(TCP_SYN, 0, KERNEL, 5555, US, 7)), FAULT_DELAY);
    assert_int_equal(decide(&fs, FAULT_IN, in_seg(TCP_SYN, 0)), FAULT_PASS);
    assert_true(calls > 0);
}

static void state_is_not_looked_up_without_a_state_rule(void **state)
{
    struct fault_set fs;
    char err[128];
    int calls = 0;

    tt_fault_set_init(&fs, 1, fake_state, &calls);
    assert_int_equal(tt_fault_set_add(&fs, "drop:in:any", err, sizeof(err)), 0);
    decide(&fs, FAULT_IN, in_seg(TCP_ACK, 0));
    assert_int_equal(calls, 0);
}

/* Issue 12 item 5: dup=D passes the packet now and holds its copy for D, however long. */
static void dup_with_a_delay_for_the_copy(void **state)
{
    struct fault_rule r;
    struct fault_set fs;
    struct fault_verdict v;
    struct pkt data = in_seg(TCP_ACK | TCP_PSH, 10);
    char err[128];

    assert_int_equal(tt_fault_parse("dup=2s:in:data:nth=1", &r, err, sizeof(err)), 0);
    assert_int_equal(r.action, FAULT_DUP);
    assert_int_equal(r.delay_us, 2000000);
    assert_int_equal(tt_fault_parse("dup=10m:out:fin", &r, err, sizeof(err)), 0);
    assert_int_equal(r.delay_us, 600000000ULL);
    assert_int_equal(tt_fault_parse("dup:in:data", &r, err, sizeof(err)), 0);
    assert_int_equal(r.delay_us, 0);
    tt_fault_set_init(&fs, 1, NULL, NULL);
    assert_int_equal(tt_fault_set_add(&fs, "drop:in:syn", err, sizeof(err)), 0);
    assert_int_equal(tt_fault_set_add(&fs, "dup=1500ms:in:data:nth=1", err, sizeof(err)), 0);
    assert_int_equal(tt_fault_decide(&fs, FAULT_IN, data.b, data.len, &v), FAULT_DUP);
    assert_int_equal(v.action, FAULT_DUP);
    assert_int_equal(v.rule, 1);
    assert_int_equal(v.delay_us, 1500000);
    assert_int_equal(tt_fault_decide(&fs, FAULT_IN, data.b, data.len, &v), FAULT_PASS);
    assert_int_equal(v.rule, -1);
    assert_int_equal(v.delay_us, 0);
    assert_int_equal(fs.duplicated, 1);
}

/* The trace and --inject read a packet's segment fields through the classifier. */
static void classify_reads_the_segment(void **state)
{
    struct pkt p = in_seg(TCP_FIN | TCP_ACK, 5);
    struct fault_pkt pi;

    p.b[24] = 0x01, p.b[25] = 0x02, p.b[26] = 0x03, p.b[27] = 0x04;
    p.b[28] = 0xa0, p.b[29] = 0xb0, p.b[30] = 0xc0, p.b[31] = 0xd0;
    tt_fault_classify(p.b, p.len, &pi);
    assert_true(pi.tcp);
    assert_int_equal(pi.seq, 0x01020304);
    assert_int_equal(pi.ack, 0xa0b0c0d0);
    assert_int_equal(pi.flags, TCP_FIN | TCP_ACK);
    assert_int_equal(pi.payload, 5);
    assert_int_equal(pi.sport, 41234);
    assert_int_equal(pi.dport, 7);
    tt_fault_classify(icmp_echo().b, 28, &pi);
    assert_false(pi.tcp);
    assert_string_equal(tt_fault_action_name(FAULT_DUP), "dup");
    assert_string_equal(tt_fault_action_name(FAULT_PASS), "pass");
    assert_string_equal(tt_fault_match_name(FAULT_M_SYNACK), "synack");
}

static void first_firing_rule_decides(void **state)
{
    struct fault_set fs;
    char err[128];
    struct fault_verdict v;
    struct pkt fin = in_seg(TCP_FIN | TCP_ACK, 0);

    tt_fault_set_init(&fs, 1, NULL, NULL);
    assert_int_equal(tt_fault_set_add(&fs, "dup:in:syn", err, sizeof(err)), 0);
    assert_int_equal(tt_fault_set_add(&fs, "delay=200ms:in:fin:nth=2", err, sizeof(err)), 0);
    assert_int_equal(tt_fault_set_add(&fs, "drop:in:any", err, sizeof(err)), 0);
    assert_int_equal(decide(&fs, FAULT_IN, in_seg(TCP_SYN, 0)), FAULT_DUP);
    assert_int_equal(decide(&fs, FAULT_IN, fin), FAULT_DROP); /* rule 2 skips its 1st match */
    assert_int_equal(tt_fault_decide(&fs, FAULT_IN, fin.b, fin.len, &v), FAULT_DELAY);
    assert_int_equal(v.delay_us, 200000);
    assert_int_equal(v.rule, 1);
    assert_int_equal(decide(&fs, FAULT_IN, in_seg(TCP_ACK, 0)), FAULT_DROP);
    assert_int_equal(fs.duplicated, 1);
    assert_int_equal(fs.delayed, 1);
    assert_int_equal(fs.dropped, 2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(parses_the_spec_examples),
        cmocka_unit_test(parses_qualifiers),
        cmocka_unit_test(refuses_bad_specs_with_a_reason),
        cmocka_unit_test(refuses_more_than_the_maximum_rules),
        cmocka_unit_test(classes_match_their_segments),
        cmocka_unit_test(only_any_matches_non_tcp_or_broken_packets),
        cmocka_unit_test(direction_is_respected),
        cmocka_unit_test(nth_acts_on_one_match_only),
        cmocka_unit_test(count_acts_on_the_first_matches),
        cmocka_unit_test(probability_is_seeded_and_about_right),
        cmocka_unit_test(state_is_looked_up_from_our_side),
        cmocka_unit_test(state_is_not_looked_up_without_a_state_rule),
        cmocka_unit_test(first_firing_rule_decides),
        cmocka_unit_test(dup_with_a_delay_for_the_copy),
        cmocka_unit_test(classify_reads_the_segment),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
