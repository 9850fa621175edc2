/*
 * Fault injection rules: parsing of --fault specs and the per-packet verdict.
 *
 * A rule's "matches" are the packets of its direction that fit its class and
 * its state= qualifier; nth/count select a window of those matches (nth=N
 * alone: only the Nth; count=N alone: the first N; both: N matches from the
 * nth on), and p= then acts on each match in the window with that
 * probability, drawn from a PRNG seeded by --seed so that a run replays.
 * Only TCP packets fit a class other than `any`. A packet of no connection
 * is in state CLOSED; one for a listening port, LISTEN. The state is looked
 * up when the verdict is asked for: for an outgoing packet the driver
 * answers with the state the engine sent it in (tt_engine_output_state()),
 * and the engine changes state before it sends (the final ACK leaves in
 * TIME_WAIT, or in the state before when there is no room for TIME_WAIT;
 * the RST of an abort before the abort).
 *
 * The packet is classified with a minimal header walk of its own, without
 * checksums: a fault must hit malformed packets too, and this keeps the
 * driver from depending on the engine's parsers.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fault.h"
#include "tcp_wire.h"

#define SPEC_MAX 256
#define FIELDS_MAX 16

const char tt_fault_help[] =
    "  --fault ACTION:DIR:MATCH[:QUAL]...   (repeatable; the first rule that fires decides)\n"
    "      ACTION  drop | dup | dup=DURATION (the packet now, a copy DURATION later)\n"
    "              | delay=DURATION (held, then released into whatever then owns the 4-tuple)\n"
    "      DIR     in (TUN -> stack) | out (stack -> TUN)\n"
    "      MATCH   any | syn | synack | fin | rst | ack (pure ACK: no data/SYN/FIN/RST) | data\n"
    "      QUAL    state=STATE  the packet's connection is in STATE: for in, when the packet\n"
    "                           arrives; for out, when the stack sends it (our final ACK is\n"
    "                           sent in TIME_WAIT; the RST of an abort in the state before\n"
    "                           it). LISTEN: a listening port; CLOSED: no connection\n"
    "              nth=N        only the Nth matching packet\n"
    "              count=N      the first N matching packets (with nth: N from the nth on)\n"
    "              p=PROB       each matching packet with probability PROB (0..1, see --seed)\n";

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

static int parse_action(const char *s, struct fault_rule *r, char *err, size_t errlen)
{
    if (strcmp(s, "drop") == 0) {
        r->action = FAULT_DROP;
    } else if (strcmp(s, "dup") == 0) {
        r->action = FAULT_DUP;
    } else if (strncmp(s, "dup=", 4) == 0) {
        r->action = FAULT_DUP;
        if (tt_duration_parse(s + 4, &r->delay_us) < 0)
            return fail(err, errlen, "bad copy delay '%s' (expected e.g. dup=2s)", s + 4);
    } else if (strncmp(s, "delay=", 6) == 0) {
        r->action = FAULT_DELAY;
        if (tt_duration_parse(s + 6, &r->delay_us) < 0)
            return fail(err, errlen, "bad delay '%s' (expected e.g. delay=200ms)", s + 6);
    } else {
        return fail(err, errlen,
                    "unknown action '%s' (expected drop, dup, dup=DURATION or delay=DURATION)", s);
    }
    return 0;
}

static int parse_dir(const char *s, struct fault_rule *r, char *err, size_t errlen)
{
    if (strcmp(s, "in") == 0)
        r->dir = FAULT_IN;
    else if (strcmp(s, "out") == 0)
        r->dir = FAULT_OUT;
    else
        return fail(err, errlen, "unknown direction '%s' (expected in or out)", s);
    return 0;
}

static const char *const match_names[] = {"any", "syn", "synack", "fin", "rst", "ack", "data"};

const char *tt_fault_match_name(enum fault_match m)
{
    return (size_t)m < sizeof(match_names) / sizeof(match_names[0]) ? match_names[m] : "?";
}

const char *tt_fault_action_name(enum fault_action a)
{
    switch (a) {
    case FAULT_PASS:
        return "pass";
    case FAULT_DROP:
        return "drop";
    case FAULT_DUP:
        return "dup";
    case FAULT_DELAY:
        return "delay";
    }
    return "?";
}

static int parse_match(const char *s, struct fault_rule *r, char *err, size_t errlen)
{
    const char *const *names = match_names;

    for (size_t i = 0; i < sizeof(match_names) / sizeof(match_names[0]); i++) {
        if (strcmp(s, names[i]) == 0) {
            r->match = (enum fault_match)i;
            return 0;
        }
    }
    return fail(err, errlen,
                "unknown match '%s' (expected any, syn, synack, fin, rst, ack or data)", s);
}

/* Accepts the trace's spelling in any case, and ss's dashes: time-wait, TIME_WAIT. */
int tt_fault_state_parse(const char *s, size_t n)
{
    char norm[32];
    size_t i;

    if (n >= sizeof(norm))
        return -1;
    for (i = 0; i < n; i++) {
        char c = s[i] == '-' ? '_' : s[i];
        norm[i] = (char)(c >= 'a' && c <= 'z' ? c - 'a' + 'A' : c);
    }
    norm[i] = '\0';
    for (int st = TT_STATE_CLOSED; st <= TT_STATE_TIME_WAIT; st++) {
        if (strcmp(norm, tt_state_name((tt_state_t)st)) == 0)
            return st;
    }
    return -1;
}

