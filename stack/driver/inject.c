/*
 * --inject: parsing of the specs, their clocks, and the crafted segment.
 *
 * A spec acts once. A start-relative one (WHEN a bare DURATION) is due
 * that long after the driver started and takes the first connection
 * port= accepts that exists then. A STATE+DURATION one starts its clock
 * when the nth= (first) connection port= accepts enters STATE (a `state`
 * trace event) and keeps that connection's 4-tuple, so the segment goes to that
 * 4-tuple even when the connection has moved on, or is gone (then only
 * absolute numbers can be used).
 *
 * The segment is built here rather than by the engine's writer: the
 * engine only writes what it sends itself, and this one comes from the
 * peer. It carries no TCP options: a RST needs no timestamp (RFC 7323
 * §3.2), and the engine, like Linux, takes other segments without one.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fault.h"
#include "inject.h"
#include "tcp_wire.h"

#define SPEC_MAX 256
#define FIELDS_MAX 12
#define LEN_MAX 65495 /* an IPv4 datagram's room for payload after 40 bytes of headers */

const char tt_inject_help[] =
    "  --inject WHEN:KIND[:FIELD=VALUE]...   (repeatable) a crafted segment from the peer\n"
    "      WHEN   DURATION        after the stack started, e.g. 2s\n"
    "             STATE+DURATION  after a connection entered STATE, e.g. time_wait+200ms\n"
    "      KIND   rst | rstack | ack | data (ACK+PSH) | fin (FIN+ACK)\n"
    "      FIELD  seq=V   SEG.SEQ (rcv if not given)\n"
    "             ack=V   SEG.ACK (snd if not given)\n"
    "             len=N   payload bytes (1 for data, else 0)\n"
    "             port=N  only a connection with this port, ours or the peer's\n"
    "             nth=N   STATE+ only: the Nth connection to enter STATE (1 if not given)\n"
    "             win=N   SEG.WND (65535 if not given)\n"
    "      V      N (absolute) | rcv[+N|-N] | snd[+N|-N]: the stack's RCV.NXT or SND.NXT\n"
    "             at the moment of injection\n";

static int fail(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int fail(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;

    if (err != NULL && errlen > 0) {
        va_start(ap, fmt);
        vsnprintf(err, errlen, fmt, ap);
        va_end(ap);
    }
    return -EINVAL;
}

/* A connection state a spec may wait for: one a connection enters. */
static int parse_state(const char *s, size_t n)
{
    int st = tt_fault_state_parse(s, n);

    return st >= TT_STATE_SYN_SENT ? st : -1;
}

static int parse_when(const char *s, struct inject_spec *sp, char *err, size_t errlen)
{
    const char *plus = strchr(s, '+');
    const char *dur = s;

    sp->state = -1;
    if (plus != NULL) {
        sp->state = parse_state(s, (size_t)(plus - s));
        if (sp->state < 0)
            return fail(err, errlen,
                        "unknown state '%.*s' in '%s' (expected e.g. time_wait+200ms; "
                        "SYN_SENT..TIME_WAIT)",
                        (int)(plus - s), s, s);
        dur = plus + 1;
    }
    if (tt_duration_parse(dur, &sp->after_us) < 0)
        return fail(err, errlen, "bad time '%s' (expected DURATION or STATE+DURATION, e.g. 2s)", s);
    return 0;
}

static int parse_kind(const char *s, struct inject_spec *sp, char *err, size_t errlen)
{
    static const struct {
        const char *name;
        uint8_t flags;
        uint32_t len;
    } kinds[] = {
        {"rst", TCP_RST, 0},           {"rstack", TCP_RST | TCP_ACK, 0},
        {"ack", TCP_ACK, 0},           {"data", TCP_ACK | TCP_PSH, 1},
        {"fin", TCP_FIN | TCP_ACK, 0},
    };

    for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
        if (strcmp(s, kinds[i].name) == 0) {
            sp->flags = kinds[i].flags;
            sp->len = kinds[i].len;
            return 0;
        }
    }
    return fail(err, errlen, "unknown kind '%s' (expected rst, rstack, ack, data or fin)", s);
}

static int parse_uint(const char *s, uint64_t max, uint64_t *v)
{
    char *end;

    if (*s < '0' || *s > '9')
        return -EINVAL;
    errno = 0;
    *v = strtoull(s, &end, 10);
    return (*end != '\0' || errno != 0 || *v > max) ? -EINVAL : 0;
}

