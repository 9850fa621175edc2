/*
 * Fault injection between the TUN device and the engine (docs/contract.md §3.5 --fault):
 * a list of rules, each an action (drop, dup, delay) on the packets of one
 * direction that match a class and optional qualifiers. Pure logic: the
 * driver asks for a verdict per packet and carries it out (a delay is a
 * timer in the driver, never in the engine).
 *
 * Grammar: ACTION:DIR:MATCH[:QUAL]...
 *   ACTION  drop | dup | dup=DURATION | delay=DURATION
 *   DIR     in | out
 *   MATCH   any | syn | synack | fin | rst | ack | data
 *   QUAL    state=STATE | nth=N | count=N | p=PROB
 */
#ifndef TT_FAULT_H
#define TT_FAULT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tuntcp/driver.h"

enum fault_action {
    FAULT_PASS = 0, /* the verdict when no rule fires */
    FAULT_DROP,
    FAULT_DUP,
    FAULT_DELAY,
};

enum fault_dir {
    FAULT_IN,  /* read from the TUN, on its way to the engine */
    FAULT_OUT, /* from the engine, on its way to the TUN */
};

enum fault_match {
    FAULT_M_ANY,    /* every packet, TCP or not */
    FAULT_M_SYN,    /* SYN without ACK */
    FAULT_M_SYNACK, /* SYN with ACK */
    FAULT_M_FIN,    /* FIN set, whatever else */
    FAULT_M_RST,    /* RST set */
    FAULT_M_ACK,    /* pure ACK: ACK and no data, SYN, FIN or RST */
    FAULT_M_DATA,   /* carries payload */
};

struct fault_rule {
    enum fault_action action;
    uint64_t delay_us; /* delay=: the hold; dup=: the copy's (0: both at once) */
    enum fault_dir dir;
    enum fault_match match;
    int state;      /* tt_state_t the packet's connection must be in; -1: any */
    uint64_t nth;   /* first match acted on, from 1 */
    uint64_t count; /* matches acted on from nth on; 0: no limit */
    double p;       /* probability of acting on a match in the window */
    uint64_t seen;  /* matches so far */
};

/*
 * The state of the connection a packet belongs to, seen from our side
 * (laddr/lport are ours): a tt_state_t, or -ENOENT when there is none.
 */
typedef int (*fault_state_fn)(void *ctx, uint32_t laddr, uint16_t lport, uint32_t raddr,
                              uint16_t rport);

struct fault_set {
    struct fault_rule rule[TT_FAULT_MAX];
    size_t n;
    uint64_t rng; /* splitmix64 state, from --seed */
    fault_state_fn state_fn;
    void *state_ctx;
    uint64_t dropped, duplicated, delayed;
};

/*
 * What the rules decided for one packet. The driver carries it out, and
 * the trace and the capture record it: which rule acted and how.
 */
struct fault_verdict {
    enum fault_action action;
    int rule;          /* index of the rule that fired, from 0; -1 for FAULT_PASS */
    uint64_t delay_us; /* FAULT_DELAY: the hold; FAULT_DUP: when the copy follows */
};

/* The header fields a rule, the trace and --inject look at in a datagram. */
struct fault_pkt {
    bool tcp; /* an unfragmented TCP segment whose headers fit; the rest is 0 if not */
    uint8_t flags;
    uint32_t payload;
    uint32_t saddr, daddr; /* host order */
    uint16_t sport, dport;
    uint32_t seq, ack;
};

/* Reads pkt's headers into *pi, without checking checksums. */
void tt_fault_classify(const uint8_t *pkt, size_t len, struct fault_pkt *pi);

/* "drop", "dup", "delay"; "pass" for FAULT_PASS. */
const char *tt_fault_action_name(enum fault_action a);
/* "any", "syn", ... as in the grammar. */
const char *tt_fault_match_name(enum fault_match m);

/* A state's name as the trace spells it, in any case, or with ss's dashes
 * (time-wait): the state, or -1. Shared by --fault's state= and --inject. */
int tt_fault_state_parse(const char *s, size_t n);

/* Parses one spec into r. On error writes the reason into err. Errors: -EINVAL. */
int tt_fault_parse(const char *spec, struct fault_rule *r, char *err, size_t errlen);

void tt_fault_set_init(struct fault_set *fs, uint64_t seed, fault_state_fn fn, void *ctx);

/* Parses and appends a rule. Errors: -EINVAL (bad spec), -ENOSPC (TT_FAULT_MAX rules). */
int tt_fault_set_add(struct fault_set *fs, const char *spec, char *err, size_t errlen);

/*
 * The verdict for one packet (an IPv4 datagram), returned and stored in
 * *v. Rules are tried in order; the first that fires decides. A state=
 * rule asks state_fn now: the driver calls this from the engine's output
 * callback and answers with the state the packet was sent in, so an out
 * rule sees the connection's state at send time.
 */
enum fault_action tt_fault_decide(struct fault_set *fs, enum fault_dir dir, const uint8_t *pkt,
                                  size_t len, struct fault_verdict *v);

#endif