static int parse_count(const char *s, uint64_t *v)
{
    char *end;

    if (*s < '1' || *s > '9')
        return -EINVAL;
    errno = 0;
    *v = strtoull(s, &end, 10);
    return (*end != '\0' || errno != 0) ? -EINVAL : 0;
}

static int parse_prob(const char *s, double *p)
{
    char *end;

    if (*s == '\0')
        return -EINVAL;
    *p = strtod(s, &end);
    return (*end != '\0' || !(*p >= 0.0 && *p <= 1.0)) ? -EINVAL : 0;
}

/* Which qualifiers were given, to refuse repeats and to default count from nth. */
struct qual_seen {
    bool state, nth, count, p;
};

static int parse_qual(const char *q, struct fault_rule *r, struct qual_seen *seen, char *err,
                      size_t errlen)
{
    const char *eq = strchr(q, '=');
    size_t klen = eq != NULL ? (size_t)(eq - q) : strlen(q);
    const char *v = eq != NULL ? eq + 1 : "";
    bool *dup = NULL;

    if (klen == 5 && strncmp(q, "state", 5) == 0) {
        dup = &seen->state;
        if ((r->state = tt_fault_state_parse(v, strlen(v))) < 0)
            return fail(err, errlen, "unknown state '%s' (expected e.g. state=TIME_WAIT)", v);
    } else if (klen == 3 && strncmp(q, "nth", 3) == 0) {
        dup = &seen->nth;
        if (parse_count(v, &r->nth) < 0)
            return fail(err, errlen, "bad nth '%s' (expected an integer >= 1)", v);
    } else if (klen == 5 && strncmp(q, "count", 5) == 0) {
        dup = &seen->count;
        if (parse_count(v, &r->count) < 0)
            return fail(err, errlen, "bad count '%s' (expected an integer >= 1)", v);
    } else if (klen == 1 && q[0] == 'p') {
        dup = &seen->p;
        if (parse_prob(v, &r->p) < 0)
            return fail(err, errlen, "bad probability '%s' (expected 0..1, e.g. p=0.02)", v);
    } else {
        return fail(err, errlen, "unknown qualifier '%s' (expected state=, nth=, count= or p=)", q);
    }
    if (*dup)
        return fail(err, errlen, "qualifier '%.*s' given twice", (int)klen, q);
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

static void rule_defaults(struct fault_rule *r)
{
    memset(r, 0, sizeof(*r));
    r->state = -1;
    r->nth = 1;
    r->count = 0;
    r->p = 1.0;
}

static int parse_head(char **f, struct fault_rule *r, char *err, size_t errlen)
{
    int rc = parse_action(f[0], r, err, errlen);

    if (rc == 0)
        rc = parse_dir(f[1], r, err, errlen);
    if (rc == 0)
        rc = parse_match(f[2], r, err, errlen);
    return rc;
}

int tt_fault_parse(const char *spec, struct fault_rule *r, char *err, size_t errlen)
{
    char buf[SPEC_MAX];
    char *f[FIELDS_MAX];
    struct qual_seen seen = {false, false, false, false};
    size_t n;
    int rc;

    if (strlen(spec) >= sizeof(buf))
        return fail(err, errlen, "spec longer than %d characters", SPEC_MAX - 1);
    strcpy(buf, spec);
    n = split_fields(buf, f);
    if (n < 3)
        return fail(err, errlen, "expected ACTION:DIR:MATCH[:QUALIFIER]..., e.g. drop:out:fin");
    rule_defaults(r);
    if ((rc = parse_head(f, r, err, errlen)) < 0)
        return rc;
    for (size_t i = 3; i < n; i++) {
        if ((rc = parse_qual(f[i], r, &seen, err, errlen)) < 0)
            return rc;
    }
    if (seen.nth && !seen.count)
        r->count = 1;
    return 0;
}

int tt_fault_check(const char *spec, char *err, size_t errlen)
{
    struct fault_rule r;

    return tt_fault_parse(spec, &r, err, errlen);
}

void tt_fault_set_init(struct fault_set *fs, uint64_t seed, fault_state_fn fn, void *ctx)
{
    memset(fs, 0, sizeof(*fs));
    fs->rng = seed;
    fs->state_fn = fn;
    fs->state_ctx = ctx;
}

int tt_fault_set_add(struct fault_set *fs, const char *spec, char *err, size_t errlen)
{
    int rc;

    if (fs->n == TT_FAULT_MAX) {
        fail(err, errlen, "more than %d rules", TT_FAULT_MAX);
        return -ENOSPC;
    }
    rc = tt_fault_parse(spec, &fs->rule[fs->n], err, errlen);
    if (rc == 0)
        fs->n++;
    return rc;
}

/* splitmix64: small, fast, and every seed (0 included) gives a good stream. */
static double rng_uniform(struct fault_set *fs)
{
    uint64_t z = (fs->rng += 0x9e3779b97f4a7c15ULL);

    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    z ^= z >> 31;
    return (double)(z >> 11) * (1.0 / 9007199254740992.0); /* [0, 1) */
}

static uint32_t rd32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static uint16_t rd16(const uint8_t *p)
{
    return (uint16_t)(p[0] << 8 | p[1]);
}

/* Fills pi; pi->tcp only for an unfragmented TCP segment whose headers fit. */
void tt_fault_classify(const uint8_t *p, size_t len, struct fault_pkt *pi)
{
    size_t ihl, total, doff;

    memset(pi, 0, sizeof(*pi));
    if (len < 20 || (p[0] >> 4) != 4)
        return;
    ihl = (size_t)(p[0] & 15) * 4;
    total = rd16(p + 2) < len ? rd16(p + 2) : len;
    if (ihl < 20 || total < ihl + 20 || p[9] != 6 || (rd16(p + 6) & 0x3fff) != 0)
        return;
    doff = (size_t)(p[ihl + 12] >> 4) * 4;
    if (doff < 20 || ihl + doff > total)
        return;
    pi->tcp = true;
    pi->saddr = rd32(p + 12);
    pi->daddr = rd32(p + 16);
    pi->sport = rd16(p + ihl);
    pi->dport = rd16(p + ihl + 2);
    pi->seq = rd32(p + ihl + 4);
    pi->ack = rd32(p + ihl + 8);
    pi->flags = p[ihl + 13];
    pi->payload = (uint32_t)(total - ihl - doff);
}

static bool class_matches(enum fault_match m, const struct fault_pkt *pi)
{
    const uint8_t f = pi->flags;

    if (m == FAULT_M_ANY)
        return true;
    if (!pi->tcp)
        return false;
    switch (m) {
    case FAULT_M_ANY:
        return true;
    case FAULT_M_SYN:
        return (f & (TCP_SYN | TCP_ACK)) == TCP_SYN;
    case FAULT_M_SYNACK:
        return (f & (TCP_SYN | TCP_ACK)) == (TCP_SYN | TCP_ACK);
    case FAULT_M_FIN:
        return (f & TCP_FIN) != 0;
    case FAULT_M_RST:
        return (f & TCP_RST) != 0;
    case FAULT_M_ACK:
        return (f & (TCP_ACK | TCP_SYN | TCP_FIN | TCP_RST)) == TCP_ACK && pi->payload == 0;
    case FAULT_M_DATA:
        return pi->payload > 0;
    }
    return false;
}

static int packet_state(struct fault_set *fs, enum fault_dir dir, const struct fault_pkt *pi)
{
    int st;

    if (fs->state_fn == NULL)
        return TT_STATE_CLOSED;
    if (dir == FAULT_IN)
        st = fs->state_fn(fs->state_ctx, pi->daddr, pi->dport, pi->saddr, pi->sport);
    else
        st = fs->state_fn(fs->state_ctx, pi->saddr, pi->sport, pi->daddr, pi->dport);
    return st < 0 ? TT_STATE_CLOSED : st;
}

static bool rule_matches(struct fault_set *fs, const struct fault_rule *r, enum fault_dir dir,
                         const struct fault_pkt *pi)
{
    if (r->dir != dir || !class_matches(r->match, pi))
        return false;
    if (r->state < 0)
        return true;
    return pi->tcp && packet_state(fs, dir, pi) == r->state;
}

/* Counts the match, then decides whether it falls in the rule's window and passes p. */
static bool rule_fires(struct fault_set *fs, struct fault_rule *r)
{
    r->seen++;
    if (r->seen < r->nth || (r->count != 0 && r->seen - r->nth >= r->count))
        return false;
    return r->p >= 1.0 || rng_uniform(fs) < r->p;
}

static void count_verdict(struct fault_set *fs, enum fault_action a)
{
    if (a == FAULT_DROP)
        fs->dropped++;
    else if (a == FAULT_DUP)
        fs->duplicated++;
    else if (a == FAULT_DELAY)
        fs->delayed++;
}

enum fault_action tt_fault_decide(struct fault_set *fs, enum fault_dir dir, const uint8_t *pkt,
                                  size_t len, struct fault_verdict *v)
{
    struct fault_pkt pi;

    *v = (struct fault_verdict){FAULT_PASS, -1, 0};
    tt_fault_classify(pkt, len, &pi);
    for (size_t i = 0; i < fs->n; i++) {
        struct fault_rule *r = &fs->rule[i];
        if (!rule_matches(fs, r, dir, &pi) || !rule_fires(fs, r))
            continue;
        *v = (struct fault_verdict){r->action, (int)i, r->delay_us};
        count_verdict(fs, r->action);
        return r->action;
    }
    return FAULT_PASS;
}