/* N, rcv, rcv+N, rcv-N, snd, snd+N, snd-N. */
static int parse_value(const char *s, struct inject_value *v)
{
    uint64_t n = 0;
    bool neg = false;

    if (strncmp(s, "rcv", 3) == 0 || strncmp(s, "snd", 3) == 0) {
        v->base = s[0] == 'r' ? INJECT_RCV : INJECT_SND;
        s += 3;
        if (*s == '\0') {
            v->n = 0;
            return 0;
        }
        if (*s != '+' && *s != '-')
            return -EINVAL;
        neg = *s++ == '-';
    } else {
        v->base = INJECT_ABS;
    }
    if (parse_uint(s, UINT32_MAX, &n) < 0)
        return -EINVAL;
    v->n = neg ? -(int64_t)n : (int64_t)n;
    return 0;
}

/* Which fields were given, to refuse repeats. */
struct field_seen {
    bool seq, ack, len, port, nth, win;
};

static int parse_field(const char *q, struct inject_spec *sp, struct field_seen *seen, char *err,
                       size_t errlen)
{
    const char *eq = strchr(q, '=');
    size_t klen = eq != NULL ? (size_t)(eq - q) : strlen(q);
    const char *v = eq != NULL ? eq + 1 : "";
    uint64_t n = 0;
    bool *dup;

    if (klen == 3 && strncmp(q, "seq", 3) == 0) {
        dup = &seen->seq;
        if (parse_value(v, &sp->seq) < 0)
            return fail(err, errlen, "bad seq '%s' (expected N, rcv, rcv+N, snd-N...)", v);
    } else if (klen == 3 && strncmp(q, "ack", 3) == 0) {
        dup = &seen->ack;
        if (parse_value(v, &sp->ack) < 0)
            return fail(err, errlen, "bad ack '%s' (expected N, snd, snd+N, rcv-N...)", v);
    } else if (klen == 3 && strncmp(q, "len", 3) == 0) {
        dup = &seen->len;
        if (parse_uint(v, LEN_MAX, &n) < 0)
            return fail(err, errlen, "bad len '%s' (expected 0..%d)", v, LEN_MAX);
        sp->len = (uint32_t)n;
    } else if (klen == 4 && strncmp(q, "port", 4) == 0) {
        dup = &seen->port;
        if (parse_uint(v, 65535, &n) < 0 || n == 0)
            return fail(err, errlen, "bad port '%s' (expected 1..65535)", v);
        sp->port = (uint32_t)n;
    } else if (klen == 3 && strncmp(q, "nth", 3) == 0) {
        dup = &seen->nth;
        if (parse_uint(v, UINT32_MAX, &n) < 0 || n == 0)
            return fail(err, errlen, "bad nth '%s' (expected an integer >= 1)", v);
        if (sp->state < 0)
            return fail(err, errlen, "nth= needs WHEN as STATE+DURATION");
        sp->nth = (uint32_t)n;
    } else if (klen == 3 && strncmp(q, "win", 3) == 0) {
        dup = &seen->win;
        if (parse_uint(v, 65535, &n) < 0)
            return fail(err, errlen, "bad win '%s' (expected 0..65535)", v);
        sp->win = (uint16_t)n;
    } else {
        return fail(err, errlen,
                    "unknown field '%s' (expected seq=, ack=, len=, port=, nth= or win=)", q);
    }
    if (*dup)
        return fail(err, errlen, "field '%.*s' given twice", (int)klen, q);
    *dup = true;
    return 0;
}

/* Splits buf in place at each ':'; returns the number of fields, or 0 when too many. */
static size_t split_fields(char *buf, char **fields)
{
    size_t n = 0;

    for (char *p = buf;; p++) {
        if (n == FIELDS_MAX)
            return 0;
        fields[n++] = p;
        p = strchr(p, ':');
        if (p == NULL)
            return n;
        *p = '\0';
    }
}

