/*
 * libFuzzer target on the driver's fault injection (stack/driver/fault.c): the one
 * place outside the engine that reads raw datagrams from the network (to
 * classify them for --fault rules), and the parser of --fault specs. Both
 * take anything: a malformed packet must still be classified without reading
 * past its end, and a bad spec refused with a reason.
 *
 * Properties beyond "no crash":
 * - tt_fault_parse() and tt_fault_check() agree; a refused spec comes with a
 *   reason; an accepted one gives a rule whose fields are in range;
 * - for a datagram the engine's own parsers accept (checksums and all), the
 *   fault classifier agrees with them: each MATCH class (syn, synack, fin,
 *   rst, ack, data) fires exactly when the segment's flags and payload say,
 *   `any` always; and a state= rule fires exactly when the packet's
 *   connection, looked up by its 4-tuple seen from our side, is in that
 *   state;
 * - a verdict is PASS or the action of the rule, with that rule's delay;
 * - the same spec bytes as an --inject spec: tt_inject_parse() and
 *   tt_inject_check() agree, a refusal has a reason, and an accepted spec
 *   builds (from connection numbers taken from the datagram's first bytes)
 *   a segment the engine's parsers accept, checksums included, with the
 *   spec's flags, length and numbers.
 *
 * Input: mode byte (bits 0-3 repairs, wire_repair.h; bit 4: the packet goes
 * out rather than in), a state byte (what the connection table answers:
 * value % 12, 11 meaning no connection), a spec length n (% 64), n bytes of
 * spec, then the datagram.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fault.h"
#include "fuzz_check.h"
#include "inject.h"
#include "ipv4.h"
#include "tcp_wire.h"
#include "tuntcp/tuntcp.h"
#include "wire_repair.h"

#define PKT_MAX 65535
#define SPEC_LEN 64
#define N_STATES 11 /* TT_STATE_CLOSED .. TT_STATE_TIME_WAIT */

static const char *const g_classes[] = {"any", "syn", "synack", "fin", "rst", "ack", "data"};

/* What the connection table answers, and what it was asked. */
struct lookup {
    int answer;
    bool asked;
    uint32_t laddr, raddr;
    uint16_t lport, rport;
};

static int state_of(void *ctx, uint32_t laddr, uint16_t lport, uint32_t raddr, uint16_t rport)
{
    struct lookup *lk = ctx;

    lk->asked = true;
    lk->laddr = laddr;
    lk->lport = lport;
    lk->raddr = raddr;
    lk->rport = rport;
    return lk->answer;
}

/* ---- the spec parser ---- */

static void check_rule(const struct fault_rule *r)
{
    CHECK(r->action == FAULT_DROP || r->action == FAULT_DUP || r->action == FAULT_DELAY,
          "action %d", r->action);
    CHECK(r->action == FAULT_DELAY || r->action == FAULT_DUP || r->delay_us == 0,
          "a delay on a rule that neither delays nor duplicates");
    CHECK(r->dir == FAULT_IN || r->dir == FAULT_OUT, "direction %d", r->dir);
    CHECK(r->match <= FAULT_M_DATA, "match %d", r->match);
    CHECK(r->state >= -1 && r->state < N_STATES, "state %d", r->state);
    CHECK(r->nth >= 1, "nth %llu", (unsigned long long)r->nth);
    CHECK(r->p >= 0.0 && r->p <= 1.0, "p %f", r->p);
    CHECK(r->seen == 0, "a new rule has seen matches");
}

/* Returns the verdict of the fuzzed spec on the packet (PASS when refused). */
static void check_spec(const char *spec, enum fault_dir dir, const uint8_t *pkt, size_t len,
                       struct lookup *lk)
{
    struct fault_set fs;
    char err[256], err2[256];