int tt_inject_parse(const char *spec, struct inject_spec *sp, char *err, size_t errlen)
{
    char buf[SPEC_MAX];
    char *f[FIELDS_MAX];
    struct field_seen seen = {false, false, false, false, false, false};
    size_t n;
    int rc;

    if (strlen(spec) >= sizeof(buf))
        return fail(err, errlen, "spec longer than %d characters", SPEC_MAX - 1);
    strcpy(buf, spec);
    n = split_fields(buf, f);
    if (n < 2)
        return fail(err, errlen, "expected WHEN:KIND[:FIELD=VALUE]..., e.g. time_wait+200ms:rst");
    memset(sp, 0, sizeof(*sp));
    sp->seq.base = INJECT_RCV;
    sp->ack.base = INJECT_SND;
    sp->win = 65535;
    sp->nth = 1;
    if ((rc = parse_when(f[0], sp, err, errlen)) < 0 ||
        (rc = parse_kind(f[1], sp, err, errlen)) < 0)
        return rc;
    for (size_t i = 2; i < n; i++) {
        if ((rc = parse_field(f[i], sp, &seen, err, errlen)) < 0)
            return rc;
    }
    return 0;
}

int tt_inject_check(const char *spec, char *err, size_t errlen)
{
    struct inject_spec sp;

    return tt_inject_parse(spec, &sp, err, errlen);
}

int tt_inject_check_mtu(const char *spec, uint32_t mtu, char *err, size_t errlen)
{
    struct inject_spec sp;

    if (tt_inject_parse(spec, &sp, NULL, 0) == 0 && 40 + (uint64_t)sp.len > mtu) {
        if (err != NULL && errlen > 0)
            snprintf(err, errlen, "len=%u does not fit the MTU (%u: at most len=%u)", sp.len, mtu,
                     mtu >= 40 ? mtu - 40 : 0);
        return -EMSGSIZE;
    }
    return 0;
}

void tt_inject_start(struct inject_spec *s, uint64_t start_us)
{
    if (s->state >= 0)
        return;
    s->armed = true;
    s->due = start_us + s->after_us;
}

bool tt_inject_port_ok(const struct inject_spec *s, uint16_t lport, uint16_t rport)
{
    return s->port == 0 || s->port == lport || s->port == rport;
}

bool tt_inject_on_event(struct inject_spec *s, const tt_event_t *ev)
{
    if (s->armed || s->done || s->state < 0 || ev->type != TT_EV_STATE || (int)ev->to != s->state ||
        !tt_inject_port_ok(s, ev->lport, ev->rport))
        return false;
    if (++s->seen < s->nth)
        return false;
    s->armed = true;
    s->due = ev->now_us + s->after_us;
    s->have_tuple = true;
    s->laddr = ev->laddr;
    s->raddr = ev->raddr;
    s->lport = ev->lport;
    s->rport = ev->rport;
    return true;
}

bool tt_inject_needs_conn(const struct inject_spec *s)
{
    return s->seq.base != INJECT_ABS || s->ack.base != INJECT_ABS;
}

static uint32_t value_of(const struct inject_value *v, const struct inject_conn *c)
{
    int64_t base = v->base == INJECT_RCV ? c->rcv_nxt : v->base == INJECT_SND ? c->snd_nxt : 0;

    return (uint32_t)(base + v->n); /* sequence space wraps (RFC 9293 3.4) */
}

/*
 * The segment as the peer would send it: the engine's own wire builder
 * (tcp_wire.c: IPv4 header, TCP header, both checksums), from the peer to
 * us. The payload is len bytes of 'x'. Rare (one per --inject spec), so
 * the payload's buffer is allocated here rather than kept.
 */
int tt_inject_build(const struct inject_spec *s, const struct inject_conn *c, uint8_t *buf,
                    size_t cap)
{
    struct seg seg = {.saddr = c->raddr,
                      .daddr = c->laddr,
                      .sport = c->rport,
                      .dport = c->lport,
                      .seq = value_of(&s->seq, c),
                      .ack = (s->flags & TCP_ACK) ? value_of(&s->ack, c) : 0,
                      .flags = s->flags,
                      .wnd = s->win,
                      .len = s->len};
    uint8_t *payload = NULL;
    size_t total;

    if (tt_inject_needs_conn(s) && !c->have_seq)
        return -EINVAL;
    if (40 + (size_t)s->len > cap)
        return -ENOSPC;
    if (s->len > 0) {
        if ((payload = malloc(s->len)) == NULL)
            return -ENOMEM;
        memset(payload, 'x', s->len);
        seg.data = payload;
    }
    total = tt_tcp_build(buf, cap, &seg, 0);
    free(payload);
    return total > 0 ? (int)total : -ENOSPC;
}