    memset(err, 'x', sizeof(err));
    tt_fault_set_init(&fs, 1, state_of, lk);
    int r = tt_fault_set_add(&fs, spec, err, sizeof(err));
    int r2 = tt_fault_check(spec, err2, sizeof(err2));
    CHECK(r == 0 || r == -EINVAL, "tt_fault_set_add returned %d", r);
    CHECK((r == 0) == (r2 == 0), "tt_fault_set_add %d but tt_fault_check %d on '%s'", r, r2, spec);
    if (r != 0) {
        CHECK(memchr(err, '\0', sizeof(err)) != NULL && err[0] != '\0', "refused without reason");
        return;
    }
    check_rule(&fs.rule[0]);
    for (int i = 0; i < 3; i++) { /* nth and count count matches across calls */
        struct fault_verdict v;
        enum fault_action a = tt_fault_decide(&fs, dir, pkt, len, &v);
        CHECK(a == v.action && (a == FAULT_PASS ? v.rule == -1 : v.rule == 0),
              "verdict %d but %d, rule %d", a, v.action, v.rule);
        CHECK(a == FAULT_PASS || (a == fs.rule[0].action && v.delay_us == fs.rule[0].delay_us),
              "verdict %d, delay %llu, rule %d", a, (unsigned long long)v.delay_us,
              fs.rule[0].action);
    }
}

/* ---- the classifier, against the engine's parsers ---- */

static bool expected_class(unsigned m, const struct seg *s)
{
    uint8_t f = s->flags;

    switch (m) {
    case 1:
        return (f & (TCP_SYN | TCP_ACK)) == TCP_SYN;
    case 2:
        return (f & (TCP_SYN | TCP_ACK)) == (TCP_SYN | TCP_ACK);
    case 3:
        return (f & TCP_FIN) != 0;
    case 4:
        return (f & TCP_RST) != 0;
    case 5:
        return (f & (TCP_ACK | TCP_SYN | TCP_FIN | TCP_RST)) == TCP_ACK && s->len == 0;
    case 6:
        return s->len > 0;
    default:
        return true;
    }
}

static bool fires(const char *spec, enum fault_dir dir, const uint8_t *pkt, size_t len,
                  struct lookup *lk)
{
    struct fault_set fs;
    struct fault_verdict v;

    tt_fault_set_init(&fs, 1, state_of, lk);
    CHECK(tt_fault_set_add(&fs, spec, NULL, 0) == 0, "our own spec '%s' refused", spec);
    return tt_fault_decide(&fs, dir, pkt, len, &v) == FAULT_DROP;
}

static void check_classes(enum fault_dir dir, const uint8_t *pkt, size_t len, const struct seg *s,
                          struct lookup *lk)
{
    const char *d = dir == FAULT_IN ? "in" : "out";
    char spec[64];

    for (unsigned m = 0; m < sizeof(g_classes) / sizeof(g_classes[0]); m++) {
        snprintf(spec, sizeof(spec), "drop:%s:%s", d, g_classes[m]);
        CHECK(fires(spec, dir, pkt, len, lk) == expected_class(m, s),
              "'%s' on flags %02x, %u bytes of payload", spec, s->flags, s->len);
    }
}

/* A state= rule fires when the 4-tuple, seen from our side, is in that state. */
static void check_state(enum fault_dir dir, const uint8_t *pkt, size_t len, const struct seg *s,
                        struct lookup *lk)
{
    int now = lk->answer < 0 ? TT_STATE_CLOSED : lk->answer;
    char spec[64];

    for (int st = 0; st < N_STATES; st++) {
        snprintf(spec, sizeof(spec), "drop:%s:any:state=%s", dir == FAULT_IN ? "in" : "out",
                 tt_state_name((tt_state_t)st));
        lk->asked = false;
        CHECK(fires(spec, dir, pkt, len, lk) == (st == now), "'%s' with the connection in %s", spec,
              tt_state_name((tt_state_t)now));
        CHECK(lk->asked, "state not looked up");
        bool in = dir == FAULT_IN;
        CHECK(lk->laddr == (in ? s->daddr : s->saddr) && lk->lport == (in ? s->dport : s->sport) &&
                  lk->raddr == (in ? s->saddr : s->daddr) &&
                  lk->rport == (in ? s->sport : s->dport),
              "looked up the wrong 4-tuple");
    }
}

static void check_against_engine(enum fault_dir dir, const uint8_t *pkt, size_t len,
                                 struct lookup *lk)
{
    struct ipv4_hdr ip;
    struct seg s;

    if (tt_ipv4_parse(pkt, len, &ip) != IPV4_OK || ip.proto != IP_PROTO_TCP ||
        tt_tcp_parse(ip.payload, ip.payload_len, ip.src, ip.dst, &s) != TCP_OK)
        return;
    check_classes(dir, pkt, len, &s, lk);
    check_state(dir, pkt, len, &s, lk);
}

/* ---- --inject ---- */

static uint32_t rd32(const uint8_t *p, size_t len, size_t off)
{
    uint32_t v = 0;

    for (size_t i = 0; i < 4; i++)
        v = v << 8 | (off + i < len ? p[off + i] : 0);
    return v;
}

static uint32_t expect_value(const struct inject_value *v, uint32_t rcv, uint32_t snd)
{
    uint32_t base = v->base == INJECT_RCV ? rcv : v->base == INJECT_SND ? snd : 0;

    return base + (uint32_t)v->n;
}

static void check_inject(const char *spec, const uint8_t *pkt, size_t len)
{
    static uint8_t buf[40 + 65535];
    struct inject_spec sp;
    char err[200] = "", err2[200];
    struct inject_conn c = {0x0a070002,        0x0a070001,       7, 40000, true,
                            rd32(pkt, len, 0), rd32(pkt, len, 4)};
    struct ipv4_hdr ip;
    struct seg s;

    int r = tt_inject_parse(spec, &sp, err, sizeof(err));
    CHECK((r == 0) == (tt_inject_check(spec, err2, sizeof(err2)) == 0),
          "tt_inject_parse %d but tt_inject_check disagrees on '%s'", r, spec);
    if (r != 0) {
        CHECK(err[0] != '\0', "inject spec '%s' refused without reason", spec);
        return;
    }
    CHECK(sp.state >= -1 && sp.state <= TT_STATE_TIME_WAIT && sp.state != TT_STATE_CLOSED &&
              sp.state != TT_STATE_LISTEN,
          "state %d", sp.state);
    CHECK(sp.nth >= 1 && sp.len <= 65495, "nth %u len %u", sp.nth, sp.len);
    int n = tt_inject_build(&sp, &c, buf, 40 + (size_t)sp.len);
    CHECK(n == 40 + (int)sp.len, "built %d bytes for len %u", n, sp.len);
    CHECK(tt_ipv4_parse(buf, (size_t)n, &ip) == IPV4_OK && ip.proto == IP_PROTO_TCP &&
              tt_tcp_parse(ip.payload, ip.payload_len, ip.src, ip.dst, &s) == TCP_OK,
          "the engine refuses the injected segment of '%s'", spec);
    CHECK(s.flags == sp.flags && s.len == sp.len && s.sport == 40000 && s.dport == 7 &&
              s.wnd == sp.win,
          "segment of '%s': flags %02x len %u", spec, s.flags, s.len);
    CHECK(s.seq == expect_value(&sp.seq, c.rcv_nxt, c.snd_nxt), "seq of '%s'", spec);
    CHECK(!(s.flags & TCP_ACK) || s.ack == expect_value(&sp.ack, c.rcv_nxt, c.snd_nxt),
          "ack of '%s'", spec);
    c.have_seq = false;
    CHECK((tt_inject_build(&sp, &c, buf, sizeof(buf)) < 0) == tt_inject_needs_conn(&sp),
          "'%s' built without the numbers it needs", spec);
    CHECK(tt_inject_build(&sp, &c, buf, 39) < 0, "'%s' built into 39 bytes", spec);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char spec[SPEC_LEN + 1];

    if (size < 3)
        return 0;
    uint8_t mode = data[0];
    enum fault_dir dir = (mode & 0x10) ? FAULT_OUT : FAULT_IN;
    struct lookup lk = {.answer = data[1] % 12 == 11 ? -ENOENT : data[1] % 12};
    size_t n = data[2] % SPEC_LEN;
    if (n > size - 3)
        n = size - 3;
    memcpy(spec, data + 3, n);
    spec[n] = '\0';
    size_t len = size - 3 - n;
    if (len > PKT_MAX)
        return 0;
    /* An exact copy on the heap: ASan sees any read past the datagram. */
    uint8_t *pkt = malloc(len ? len : 1);
    CHECK(pkt != NULL, "out of memory");
    memcpy(pkt, data + 3 + n, len);
    wire_repair(pkt, len, mode);

    check_spec(spec, dir, pkt, len, &lk);
    check_inject(spec, pkt, len);
    check_against_engine(dir, pkt, len, &lk);
    free(pkt);
    return 0;
}
